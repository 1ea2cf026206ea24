# Server unit tests (owned with src/server): authentication and roles, the
# one-pass protobuf encoder (checked against protobuf-c), and
# the store's audit trail the server writes.
allot_unit_test(test_auth SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_auth.c LIBS allot_server)
target_include_directories(test_auth PRIVATE ${CMAKE_SOURCE_DIR}/src/server)
allot_unit_test(test_audit SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_audit.c
                LIBS allot_store PkgConfig::LMDB)
allot_unit_test(test_pack SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_pack.c LIBS allot_server)
target_include_directories(test_pack PRIVATE ${CMAKE_SOURCE_DIR}/src/server)
