allot_unit_test(test_base SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_base.c LIBS allot_base)
