/* test_engine_fake.c - see test_engine_fake.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_engine_fake.h"

void fake_init(struct fake *f, const struct allot_plan *plans, size_t nplans)
{
    memset(f, 0, sizeof *f);
    f->plans = plans;
    f->nplans = nplans;
}

void fake_release(struct fake *f)
{
    free(f->e);
    memset(f, 0, sizeof *f);
}

void fake_add(struct fake *f, enum allot_pool_kind kind, const char *pool, const char *key,
              const char *member, allot_date day, int64_t amount)
{
    struct fake_entry *e;
    if (f->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 64;
        f->e = realloc(f->e, f->cap * sizeof *f->e);
        assert_non_null(f->e);
    }
    e = &f->e[f->n++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    strncpy(e->pool, pool, ALLOT_ID_MAX);
    strncpy(e->key, key, ALLOT_ID_MAX);
    strncpy(e->member, member, ALLOT_ID_MAX);
    e->day = day;
    e->amount = amount;
}

void fake_record(struct fake *f, const struct allot_member *m, const struct allot_priced_line *out,
                 size_t n)
{
    size_t i;
    uint32_t j;
    for (i = 0; i < n; i++)
        for (j = 0; j < out[i].nuses; j++)
            if (out[i].uses[j].drawn > 0)
                fake_add(f, out[i].uses[j].pool.kind, out[i].uses[j].pool.id,
                         out[i].uses[j].rule->key, m->id, out[i].line->date, out[i].uses[j].drawn);
}

static int fake_plan_version(void *ctx, const char *plan_id, allot_date d,
                             const struct allot_plan_version **out)
{
    struct fake *f = ctx;
    size_t i;
    for (i = 0; i < f->nplans; i++)
        if (strcmp(f->plans[i].id, plan_id) == 0) {
            *out = allot_plan_version_at(&f->plans[i], d);
            return 0;
        }
    return ALLOT_ENOTFOUND;
}

static int matches(const struct fake_entry *e, const struct allot_pool_ref *pool, const char *key,
                   const char *member_id, allot_date from, allot_date to)
{
    return e->kind == pool->kind && strcmp(e->pool, pool->id) == 0 && strcmp(e->key, key) == 0 &&
           (!member_id || strcmp(e->member, member_id) == 0) && e->day >= from && e->day < to;
}

static int fake_sum(void *ctx, const struct allot_pool_ref *pool, const char *key,
                    const char *member_id, allot_date from, allot_date to, int64_t *out)
{
    struct fake *f = ctx;
    size_t i;
    int64_t s = 0;
    f->sum_calls++;
    if (f->fail)
        return f->fail;
    for (i = 0; i < f->n; i++)
        if (matches(&f->e[i], pool, key, member_id, from, to))
            s += f->e[i].amount;
    *out = s;
    return 0;
}

static int day_cmp(const void *a, const void *b)
{
    allot_date x = ((const struct fake_entry *)a)->day, y = ((const struct fake_entry *)b)->day;
    return (x > y) - (x < y);
}

static int fake_each_day(void *ctx, const struct allot_pool_ref *pool, const char *key,
                         const char *member_id, allot_date from, allot_date to,
                         int (*fn)(void *arg, allot_date day, int64_t amount), void *arg)
{
    struct fake *f = ctx;
    struct fake_entry *sel;
    size_t i, n = 0;
    int rc = 0;
    f->each_day_calls++;
    if (f->fail)
        return f->fail;
    sel = malloc((f->n + 1) * sizeof *sel);
    assert_non_null(sel);
    for (i = 0; i < f->n; i++)
        if (matches(&f->e[i], pool, key, member_id, from, to))
            sel[n++] = f->e[i];
    qsort(sel, n, sizeof *sel, day_cmp);
    for (i = 0; i < n && !rc;) {
        allot_date day = sel[i].day;
        int64_t total = 0;
        while (i < n && sel[i].day == day)
            total += sel[i++].amount;
        if (total != 0)
            rc = fn(arg, day, total);
    }
    free(sel);
    return rc;
}

struct allot_source fake_source(struct fake *f)
{
    struct allot_source s;
    s.ctx = f;
    s.plan_version = fake_plan_version;
    s.sum = fake_sum;
    s.each_day = fake_each_day;
    return s;
}

allot_date D(const char *s)
{
    allot_date d = 0;
    if (allot_date_parse(s, &d) != 0)
        fail_msg("bad date \"%s\"", s);
    return d;
}

const char *F(allot_date d)
{
    static char buf[8][ALLOT_DATE_STRLEN];
    static unsigned i;
    i = (i + 1) % 8;
    if (d == ALLOT_DATE_NONE)
        return "NONE";
    return allot_date_format(d, buf[i]);
}

static struct allot_rule rule_base(const char *key, const char **codes, int64_t allowance,
                                   enum allot_period_kind kind)
{
    static const uint16_t def[] = {70, 80, 90, 100};
    struct allot_rule r;
    uint32_t n = 0;
    memset(&r, 0, sizeof r);
    while (codes[n])
        n++;
    r.key = key;
    r.codes = codes;
    r.ncodes = n;
    r.allowance = allowance;
    r.period.kind = kind;
    if (kind == ALLOT_PERIOD_PLAN_YEAR) {
        r.period.month = 7;
        r.period.day = 1;
    }
    r.pool = ALLOT_POOL_MEMBER;
    r.payer = ALLOT_PAYER_PATIENT;
    memcpy(r.thresholds, def, sizeof def);
    r.nthresholds = 4;
    return r;
}

struct allot_rule rule_qty(const char *key, const char **codes, int64_t allowance,
                           enum allot_period_kind kind)
{
    struct allot_rule r = rule_base(key, codes, allowance, kind);
    r.limit = ALLOT_LIMIT_QUANTITY;
    return r;
}

struct allot_rule rule_amt(const char *key, const char **codes, int64_t allowance,
                           enum allot_period_kind kind)
{
    struct allot_rule r = rule_base(key, codes, allowance, kind);
    r.limit = ALLOT_LIMIT_AMOUNT;
    return r;
}

/* ------------------------------------------------------------ worlds */

void world_init(struct world *w)
{
    memset(w, 0, sizeof *w);
    fake_init(&w->f, w->plans, 0);
    w->src = fake_source(&w->f);
    allot_arena_init(&w->a);
}

void world_release(struct world *w)
{
    fake_release(&w->f);
    allot_arena_release(&w->a);
}

void world_plan(struct world *w, const char *id, const char *eff, struct allot_rule *rules,
                uint32_t n)
{
    struct allot_plan *p;
    assert_true(w->nplans < WORLD_PLANS);
    p = &w->plans[w->nplans++];
    memset(p, 0, sizeof *p);
    p->id = id;
    p->name = id;
    p->versions = &w->versions[w->nversions];
    p->nversions = 0;
    w->f.nplans = w->nplans;
    world_version(w, eff, rules, n);
}

void world_version(struct world *w, const char *eff, struct allot_rule *rules, uint32_t n)
{
    struct allot_plan *p = &w->plans[w->nplans - 1];
    struct allot_plan_version *v;
    assert_true(w->nversions < WORLD_VERSIONS);
    /* versions of one plan must be adjacent: add plans' versions in order */
    assert_ptr_equal(&p->versions[p->nversions], &w->versions[w->nversions]);
    v = &w->versions[w->nversions++];
    v->effective_from = D(eff);
    v->rules = rules;
    v->nrules = n;
    p->nversions++;
}

void member_init(struct allot_member *m, struct allot_enrollment *en, const char *id,
                 const char *plan, const char *start, const char *anniv)
{
    memset(m, 0, sizeof *m);
    en->plan_id = plan;
    en->start = D(start);
    en->end = ALLOT_DATE_NONE;
    m->id = id;
    m->enrollments = en;
    m->nenrollments = 1;
    m->anniversary = anniv ? D(anniv) : ALLOT_DATE_NONE;
    m->household_id = "";
    m->sponsor_id = "";
}

struct allot_line mkline(const char *code, const char *date, int64_t q, int64_t price)
{
    struct allot_line l;
    l.line_id = "L";
    l.service_code = code;
    l.date = D(date);
    l.quantity = q;
    l.unit_price = price;
    return l;
}

void price_rec(struct world *w, const struct allot_member *m, const struct allot_line *lines,
               size_t n, struct allot_priced_line *out)
{
    int rc = allot_price_lines(&w->src, m, lines, n, &w->a, out, &w->st);
    if (rc)
        fail_msg("allot_price_lines: %d %s", rc, w->st.msg);
    fake_record(&w->f, m, out, n);
}

static struct allot_priced_line one(struct world *w, const struct allot_member *m, const char *code,
                                    const char *date, int64_t q, int64_t price, int record)
{
    struct allot_priced_line out;
    struct allot_line *l = &w->lines[w->nlines++ % WORLD_LINES];
    int rc;
    *l = mkline(code, date, q, price);
    rc = allot_price_lines(&w->src, m, l, 1, &w->a, &out, &w->st);
    if (rc)
        fail_msg("allot_price_lines: %d %s", rc, w->st.msg);
    /* the invariants every priced line keeps */
    assert_int_equal(out.covered_quantity + out.billable_quantity, q);
    assert_true(out.covered_quantity >= 0 && out.billable_quantity >= 0);
    assert_true(out.amount_due >= 0);
    if (record)
        fake_record(&w->f, m, &out, 1);
    return out;
}

struct allot_priced_line price1(struct world *w, const struct allot_member *m, const char *code,
                                const char *date, int64_t q, int64_t price)
{
    return one(w, m, code, date, q, price, 1);
}

struct allot_priced_line preview1(struct world *w, const struct allot_member *m, const char *code,
                                  const char *date, int64_t q, int64_t price)
{
    return one(w, m, code, date, q, price, 0);
}

const struct allot_rule_use *binding(const struct allot_priced_line *pl)
{
    assert_true(pl->binding >= 0 && (uint32_t)pl->binding < pl->nuses);
    return &pl->uses[pl->binding];
}

struct allot_rule_status status(struct world *w, const struct allot_member *m,
                                const struct allot_rule *r, const char *date)
{
    struct allot_rule_status s;
    int rc = allot_rule_status(&w->src, m, r, D(date), &s);
    if (rc)
        fail_msg("allot_rule_status: %d", rc);
    return s;
}
