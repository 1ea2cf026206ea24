/* test_property.c - random invoices against random plans, checked against
 * invariants rather than expected values.
 *
 * Each rule key has one definition (limit, allowance, period, pool, cap)
 * shared by every plan version that uses it, so "no period ever holds more
 * than its allowance" can be checked over the whole usage table at once.
 * The PRNG is seeded, so a failure reproduces; the seed and step are in the
 * failure message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "allot/engine.h"
#include "test_engine_fake.h"

static uint64_t rng_state;

static uint64_t rnd(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* uniform in [0, n) */
static int64_t rn(int64_t n)
{
    return (int64_t)(rnd() % (uint64_t)n);
}

#define NKEYS 7
#define NVERS 5
#define MAXRULES 4
#define NMEMBERS 4

static const char *KEYS[NKEYS] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6"};
static const char *CODES[] = {"A", "B", "C", "D"};
static const int64_t PRICES[] = {0, 100, 3333, 15000, 2501};

struct universe {
    struct allot_rule def[NKEYS];
    struct allot_rule rules[NVERS][MAXRULES];
    const char *codes[NVERS][MAXRULES][5];
    struct allot_member m[NMEMBERS];
    struct allot_enrollment en[NMEMBERS][2];
    struct world w;
};

static struct allot_period random_period(void)
{
    static const int rd[] = {1, 7, 30, 90, 365};
    static const int rm[] = {1, 3, 12, 36};
    struct allot_period p;
    memset(&p, 0, sizeof p);
    p.kind = (enum allot_period_kind)(1 + rn(9));
    if (p.kind == ALLOT_PERIOD_PLAN_YEAR) {
        p.month = (int)(1 + rn(12));
        p.day = (int)(1 + rn(allot_days_in_month(2000, p.month)));
    } else if (p.kind == ALLOT_PERIOD_ROLLING_DAYS) {
        p.count = rd[rn(5)];
    } else if (p.kind == ALLOT_PERIOD_ROLLING_MONTHS) {
        p.count = rm[rn(4)];
    }
    return p;
}

static void random_defs(struct universe *u)
{
    static const uint16_t def[] = {70, 80, 90, 100};
    int k;
    for (k = 0; k < NKEYS; k++) {
        struct allot_rule *r = &u->def[k];
        memset(r, 0, sizeof *r);
        r->key = KEYS[k];
        r->limit = rn(4) ? ALLOT_LIMIT_QUANTITY : ALLOT_LIMIT_AMOUNT;
        r->period = random_period();
        r->pool = rn(3) ? ALLOT_POOL_MEMBER : ALLOT_POOL_HOUSEHOLD;
        if (r->pool == ALLOT_POOL_HOUSEHOLD && allot_period_member_anchored(&r->period))
            r->pool = ALLOT_POOL_MEMBER;
        r->unlimited = rn(10) == 0;
        if (r->unlimited)
            r->allowance = 0;
        else if (r->limit == ALLOT_LIMIT_QUANTITY)
            r->allowance = rn(8) == 0 ? 0 : 1 + rn(6);
        else
            r->allowance = 1000 + rn(40000);
        if (r->limit == ALLOT_LIMIT_QUANTITY && (r->allowance == 0 || rn(2))) {
            r->has_overage_price = true;
            r->overage_price = PRICES[rn(5)];
        }
        if (r->pool == ALLOT_POOL_HOUSEHOLD && !r->unlimited && r->allowance > 0 && rn(2))
            r->member_cap = 1 + rn(r->allowance);
        r->payer = rn(3) ? ALLOT_PAYER_PATIENT : ALLOT_PAYER_SPONSOR;
        memcpy(r->thresholds, def, sizeof def);
        r->nthresholds = 4;
    }
}

static void random_version(struct universe *u, int v)
{
    int used[NKEYS] = {0};
    int n = (int)(1 + rn(MAXRULES)), j;
    for (j = 0; j < n; j++) {
        int k, c, nc = 0;
        do
            k = (int)rn(NKEYS);
        while (used[k]);
        used[k] = 1;
        u->rules[v][j] = u->def[k];
        for (c = 0; c < 4; c++)
            if (rn(2))
                u->codes[v][j][nc++] = CODES[c];
        if (nc == 0)
            u->codes[v][j][nc++] = CODES[rn(4)];
        u->codes[v][j][nc] = NULL;
        u->rules[v][j].codes = u->codes[v][j];
        u->rules[v][j].ncodes = (uint32_t)nc;
    }
}

static void build(struct universe *u)
{
    static const char *annivs[] = {"2020-02-29", "2021-01-31", "2023-03-15", "2022-12-31",
                                   "2019-08-30"};
    int v, i;
    random_defs(u);
    for (v = 0; v < NVERS; v++)
        random_version(u, v);
    world_init(&u->w);
    world_plan(&u->w, "P1", "2024-01-01", u->rules[0], MAXRULES);
    world_version(&u->w, "2024-09-15", u->rules[1], MAXRULES);
    world_version(&u->w, "2025-06-01", u->rules[2], MAXRULES);
    world_plan(&u->w, "P2", "2023-01-01", u->rules[3], MAXRULES);
    world_version(&u->w, "2025-02-01", u->rules[4], MAXRULES);
    /* random_version filled n rules; the rest have no codes and never match */
    for (v = 0; v < NVERS; v++)
        for (i = 0; i < MAXRULES; i++)
            if (!u->rules[v][i].key) {
                u->rules[v][i] = u->def[0];
                u->rules[v][i].key = "unused";
                u->rules[v][i].ncodes = 0;
            }
    member_init(&u->m[0], u->en[0], "m0", "P1", "2024-01-01", annivs[rn(5)]);
    u->m[0].household_id = "h1";
    u->m[0].sponsor_id = "s1";
    member_init(&u->m[1], u->en[1], "m1", "P1", "2024-02-01", annivs[rn(5)]);
    u->m[1].household_id = "h1";
    u->en[1][0].end = D("2024-12-31");
    u->en[1][1].plan_id = "P2";
    u->en[1][1].start = D("2025-02-01");
    u->en[1][1].end = ALLOT_DATE_NONE;
    u->m[1].nenrollments = 2;
    member_init(&u->m[2], u->en[2], "m2", "P2", "2023-06-01", NULL);
    member_init(&u->m[3], u->en[3], "m3", "P1", "2024-03-01", annivs[rn(5)]);
    u->m[3].household_id = "h1";
    u->m[3].sponsor_id = "s3";
}

static const struct allot_member *member_by_id(const struct universe *u, const char *id)
{
    int i;
    for (i = 0; i < NMEMBERS; i++)
        if (strcmp(u->m[i].id, id) == 0)
            return &u->m[i];
    return NULL;
}

static const struct allot_rule *def_by_key(const struct universe *u, const char *key)
{
    int k;
    for (k = 0; k < NKEYS; k++)
        if (strcmp(u->def[k].key, key) == 0)
            return &u->def[k];
    return NULL;
}

/* ------------------------------------------------------------ per line */

static void check_line(const struct allot_priced_line *pl, const char *ctx)
{
    const struct allot_line *l = pl->line;
    int64_t q = l->quantity, p = l->unit_price;
    uint32_t j;

    if (pl->covered_quantity + pl->billable_quantity != q || pl->covered_quantity < 0 ||
        pl->billable_quantity < 0)
        fail_msg("%s: covered %lld + billable %lld != %lld", ctx, (long long)pl->covered_quantity,
                 (long long)pl->billable_quantity, (long long)q);
    assert_true(pl->amount_due >= 0);
    assert_true(pl->covered_amount >= 0 && pl->covered_amount <= q * p);
    if (pl->binding < 0) {
        assert_int_equal(pl->covered_quantity, 0);
        assert_int_equal(pl->amount_due, q * p);
        assert_int_equal(pl->payer, ALLOT_PAYER_PATIENT);
        assert_true(pl->reason == ALLOT_REASON_NOT_IN_PLAN ||
                    pl->reason == ALLOT_REASON_NO_ENROLLMENT);
        assert_int_equal(pl->nuses, 0);
        return;
    }
    {
        const struct allot_rule *b = pl->uses[pl->binding].rule;
        if (b->unlimited || b->limit == ALLOT_LIMIT_QUANTITY || p == 0) {
            /* quantity-bound: whole units at one price */
            if (pl->amount_due != pl->billable_quantity * pl->billable_unit_price)
                fail_msg("%s: due %lld != %lld x %lld", ctx, (long long)pl->amount_due,
                         (long long)pl->billable_quantity, (long long)pl->billable_unit_price);
            assert_int_equal(pl->covered_amount, pl->covered_quantity * p);
        } else {
            assert_int_equal(pl->amount_due, q * p - pl->covered_amount);
            assert_int_equal(pl->covered_quantity, (pl->covered_amount + p - 1) / p);
        }
        switch (pl->reason) {
        case ALLOT_REASON_COVERED:
            assert_int_equal(pl->billable_quantity, 0);
            assert_int_equal(pl->amount_due, 0);
            break;
        case ALLOT_REASON_PARTLY_COVERED:
            assert_true(pl->covered_quantity > 0);
            break;
        case ALLOT_REASON_USED_UP:
        case ALLOT_REASON_MEMBER_PRICE:
            assert_int_equal(pl->covered_quantity, 0);
            break;
        default:
            fail_msg("%s: reason %d with a binding rule", ctx, pl->reason);
        }
    }
    for (j = 0; j < pl->nuses; j++) {
        const struct allot_rule_use *u = &pl->uses[j];
        const struct allot_rule *r = u->rule;
        assert_true(allot_rule_has_code(r, l->service_code));
        assert_int_equal(u->drawn, r->limit == ALLOT_LIMIT_AMOUNT ? pl->covered_amount
                                                                  : pl->covered_quantity);
        assert_int_equal(u->used_after, u->used_before + u->drawn);
        assert_true(u->remaining >= 0);
        assert_true(u->period.start <= l->date && l->date < u->period.end);
        if (!allot_period_is_rolling(&r->period))
            assert_int_equal(u->reset, u->period.end);
        else if (u->reset != ALLOT_DATE_NONE)
            assert_true(u->reset > l->date);
        if (!r->unlimited && u->used_before <= r->allowance && u->used_after > r->allowance)
            fail_msg("%s: rule %s used %lld -> %lld of %lld", ctx, r->key,
                     (long long)u->used_before, (long long)u->used_after, (long long)r->allowance);
        if (r->unlimited || r->allowance == 0)
            assert_int_equal(u->ncrossed, 0);
    }
}

/* ------------------------------------------------------------- global */

/* No period (every window, for rolling kinds) of any pool holds more than
 * its allowance, nor any member more than a cap. */
static void check_table(const struct universe *u, const char *ctx)
{
    const struct fake *f = &u->w.f;
    size_t i, j;

    for (i = 0; i < f->n; i++) {
        const struct fake_entry *e = &f->e[i];
        const struct allot_rule *r = def_by_key(u, e->key);
        const struct allot_member *owner;
        struct allot_window w;
        int64_t pool = 0, own = 0;
        if (!r || r->unlimited || e->amount == 0)
            continue;
        owner = member_by_id(u, e->member);
        assert_non_null(owner);
        /* fixed: the period of e; rolling: the window ending on e */
        assert_int_equal(
            allot_period_window(&r->period, allot_member_anniversary(owner), e->day, &w), 0);
        for (j = 0; j < f->n; j++) {
            const struct fake_entry *x = &f->e[j];
            if (x->kind != e->kind || strcmp(x->pool, e->pool) || strcmp(x->key, e->key) ||
                x->day < w.start || x->day >= w.end)
                continue;
            pool += x->amount;
            if (strcmp(x->member, e->member) == 0)
                own += x->amount;
        }
        if (pool > r->allowance)
            fail_msg("%s: pool %s key %s holds %lld of %lld in [%s, %s)", ctx, e->pool, e->key,
                     (long long)pool, (long long)r->allowance, F(w.start), F(w.end));
        if (r->member_cap > 0 && own > r->member_cap)
            fail_msg("%s: member %s key %s holds %lld of cap %lld", ctx, e->member, e->key,
                     (long long)own, (long long)r->member_cap);
    }
}

/* ----------------------------------------------------------- halves */

/* When every matching rule counts units, a line priced in two halves (one
 * invoice) costs what it costs whole. */
static void check_halves(struct universe *u, const struct allot_member *m,
                         const struct allot_line *l, const struct allot_priced_line *whole,
                         const char *ctx)
{
    struct allot_line two[2];
    struct allot_priced_line out[2];
    uint32_t j;

    if (l->quantity < 2 || whole->binding < 0)
        return;
    for (j = 0; j < whole->nuses; j++)
        if (!whole->uses[j].rule->unlimited && whole->uses[j].rule->limit != ALLOT_LIMIT_QUANTITY)
            return;
    two[0] = two[1] = *l;
    two[0].quantity = 1 + rn(l->quantity - 1);
    two[1].quantity = l->quantity - two[0].quantity;
    assert_int_equal(allot_price_lines(&u->w.src, m, two, 2, &u->w.a, out, NULL), 0);
    if (out[0].amount_due + out[1].amount_due != whole->amount_due ||
        out[0].covered_quantity + out[1].covered_quantity != whole->covered_quantity)
        fail_msg("%s: halves %lld+%lld cost %lld+%lld, whole %lld costs %lld", ctx,
                 (long long)two[0].quantity, (long long)two[1].quantity,
                 (long long)out[0].amount_due, (long long)out[1].amount_due, (long long)l->quantity,
                 (long long)whole->amount_due);
    if (whole->amount_due > 0)
        assert_int_equal(out[1].payer, whole->payer);
}

static void run(uint64_t seed, int invoices)
{
    static struct universe u;
    struct allot_line lines[8];
    struct allot_priced_line out[8];
    size_t marks[512][2];
    char ctx[96];
    int inv;

    rng_state = seed;
    memset(&u, 0, sizeof u);
    build(&u);
    for (inv = 0; inv < invoices; inv++) {
        const struct allot_member *m = &u.m[rn(NMEMBERS)];
        size_t n = (size_t)(1 + rn(6)), i, before = u.w.f.n;
        int rc;
        for (i = 0; i < n; i++) {
            lines[i].line_id = "L";
            lines[i].service_code = CODES[rn(4)];
            lines[i].date = D("2023-10-01") + (allot_date)rn(1000);
            lines[i].quantity = 1 + rn(rn(5) ? 3 : 12);
            lines[i].unit_price = PRICES[rn(5)];
        }
        rc = allot_price_lines(&u.w.src, m, lines, n, &u.w.a, out, &u.w.st);
        snprintf(ctx, sizeof ctx, "seed %llu invoice %d", (unsigned long long)seed, inv);
        if (rc)
            fail_msg("%s: rc %d %s", ctx, rc, u.w.st.msg);
        for (i = 0; i < n; i++) {
            snprintf(ctx, sizeof ctx, "seed %llu invoice %d line %zu", (unsigned long long)seed,
                     inv, i);
            check_line(&out[i], ctx);
        }
        /* halves are previews against the table before this invoice */
        if (n >= 1 && rn(2)) {
            struct allot_priced_line whole;
            assert_int_equal(allot_price_lines(&u.w.src, m, lines, 1, &u.w.a, &whole, NULL), 0);
            check_halves(&u, m, &lines[0], &whole, ctx);
        }
        fake_record(&u.w.f, m, out, n);
        marks[inv % 512][0] = before;
        marks[inv % 512][1] = u.w.f.n;
        /* now and then a void: the invoice's entries stop counting */
        if (inv > 10 && rn(10) == 0) {
            int victim = inv - (int)rn(10);
            size_t k;
            for (k = marks[victim % 512][0]; k < marks[victim % 512][1]; k++)
                u.w.f.e[k].amount = 0;
        }
        if (inv % 25 == 24)
            check_table(&u, ctx);
        allot_arena_reset(&u.w.a);
    }
    check_table(&u, "end");
    world_release(&u.w);
}

static void random_invoices_keep_invariants(void **state)
{
    uint64_t seed;
    (void)state;
    for (seed = 1; seed <= 40; seed++)
        run(seed * 7919, 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_invoices_keep_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
