# Engine unit tests (owned with src/engine).
