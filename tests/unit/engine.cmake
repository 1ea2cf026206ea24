# Engine unit tests (owned with src/engine).
set(ALLOT_ENGINE_FAKE ${CMAKE_CURRENT_SOURCE_DIR}/test_engine_fake.c)
allot_unit_test(test_date SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_date.c LIBS allot_engine)
allot_unit_test(test_period SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_period.c ${ALLOT_ENGINE_FAKE}
                LIBS allot_engine)
allot_unit_test(test_price SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_price.c ${ALLOT_ENGINE_FAKE}
                LIBS allot_engine)
allot_unit_test(test_price_pools SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_price_pools.c
                ${ALLOT_ENGINE_FAKE} LIBS allot_engine)
allot_unit_test(test_property SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_property.c
                ${ALLOT_ENGINE_FAKE} LIBS allot_engine)
