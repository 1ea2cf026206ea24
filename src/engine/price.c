/* price.c - pricing invoice lines against a member's allotments, and the
 * allotments view; the rules are written down in allot/engine.h.
 *
 * A line goes through three steps:
 *
 *   1. eval_rule, for each rule of the version in force that lists the
 *      line's code: the pool, the period of the line's date, what the pool
 *      (and, under a per-member cap, the member) has used there, and what
 *      is left.
 *   2. cover: every rule's room is turned into one measure (cents of line
 *      value at the line's price, or units when the price is 0) so quantity
 *      and amount rules can be compared; the smallest is the binding rule,
 *      and it alone decides how much is covered and at which price and to
 *      whom the rest is billed.
 *   3. finish_rule, for each rule again: what it draws, what is left, the
 *      thresholds crossed and the reset date. The draws then go into the
 *      invoice overlay so the next line sees them.
 *
 * What a line returns (its uses, the overlay) lives in the caller's arena.
 * What only pricing needs (the rules' state, rolling series) lives in a
 * scratch arena reset after each line, whose first chunk is sized once per
 * call so that a typical line allocates nothing from the system. A
 * fixed-period rule costs one or two sums from the source per line.
 */
#include <inttypes.h>
#include <string.h>

#include "engine_int.h"

/* Bytes in the scratch arena's first chunk: a line with a few rolling rules
 * over a few hundred usage days fits. */
#define SCRATCH_FIRST_CHUNK (128u * 1024u)

/* One matching rule while its line is priced. */
struct eval {
    const struct allot_rule *r;
    struct allot_rule_use *use;
    bool rolling;
    bool capped;                           /* household pool with a per-member cap */
    bool has_member;                       /* member_used below was read */
    int64_t member_used;                   /* the member's own use (rolling: fullest window) */
    int64_t room;                          /* what the line may take, in the rule's unit;
                                              INT64_MAX when unlimited */
    struct allot__series pool_s, member_s; /* rolling only */
};

struct allot_pool_ref allot_rule_pool(const struct allot_rule *r, const struct allot_member *m)
{
    struct allot_pool_ref p;

    p.kind = r->pool;
    p.id = m->id;
    if (r->pool == ALLOT_POOL_HOUSEHOLD && m->household_id && m->household_id[0])
        p.id = m->household_id;
    return p;
}

/* Room left under a limit after `used`, never negative: prior usage may
 * already exceed the allowance. */
static int64_t room_under(int64_t limit, int64_t used)
{
    return limit - allot__min64(used, limit);
}

/* Step 1. want_member asks for the member's own use even without a cap
 * (the allotments view shows it). */
static int eval_rule(const struct allot__usage *u, const struct allot_member *m,
                     const struct allot_rule *r, allot_date d, bool want_member,
                     struct allot_rule_use *use, struct eval *ev)
{
    struct allot_window *w = &use->period;
    int64_t used = 0;
    int rc;

    memset(ev, 0, sizeof *ev);
    ev->r = r;
    ev->use = use;
    use->rule = r;
    use->pool = allot_rule_pool(r, m);
    rc = allot_period_window(&r->period, allot_member_anniversary(m), d, w);
    if (rc)
        return rc;
    ev->rolling = allot_period_is_rolling(&r->period);
    ev->capped = !r->unlimited && r->pool == ALLOT_POOL_HOUSEHOLD && r->member_cap > 0;
    ev->has_member = ev->capped || (want_member && r->pool == ALLOT_POOL_HOUSEHOLD);

    if (ev->rolling) {
        rc = allot__series_load(u, &r->period, &use->pool, r->key, NULL, w->start, &ev->pool_s);
        if (!rc && ev->has_member)
            rc = allot__series_load(u, &r->period, &use->pool, r->key, m->id, w->start,
                                    &ev->member_s);
        if (rc)
            return rc;
        used = allot__series_max(&ev->pool_s, d);
        if (ev->has_member)
            ev->member_used = allot__series_max(&ev->member_s, d);
    } else {
        rc = allot__usage_sum(u, &use->pool, r->key, NULL, w->start, w->end, &used);
        if (!rc && ev->has_member)
            rc = allot__usage_sum(u, &use->pool, r->key, m->id, w->start, w->end, &ev->member_used);
        if (rc)
            return rc;
    }
    use->used_before = used;
    if (!ev->has_member)
        ev->member_used = r->pool == ALLOT_POOL_MEMBER ? used : 0;

    if (r->unlimited) {
        ev->room = INT64_MAX;
    } else {
        ev->room = room_under(r->allowance, used);
        if (ev->capped)
            ev->room = allot__min64(ev->room, room_under(r->member_cap, ev->member_used));
    }
    return ALLOT_OK;
}

/* Step 3: record `drawn` (in the rule's unit) and what follows from it. */
static int finish_rule(const struct allot__usage *u, struct eval *ev, allot_date d, int64_t drawn)
{
    const struct allot_rule *r = ev->r;
    struct allot_rule_use *use = ev->use;
    int rc;

    use->drawn = drawn;
    use->used_after = allot__sat_add(use->used_before, drawn);
    use->remaining = r->unlimited ? 0 : ev->room - drawn;
    use->ncrossed = allot_thresholds_crossed(r, use->used_before, use->used_after, use->crossed);
    if (!ev->rolling) {
        use->reset = use->period.end; /* LIFETIME: ALLOT_DATE_NONE */
        return ALLOT_OK;
    }
    use->reset = ALLOT_DATE_NONE;
    if (r->unlimited || r->allowance == 0)
        return ALLOT_OK; /* nothing to wait for */
    if (drawn > 0) {
        rc = allot__series_add(&ev->pool_s, u->scratch, d, drawn);
        if (!rc && ev->has_member)
            rc = allot__series_add(&ev->member_s, u->scratch, d, drawn);
        if (rc)
            return rc;
    }
    return allot__rolling_reset(&ev->pool_s, r->allowance, ev->capped ? &ev->member_s : NULL,
                                r->member_cap, d, u->scratch, &use->reset);
}

/* A line nobody's rule touches: the line's price, to the patient. */
static void price_uncovered(const struct allot_member *m, struct allot_priced_line *pl,
                            enum allot_reason reason)
{
    const struct allot_line *l = pl->line;

    pl->covered_quantity = 0;
    pl->billable_quantity = l->quantity;
    pl->covered_amount = 0;
    pl->billable_unit_price = l->unit_price;
    pl->amount_due = l->quantity * l->unit_price;
    pl->payer = ALLOT_PAYER_PATIENT;
    pl->payer_id = m->id;
    pl->reason = reason;
    pl->binding = -1;
}

/* Step 2: coverage from the rules' room; returns the covered measure. */
static void cover(const struct allot_member *m, struct eval *ev, uint32_t n,
                  struct allot_priced_line *pl)
{
    const struct allot_line *l = pl->line;
    const int64_t q = l->quantity, p = l->unit_price;
    /* The common measure: cents of line value, or units for a free line
     * (where an amount rule cannot limit anything). */
    const int64_t full = p > 0 ? q * p : q;
    const struct allot_rule *b;
    int64_t best = 0, v;
    uint32_t j, bi = 0;

    for (j = 0; j < n; j++) {
        const struct allot_rule *r = ev[j].r;
        if (r->unlimited)
            v = full;
        else if (r->limit == ALLOT_LIMIT_AMOUNT)
            v = p > 0 ? allot__min64(ev[j].room, full) : full;
        else
            v = allot__min64(ev[j].room, q) * (p > 0 ? p : 1);
        if (j == 0 || v < best) { /* strictly less: first in plan order wins ties */
            best = v;
            bi = j;
        }
    }
    b = ev[bi].r;
    pl->binding = (int)bi;
    if (p > 0) {
        /* a unit an amount rule covers in part counts as covered */
        pl->covered_amount = best;
        pl->covered_quantity = (best + p - 1) / p;
    } else {
        pl->covered_amount = 0;
        pl->covered_quantity = best;
    }
    pl->billable_quantity = q - pl->covered_quantity;
    if (!b->unlimited && b->limit == ALLOT_LIMIT_QUANTITY && b->has_overage_price) {
        pl->billable_unit_price = b->overage_price;
        pl->amount_due = pl->billable_quantity * b->overage_price;
    } else {
        /* amount rules have no overage price: the rest at the line's price */
        pl->billable_unit_price = p;
        pl->amount_due = q * p - pl->covered_amount;
    }
    if (best == 0)
        pl->reason =
            !b->unlimited && b->allowance == 0 ? ALLOT_REASON_MEMBER_PRICE : ALLOT_REASON_USED_UP;
    else if (best == full)
        pl->reason = ALLOT_REASON_COVERED;
    else
        pl->reason = ALLOT_REASON_PARTLY_COVERED;
    if (b->payer == ALLOT_PAYER_SPONSOR && m->sponsor_id && m->sponsor_id[0]) {
        pl->payer = ALLOT_PAYER_SPONSOR;
        pl->payer_id = m->sponsor_id;
    } else {
        pl->payer = ALLOT_PAYER_PATIENT;
        pl->payer_id = m->id;
    }
}

static int check_line(const struct allot_line *l, size_t i, struct allot_status *st)
{
    if (!l->service_code)
        return allot_status_set(st, ALLOT_EINVAL, "lines[%zu].service_code: missing", i);
    if (l->date < ALLOT_DATE_MIN || l->date > ALLOT_DATE_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "lines[%zu].date: not a date", i);
    if (l->quantity < 1 || l->quantity > ALLOT_QUANTITY_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "lines[%zu].quantity: must be 1-%d, got %" PRId64,
                                i, ALLOT_QUANTITY_MAX, l->quantity);
    if (l->unit_price < 0 || l->unit_price > ALLOT_MONEY_MAX)
        return allot_status_set(st, ALLOT_EINVAL,
                                "lines[%zu].unit_price: must be 0-%" PRId64 ", got %" PRId64, i,
                                ALLOT_MONEY_MAX, l->unit_price);
    return ALLOT_OK;
}

static int price_line(const struct allot__usage *u, struct allot__overlay *ovl,
                      const struct allot_member *m, size_t i, struct allot_priced_line *pl,
                      struct allot_status *st)
{
    const struct allot_line *l = pl->line;
    const struct allot_enrollment *en;
    const struct allot_plan_version *v = NULL;
    struct eval *ev = NULL;
    uint32_t j, n = 0;
    int rc;

    pl->plan_effective_from = ALLOT_DATE_NONE;
    en = allot_member_enrollment_at(m, l->date);
    if (en) {
        rc = u->src->plan_version(u->src->ctx, en->plan_id, l->date, &v);
        if (rc)
            return allot_status_set(st, rc, "lines[%zu]: plan %s: %s", i, en->plan_id,
                                    allot_strerror(rc));
    }
    if (!v) {
        price_uncovered(m, pl, ALLOT_REASON_NO_ENROLLMENT);
        return ALLOT_OK;
    }
    pl->plan_id = en->plan_id;
    pl->plan_effective_from = v->effective_from;
    for (j = 0; j < v->nrules; j++)
        n += allot_rule_has_code(&v->rules[j], l->service_code);
    if (n == 0) {
        price_uncovered(m, pl, ALLOT_REASON_NOT_IN_PLAN);
        return ALLOT_OK;
    }

    pl->uses = allot_arena_alloc(u->arena, n * sizeof *pl->uses);
    ev = allot_arena_alloc(u->scratch, n * sizeof *ev);
    if (!pl->uses || !ev)
        return allot_status_set(st, ALLOT_ENOMEM, "lines[%zu]: out of memory", i);
    pl->nuses = n;
    for (j = 0, n = 0; j < v->nrules; j++) {
        if (!allot_rule_has_code(&v->rules[j], l->service_code))
            continue;
        rc = eval_rule(u, m, &v->rules[j], l->date, false, &pl->uses[n], &ev[n]);
        if (rc)
            return allot_status_set(st, rc, "lines[%zu]: rule %s: %s", i, v->rules[j].key,
                                    allot_strerror(rc));
        n++;
    }
    cover(m, ev, n, pl);
    for (j = 0; j < n; j++) {
        const struct allot_rule *r = ev[j].r;
        int64_t drawn = r->limit == ALLOT_LIMIT_AMOUNT ? pl->covered_amount : pl->covered_quantity;
        rc = finish_rule(u, &ev[j], l->date, drawn);
        if (!rc && drawn > 0)
            rc = allot__overlay_add(ovl, u->arena, &pl->uses[j].pool, r->key, l->date, drawn);
        if (rc)
            return allot_status_set(st, rc, "lines[%zu]: rule %s: %s", i, r->key,
                                    allot_strerror(rc));
    }
    return ALLOT_OK;
}

int allot_price_lines(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_line *lines, size_t n, struct allot_arena *arena,
                      struct allot_priced_line *out, struct allot_status *st)
{
    struct allot__overlay ovl = {NULL, 0, 0};
    struct allot_arena scratch = ALLOT_ARENA_INIT;
    struct allot__usage u = {src, &ovl, arena, &scratch};
    size_t i;
    int rc = ALLOT_OK;

    allot_status_clear(st);
    if (n)
        memset(out, 0, n * sizeof *out);
    for (i = 0; i < n; i++) {
        rc = check_line(&lines[i], i, st);
        if (rc)
            goto out;
    }
    /* reset keeps the first chunk: make it one that fits a typical line */
    if (n && allot_arena_reserve(&scratch, SCRATCH_FIRST_CHUNK)) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "out of memory");
        goto out;
    }
    for (i = 0; i < n; i++) {
        allot_arena_reset(&scratch);
        out[i].line = &lines[i];
        rc = price_line(&u, &ovl, m, i, &out[i], st);
        if (rc)
            goto out;
    }
out:
    allot_arena_release(&scratch);
    /* half-priced output must not be mistaken for a result */
    if (rc && n)
        memset(out, 0, n * sizeof *out);
    return rc;
}

int allot_rule_status(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_rule *r, allot_date d, struct allot_rule_status *out)
{
    struct allot_arena arena = ALLOT_ARENA_INIT;
    struct allot__usage u = {src, NULL, &arena, &arena};
    struct allot_rule_use use;
    struct eval ev;
    int rc;

    memset(out, 0, sizeof *out);
    memset(&use, 0, sizeof use);
    rc = eval_rule(&u, m, r, d, true, &use, &ev);
    if (rc)
        goto out;
    rc = finish_rule(&u, &ev, d, 0);
    if (rc)
        goto out;
    out->pool = use.pool;
    out->used = use.used_before;
    out->remaining = use.remaining;
    out->percent_used = r->unlimited ? 0 : allot_percent_used(use.used_before, r->allowance);
    out->member_used = ev.member_used;
    out->period = use.period;
    out->reset = use.reset;
out:
    allot_arena_release(&arena);
    return rc;
}
