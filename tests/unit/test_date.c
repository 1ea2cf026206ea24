/* test_date.c - civil dates, and the model helpers built on them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "allot/date.h"
#include "allot/err.h"
#include "allot/model.h"

static allot_date D(const char *s)
{
    allot_date d = 0;
    assert_int_equal(allot_date_parse(s, &d), 0);
    return d;
}

static const char *F(allot_date d)
{
    static char buf[4][ALLOT_DATE_STRLEN];
    static int i;
    i = (i + 1) % 4;
    return allot_date_format(d, buf[i]);
}

static void epoch_and_limits(void **state)
{
    (void)state;
    assert_int_equal(allot_date_from_ymd(1970, 1, 1), 0);
    assert_int_equal(allot_date_from_ymd(1969, 12, 31), -1);
    assert_int_equal(allot_date_from_ymd(1900, 1, 1), ALLOT_DATE_MIN);
    assert_int_equal(allot_date_from_ymd(9999, 12, 31), ALLOT_DATE_MAX);
    assert_int_equal(allot_date_from_ymd(2000, 3, 1), 11017);
    assert_int_equal(allot_date_from_ymd(2024, 2, 29), 19782);
    assert_int_equal(D("2025-01-01"), 20089);
}

/* Every day from 1900 to 9999 converts both ways, consecutive day numbers
 * are consecutive dates, and the calendar never skips or repeats. */
static void round_trip_every_day(void **state)
{
    int y = 1900, m = 1, d = 1, yy, mm, dd;
    allot_date x;
    (void)state;
    for (x = ALLOT_DATE_MIN; x <= ALLOT_DATE_MAX; x++) {
        allot_date_to_ymd(x, &yy, &mm, &dd);
        if (yy != y || mm != m || dd != d)
            fail_msg("day %d: got %d-%d-%d want %d-%d-%d", (int)x, yy, mm, dd, y, m, d);
        if (allot_date_from_ymd(y, m, d) != x)
            fail_msg("from_ymd(%d-%d-%d) != %d", y, m, d, (int)x);
        if (++d > allot_days_in_month(y, m)) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    assert_int_equal(y, 10000);
}

static void leap_years(void **state)
{
    (void)state;
    assert_true(allot_is_leap(2000));
    assert_true(allot_is_leap(2024));
    assert_true(allot_is_leap(1904));
    assert_false(allot_is_leap(1900));
    assert_false(allot_is_leap(2100));
    assert_false(allot_is_leap(2025));
    assert_int_equal(allot_days_in_month(2000, 2), 29);
    assert_int_equal(allot_days_in_month(1900, 2), 28);
    assert_int_equal(allot_days_in_month(2100, 2), 28);
    assert_int_equal(allot_days_in_month(2024, 2), 29);
    assert_int_equal(allot_days_in_month(2025, 2), 28);
    assert_int_equal(allot_days_in_month(2025, 4), 30);
    assert_int_equal(allot_days_in_month(2025, 12), 31);
    assert_int_equal(allot_days_in_month(2025, 0), 0);
    assert_int_equal(allot_days_in_month(2025, 13), 0);
    assert_int_equal(D("2025-01-01") - D("2024-01-01"), 366);
    assert_int_equal(D("2101-01-01") - D("2100-01-01"), 365);
    assert_int_equal(D("2001-01-01") - D("2000-01-01"), 366);
    assert_int_equal(D("1901-01-01") - D("1900-01-01"), 365);
}

static void validity(void **state)
{
    (void)state;
    assert_true(allot_date_valid(2024, 2, 29));
    assert_true(allot_date_valid(2000, 2, 29));
    assert_false(allot_date_valid(2025, 2, 29));
    assert_false(allot_date_valid(1900, 2, 29));
    assert_false(allot_date_valid(2100, 2, 29));
    assert_false(allot_date_valid(2025, 2, 30));
    assert_false(allot_date_valid(2025, 4, 31));
    assert_true(allot_date_valid(2025, 3, 31));
    assert_false(allot_date_valid(2025, 0, 1));
    assert_false(allot_date_valid(2025, 13, 1));
    assert_false(allot_date_valid(2025, 1, 0));
    assert_false(allot_date_valid(2025, 1, 32));
    assert_true(allot_date_valid(1900, 1, 1));
    assert_false(allot_date_valid(1899, 12, 31));
    assert_true(allot_date_valid(9999, 12, 31));
    assert_false(allot_date_valid(10000, 1, 1));
}

static void parse_accepts_exact_form(void **state)
{
    allot_date d = 42;
    (void)state;
    assert_int_equal(allot_date_parse("2024-02-29", &d), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(allot_date_parse("1900-01-01", &d), 0);
    assert_int_equal(d, ALLOT_DATE_MIN);
    assert_int_equal(allot_date_parse("9999-12-31", &d), 0);
    assert_int_equal(d, ALLOT_DATE_MAX);
    assert_int_equal(allot_date_parse_n("2025-03-15garbage", 10, &d), 0);
    assert_string_equal(F(d), "2025-03-15");
}

static void parse_rejects_everything_else(void **state)
{
    static const char *bad[] = {
        "",
        "2025-02-30",
        "2025-02-29",
        "1900-02-29",
        "2100-02-29",
        "1899-12-31",
        "0000-01-01",
        "2025-13-01",
        "2025-00-10",
        "2025-01-00",
        "2025-04-31",
        "2025-1-01",
        "2025-01-1",
        "25-01-01",
        "2025/01/01",
        "2025-01-01 ",
        " 2025-01-01",
        "2025-01-011",
        "202a-01-01",
        "2025-0a-01",
        "2025-01-0a",
        "+025-01-01",
        "2025--1-01",
        "20250101",
        "2025-01-01T00:00",
        "-025-01-01",
        "2025-01- 1",
    };
    size_t i;
    allot_date d = 77;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (allot_date_parse(bad[i], &d) != ALLOT_EINVAL)
            fail_msg("accepted \"%s\"", bad[i]);
        assert_int_equal(d, 77); /* untouched */
    }
    assert_int_equal(allot_date_parse(NULL, &d), ALLOT_EINVAL);
    assert_int_equal(allot_date_parse_n("2025-01-01", 9, &d), ALLOT_EINVAL);
    assert_int_equal(allot_date_parse_n("2025-01-01", 11, &d), ALLOT_EINVAL);
    assert_int_equal(d, 77);
}

static void format_round_trips(void **state)
{
    char buf[ALLOT_DATE_STRLEN];
    (void)state;
    assert_string_equal(allot_date_format(0, buf), "1970-01-01");
    assert_string_equal(allot_date_format(ALLOT_DATE_MIN, buf), "1900-01-01");
    assert_string_equal(allot_date_format(ALLOT_DATE_MAX, buf), "9999-12-31");
    assert_string_equal(allot_date_format(19782, buf), "2024-02-29");
    assert_string_equal(allot_date_format(ALLOT_DATE_NONE, buf), "");
    /* outside four-digit years: "" rather than a wrong date */
    assert_string_equal(allot_date_format(ALLOT_DATE_MAX + 1, buf), "");
    assert_string_equal(allot_date_format(allot_date_from_ymd(1, 1, 1), buf), "0001-01-01");
    assert_string_equal(allot_date_format(allot_date_from_ymd(0, 1, 1) - 1, buf), "");
}

static void add_months_clamps(void **state)
{
    (void)state;
    assert_string_equal(F(allot_date_add_months(D("2025-01-31"), 1)), "2025-02-28");
    assert_string_equal(F(allot_date_add_months(D("2024-01-31"), 1)), "2024-02-29");
    assert_string_equal(F(allot_date_add_months(D("2025-01-31"), 3)), "2025-04-30");
    assert_string_equal(F(allot_date_add_months(D("2025-03-31"), -1)), "2025-02-28");
    assert_string_equal(F(allot_date_add_months(D("2024-02-29"), 12)), "2025-02-28");
    assert_string_equal(F(allot_date_add_months(D("2024-02-29"), 48)), "2028-02-29");
    assert_string_equal(F(allot_date_add_months(D("2024-02-29"), -12)), "2023-02-28");
    assert_string_equal(F(allot_date_add_months(D("2025-12-15"), 1)), "2026-01-15");
    assert_string_equal(F(allot_date_add_months(D("2025-01-15"), -1)), "2024-12-15");
    assert_string_equal(F(allot_date_add_months(D("2025-01-15"), -13)), "2023-12-15");
    assert_string_equal(F(allot_date_add_months(D("2025-01-15"), -12)), "2024-01-15");
    assert_string_equal(F(allot_date_add_months(D("2025-01-15"), -25)), "2022-12-15");
    assert_string_equal(F(allot_date_add_months(D("2025-01-15"), 0)), "2025-01-15");
    assert_string_equal(F(allot_date_add_months(D("1900-03-31"), -1)), "1900-02-28");
    assert_string_equal(F(allot_date_add_months(D("2000-03-31"), -1)), "2000-02-29");
    assert_string_equal(F(allot_date_add_months(D("2099-03-31"), 23)), "2101-02-28");
    assert_string_equal(F(allot_date_add_months(D("2025-05-10"), 36)), "2028-05-10");
    assert_string_equal(F(allot_date_add_months(D("2025-08-31"), 1200)), "2125-08-31");
    assert_int_equal(allot_date_add_months(ALLOT_DATE_NONE, 3), ALLOT_DATE_NONE);
}

static void clamped_construction(void **state)
{
    (void)state;
    assert_string_equal(F(allot_date_from_ymd_clamped(2025, 2, 31)), "2025-02-28");
    assert_string_equal(F(allot_date_from_ymd_clamped(2024, 2, 30)), "2024-02-29");
    assert_string_equal(F(allot_date_from_ymd_clamped(2025, 4, 31)), "2025-04-30");
    assert_string_equal(F(allot_date_from_ymd_clamped(2025, 5, 31)), "2025-05-31");
    assert_string_equal(F(allot_date_from_ymd_clamped(2100, 2, 29)), "2100-02-28");
}

static void weekdays(void **state)
{
    (void)state;
    assert_int_equal(allot_date_weekday(0), 3);               /* Thursday */
    assert_int_equal(allot_date_weekday(D("2025-01-01")), 2); /* Wednesday */
    assert_int_equal(allot_date_weekday(D("2024-02-29")), 3); /* Thursday */
    assert_int_equal(allot_date_weekday(D("1900-01-01")), 0); /* Monday */
    assert_int_equal(allot_date_weekday(D("2000-01-01")), 5); /* Saturday */
    assert_int_equal(allot_date_weekday(D("1969-12-28")), 6); /* Sunday */
    assert_int_equal(allot_date_weekday(D("9999-12-31")), 4); /* Friday */
}

/* ------------------------------------------------------------ model */

static void member_anniversary_defaults(void **state)
{
    struct allot_enrollment en[2] = {
        {"gold", 0, 0},
        {"silver", 0, ALLOT_DATE_NONE},
    };
    struct allot_member m = {"m1", en, 2, ALLOT_DATE_NONE, "", ""};
    (void)state;
    /* out of order on purpose: the earliest start is the default */
    en[0].start = D("2025-01-01");
    en[0].end = ALLOT_DATE_NONE;
    en[1].start = D("2023-06-30");
    en[1].end = D("2024-12-31");
    assert_int_equal(allot_member_anniversary(&m), D("2023-06-30"));
    m.anniversary = D("2020-02-29");
    assert_int_equal(allot_member_anniversary(&m), D("2020-02-29"));
    m.anniversary = ALLOT_DATE_NONE;
    m.nenrollments = 0;
    assert_int_equal(allot_member_anniversary(&m), ALLOT_DATE_NONE);
}

static void member_enrollment_end_is_inclusive(void **state)
{
    struct allot_enrollment en[2] = {
        {"a", 0, 0},
        {"b", 0, ALLOT_DATE_NONE},
    };
    struct allot_member m = {"m1", en, 2, ALLOT_DATE_NONE, "", ""};
    (void)state;
    en[0].start = D("2024-01-01");
    en[0].end = D("2024-06-30");
    en[1].start = D("2024-08-01");
    assert_null(allot_member_enrollment_at(&m, D("2023-12-31")));
    assert_ptr_equal(allot_member_enrollment_at(&m, D("2024-01-01")), &en[0]);
    assert_ptr_equal(allot_member_enrollment_at(&m, D("2024-06-30")), &en[0]);
    assert_null(allot_member_enrollment_at(&m, D("2024-07-01")));
    assert_null(allot_member_enrollment_at(&m, D("2024-07-31")));
    assert_ptr_equal(allot_member_enrollment_at(&m, D("2024-08-01")), &en[1]);
    assert_ptr_equal(allot_member_enrollment_at(&m, ALLOT_DATE_MAX), &en[1]);
}

static void plan_version_in_force(void **state)
{
    struct allot_plan_version v[3];
    struct allot_plan p = {"p", "P", v, 3};
    (void)state;
    memset(v, 0, sizeof v);
    v[0].effective_from = D("2024-01-01");
    v[1].effective_from = D("2024-07-01");
    v[2].effective_from = D("2025-01-01");
    assert_null(allot_plan_version_at(&p, D("2023-12-31")));
    assert_ptr_equal(allot_plan_version_at(&p, D("2024-01-01")), &v[0]);
    assert_ptr_equal(allot_plan_version_at(&p, D("2024-06-30")), &v[0]);
    assert_ptr_equal(allot_plan_version_at(&p, D("2024-07-01")), &v[1]);
    assert_ptr_equal(allot_plan_version_at(&p, D("2024-12-31")), &v[1]);
    assert_ptr_equal(allot_plan_version_at(&p, D("2025-01-01")), &v[2]);
    assert_ptr_equal(allot_plan_version_at(&p, ALLOT_DATE_MAX), &v[2]);
    p.nversions = 0;
    assert_null(allot_plan_version_at(&p, D("2025-01-01")));
    p.nversions = 1;
    assert_ptr_equal(allot_plan_version_at(&p, D("2025-01-01")), &v[0]);
}

static void rule_codes(void **state)
{
    const char *codes[] = {"97110", "97112"};
    struct allot_rule r;
    (void)state;
    memset(&r, 0, sizeof r);
    r.codes = codes;
    r.ncodes = 2;
    assert_true(allot_rule_has_code(&r, "97110"));
    assert_true(allot_rule_has_code(&r, "97112"));
    assert_false(allot_rule_has_code(&r, "9711"));
    assert_false(allot_rule_has_code(&r, "971100"));
    assert_false(allot_rule_has_code(&r, ""));
    r.ncodes = 0;
    assert_false(allot_rule_has_code(&r, "97110"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(epoch_and_limits),
        cmocka_unit_test(round_trip_every_day),
        cmocka_unit_test(leap_years),
        cmocka_unit_test(validity),
        cmocka_unit_test(parse_accepts_exact_form),
        cmocka_unit_test(parse_rejects_everything_else),
        cmocka_unit_test(format_round_trips),
        cmocka_unit_test(add_months_clamps),
        cmocka_unit_test(clamped_construction),
        cmocka_unit_test(weekdays),
        cmocka_unit_test(member_anniversary_defaults),
        cmocka_unit_test(member_enrollment_end_is_inclusive),
        cmocka_unit_test(plan_version_in_force),
        cmocka_unit_test(rule_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
