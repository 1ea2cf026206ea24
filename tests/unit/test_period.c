/* test_period.c - the window of every period kind, at every boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "allot/engine.h"
#include "test_engine_fake.h"

struct wcase {
    enum allot_period_kind kind;
    int a, b;          /* PLAN_YEAR month/day, or rolling count */
    const char *anniv; /* member-anchored kinds */
    const char *d, *start, *end;
};

#define CY ALLOT_PERIOD_CALENDAR_YEAR
#define MY ALLOT_PERIOD_MEMBER_YEAR
#define PY ALLOT_PERIOD_PLAN_YEAR
#define CM ALLOT_PERIOD_CALENDAR_MONTH
#define MM ALLOT_PERIOD_MEMBER_MONTH
#define CQ ALLOT_PERIOD_CALENDAR_QUARTER
#define RD ALLOT_PERIOD_ROLLING_DAYS
#define RM ALLOT_PERIOD_ROLLING_MONTHS

/* Each boundary is tested on the day before, the day of and the day after. */
static const struct wcase cases[] = {
    /* calendar year across year ends and at the limits */
    {CY, 0, 0, NULL, "2024-12-31", "2024-01-01", "2025-01-01"},
    {CY, 0, 0, NULL, "2025-01-01", "2025-01-01", "2026-01-01"},
    {CY, 0, 0, NULL, "2025-01-02", "2025-01-01", "2026-01-01"},
    {CY, 0, 0, NULL, "2024-02-29", "2024-01-01", "2025-01-01"},
    {CY, 0, 0, NULL, "1900-01-01", "1900-01-01", "1901-01-01"},
    {CY, 0, 0, NULL, "1900-12-31", "1900-01-01", "1901-01-01"},
    {CY, 0, 0, NULL, "2099-12-31", "2099-01-01", "2100-01-01"},
    {CY, 0, 0, NULL, "2100-01-01", "2100-01-01", "2101-01-01"},
    /* member year: the domain example, anniversary 2024-03-15 */
    {MY, 0, 0, "2024-03-15", "2025-03-14", "2024-03-15", "2025-03-15"},
    {MY, 0, 0, "2024-03-15", "2025-03-15", "2025-03-15", "2026-03-15"},
    {MY, 0, 0, "2024-03-15", "2025-03-16", "2025-03-15", "2026-03-15"},
    {MY, 0, 0, "2024-03-15", "2025-09-01", "2025-03-15", "2026-03-15"},
    {MY, 0, 0, "2024-03-15", "2024-03-14", "2023-03-15", "2024-03-15"}, /* before it */
    {MY, 0, 0, "2024-03-15", "2022-12-31", "2022-03-15", "2023-03-15"},
    /* member year anchored Feb 29: 2025-02-28, 2026-02-28, 2027-02-28, 2028-02-29 */
    {MY, 0, 0, "2024-02-29", "2024-02-29", "2024-02-29", "2025-02-28"},
    {MY, 0, 0, "2024-02-29", "2025-02-27", "2024-02-29", "2025-02-28"},
    {MY, 0, 0, "2024-02-29", "2025-02-28", "2025-02-28", "2026-02-28"},
    {MY, 0, 0, "2024-02-29", "2025-03-01", "2025-02-28", "2026-02-28"},
    {MY, 0, 0, "2024-02-29", "2026-02-27", "2025-02-28", "2026-02-28"},
    {MY, 0, 0, "2024-02-29", "2026-02-28", "2026-02-28", "2027-02-28"},
    {MY, 0, 0, "2024-02-29", "2027-02-28", "2027-02-28", "2028-02-29"},
    {MY, 0, 0, "2024-02-29", "2028-02-28", "2027-02-28", "2028-02-29"},
    {MY, 0, 0, "2024-02-29", "2028-02-29", "2028-02-29", "2029-02-28"},
    {MY, 0, 0, "2024-02-29", "2028-03-01", "2028-02-29", "2029-02-28"},
    {MY, 0, 0, "2024-02-29", "2100-02-27", "2099-02-28", "2100-02-28"}, /* 2100: common */
    {MY, 0, 0, "2024-02-29", "2100-02-28", "2100-02-28", "2101-02-28"},
    {MY, 0, 0, "2024-02-29", "2000-02-28", "1999-02-28", "2000-02-29"}, /* 2000: leap */
    {MY, 0, 0, "2024-02-29", "2000-02-29", "2000-02-29", "2001-02-28"},
    {MY, 0, 0, "2024-02-29", "1900-02-28", "1900-02-28", "1901-02-28"}, /* 1900: common */
    {MY, 0, 0, "2024-02-29", "1900-03-01", "1900-02-28", "1901-02-28"},
    /* member year anchored at a year end */
    {MY, 0, 0, "2020-12-31", "2025-12-30", "2024-12-31", "2025-12-31"},
    {MY, 0, 0, "2020-12-31", "2025-12-31", "2025-12-31", "2026-12-31"},
    {MY, 0, 0, "2020-12-31", "2026-01-01", "2025-12-31", "2026-12-31"},
    {MY, 0, 0, "2021-01-01", "2025-12-31", "2025-01-01", "2026-01-01"},
    /* plan year July 1 */
    {PY, 7, 1, NULL, "2025-06-30", "2024-07-01", "2025-07-01"},
    {PY, 7, 1, NULL, "2025-07-01", "2025-07-01", "2026-07-01"},
    {PY, 7, 1, NULL, "2025-07-02", "2025-07-01", "2026-07-01"},
    {PY, 7, 1, NULL, "2025-01-01", "2024-07-01", "2025-07-01"},
    {PY, 7, 1, NULL, "2024-12-31", "2024-07-01", "2025-07-01"},
    /* plan year Feb 29 and Jan 1 */
    {PY, 2, 29, NULL, "2024-02-28", "2023-02-28", "2024-02-29"},
    {PY, 2, 29, NULL, "2024-02-29", "2024-02-29", "2025-02-28"},
    {PY, 2, 29, NULL, "2025-02-28", "2025-02-28", "2026-02-28"},
    {PY, 1, 1, NULL, "2024-12-31", "2024-01-01", "2025-01-01"},
    {PY, 1, 1, NULL, "2025-01-01", "2025-01-01", "2026-01-01"},
    {PY, 12, 31, NULL, "2025-12-30", "2024-12-31", "2025-12-31"},
    {PY, 12, 31, NULL, "2025-12-31", "2025-12-31", "2026-12-31"},
    /* calendar month: month ends, Feb in leap and common years */
    {CM, 0, 0, NULL, "2024-02-28", "2024-02-01", "2024-03-01"},
    {CM, 0, 0, NULL, "2024-02-29", "2024-02-01", "2024-03-01"},
    {CM, 0, 0, NULL, "2024-03-01", "2024-03-01", "2024-04-01"},
    {CM, 0, 0, NULL, "2025-02-28", "2025-02-01", "2025-03-01"},
    {CM, 0, 0, NULL, "2025-03-01", "2025-03-01", "2025-04-01"},
    {CM, 0, 0, NULL, "2024-12-31", "2024-12-01", "2025-01-01"},
    {CM, 0, 0, NULL, "2025-01-01", "2025-01-01", "2025-02-01"},
    {CM, 0, 0, NULL, "2025-04-30", "2025-04-01", "2025-05-01"},
    {CM, 0, 0, NULL, "1900-02-28", "1900-02-01", "1900-03-01"},
    {CM, 0, 0, NULL, "2000-02-29", "2000-02-01", "2000-03-01"},
    {CM, 0, 0, NULL, "2100-02-28", "2100-02-01", "2100-03-01"},
    /* member month anchored on the 31st (the example) */
    {MM, 0, 0, "2024-01-31", "2025-03-15", "2025-02-28", "2025-03-31"},
    {MM, 0, 0, "2024-01-31", "2024-03-15", "2024-02-29", "2024-03-31"},
    {MM, 0, 0, "2024-01-31", "2025-02-27", "2025-01-31", "2025-02-28"},
    {MM, 0, 0, "2024-01-31", "2025-02-28", "2025-02-28", "2025-03-31"},
    {MM, 0, 0, "2024-01-31", "2025-03-30", "2025-02-28", "2025-03-31"},
    {MM, 0, 0, "2024-01-31", "2025-03-31", "2025-03-31", "2025-04-30"},
    {MM, 0, 0, "2024-01-31", "2025-04-01", "2025-03-31", "2025-04-30"},
    {MM, 0, 0, "2024-01-31", "2025-04-29", "2025-03-31", "2025-04-30"},
    {MM, 0, 0, "2024-01-31", "2025-04-30", "2025-04-30", "2025-05-31"},
    {MM, 0, 0, "2024-01-31", "2025-05-01", "2025-04-30", "2025-05-31"},
    {MM, 0, 0, "2024-01-31", "2025-05-31", "2025-05-31", "2025-06-30"},
    {MM, 0, 0, "2024-01-31", "2025-12-30", "2025-11-30", "2025-12-31"},
    {MM, 0, 0, "2024-01-31", "2025-12-31", "2025-12-31", "2026-01-31"},
    {MM, 0, 0, "2024-01-31", "2026-01-30", "2025-12-31", "2026-01-31"},
    {MM, 0, 0, "2024-01-31", "2026-01-31", "2026-01-31", "2026-02-28"},
    {MM, 0, 0, "2024-01-31", "2100-02-28", "2100-02-28", "2100-03-31"},
    /* anchored on the 30th and 29th: only February clamps */
    {MM, 0, 0, "2023-05-30", "2025-02-27", "2025-01-30", "2025-02-28"},
    {MM, 0, 0, "2023-05-30", "2025-02-28", "2025-02-28", "2025-03-30"},
    {MM, 0, 0, "2023-05-30", "2024-02-28", "2024-01-30", "2024-02-29"},
    {MM, 0, 0, "2023-05-30", "2024-02-29", "2024-02-29", "2024-03-30"},
    {MM, 0, 0, "2024-02-29", "2100-02-28", "2100-02-28", "2100-03-29"},
    {MM, 0, 0, "2024-02-29", "2000-02-28", "2000-01-29", "2000-02-29"},
    /* anchored on the 15th, across a year end */
    {MM, 0, 0, "2024-03-15", "2025-01-14", "2024-12-15", "2025-01-15"},
    {MM, 0, 0, "2024-03-15", "2025-01-15", "2025-01-15", "2025-02-15"},
    {MM, 0, 0, "2024-03-15", "2024-12-15", "2024-12-15", "2025-01-15"},
    /* calendar quarters */
    {CQ, 0, 0, NULL, "2025-03-31", "2025-01-01", "2025-04-01"},
    {CQ, 0, 0, NULL, "2025-04-01", "2025-04-01", "2025-07-01"},
    {CQ, 0, 0, NULL, "2025-06-30", "2025-04-01", "2025-07-01"},
    {CQ, 0, 0, NULL, "2025-07-01", "2025-07-01", "2025-10-01"},
    {CQ, 0, 0, NULL, "2025-09-30", "2025-07-01", "2025-10-01"},
    {CQ, 0, 0, NULL, "2025-10-01", "2025-10-01", "2026-01-01"},
    {CQ, 0, 0, NULL, "2025-12-31", "2025-10-01", "2026-01-01"},
    {CQ, 0, 0, NULL, "2026-01-01", "2026-01-01", "2026-04-01"},
    {CQ, 0, 0, NULL, "2024-02-29", "2024-01-01", "2024-04-01"},
    /* rolling: the window ending on d */
    {RD, 365, 0, NULL, "2026-05-09", "2025-05-10", "2026-05-10"},
    {RD, 365, 0, NULL, "2026-05-10", "2025-05-11", "2026-05-11"},
    {RD, 1, 0, NULL, "2025-01-01", "2025-01-01", "2025-01-02"},
    {RD, 30, 0, NULL, "2024-03-01", "2024-02-01", "2024-03-02"},
    {RD, 30, 0, NULL, "2025-03-01", "2025-01-31", "2025-03-02"},
    {RM, 1, 0, NULL, "2025-03-31", "2025-03-01", "2025-04-01"},
    {RM, 1, 0, NULL, "2025-03-28", "2025-03-01", "2025-03-29"},
    {RM, 1, 0, NULL, "2025-03-27", "2025-02-28", "2025-03-28"},
    {RM, 1, 0, NULL, "2025-01-15", "2024-12-16", "2025-01-16"},
    {RM, 12, 0, NULL, "2025-02-28", "2024-02-29", "2025-03-01"},
    {RM, 36, 0, NULL, "2028-05-10", "2025-05-11", "2028-05-11"},
    {RM, 36, 0, NULL, "2028-02-29", "2025-03-01", "2028-03-01"},
};

static struct allot_period mkperiod(enum allot_period_kind kind, int a, int b)
{
    struct allot_period p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    if (kind == PY) {
        p.month = a;
        p.day = b;
    } else if (kind == RD || kind == RM) {
        p.count = a;
    }
    return p;
}

static void windows_table(void **state)
{
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct wcase *c = &cases[i];
        struct allot_period p = mkperiod(c->kind, c->a, c->b);
        struct allot_window w;
        allot_date anniv = c->anniv ? D(c->anniv) : ALLOT_DATE_NONE;
        int rc = allot_period_window(&p, anniv, D(c->d), &w);
        if (rc != 0 || w.start != D(c->start) || w.end != D(c->end))
            fail_msg("case %zu kind %d on %s: rc %d [%s, %s) want [%s, %s)", i, c->kind, c->d, rc,
                     F(w.start), F(w.end), c->start, c->end);
    }
}

/* Domain: anniversary 2024-02-29, MEMBER_YEAR: periods start 2025-02-28,
 * 2026-02-28, 2027-02-28, 2028-02-29. */
static void example_feb29_member_year(void **state)
{
    static const char *starts[] = {"2024-02-29", "2025-02-28", "2026-02-28",
                                   "2027-02-28", "2028-02-29", "2029-02-28"};
    struct allot_period p = mkperiod(MY, 0, 0);
    struct allot_window w;
    allot_date anniv = D("2024-02-29");
    size_t i;
    (void)state;
    for (i = 0; i + 1 < sizeof starts / sizeof starts[0]; i++) {
        assert_int_equal(allot_period_window(&p, anniv, D(starts[i]), &w), 0);
        assert_string_equal(F(w.start), starts[i]);
        assert_string_equal(F(w.end), starts[i + 1]);
        assert_int_equal(allot_period_window(&p, anniv, D(starts[i + 1]) - 1, &w), 0);
        assert_string_equal(F(w.start), starts[i]);
    }
}

/* Issue #4: a MEMBER_MONTH anchored on the 31st: the period containing
 * Mar 15 is [Feb 28/29, Mar 31); the one containing Apr 30 is
 * [Apr 30, May 31). */
static void example_member_month_31st(void **state)
{
    struct allot_period p = mkperiod(MM, 0, 0);
    struct allot_window w;
    allot_date anniv = D("2023-10-31");
    (void)state;
    assert_int_equal(allot_period_window(&p, anniv, D("2025-03-15"), &w), 0);
    assert_string_equal(F(w.start), "2025-02-28");
    assert_string_equal(F(w.end), "2025-03-31");
    assert_int_equal(allot_period_window(&p, anniv, D("2024-03-15"), &w), 0);
    assert_string_equal(F(w.start), "2024-02-29");
    assert_string_equal(F(w.end), "2024-03-31");
    assert_int_equal(allot_period_window(&p, anniv, D("2025-04-30"), &w), 0);
    assert_string_equal(F(w.start), "2025-04-30");
    assert_string_equal(F(w.end), "2025-05-31");
}

static void lifetime_and_limits(void **state)
{
    struct allot_period p = mkperiod(ALLOT_PERIOD_LIFETIME, 0, 0);
    struct allot_window w;
    (void)state;
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, D("2025-06-01"), &w), 0);
    assert_int_equal(w.start, ALLOT_DATE_MIN);
    assert_int_equal(w.end, ALLOT_DATE_NONE);
    p = mkperiod(CY, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, ALLOT_DATE_MAX, &w), 0);
    assert_int_equal(w.start, D("9999-01-01"));
    assert_int_equal(w.end, ALLOT_DATE_MAX + 1);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, ALLOT_DATE_MIN, &w), 0);
    assert_int_equal(w.start, ALLOT_DATE_MIN);
}

static void malformed_periods_rejected(void **state)
{
    struct allot_period p;
    struct allot_window w = {1, 2};
    allot_date d = D("2025-06-01");
    (void)state;
    p = mkperiod(MY, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(MM, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(PY, 13, 1);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(PY, 0, 1);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(PY, 2, 30);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(PY, 4, 31);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(PY, 4, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(RD, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(RD, ALLOT_ROLLING_DAYS_MAX + 1, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(RM, -1, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(RM, ALLOT_ROLLING_MONTHS_MAX + 1, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod((enum allot_period_kind)0, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod((enum allot_period_kind)10, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), ALLOT_EINVAL);
    p = mkperiod(CY, 0, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, ALLOT_DATE_MIN - 1, &w),
                     ALLOT_EINVAL);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, ALLOT_DATE_NONE, &w), ALLOT_EINVAL);
    /* untouched on failure */
    assert_int_equal(w.start, 1);
    assert_int_equal(w.end, 2);
    /* limits themselves are fine */
    p = mkperiod(RD, ALLOT_ROLLING_DAYS_MAX, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), 0);
    assert_int_equal(w.end - w.start, ALLOT_ROLLING_DAYS_MAX);
    p = mkperiod(RM, ALLOT_ROLLING_MONTHS_MAX, 0);
    assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), 0);
    assert_string_equal(F(w.start), "1925-06-02");
    p = mkperiod(PY, 2, 29);
    assert_true(allot_period_valid(&p));
}

static void kind_predicates(void **state)
{
    struct allot_period p;
    (void)state;
    p = mkperiod(RD, 5, 0);
    assert_true(allot_period_is_rolling(&p));
    assert_false(allot_period_member_anchored(&p));
    p = mkperiod(RM, 5, 0);
    assert_true(allot_period_is_rolling(&p));
    p = mkperiod(MY, 0, 0);
    assert_true(allot_period_member_anchored(&p));
    assert_false(allot_period_is_rolling(&p));
    p = mkperiod(MM, 0, 0);
    assert_true(allot_period_member_anchored(&p));
    p = mkperiod(CY, 0, 0);
    assert_false(allot_period_member_anchored(&p));
    assert_false(allot_period_is_rolling(&p));
}

/* Fixed windows tile the calendar: for every day from 1900 to 2102 and many
 * anchors, the window contains the day, is the window of its own first and
 * last day, meets its neighbours exactly, starts on the (clamped) anchor and
 * has a plausible length. Any off-by-one at a boundary breaks one of these. */
static void fixed_windows_tile_the_calendar(void **state)
{
    static const char *annivs[] = {"2024-03-15", "2024-02-29", "2023-01-31", "2020-12-31",
                                   "2021-01-01", "2023-05-30", "2023-04-30", "2019-11-28"};
    static const int py[][2] = {{7, 1}, {2, 29}, {1, 1}, {12, 31}, {10, 31}, {4, 30}};
    struct allot_period ps[32];
    allot_date anv[32];
    size_t np = 0, i;
    allot_date d, last = D("2102-12-31");
    (void)state;

    ps[np++] = mkperiod(CY, 0, 0);
    ps[np++] = mkperiod(CM, 0, 0);
    ps[np++] = mkperiod(CQ, 0, 0);
    for (i = 0; i < sizeof py / sizeof py[0]; i++)
        ps[np++] = mkperiod(PY, py[i][0], py[i][1]);
    for (i = 0; i < np; i++)
        anv[i] = ALLOT_DATE_NONE;
    for (i = 0; i < sizeof annivs / sizeof annivs[0]; i++) {
        anv[np] = D(annivs[i]);
        ps[np++] = mkperiod(MY, 0, 0);
        anv[np] = D(annivs[i]);
        ps[np++] = mkperiod(MM, 0, 0);
    }
    for (i = 0; i < np; i++) {
        struct allot_window w, w2;
        int am = 1, ad = 1, ay, sy, sm, sd;
        /* years 365-366 days, quarters 90-92, months 28-31 */
        long minlen = 365, maxlen = 366;
        if (ps[i].kind == CQ) {
            minlen = 90;
            maxlen = 92;
        } else if (ps[i].kind == CM || ps[i].kind == MM) {
            minlen = 28;
            maxlen = 31;
        }
        if (ps[i].kind == PY)
            am = ps[i].month, ad = ps[i].day;
        if (anv[i] != ALLOT_DATE_NONE)
            allot_date_to_ymd(anv[i], &ay, &am, &ad);
        for (d = ALLOT_DATE_MIN + 400; d <= last; d++) {
            assert_int_equal(allot_period_window(&ps[i], anv[i], d, &w), 0);
            if (!(w.start <= d && d < w.end))
                fail_msg("period %zu: %s not in [%s, %s)", i, F(d), F(w.start), F(w.end));
            if (w.end - w.start < minlen || w.end - w.start > maxlen)
                fail_msg("period %zu: [%s, %s) has odd length", i, F(w.start), F(w.end));
            if (d == w.start) {
                /* the previous window ends exactly here */
                assert_int_equal(allot_period_window(&ps[i], anv[i], d - 1, &w2), 0);
                if (w2.end != d)
                    fail_msg("period %zu: gap or overlap before %s", i, F(d));
                /* and the anchor is where it should be */
                allot_date_to_ymd(w.start, &sy, &sm, &sd);
                if (ps[i].kind == MY || ps[i].kind == PY) {
                    assert_int_equal(sm, am);
                    assert_int_equal(
                        sd, ad > allot_days_in_month(sy, am) ? allot_days_in_month(sy, am) : ad);
                } else if (ps[i].kind == MM) {
                    assert_int_equal(
                        sd, ad > allot_days_in_month(sy, sm) ? allot_days_in_month(sy, sm) : ad);
                } else {
                    assert_int_equal(sd, 1);
                }
                /* the window is the same seen from its last day */
                assert_int_equal(allot_period_window(&ps[i], anv[i], w.end - 1, &w2), 0);
                assert_int_equal(w2.start, w.start);
                assert_int_equal(w2.end, w.end);
            }
        }
    }
}

/* Rolling windows end on d and hold exactly n days (or n months). */
static void rolling_windows_have_their_length(void **state)
{
    static const int counts[] = {1, 7, 30, 90, 365, 366, 730, 1095};
    allot_date d;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        struct allot_period p = mkperiod(RD, counts[i], 0);
        for (d = D("2023-11-01"); d <= D("2025-03-01"); d++) {
            struct allot_window w;
            assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), 0);
            assert_int_equal(w.end, d + 1);
            assert_int_equal(w.end - w.start, counts[i]);
        }
    }
    for (i = 1; i <= 48; i++) {
        struct allot_period p = mkperiod(RM, (int)i, 0);
        for (d = D("2023-11-01"); d <= D("2025-03-01"); d++) {
            struct allot_window w;
            assert_int_equal(allot_period_window(&p, ALLOT_DATE_NONE, d, &w), 0);
            assert_int_equal(w.end, d + 1);
            assert_int_equal(w.start, allot_date_add_months(d, -(int)i) + 1);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(windows_table),
        cmocka_unit_test(example_feb29_member_year),
        cmocka_unit_test(example_member_month_31st),
        cmocka_unit_test(lifetime_and_limits),
        cmocka_unit_test(malformed_periods_rejected),
        cmocka_unit_test(kind_predicates),
        cmocka_unit_test(fixed_windows_tile_the_calendar),
        cmocka_unit_test(rolling_windows_have_their_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
