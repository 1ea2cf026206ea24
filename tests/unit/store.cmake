# Store unit tests (owned with src/store).
allot_unit_test(test_store SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_store.c
                LIBS allot_store PkgConfig::LMDB Threads::Threads)
allot_unit_test(test_store_codec SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_store_codec.c
                LIBS allot_store)
target_include_directories(test_store_codec PRIVATE ${CMAKE_SOURCE_DIR}/src/store)
allot_unit_test(test_ledger SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_ledger.c
                LIBS allot_store PkgConfig::LMDB Threads::Threads)
target_include_directories(test_ledger PRIVATE ${CMAKE_SOURCE_DIR}/src/store)
