/* test_price.c - pricing lines: the domain's worked examples, nesting,
 * splits, amounts, payers, enrollment and plan versions. Pools, rolling
 * windows, status and thresholds are in test_price_pools.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "allot/engine.h"
#include "test_engine_fake.h"

static const char *HV[] = {"HOME_VISIT", NULL};
static const char *PT[] = {"97110", "97112", NULL};
static const char *PT0[] = {"97110", NULL};
static const char *PT2[] = {"97112", NULL};
static const char *LAB[] = {"LAB", NULL};

#define CASH 15000 /* $150 */

/* ------------------------------------------------------ worked examples */

/* Domain: HOME_VISIT, 2 per MEMBER_YEAR, anniversary 2024-03-15, $150.
 * 2025-04-01 and 2025-06-01 cost $0; 2025-09-01 costs $150; the reset
 * reported on 2025-09-01 is 2026-03-15. */
static void example_home_visits_member_year(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("home-visits", HV, 2, ALLOT_PERIOD_MEMBER_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    world_init(&w);
    world_plan(&w, "family", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "family", "2024-03-15", "2024-03-15");

    pl = price1(&w, &m, "HOME_VISIT", "2025-04-01", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    assert_int_equal(pl.reason, ALLOT_REASON_COVERED);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.covered_amount, CASH);
    assert_int_equal(binding(&pl)->remaining, 1);
    assert_string_equal(F(binding(&pl)->period.start), "2025-03-15");
    assert_string_equal(F(binding(&pl)->reset), "2026-03-15");
    assert_int_equal(binding(&pl)->ncrossed, 0);
    assert_string_equal(pl.plan_id, "family");
    assert_string_equal(F(pl.plan_effective_from), "2024-01-01");

    pl = price1(&w, &m, "HOME_VISIT", "2025-06-01", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    assert_int_equal(binding(&pl)->remaining, 0);
    assert_int_equal(binding(&pl)->ncrossed, 4); /* 1 -> 2 of 2: 70..100 at once */
    assert_int_equal(binding(&pl)->crossed[0], 70);
    assert_int_equal(binding(&pl)->crossed[3], 100);

    pl = price1(&w, &m, "HOME_VISIT", "2025-09-01", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.billable_quantity, 1);
    assert_int_equal(pl.billable_unit_price, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    assert_int_equal(pl.payer, ALLOT_PAYER_PATIENT);
    assert_string_equal(pl.payer_id, "m1");
    assert_string_equal(F(binding(&pl)->reset), "2026-03-15");
    assert_int_equal(binding(&pl)->drawn, 0);

    s = status(&w, &m, &r, "2025-09-01");
    assert_int_equal(s.used, 2);
    assert_int_equal(s.remaining, 0);
    assert_int_equal(s.percent_used, 100);
    assert_string_equal(F(s.reset), "2026-03-15");
    assert_string_equal(F(s.period.start), "2025-03-15");

    /* the day before the reset is still the old member year */
    pl = preview1(&w, &m, "HOME_VISIT", "2026-03-14", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    pl = preview1(&w, &m, "HOME_VISIT", "2026-03-15", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    world_release(&w);
}

/* The same three visits as lines of one invoice: each line sees the ones
 * before it. */
static void example_home_visits_one_invoice(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("home-visits", HV, 2, ALLOT_PERIOD_MEMBER_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[3];
    struct allot_priced_line out[3];
    (void)state;
    world_init(&w);
    world_plan(&w, "family", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "family", "2024-03-15", NULL); /* default anniversary */
    l[0] = mkline("HOME_VISIT", "2025-04-01", 1, CASH);
    l[1] = mkline("HOME_VISIT", "2025-06-01", 1, CASH);
    l[2] = mkline("HOME_VISIT", "2025-09-01", 1, CASH);
    price_rec(&w, &m, l, 3, out);
    assert_int_equal(out[0].amount_due, 0);
    assert_int_equal(out[1].amount_due, 0);
    assert_int_equal(out[2].amount_due, CASH);
    assert_int_equal(out[1].uses[0].used_before, 1);
    assert_int_equal(out[2].uses[0].used_before, 2);
    assert_string_equal(F(out[2].uses[0].reset), "2026-03-15");
    assert_ptr_equal(out[2].line, &l[2]);
    world_release(&w);
}

/* Domain: 97110 and 97112 under one rule of 20 per CALENDAR_YEAR. 29 visits
 * in 2024: the last 9 are billed. */
static void example_pt_combined_limit(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("pt", PT, 20, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[29];
    struct allot_priced_line out[29];
    char dates[29][ALLOT_DATE_STRLEN];
    int64_t due = 0;
    int i;
    (void)state;
    world_init(&w);
    world_plan(&w, "pt-plan", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "pt-plan", "2024-01-01", NULL);
    for (i = 0; i < 29; i++) {
        allot_date_format(D("2024-01-08") + 7 * i, dates[i]);
        l[i] = mkline(i % 2 ? "97112" : "97110", dates[i], 1, 12000);
    }
    price_rec(&w, &m, l, 29, out);
    for (i = 0; i < 29; i++) {
        assert_int_equal(out[i].amount_due, i < 20 ? 0 : 12000);
        assert_int_equal(out[i].reason, i < 20 ? ALLOT_REASON_COVERED : ALLOT_REASON_USED_UP);
        due += out[i].amount_due;
    }
    assert_int_equal(due, 9 * 12000);
    /* priced again as separate invoices, the answer is the same */
    world_release(&w);
    world_init(&w);
    world_plan(&w, "pt-plan", "2024-01-01", &r, 1);
    for (i = 0, due = 0; i < 29; i++)
        due += price1(&w, &m, l[i].service_code, dates[i], 1, 12000).amount_due;
    assert_int_equal(due, 9 * 12000);
    world_release(&w);
}

/* Domain: with a second rule of 10 listing only 97112 (a sub-limit), the
 * 11th 97112 visit is billed even while the combined rule has room. */
static void example_pt_sub_limit(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("pt", PT, 20, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("pt-97112", PT2, 10, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    char date[ALLOT_DATE_STRLEN];
    int i;
    (void)state;
    world_init(&w);
    world_plan(&w, "pt-plan", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "pt-plan", "2024-01-01", NULL);
    for (i = 0; i < 10; i++) {
        pl = price1(&w, &m, "97112", allot_date_format(D("2024-02-01") + i, date), 1, 12000);
        assert_int_equal(pl.amount_due, 0);
        assert_int_equal(pl.nuses, 2);
        assert_int_equal(pl.uses[0].drawn, 1);
        assert_int_equal(pl.uses[1].drawn, 1);
    }
    pl = price1(&w, &m, "97112", "2024-03-01", 1, 12000);
    assert_int_equal(pl.amount_due, 12000);
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    assert_int_equal(pl.uses[0].remaining, 10); /* the combined rule still has room */
    assert_int_equal(pl.uses[0].drawn, 0);
    /* 97110 still fits the combined rule: 10 more, then it is used up */
    for (i = 0; i < 10; i++) {
        pl = price1(&w, &m, "97110", allot_date_format(D("2024-04-01") + i, date), 1, 12000);
        assert_int_equal(pl.amount_due, 0);
        assert_int_equal(pl.nuses, 1);
    }
    pl = price1(&w, &m, "97110", "2024-05-01", 1, 12000);
    assert_int_equal(pl.amount_due, 12000);
    assert_int_equal(pl.binding, 0);
    world_release(&w);
}

/* Domain: if 97112 is left out of the combined rule and has its own rule of
 * 10, it draws on that one alone. */
static void example_pt_separate_rule(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("pt", PT0, 20, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("pt-97112", PT2, 10, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    char date[ALLOT_DATE_STRLEN];
    int i;
    (void)state;
    world_init(&w);
    world_plan(&w, "pt-plan", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "pt-plan", "2024-01-01", NULL);
    for (i = 0; i < 11; i++) {
        pl = price1(&w, &m, "97112", allot_date_format(D("2024-02-01") + i, date), 1, 12000);
        assert_int_equal(pl.nuses, 1);
        assert_ptr_equal(pl.uses[0].rule, &r[1]);
        assert_int_equal(pl.amount_due, i < 10 ? 0 : 12000);
    }
    for (i = 0; i < 21; i++) {
        pl = price1(&w, &m, "97110", allot_date_format(D("2024-04-01") + i, date), 1, 12000);
        assert_int_equal(pl.amount_due, i < 20 ? 0 : 12000);
    }
    world_release(&w);
}

/* Domain: a split, 3 units against 1 remaining: 1 covered at 0, 2 billed at
 * the overage price. */
static void example_split_three_against_one(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("massage", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r.has_overage_price = true;
    r.overage_price = 9000;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "massage", "m1", D("2025-01-10"), 1);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 3, CASH);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.covered_amount, CASH);
    assert_int_equal(pl.billable_quantity, 2);
    assert_int_equal(pl.billable_unit_price, 9000);
    assert_int_equal(pl.amount_due, 18000);
    assert_int_equal(pl.reason, ALLOT_REASON_PARTLY_COVERED);
    assert_int_equal(pl.uses[0].drawn, 1);
    assert_int_equal(pl.uses[0].remaining, 0);
    world_release(&w);
}

/* Domain: an amount rule, a line worth $300 against $200 remaining is
 * covered for $200 and billed $100. */
static void example_amount_300_against_200(void **state)
{
    struct world w;
    struct allot_rule r = rule_amt("labs", LAB, 50000, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "labs", "m1", D("2025-01-10"), 30000);
    pl = price1(&w, &m, "LAB", "2025-02-01", 1, 30000);
    assert_int_equal(pl.covered_amount, 20000);
    assert_int_equal(pl.amount_due, 10000);
    assert_int_equal(pl.covered_quantity, 1); /* the unit is partly covered */
    assert_int_equal(pl.billable_quantity, 0);
    assert_int_equal(pl.billable_unit_price, 30000);
    assert_int_equal(pl.reason, ALLOT_REASON_PARTLY_COVERED);
    assert_int_equal(pl.uses[0].drawn, 20000);
    assert_int_equal(pl.uses[0].remaining, 0);
    assert_int_equal(pl.uses[0].used_after, 50000);
    pl = price1(&w, &m, "LAB", "2025-03-01", 2, 30000);
    assert_int_equal(pl.amount_due, 60000);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    pl = price1(&w, &m, "LAB", "2026-01-01", 2, 30000);
    assert_int_equal(pl.amount_due, 10000);
    assert_int_equal(pl.covered_amount, 50000);
    world_release(&w);
}

/* Every split of a line of 1..7 units against 0..6 used of 5: covered is
 * min(room, quantity), the rest at the overage price. */
static void split_at_every_boundary(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("k", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    int64_t used, q;
    (void)state;
    r.has_overage_price = true;
    r.overage_price = 4200;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    for (used = 0; used <= 6; used++) {
        w.f.n = 0;
        if (used)
            fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "k", "m1", D("2025-01-01"), used);
        for (q = 1; q <= 7; q++) {
            int64_t room = used >= 5 ? 0 : 5 - used;
            int64_t cov = room < q ? room : q;
            pl = preview1(&w, &m, "HOME_VISIT", "2025-06-01", q, CASH);
            assert_int_equal(pl.covered_quantity, cov);
            assert_int_equal(pl.billable_quantity, q - cov);
            assert_int_equal(pl.amount_due, (q - cov) * 4200);
            assert_int_equal(pl.billable_unit_price, 4200);
            assert_int_equal(pl.reason, cov == q   ? ALLOT_REASON_COVERED
                                        : cov == 0 ? ALLOT_REASON_USED_UP
                                                   : ALLOT_REASON_PARTLY_COVERED);
            assert_int_equal(pl.uses[0].remaining, room - cov);
            assert_int_equal(pl.uses[0].used_before, used);
        }
    }
    world_release(&w);
}

/* An amount rule at every cent boundary around whole units of 2500. */
static void amount_split_at_every_cent_boundary(void **state)
{
    static const int64_t rooms[] = {0, 1, 2499, 2500, 2501, 4999, 5000, 5001, 7499, 7500, 9000};
    struct world w;
    struct allot_rule r = rule_amt("k", LAB, 7500, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    size_t i;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    for (i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        int64_t room = rooms[i] > 7500 ? 7500 : rooms[i];
        int64_t cov = room < 7500 ? room : 7500; /* the line is worth 3 x 2500 */
        w.f.n = 0;
        /* 9000 of room needs use of -1500: a negative total reads as 0 */
        if (7500 - rooms[i] != 0)
            fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "k", "m1", D("2025-01-01"), 7500 - rooms[i]);
        pl = preview1(&w, &m, "LAB", "2025-06-01", 3, 2500);
        assert_int_equal(pl.covered_amount, cov);
        assert_int_equal(pl.covered_quantity, (cov + 2499) / 2500);
        assert_int_equal(pl.amount_due, 7500 - cov);
        assert_int_equal(pl.uses[0].remaining, room - cov);
    }
    world_release(&w);
}

/* ----------------------------------------------------- amounts and nesting */

/* An amount rule splitting a line to the cent, nested with a quantity rule on
 * the same code: the partly covered unit counts as used by the quantity rule. */
static void amount_rule_splits_a_unit_to_the_cent(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("lab-count", LAB, 10, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_amt("lab-dollars", LAB, 5000, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r[0].has_overage_price = true; /* not binding: must not apply */
    r[0].overage_price = 1;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "LAB", "2025-02-01", 3, 3333); /* worth 99.99 */
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.covered_amount, 5000);
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.billable_quantity, 1);
    assert_int_equal(pl.billable_unit_price, 3333);
    assert_int_equal(pl.amount_due, 4999);
    assert_int_equal(pl.reason, ALLOT_REASON_PARTLY_COVERED);
    assert_int_equal(pl.uses[0].drawn, 2);
    assert_int_equal(pl.uses[1].drawn, 5000);
    assert_int_equal(pl.uses[0].remaining, 8);
    assert_int_equal(pl.uses[1].remaining, 0);
    pl = price1(&w, &m, "LAB", "2025-02-02", 1, 3333);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    assert_int_equal(pl.amount_due, 3333);
    assert_int_equal(pl.uses[0].drawn, 0);
    assert_int_equal(pl.uses[0].remaining, 8);
    /* exactly one cent short of a unit */
    world_release(&w);
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    pl = price1(&w, &m, "LAB", "2025-02-01", 2, 2501); /* 5002 vs 5000 */
    assert_int_equal(pl.covered_amount, 5000);
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.amount_due, 2);
    assert_int_equal(pl.uses[0].drawn, 2);
    /* and exactly at a unit */
    world_release(&w);
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    pl = price1(&w, &m, "LAB", "2025-02-01", 3, 2500); /* 7500 vs 5000 */
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.billable_quantity, 1);
    assert_int_equal(pl.amount_due, 2500);
    world_release(&w);
}

/* Rules are compared in cents of line value: which one binds depends on the
 * line's price. */
static void binding_rule_by_common_measure(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("count", LAB, 2, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_amt("dollars", LAB, 25000, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r[0].has_overage_price = true;
    r[0].overage_price = 7000;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    /* $100 units: 2 units ($200) < $250, the count binds, overage applies */
    pl = preview1(&w, &m, "LAB", "2025-02-01", 3, 10000);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.billable_unit_price, 7000);
    assert_int_equal(pl.amount_due, 7000);
    assert_int_equal(pl.uses[1].drawn, 20000);
    /* $150 units: $250 < 2 units ($300), the dollars bind, line price applies */
    pl = preview1(&w, &m, "LAB", "2025-02-01", 3, 15000);
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.covered_amount, 25000);
    assert_int_equal(pl.covered_quantity, 2);
    assert_int_equal(pl.billable_unit_price, 15000);
    assert_int_equal(pl.amount_due, 45000 - 25000);
    assert_int_equal(pl.uses[0].drawn, 2);
    /* $125 units: a tie at $250, the first rule in plan order binds */
    pl = preview1(&w, &m, "LAB", "2025-02-01", 3, 12500);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.amount_due, 7000);
    assert_int_equal(pl.uses[1].drawn, 25000);
    world_release(&w);
}

static void tie_binds_first_in_plan_order(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("a", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("b", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_rule rr[2];
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r[0].has_overage_price = true;
    r[0].overage_price = 5000;
    r[1].has_overage_price = true;
    r[1].overage_price = 7000;
    r[1].payer = ALLOT_PAYER_SPONSOR;
    rr[0] = r[1];
    rr[1] = r[0];
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    world_plan(&w, "q", "2024-01-01", rr, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    m.sponsor_id = "acme";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 3, CASH);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.amount_due, 2 * 5000);
    assert_int_equal(pl.payer, ALLOT_PAYER_PATIENT);
    en.plan_id = "q";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 3, CASH);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.amount_due, 2 * 7000);
    assert_int_equal(pl.payer, ALLOT_PAYER_SPONSOR);
    assert_string_equal(pl.payer_id, "acme");
    /* a fully covered line binds to its first rule too */
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 1, CASH);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.amount_due, 0);
    world_release(&w);
}

static void quantity_larger_than_every_allowance(void **state)
{
    struct world w;
    struct allot_rule r[3] = {rule_qty("five", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("three", HV, 3, ALLOT_PERIOD_LIFETIME),
                              rule_amt("money", HV, ALLOT_MONEY_MAX, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 3);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", ALLOT_QUANTITY_MAX, 1000000);
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.covered_quantity, 3);
    assert_int_equal(pl.billable_quantity, ALLOT_QUANTITY_MAX - 3);
    assert_int_equal(pl.amount_due, (ALLOT_QUANTITY_MAX - 3) * INT64_C(1000000));
    assert_int_equal(pl.covered_amount, 3000000);
    assert_int_equal(pl.uses[0].drawn, 3);
    assert_int_equal(pl.uses[1].drawn, 3);
    assert_int_equal(pl.uses[2].drawn, 3000000);
    assert_int_equal(pl.uses[2].remaining, ALLOT_MONEY_MAX - 3000000);
    assert_int_equal(pl.uses[0].remaining, 2);
    /* the largest line there can be, against the money rule alone */
    r[1].allowance = 1000;
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-02", ALLOT_QUANTITY_MAX, ALLOT_MONEY_MAX);
    assert_int_equal(pl.binding, 2);
    assert_int_equal(pl.covered_amount, ALLOT_MONEY_MAX - 3000000);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.amount_due, ALLOT_QUANTITY_MAX * ALLOT_MONEY_MAX - pl.covered_amount);
    world_release(&w);
}

static void unlimited_rule_covers_and_records(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("all", HV, 0, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("three", HV, 3, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    struct allot_rule_status s;
    (void)state;
    r[0].unlimited = true;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 1);
    world_plan(&w, "q", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 7, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_COVERED);
    assert_int_equal(pl.covered_quantity, 7);
    assert_int_equal(pl.amount_due, 0);
    assert_int_equal(pl.uses[0].drawn, 7);
    assert_int_equal(pl.uses[0].remaining, 0);
    assert_int_equal(pl.uses[0].ncrossed, 0);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-02", 1000, CASH);
    assert_int_equal(pl.uses[0].used_before, 7);
    assert_int_equal(pl.uses[0].ncrossed, 0);
    s = status(&w, &m, &r[0], "2025-06-01");
    assert_int_equal(s.used, 1007);
    assert_int_equal(s.remaining, 0);
    assert_int_equal(s.percent_used, 0);
    assert_string_equal(F(s.reset), "2026-01-01");
    /* nested with a limited rule, the limited one binds */
    en.plan_id = "q";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 5, CASH);
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.covered_quantity, 3);
    assert_int_equal(pl.uses[0].drawn, 3);
    world_release(&w);
}

static void member_price_rule(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("roomy", HV, 10, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("member-price", HV, 0, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r[1].has_overage_price = true;
    r[1].overage_price = 4000;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 2, 10000);
    assert_int_equal(pl.reason, ALLOT_REASON_MEMBER_PRICE);
    assert_int_equal(pl.binding, 1);
    assert_int_equal(pl.covered_quantity, 0);
    assert_int_equal(pl.billable_quantity, 2);
    assert_int_equal(pl.billable_unit_price, 4000);
    assert_int_equal(pl.amount_due, 8000);
    assert_int_equal(pl.uses[0].drawn, 0);
    assert_int_equal(pl.uses[1].drawn, 0);
    assert_int_equal(pl.uses[1].ncrossed, 0);
    assert_int_equal(status(&w, &m, &r[1], "2025-02-01").percent_used, 0);
    world_release(&w);
}

static void free_line(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("count", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_amt("money", HV, 100, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r[0].has_overage_price = true;
    r[0].overage_price = 5000;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", r, 2);
    world_plan(&w, "q", "2024-01-01", &r[1], 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    /* a $0 line is counted in units; the amount rule cannot limit it */
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 3, 0);
    assert_int_equal(pl.binding, 0);
    assert_int_equal(pl.covered_quantity, 1);
    assert_int_equal(pl.covered_amount, 0);
    assert_int_equal(pl.billable_quantity, 2);
    assert_int_equal(pl.amount_due, 10000); /* overage price even for a $0 line */
    assert_int_equal(pl.uses[1].drawn, 0);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-02", 1, 0);
    assert_int_equal(pl.reason, ALLOT_REASON_USED_UP);
    en.plan_id = "q";
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-01", 4, 0);
    assert_int_equal(pl.reason, ALLOT_REASON_COVERED);
    assert_int_equal(pl.covered_quantity, 4);
    assert_int_equal(pl.amount_due, 0);
    assert_int_equal(pl.uses[0].drawn, 0);
    world_release(&w);
}

/* ------------------------------------------------------------------ payer */

static void payer_sponsor_or_patient(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    r.payer = ALLOT_PAYER_SPONSOR;
    world_init(&w);
    world_plan(&w, "p", "2024-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    m.sponsor_id = "acme-corp";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 2, CASH);
    assert_int_equal(pl.payer, ALLOT_PAYER_SPONSOR);
    assert_string_equal(pl.payer_id, "acme-corp");
    assert_int_equal(pl.amount_due, CASH);
    /* a member without a sponsor pays */
    m.sponsor_id = "";
    pl = preview1(&w, &m, "HOME_VISIT", "2025-02-01", 2, CASH);
    assert_int_equal(pl.payer, ALLOT_PAYER_PATIENT);
    assert_string_equal(pl.payer_id, "m1");
    /* codes outside the plan go to the patient even with a sponsor */
    m.sponsor_id = "acme-corp";
    pl = preview1(&w, &m, "MRI", "2025-02-01", 1, 90000);
    assert_int_equal(pl.reason, ALLOT_REASON_NOT_IN_PLAN);
    assert_int_equal(pl.payer, ALLOT_PAYER_PATIENT);
    assert_string_equal(pl.payer_id, "m1");
    assert_int_equal(pl.amount_due, 90000);
    assert_int_equal(pl.binding, -1);
    assert_int_equal(pl.nuses, 0);
    assert_string_equal(pl.plan_id, "p");
    world_release(&w);
}

/* ------------------------------------------------- enrollment and versions */

static void enrollment_gaps_and_inclusive_end(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en[2];
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, en, "m1", "p", "2024-01-01", NULL);
    en[0].end = D("2024-06-30");
    en[1].plan_id = "p";
    en[1].start = D("2024-08-01");
    en[1].end = ALLOT_DATE_NONE;
    m.nenrollments = 2;
    pl = preview1(&w, &m, "HOME_VISIT", "2023-12-31", 2, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_NO_ENROLLMENT);
    assert_int_equal(pl.amount_due, 2 * CASH);
    assert_int_equal(pl.billable_unit_price, CASH);
    assert_null(pl.plan_id);
    assert_int_equal(pl.plan_effective_from, ALLOT_DATE_NONE);
    assert_int_equal(pl.binding, -1);
    assert_string_equal(pl.payer_id, "m1");
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-01-01", 1, CASH).amount_due, 0);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-06-30", 1, CASH).amount_due, 0);
    pl = preview1(&w, &m, "HOME_VISIT", "2024-07-01", 1, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_NO_ENROLLMENT);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-07-31", 1, CASH).reason,
                     ALLOT_REASON_NO_ENROLLMENT);
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2024-08-01", 1, CASH).amount_due, 0);
    /* not enrolled: the line's own price, not the plan's overage */
    pl = preview1(&w, &m, "HOME_VISIT", "2024-07-01", 3, 999);
    assert_int_equal(pl.amount_due, 3 * 999);
    world_release(&w);
}

static void before_first_plan_version(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2024-03-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    pl = preview1(&w, &m, "HOME_VISIT", "2024-02-29", 1, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_NO_ENROLLMENT);
    assert_int_equal(pl.amount_due, CASH);
    assert_null(pl.plan_id);
    pl = preview1(&w, &m, "HOME_VISIT", "2024-03-01", 1, CASH);
    assert_int_equal(pl.reason, ALLOT_REASON_COVERED);
    world_release(&w);
}

/* A new version keeping a rule key keeps the period's use; a new key starts
 * fresh. */
static void plan_version_change_mid_period(void **state)
{
    struct world w;
    struct allot_rule v1 = rule_qty("home-visits", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_rule v2 = rule_qty("home-visits", HV, 3, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_rule v3 = rule_qty("home-visits-2025b", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2025-01-01", &v1, 1);
    world_version(&w, "2025-07-01", &v2, 1);
    world_version(&w, "2025-10-01", &v3, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    assert_int_equal(price1(&w, &m, "HOME_VISIT", "2025-02-01", 2, CASH).amount_due, 0);
    pl = price1(&w, &m, "HOME_VISIT", "2025-06-30", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_string_equal(F(pl.plan_effective_from), "2025-01-01");
    pl = price1(&w, &m, "HOME_VISIT", "2025-07-01", 2, CASH);
    assert_string_equal(F(pl.plan_effective_from), "2025-07-01");
    assert_ptr_equal(pl.uses[0].rule, &v2);
    assert_int_equal(pl.uses[0].used_before, 2);
    assert_int_equal(pl.covered_quantity, 1); /* 3 - 2 */
    assert_int_equal(pl.amount_due, CASH);
    pl = price1(&w, &m, "HOME_VISIT", "2025-10-01", 3, CASH);
    assert_ptr_equal(pl.uses[0].rule, &v3);
    assert_int_equal(pl.uses[0].used_before, 0);
    assert_int_equal(pl.covered_quantity, 2);
    /* a back-dated line is priced by the version of its own date */
    pl = price1(&w, &m, "HOME_VISIT", "2025-03-01", 1, CASH);
    assert_ptr_equal(pl.uses[0].rule, &v1);
    assert_int_equal(pl.uses[0].used_before, 3);
    assert_int_equal(pl.amount_due, CASH);
    world_release(&w);
}

/* Moving to another plan that has the same key keeps the use. */
static void plan_move_keeps_same_key(void **state)
{
    struct world w;
    struct allot_rule a = rule_qty("home-visits", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_rule b = rule_qty("home-visits", HV, 4, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en[2];
    (void)state;
    world_init(&w);
    world_plan(&w, "basic", "2020-01-01", &a, 1);
    world_plan(&w, "plus", "2020-01-01", &b, 1);
    member_init(&m, en, "m1", "basic", "2025-01-01", NULL);
    en[0].end = D("2025-05-31");
    en[1].plan_id = "plus";
    en[1].start = D("2025-06-01");
    en[1].end = ALLOT_DATE_NONE;
    m.nenrollments = 2;
    assert_int_equal(price1(&w, &m, "HOME_VISIT", "2025-05-31", 2, CASH).amount_due, 0);
    assert_int_equal(price1(&w, &m, "HOME_VISIT", "2025-06-01", 3, CASH).amount_due, CASH);
    world_release(&w);
}

static void unknown_plan_is_an_error(void **state)
{
    struct world w;
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[2];
    struct allot_priced_line out[2];
    (void)state;
    world_init(&w);
    member_init(&m, &en, "m1", "ghost", "2024-01-01", NULL);
    l[0] = mkline("HOME_VISIT", "2023-01-01", 1, CASH); /* not enrolled: fine */
    l[1] = mkline("HOME_VISIT", "2025-01-01", 1, CASH);
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_ENOTFOUND);
    assert_int_equal(w.st.code, ALLOT_ENOTFOUND);
    assert_non_null(strstr(w.st.msg, "lines[1]"));
    assert_non_null(strstr(w.st.msg, "ghost"));
    assert_null(out[0].line); /* no half results */
    world_release(&w);
}

/* ----------------------------------------------------------- dates */

/* A late invoice draws on the period of the service date, and a fixed period
 * counts all its use, also use dated after the line. */
static void back_dated_line_draws_on_its_own_period(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("monthly", HV, 1, ALLOT_PERIOD_CALENDAR_MONTH);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    assert_int_equal(price1(&w, &m, "HOME_VISIT", "2025-03-10", 1, CASH).amount_due, 0);
    pl = price1(&w, &m, "HOME_VISIT", "2025-02-20", 1, CASH);
    assert_int_equal(pl.amount_due, 0);
    assert_string_equal(F(pl.uses[0].period.start), "2025-02-01");
    assert_string_equal(F(pl.uses[0].reset), "2025-03-01");
    pl = price1(&w, &m, "HOME_VISIT", "2025-03-05", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.uses[0].used_before, 1);
    world_release(&w);
}

/* Lines of one invoice in any date order see each other, each in its own
 * period. */
static void invoice_lines_see_earlier_lines(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 2, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[6];
    struct allot_priced_line out[6];
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "2020-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2024-01-01", NULL);
    l[0] = mkline("HOME_VISIT", "2025-06-01", 1, CASH);
    l[1] = mkline("HOME_VISIT", "2024-12-31", 2, CASH);
    l[2] = mkline("HOME_VISIT", "2025-01-01", 1, CASH);
    l[3] = mkline("HOME_VISIT", "2024-01-01", 1, CASH);
    l[4] = mkline("MRI", "2025-01-01", 1, CASH);
    l[5] = mkline("HOME_VISIT", "2025-12-31", 1, CASH);
    price_rec(&w, &m, l, 6, out);
    assert_int_equal(out[0].amount_due, 0);
    assert_int_equal(out[1].amount_due, 0);
    assert_int_equal(out[2].amount_due, 0);
    assert_int_equal(out[3].amount_due, CASH); /* 2024 already has 2 */
    assert_int_equal(out[4].reason, ALLOT_REASON_NOT_IN_PLAN);
    assert_int_equal(out[5].amount_due, CASH);
    assert_int_equal(out[5].uses[0].used_before, 2);
    /* a preview does not record: the source still has what price_rec put */
    assert_int_equal(preview1(&w, &m, "HOME_VISIT", "2025-03-03", 1, CASH).amount_due, CASH);
    world_release(&w);
}

/* For every fixed kind: one unit per period, used on one side of a boundary;
 * a line on the day before, of and after it. */
static void boundaries_of_every_fixed_kind(void **state)
{
    static const struct {
        enum allot_period_kind kind;
        const char *anniv;
        const char *boundary;
    } b[] = {
        {ALLOT_PERIOD_CALENDAR_YEAR, NULL, "2025-01-01"},
        {ALLOT_PERIOD_CALENDAR_YEAR, NULL, "2100-01-01"},
        {ALLOT_PERIOD_MEMBER_YEAR, "2020-03-15", "2025-03-15"},
        {ALLOT_PERIOD_MEMBER_YEAR, "2020-02-29", "2025-02-28"},
        {ALLOT_PERIOD_MEMBER_YEAR, "2020-02-29", "2028-02-29"},
        {ALLOT_PERIOD_PLAN_YEAR, NULL, "2025-07-01"},
        {ALLOT_PERIOD_CALENDAR_MONTH, NULL, "2024-03-01"},
        {ALLOT_PERIOD_CALENDAR_MONTH, NULL, "2025-01-01"},
        {ALLOT_PERIOD_MEMBER_MONTH, "2020-01-31", "2025-02-28"},
        {ALLOT_PERIOD_MEMBER_MONTH, "2020-01-31", "2025-03-31"},
        {ALLOT_PERIOD_MEMBER_MONTH, "2020-01-31", "2025-04-30"},
        {ALLOT_PERIOD_MEMBER_MONTH, "2020-01-31", "2024-02-29"},
        {ALLOT_PERIOD_CALENDAR_QUARTER, NULL, "2025-04-01"},
        {ALLOT_PERIOD_CALENDAR_QUARTER, NULL, "2026-01-01"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof b / sizeof b[0]; i++) {
        struct world w;
        struct allot_rule r = rule_qty("k", HV, 1, b[i].kind);
        struct allot_member m;
        struct allot_enrollment en;
        struct allot_priced_line pl;
        allot_date B = D(b[i].boundary);
        char before[ALLOT_DATE_STRLEN], on[ALLOT_DATE_STRLEN], after[ALLOT_DATE_STRLEN];
        allot_date_format(B - 1, before);
        allot_date_format(B, on);
        allot_date_format(B + 1, after);
        world_init(&w);
        world_plan(&w, "p", "1990-01-01", &r, 1);
        member_init(&m, &en, "m1", "p", "2000-01-01", b[i].anniv);
        /* used the day before the boundary */
        fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "k", "m1", B - 1, 1);
        pl = preview1(&w, &m, "HOME_VISIT", before, 1, CASH);
        if (pl.amount_due != CASH || pl.uses[0].reset != B)
            fail_msg("case %zu: line %s due %lld reset %s", i, before, (long long)pl.amount_due,
                     F(pl.uses[0].reset));
        pl = preview1(&w, &m, "HOME_VISIT", on, 1, CASH);
        if (pl.amount_due != 0 || pl.uses[0].period.start != B)
            fail_msg("case %zu: line %s due %lld", i, on, (long long)pl.amount_due);
        /* used on the boundary */
        w.f.n = 0;
        fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "k", "m1", B, 1);
        if (preview1(&w, &m, "HOME_VISIT", before, 1, CASH).amount_due != 0)
            fail_msg("case %zu: line %s billed", i, before);
        if (preview1(&w, &m, "HOME_VISIT", on, 1, CASH).amount_due != CASH)
            fail_msg("case %zu: line %s covered", i, on);
        if (preview1(&w, &m, "HOME_VISIT", after, 1, CASH).amount_due != CASH)
            fail_msg("case %zu: line %s covered", i, after);
        world_release(&w);
    }
}

static void lifetime_rule(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("fitting", HV, 1, ALLOT_PERIOD_LIFETIME);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_priced_line pl;
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "1990-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "1990-01-01", NULL);
    fake_add(&w.f, ALLOT_POOL_MEMBER, "m1", "fitting", "m1", D("1990-05-05"), 1);
    pl = preview1(&w, &m, "HOME_VISIT", "2090-01-01", 1, CASH);
    assert_int_equal(pl.amount_due, CASH);
    assert_int_equal(pl.uses[0].reset, ALLOT_DATE_NONE);
    assert_int_equal(pl.uses[0].period.start, ALLOT_DATE_MIN);
    assert_int_equal(pl.uses[0].period.end, ALLOT_DATE_NONE);
    world_release(&w);
}

/* -------------------------------------------------------------- errors */

static void malformed_lines_rejected(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[2];
    struct allot_priced_line out[2];
    (void)state;
    world_init(&w);
    world_plan(&w, "p", "1990-01-01", &r, 1);
    member_init(&m, &en, "m1", "p", "2000-01-01", NULL);
    l[0] = mkline("HOME_VISIT", "2025-01-01", 1, CASH);
    l[1] = mkline("HOME_VISIT", "2025-01-01", 0, CASH);
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    assert_non_null(strstr(w.st.msg, "lines[1].quantity"));
    l[1].quantity = ALLOT_QUANTITY_MAX + 1;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    l[1].quantity = 1;
    l[1].unit_price = -1;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    assert_non_null(strstr(w.st.msg, "lines[1].unit_price"));
    l[1].unit_price = ALLOT_MONEY_MAX + 1;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    l[1].unit_price = 0;
    l[1].date = ALLOT_DATE_NONE;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    assert_non_null(strstr(w.st.msg, "lines[1].date"));
    l[1].date = D("2025-01-01");
    l[1].service_code = NULL;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), ALLOT_EINVAL);
    /* nothing was recorded or drawn from: the same call now succeeds */
    l[1].service_code = "HOME_VISIT";
    l[1].unit_price = CASH;
    assert_int_equal(allot_price_lines(&w.src, &m, l, 2, &w.a, out, &w.st), 0);
    assert_int_equal(w.st.code, 0);
    assert_int_equal(out[0].amount_due, 0);
    assert_int_equal(out[1].amount_due, CASH);
    /* an empty invoice is fine */
    assert_int_equal(allot_price_lines(&w.src, &m, l, 0, &w.a, out, NULL), 0);
    world_release(&w);
}

static void source_errors_pass_through(void **state)
{
    struct world w;
    struct allot_rule r = rule_qty("hv", HV, 1, ALLOT_PERIOD_CALENDAR_YEAR);
    struct allot_rule rr = rule_qty("hv", HV, 1, ALLOT_PERIOD_ROLLING_DAYS);
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l = mkline("HOME_VISIT", "2025-01-01", 1, CASH);
    struct allot_priced_line out;
    struct allot_rule_status s;
    (void)state;
    rr.period.count = 30;
    world_init(&w);
    world_plan(&w, "p", "1990-01-01", &r, 1);
    world_plan(&w, "q", "1990-01-01", &rr, 1);
    member_init(&m, &en, "m1", "p", "2000-01-01", NULL);
    w.f.fail = ALLOT_EIO;
    assert_int_equal(allot_price_lines(&w.src, &m, &l, 1, &w.a, &out, &w.st), ALLOT_EIO);
    assert_non_null(strstr(w.st.msg, "hv"));
    assert_int_equal(allot_rule_status(&w.src, &m, &r, D("2025-01-01"), &s), ALLOT_EIO);
    en.plan_id = "q";
    assert_int_equal(allot_price_lines(&w.src, &m, &l, 1, &w.a, &out, NULL), ALLOT_EIO);
    w.f.fail = 0;
    w.src.each_day = NULL;
    assert_int_equal(allot_price_lines(&w.src, &m, &l, 1, &w.a, &out, NULL), ALLOT_EUNIMPL);
    world_release(&w);
}

/* A fixed-period rule costs one sum per line, two under a member cap. */
static void fixed_periods_cost_one_sum(void **state)
{
    struct world w;
    struct allot_rule r[2] = {rule_qty("a", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR),
                              rule_qty("b", HV, 5, ALLOT_PERIOD_CALENDAR_YEAR)};
    struct allot_member m;
    struct allot_enrollment en;
    struct allot_line l[10];
    struct allot_priced_line out[10];
    int i;
    (void)state;
    r[1].pool = ALLOT_POOL_HOUSEHOLD;
    r[1].member_cap = 2;
    world_init(&w);
    world_plan(&w, "p", "1990-01-01", r, 2);
    member_init(&m, &en, "m1", "p", "2000-01-01", NULL);
    for (i = 0; i < 10; i++)
        l[i] = mkline("HOME_VISIT", "2025-01-01", 1, CASH);
    price_rec(&w, &m, l, 10, out);
    assert_int_equal(w.f.sum_calls, 10 * 3);
    assert_int_equal(w.f.each_day_calls, 0);
    assert_int_equal(out[1].amount_due, 0);
    assert_int_equal(out[2].amount_due, CASH);
    assert_int_equal(out[2].binding, 1);
    world_release(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(example_home_visits_member_year),
        cmocka_unit_test(example_home_visits_one_invoice),
        cmocka_unit_test(example_pt_combined_limit),
        cmocka_unit_test(example_pt_sub_limit),
        cmocka_unit_test(example_pt_separate_rule),
        cmocka_unit_test(example_split_three_against_one),
        cmocka_unit_test(example_amount_300_against_200),
        cmocka_unit_test(split_at_every_boundary),
        cmocka_unit_test(amount_split_at_every_cent_boundary),
        cmocka_unit_test(amount_rule_splits_a_unit_to_the_cent),
        cmocka_unit_test(binding_rule_by_common_measure),
        cmocka_unit_test(tie_binds_first_in_plan_order),
        cmocka_unit_test(quantity_larger_than_every_allowance),
        cmocka_unit_test(unlimited_rule_covers_and_records),
        cmocka_unit_test(member_price_rule),
        cmocka_unit_test(free_line),
        cmocka_unit_test(payer_sponsor_or_patient),
        cmocka_unit_test(enrollment_gaps_and_inclusive_end),
        cmocka_unit_test(before_first_plan_version),
        cmocka_unit_test(plan_version_change_mid_period),
        cmocka_unit_test(plan_move_keeps_same_key),
        cmocka_unit_test(unknown_plan_is_an_error),
        cmocka_unit_test(back_dated_line_draws_on_its_own_period),
        cmocka_unit_test(invoice_lines_see_earlier_lines),
        cmocka_unit_test(boundaries_of_every_fixed_kind),
        cmocka_unit_test(lifetime_rule),
        cmocka_unit_test(malformed_lines_rejected),
        cmocka_unit_test(source_errors_pass_through),
        cmocka_unit_test(fixed_periods_cost_one_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
