/* test_price_pools.c - household pools and caps, rolling windows, the
 * allotments view, thresholds and percent used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "allot/engine.h"
#include "test_engine_fake.h"

static const char *HV[] = {"HOME_VISIT", NULL};

#define CASH 15000

static struct allot_rule household(int64_t allowance, int64_t cap, enum allot_period_kind kind)
{
    struct allot_rule r = rule_qty("family-visits", HV, allowance, kind);
    r.pool = ALLOT_POOL_HOUSEHOLD;
    r.member_cap = cap;
    return r;
}

static struct allot_rule rolling(int64_t allowance, enum allot_period_kind kind, int count)
{
    struct allot_rule r = rule_qty("rolling", HV, allowance, kind);
    r.period.count = count;
    return r;
}

/* ------------------------------------------------------------ households */

static void household_pool_is_shared(void **state)
{
    struct world w;
    struct allot_rule r = household(4, 0, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member a, b;
    struct allot_enrollment ea, eb;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "fam", "2020-01-01", &r, 1);
    member_init(&a, &ea, "a", "fam", "2024-01-01", NULL);
    member_init(&b, &eb, "b", "fam", "2024-01-01", NULL);
    a.household_id = b.household_id = "h1";
    assert_int_equal(price1(&w, &a, "HOME_VISIT", "2025-02-01", 3, CASH).amount_due, 0);
    pl = price1(&w, &b, "HOME_VISIT", "2025-03-01", 2, CASH);
    assert_int_equal(pl.uses[0].pool.kind, ALLOT_POOL_HOUSEHOLD);
    assert_string_equal(pl.uses[0].pool.id, "h1");
    assert_int_equal(pl.uses[0].used_before, 3);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.amount_due, CASH);
    /* the household's other year is untouched */
    assert_int_equal(preview1(&w, &a, "HOME_VISIT", "2026-01-01", 4, CASH).amount_due, 0);
    world_release(&w);
}

static void household_member_cap(void **state)
{
    struct world w;
    struct allot_rule r = household(4, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member a, b;
    struct allot_enrollment ea, eb;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    world_init(&w);
    world_plan(&w, "fam", "2020-01-01", &r, 1);
    member_init(&a, &ea, "a", "fam", "2024-01-01", NULL);
    member_init(&b, &eb, "b", "fam", "2024-01-01", NULL);
    a.household_id = b.household_id = "h1";
    /* a may take 2 of the household's 4 */
    pl = price1(&w, &a, "HOME_VISIT", "2025-02-01", 3, CASH);
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.uses[0].remaining, 0);
    assert_int_equal(pl.uses[0].used_after, 2);
    assert_int_equal(pl.reason, ALLOT_REASON_PARTLY_COVERED);
    pl = price1(&w, &a, "HOME_VISIT", "2025-02-02", 1, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    /* b still has its own 2 */
    pl = price1(&w, &b, "HOME_VISIT", "2025-02-03", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    assert_int_equal(pl.uses[0].remaining, 1);
    /* another member of the household takes the last unit of the pool */
    fake_add(&w.f, ALLOT_POOL_HOUSEHOLD, "h1", "family-visits", "c", D("2025-12-31"), 1);
    pl = price1(&w, &b, "HOME_VISIT", "2025-02-04", 1, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    assert_int_equal(pl.uses[0].used_before, 4);
    s = status(&w, &a, &r, "2025-06-01");
    assert_int_equal(s.used, 4);
    assert_int_equal(s.member_used, 2);
    assert_int_equal(s.remaining, 0);
    assert_int_equal(s.percent_used, 100);
    world_release(&w);
    /* in one invoice the cap sees the invoice's own lines */
    {
        struct allot_line l[3];
        struct allot_priced_line out[3];
        world_init(&w);
        world_plan(&w, "fam", "2020-01-01", &r, 1);
        l[0] = mkline("HOME_VISIT", "2025-02-01", 1, CASH);
        l[1] = mkline("HOME_VISIT", "2025-02-02", 1, CASH);
        l[2] = mkline("HOME_VISIT", "2025-02-03", 1, CASH);
        price_rec(&w, &a, l, 3, out);
        assert_int_equal(out[1].amount_due, 0);
        assert_int_equal(out[2].amount_due, CASH);
        world_release(&w);
    }
}

/* A member with no household is a pool of one, kept apart from the member's
 * own MEMBER pool even under the same key. */
static void household_of_one(void **state)
{
    struct world w;
    struct allot_rule h = household(2, 0, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_rule mr = rule_qty("family-visits", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    struct allot_pool_ref p;
    (void)state;
    world_init(&w);
    world_plan(&w, "h", "2020-01-01", &h, 1);
    world_plan(&w, "m", "2020-01-01", &mr, 1);
    member_init(&m, &en, "solo", "h", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 2, CASH);
    assert_int_equal(pl.uses[0].pool.kind, ALLOT_POOL_HOUSEHOLD);
    assert_string_equal(pl.uses[0].pool.id, "solo");
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-02-02", 1, CASH).amount_due, CASH);
    en.plan_id = "m";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-02", 1, CASH);
    assert_int_equal(pl.uses[0].used_before, 0);
    assert_int_equal(pl.amount_due, 0);
    p = allot_rule_pool(&mr, &m);
    assert_int_equal(p.kind, ALLOT_POOL_MEMBER);
    assert_string_equal(p.id, "solo");
    m.household_id = "h9";
    p = allot_rule_pool(&mr, &m);
    assert_string_equal(p.id, "solo"); /* member rules ignore the household */
    p = allot_rule_pool(&h, &m);
    assert_int_equal(p.kind, ALLOT_POOL_HOUSEHOLD);
    assert_string_equal(p.id, "h9");
    world_release(&w);
}

/* The allotments view shows the household total and only the member's own
 * entries. */
static void household_status_total_and_own(void **state)
{
    struct world w;
    struct allot_rule r = household(10, 0, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member a, b;
    struct allot_enrollment ea, eb;
    struct allot_rule_status s;
    (void)state;
    world_init(&w);
    world_plan(&w, "fam", "2020-01-01", &r, 1);
    member_init(&a, &ea, "a", "fam", "2024-01-01", NULL);
    member_init(&b, &eb, "b", "fam", "2024-01-01", NULL);
    a.household_id = b.household_id = "h1";
    price1(&w, &a, "HOME_VISIT", "2025-02-01", 1, CASH);
    price1(&w, &b, "HOME_VISIT", "2025-02-01", 2, CASH);
    fake_add(&w.f, ALLOT_POOL_HOUSEHOLD, "h1", "family-visits", "c", D("2025-03-01"), 4);
    fake_add(&w.f, ALLOT_POOL_HOUSEHOLD, "h1", "family-visits", "a", D("2024-03-01"), 9);
    s = status(&w, &a, &r, "2025-12-31");
    assert_int_equal(s.used, 7);
    assert_int_equal(s.member_used, 1);
    assert_int_equal(s.remaining, 3);
    assert_int_equal(s.percent_used, 70);
    assert_string_equal(s.pool.id, "h1");
    s = status(&w, &b, &r, "2025-12-31");
    assert_int_equal(s.member_used, 2);
    s = status(&w, &a, &r, "2024-12-31");
    assert_int_equal(s.used, 9);
    assert_int_equal(s.member_used, 9);
    assert_int_equal(s.percent_used, 90);
    world_release(&w);
}

/* ---------------------------------------------------------------- rolling */

/* Domain: ROLLING_DAYS(365), 1 unit, used 2025-05-10: a line on 2026-05-09 is
 * billed, on 2026-05-10 covered; the reset reported on 2025-12-01 is
 * 2026-05-10. */
static void example_rolling_365_days(void **state)
{
    struct world w;
    struct allot_rule r = rolling(1, ALLOT_PERIOD_ROLLING_DAYS, 365);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    s = status(&w, &m, &r, "2025-05-01");
    assert_int_equal(s.used, 0);
    assert_int_equal(s.remaining, 1);
    assert_int_equal(s.reset, ALLOT_DATE_NONE); /* none while nothing is used */

    pl = price1(&w, &m, "HOME_VISIT", "2025-05-10", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    assert_string_equal(F(pl.uses[0].reset), "2026-05-10");
    assert_string_equal(F(pl.uses[0].period.start), "2024-05-11");
    assert_string_equal(F(pl.uses[0].period.end), "2025-05-11");

    pl = preview1(&w, &m, "HOME_VISIT", "2026-05-09", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    assert_string_equal(F(pl.uses[0].reset), "2026-05-10");
    pl = preview1(&w, &m, "HOME_VISIT", "2026-05-10", 1, CASH);
    assert_int_equal(pl.amount_due, 0);

    s = status(&w, &m, &r, "2025-12-01");
    assert_int_equal(s.used, 1);
    assert_int_equal(s.remaining, 0);
    assert_int_equal(s.percent_used, 100);
    assert_string_equal(F(s.reset), "2026-05-10");
    assert_string_equal(F(s.period.start), "2024-12-02");
    assert_string_equal(F(s.period.end), "2025-12-02");
    s = status(&w, &m, &r, "2026-05-10");
    assert_int_equal(s.used, 0);
    assert_int_equal(s.reset, ALLOT_DATE_NONE);
    /* a back-dated line before the use: its windows reach the use */
    pl = preview1(&w, &m, "HOME_VISIT", "2024-06-01", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    pl = preview1(&w, &m, "HOME_VISIT", "2024-05-10", 1, CASH);
    assert_int_equal(pl.amount_due, 0); /* its last window ends 2025-05-09 */
    world_release(&w);
}

/* A back-dated line is covered only as far as every window containing its
 * date stays within the allowance. */
static void rolling_back_dated_line_cannot_overfill(void **state)
{
    struct world w;
    struct allot_rule r = rolling(2, ALLOT_PERIOD_ROLLING_DAYS, 30);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    price1(&w, &m, "HOME_VISIT", "2025-01-20", 1, CASH);
    price1(&w, &m, "HOME_VISIT", "2025-02-10", 1, CASH);
    /* the window ending 01-15 is empty, but [01-12, 02-10] holds 2 */
    pl = preview1(&w, &m, "HOME_VISIT", "2025-01-15", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.uses[0].used_before, 2);
    assert_string_equal(F(pl.uses[0].reset), "2025-02-19");
    /* 01-10: its windows end by 02-08 and never hold 02-10 */
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-10", 2, CASH);
    assert_int_equal(pl.uses[0].used_before, 1);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.reason, ALLOT_REASON_PARTLY_COVERED);
    /* now every window through 01-10..02-10 is full */
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-01-09", 1, CASH).amount_due, CASH);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-02-08", 1, CASH).amount_due, CASH);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-02-09", 1, CASH).amount_due, CASH);
    /* 01-20 leaves on 02-19; 02-10 holds one more */
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-19", 2, CASH);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-03-15", 2, CASH).amount_due, 0);
    /* far back: windows end before 01-10 */
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-12-10", 2, CASH).amount_due, 0);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-12-11", 2, CASH).amount_due, 0);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-12-12", 2, CASH).covered_quantity, 1);
    world_release(&w);
}

static void rolling_reset_dates(void **state)
{
    struct world w;
    struct allot_rule r = rolling(2, ALLOT_PERIOD_ROLLING_DAYS, 30);
    struct allot_rule one = rolling(1, ALLOT_PERIOD_ROLLING_DAYS, 10);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    /* first use: full again when it leaves */
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-01", 1, CASH);
    assert_int_equal(pl.uses[0].remaining, 1);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-31");
    /* last unit: one comes back when the oldest leaves */
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-05", 1, CASH);
    assert_int_equal(pl.uses[0].remaining, 0);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-31");
    s = status(&w, &m, &r, "2025-01-31");
    assert_int_equal(s.used, 1);
    assert_string_equal(F(s.reset), "2025-02-04");
    s = status(&w, &m, &r, "2025-02-04");
    assert_int_equal(s.used, 0);
    assert_int_equal(s.reset, ALLOT_DATE_NONE);
    /* a split line reports when the next unit comes */
    pl = preview1(&w, &m, "HOME_VISIT", "2025-01-06", 3, CASH);
    assert_int_equal(pl.covered_quantity, 0);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-31");
    world_release(&w);

    /* use already recorded later keeps the allotment blocked past the
     * oldest use's departure */
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &one, 1);
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "rolling", "m1", D("2025-01-01"), 1);
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "rolling", "m1", D("2025-01-12"), 1);
    s = status(&w, &m, &one, "2025-01-05");
    assert_int_equal(s.used, 1);
    assert_int_equal(s.remaining, 0);
    assert_string_equal(F(s.reset), "2025-01-22");
    /* prior use over the allowance */
    w.f.n = 0;
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "rolling", "m1", D("2025-01-01"), 3);
    s = status(&w, &m, &one, "2025-01-02");
    assert_int_equal(s.used, 3);
    assert_int_equal(s.remaining, 0);
    assert_int_equal(s.percent_used, 300);
    assert_string_equal(F(s.reset), "2025-01-11");
    world_release(&w);
}

/* "Once every 3 years" is ROLLING_MONTHS(36); month arithmetic clamps. */
static void rolling_months(void **state)
{
    struct world w;
    struct allot_rule r36 = rolling(1, ALLOT_PERIOD_ROLLING_MONTHS, 36);
    struct allot_rule r1 = rolling(1, ALLOT_PERIOD_ROLLING_MONTHS, 1);
    r1.key = "rolling-1m";
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r36, 1);
    world_plan(&w, "q", "2020-01-01", &r1, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-05-10", 1, CASH);
    assert_string_equal(F(pl.uses[0].reset), "2028-05-10");
    pl = preview1(&w, &m, "HOME_VISIT", "2028-05-09", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_string_equal(F(pl.uses[0].reset), "2028-05-10");
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2028-05-10", 1, CASH).amount_due, 0);

    en.plan_id = "q";
    price1(&w, &m, "HOME_VISIT", "2025-01-31", 1, CASH);
    /* (Jan 28, Feb 28] still holds Jan 31; it leaves on Mar 1 */
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-28", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_string_equal(F(pl.uses[0].reset), "2025-03-01");
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-03-01", 1, CASH).amount_due, 0);
    price1(&w, &m, "HOME_VISIT", "2025-04-28", 1, CASH);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-05-27", 1, CASH).amount_due, CASH);
    pl = preview1(&w, &m, "HOME_VISIT", "2025-05-28", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    /* leap day: used 2024-02-29, ROLLING_MONTHS(1) */
    price1(&w, &m, "HOME_VISIT", "2024-02-29", 1, CASH);
    pl = preview1(&w, &m, "HOME_VISIT", "2024-03-28", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_string_equal(F(pl.uses[0].reset), "2024-03-29");
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-03-29", 1, CASH).amount_due, 0);
    world_release(&w);
}

static void rolling_household_cap(void **state)
{
    struct world w;
    struct allot_rule r = household(3, 2, ALLOT_PERIOD_ROLLING_DAYS);
    struct allot_member a, b;
    struct allot_enrollment ea, eb;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    r.period.count = 30;
    world_init(&w);
    world_plan(&w, "fam", "2020-01-01", &r, 1);
    member_init(&a, &ea, "a", "fam", "2024-01-01", NULL);
    member_init(&b, &eb, "b", "fam", "2024-01-01", NULL);
    a.household_id = b.household_id = "h1";
    assert_int_equal(price1(&w, &a, "HOME_VISIT", "2025-01-01", 2, CASH).amount_due, 0);
    pl = preview1(&w, &a, "HOME_VISIT", "2025-01-05", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-31");
    pl = price1(&w, &b, "HOME_VISIT", "2025-01-05", 2, CASH);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.uses[0].remaining, 0);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-31");
    s = status(&w, &b, &r, "2025-01-10");
    assert_int_equal(s.used, 3);
    assert_int_equal(s.member_used, 1);
    assert_int_equal(s.remaining, 0);
    assert_string_equal(F(s.reset), "2025-01-31");
    /* a's cap frees on 01-31, but the pool then holds b's 1: a gets 2 */
    s = status(&w, &a, &r, "2025-01-31");
    assert_int_equal(s.used, 1);
    assert_int_equal(s.member_used, 0);
    assert_int_equal(s.remaining, 2);
    world_release(&w);
}

static void rolling_lines_of_one_invoice(void **state)
{
    struct world w;
    struct allot_rule r = rolling(2, ALLOT_PERIOD_ROLLING_DAYS, 7);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[5];
    struct allot_priced_line out[5];
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    l[0] = mkline("HOME_VISIT", "2025-01-03", 1, CASH);
    l[1] = mkline("HOME_VISIT", "2025-01-05", 1, CASH);
    l[2] = mkline("HOME_VISIT", "2025-01-01", 1, CASH); /* back-dated, windows full */
    l[3] = mkline("HOME_VISIT", "2025-01-09", 1, CASH); /* 01-03 still in */
    l[4] = mkline("HOME_VISIT", "2025-01-10", 1, CASH); /* 01-03 out; 01-09 drew nothing */
    price_rec(&w, &m, l, 5, out);
    assert_int_equal(out[0].amount_due, 0);
    assert_int_equal(out[1].amount_due, 0);
    assert_int_equal(out[2].amount_due, CASH);
    assert_int_equal(out[3].amount_due, CASH);
    assert_int_equal(out[4].amount_due, 0);
    assert_string_equal(F(out[1].uses[0].reset), "2025-01-10");
    assert_string_equal(F(out[4].uses[0].reset), "2025-01-12");
    world_release(&w);
}

/* ------------------------------------------------------- amount + rolling */

static void rolling_amount_rule(void **state)
{
    struct world w;
    struct allot_rule r = rule_amt("dollars", HV, 10000, ALLOT_PERIOD_ROLLING_DAYS);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r.period.count = 10;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-01", 1, 6000);
    assert_int_equal(pl.uses[0].remaining, 4000);
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-03", 1, 6000);
    assert_int_equal(pl.covered_amount, 4000);
    assert_int_equal(pl.amount_due, 2000);
    assert_string_equal(F(pl.uses[0].reset), "2025-01-11");
    pl = preview1(&w, &m, "HOME_VISIT", "2025-01-11", 1, 7000);
    assert_int_equal(pl.covered_amount, 6000);
    world_release(&w);
}

/* ------------------------------------------------------------- thresholds */

static void thresholds_crossed_boundaries(void **state)
{
    struct allot_rule r = rule_qty("t", HV, 10, ALLOT_PERIOD_CALENDAR_YEAR);
    uint16_t out[ALLOT_THRESHOLDS_MAX];
    (void)state;
    assert_int_equal(allot_thresholds_crossed(&r, 6, 7, out), 1);
    assert_int_equal(out[0], 70);
    assert_int_equal(allot_thresholds_crossed(&r, 7, 8, out), 1);
    assert_int_equal(out[0], 80);
    assert_int_equal(allot_thresholds_crossed(&r, 7, 7, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 0, 6, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 0, 10, out), 4);
    assert_int_equal(out[0], 70);
    assert_int_equal(out[1], 80);
    assert_int_equal(out[2], 90);
    assert_int_equal(out[3], 100);
    assert_int_equal(allot_thresholds_crossed(&r, 10, 15, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 9, 100, out), 1);
    assert_int_equal(allot_thresholds_crossed(&r, 8, 7, out), 0); /* a void fires nothing */
    /* allowance 3: 70% is 2.1 units, crossed by the third unit */
    r.allowance = 3;
    assert_int_equal(allot_thresholds_crossed(&r, 1, 2, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 2, 3, out), 4);
    /* exactly on: 7 of 10 crosses 70, 6.99 of 10 (cents) does not */
    r.allowance = 1000;
    assert_int_equal(allot_thresholds_crossed(&r, 0, 699, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 699, 700, out), 1);
    assert_int_equal(allot_thresholds_crossed(&r, 700, 701, out), 0);
    /* above 100% */
    r.thresholds[0] = 50;
    r.thresholds[1] = 150;
    r.thresholds[2] = 1000;
    r.nthresholds = 3;
    assert_int_equal(allot_thresholds_crossed(&r, 900, 1500, out), 1);
    assert_int_equal(out[0], 150);
    assert_int_equal(allot_thresholds_crossed(&r, 0, INT64_MAX, out), 3);
    assert_int_equal(allot_thresholds_crossed(&r, INT64_MAX - 1, INT64_MAX, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 10000, 10001, out), 0);
    assert_int_equal(allot_thresholds_crossed(&r, 9999, 10000, out), 1);
    /* none without an allowance, or with none asked for */
    r.nthresholds = 0;
    assert_int_equal(allot_thresholds_crossed(&r, 0, 1000, out), 0);
    r.nthresholds = 3;
    r.allowance = 0;
    assert_int_equal(allot_thresholds_crossed(&r, 0, 1000, out), 0);
    r.allowance = 1000;
    r.unlimited = true;
    assert_int_equal(allot_thresholds_crossed(&r, 0, 1000, out), 0);
}

static void thresholds_in_pricing(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("t", HV, 10, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-01", 7, CASH);
    assert_int_equal(pl.uses[0].ncrossed, 1);
    assert_int_equal(pl.uses[0].crossed[0], 70);
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-02", 2, CASH);
    assert_int_equal(pl.uses[0].ncrossed, 2);
    assert_int_equal(pl.uses[0].crossed[0], 80);
    assert_int_equal(pl.uses[0].crossed[1], 90);
    /* only what is drawn counts: 5 asked, 1 covered */
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-03", 5, CASH);
    assert_int_equal(pl.uses[0].ncrossed, 1);
    assert_int_equal(pl.uses[0].crossed[0], 100);
    pl = price1(&w, &m, "HOME_VISIT", "2025-01-04", 5, CASH);
    assert_int_equal(pl.uses[0].ncrossed, 0);
    /* a back-dated line crosses in its own period */
    pl = price1(&w, &m, "HOME_VISIT", "2024-12-31", 10, CASH);
    assert_int_equal(pl.uses[0].ncrossed, 4);
    world_release(&w);
}

static void percent_used_floors_without_cap(void **state)
{
    (void)state;
    assert_int_equal(allot_percent_used(3, 2), 150);
    assert_int_equal(allot_percent_used(1, 3), 33);
    assert_int_equal(allot_percent_used(2, 3), 66);
    assert_int_equal(allot_percent_used(0, 3), 0);
    assert_int_equal(allot_percent_used(5, 0), 0);
    assert_int_equal(allot_percent_used(-5, 10), 0);
    assert_int_equal(allot_percent_used(9999, 10000), 99);
    assert_int_equal(allot_percent_used(10000, 10000), 100);
    assert_int_equal(allot_percent_used(ALLOT_MONEY_MAX - 1, ALLOT_MONEY_MAX), 99);
    assert_int_equal(allot_percent_used(INT64_MAX, 1), INT64_MAX);
    assert_int_equal(allot_percent_used(INT64_MAX, ALLOT_MONEY_MAX),
                     INT64_MAX / ALLOT_MONEY_MAX * 100 + 68);
}

/* ----------------------------------------------------------------- status */

static void status_variants(void **state)
{
    struct world w;
    struct allot_rule q = rule_qty("q", HV, 4, ALLOT_PERIOD_PLAN_YEAR);
    struct allot_rule a = rule_amt("a", HV, 30000, ALLOT_PERIOD_CALENDAR_QUARTER);
    struct allot_rule my = rule_qty("my", HV, 4, ALLOT_PERIOD_MEMBER_YEAR);
    struct allot_rule rules[2];
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_rule_status s;
    (void)state;
    rules[0] = q;
    rules[1] = a;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", rules, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    price1(&w, &m, "HOME_VISIT", "2025-06-30", 1, 10000);
    price1(&w, &m, "HOME_VISIT", "2025-07-01", 1, 10000);
    s = status(&w, &m, &rules[0], "2025-07-01"); /* plan year July 1 */
    assert_int_equal(s.used, 1);
    assert_int_equal(s.member_used, 1);
    assert_int_equal(s.remaining, 3);
    assert_int_equal(s.percent_used, 25);
    assert_string_equal(F(s.period.start), "2025-07-01");
    assert_string_equal(F(s.reset), "2026-07-01");
    assert_int_equal(s.pool.kind, ALLOT_POOL_MEMBER);
    s = status(&w, &m, &rules[1], "2025-07-02");
    assert_int_equal(s.used, 10000);
    assert_int_equal(s.remaining, 20000);
    assert_int_equal(s.percent_used, 33);
    assert_string_equal(F(s.reset), "2025-10-01");
    /* member-anchored without any anniversary is an error */
    m.nenrollments = 0;
    assert_int_equal(allot_rule_status(&w.src, &m, &my, D("2025-01-01"), &s), ALLOT_EINVAL);
    world_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(household_pool_is_shared),
        cmocka_unit_test(household_member_cap),
        cmocka_unit_test(household_of_one),
        cmocka_unit_test(household_status_total_and_own),
        cmocka_unit_test(example_rolling_365_days),
        cmocka_unit_test(rolling_back_dated_line_cannot_overfill),
        cmocka_unit_test(rolling_reset_dates),
        cmocka_unit_test(rolling_months),
        cmocka_unit_test(rolling_household_cap),
        cmocka_unit_test(rolling_lines_of_one_invoice),
        cmocka_unit_test(rolling_amount_rule),
        cmocka_unit_test(thresholds_crossed_boundaries),
        cmocka_unit_test(thresholds_in_pricing),
        cmocka_unit_test(percent_used_floors_without_cap),
        cmocka_unit_test(status_variants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
