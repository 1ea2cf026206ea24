# Store unit tests (owned with src/store).
