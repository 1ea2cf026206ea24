/* views.c - GetAllotments: what a member has left, for a patient portal.
 *
 * Runs on a read snapshot in the poller; never waits for the disk. A
 * household rule shows the household's total in `used` but only the
 * member's own entries in `history`: a portal must not reveal another
 * person's care.
 */
#include <string.h>
#include <time.h>

#include "allot/engine.h"
#include "allot/ledger.h"
#include "allot/validate.h"

#include "codec.h"
#include "handlers.h"
#include "reply.h"
#include "server.h"

/* Today in the server's local calendar. */
static allot_date today(void)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    return allot_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The member's entries that count in pool: a rule key can move between a
 * member and a household pool across plan versions, and only the current
 * pool's entries explain `used`. */
static int history_out(struct allot_arena *a, const struct allot_entry *e, size_t n,
                       const struct allot_pool_ref *pool, Allot__V1__Allotment *o)
{
    size_t i;
    o->n_history = 0;
    if (!(o->history = allot_arena_alloc(a, sizeof *o->history * (n + 1))))
        return ALLOT_ENOMEM;
    for (i = 0; i < n; i++) {
        Allot__V1__UsageEntry *h;
        if (e[i].draw.pool.kind != pool->kind || strcmp(e[i].draw.pool.id, pool->id) != 0)
            continue;
        h = allot_arena_alloc(a, sizeof *h);
        if (!h)
            return ALLOT_ENOMEM;
        allot__v1__usage_entry__init(h);
        if (!(h->service_date = codec_date_out(a, e[i].draw.date)))
            return ALLOT_ENOMEM;
        h->source = (Allot__V1__UsageSource)e[i].source;
        h->invoice_id = (char *)e[i].invoice_id;
        h->line_id = (char *)e[i].line_id;
        h->usage_id = (char *)e[i].usage_id;
        h->amount = e[i].draw.amount;
        o->history[o->n_history++] = h;
    }
    return 0;
}

/* Rule r's allotment: its status s and the member's entries h in s's period. */
static int allotment_out(struct allot_arena *a, const struct allot_rule *r,
                         const struct allot_rule_status *s, const struct allot_history_query *h,
                         Allot__V1__Allotment **out)
{
    Allot__V1__Allotment *o;
    int rc;

    if (!(o = allot_arena_alloc(a, sizeof *o)))
        return ALLOT_ENOMEM;
    allot__v1__allotment__init(o);
    o->rule_key = (char *)r->key;
    o->n_service_codes = r->ncodes;
    o->service_codes = (char **)r->codes;
    o->limit = (Allot__V1__LimitKind)r->limit;
    o->pool = (Allot__V1__PoolKind)r->pool;
    if (!(o->period = codec_period_out(a, &r->period)))
        return ALLOT_ENOMEM;
    o->unlimited = r->unlimited;
    o->allowance = r->allowance;
    o->used = s->used;
    o->remaining = s->remaining;
    o->percent_used = s->percent_used;
    if (!(o->period_start = reply_period_start(a, r, s->period.start)) ||
        !(o->reset_date = codec_date_out(a, s->reset)))
        return ALLOT_ENOMEM;
    o->member_used = s->member_used;
    o->member_cap = r->member_cap;
    o->x12_time_period = (char *)reply_x12_period(&r->period);
    if ((rc = history_out(a, h->entries, h->n, &s->pool, o)))
        return rc;
    *out = o;
    return 0;
}

/* Every rule of v for member m on as_of, into r: the status of each rule
 * first, then the member's history for all of them in one pass. */
static int allotments_out(struct allot_txn *t, const struct allot_source *src,
                          struct allot_arena *a, const struct allot_member *m,
                          const struct allot_plan_version *v, allot_date as_of,
                          Allot__V1__GetAllotmentsResponse *r)
{
    struct allot_rule_status *s;
    struct allot_history_query *h;
    uint32_t i;
    int rc;

    if (!(s = allot_arena_alloc(a, sizeof *s * (v->nrules + 1))) ||
        !(h = allot_arena_alloc(a, sizeof *h * (v->nrules + 1))) ||
        !(r->allotments = allot_arena_alloc(a, sizeof *r->allotments * (v->nrules + 1))))
        return ALLOT_ENOMEM;
    for (i = 0; i < v->nrules; i++) {
        if ((rc = allot_rule_status(src, m, &v->rules[i], as_of, &s[i])))
            return rc;
        h[i].rule_key = v->rules[i].key;
        h[i].from = s[i].period.start;
        h[i].to = s[i].period.end;
    }
    if ((rc = allot_ledger_histories(t, m->id, h, v->nrules, a)))
        return rc;
    for (i = 0; i < v->nrules; i++) {
        if ((rc = allotment_out(a, &v->rules[i], &s[i], &h[i], &r->allotments[i])))
            return rc;
        r->n_allotments++;
    }
    return 0;
}

/* GetAllotments(member_id, as_of) -> {plan, allotments}
 * For each rule of the plan in force on as_of ("" = today, server's local
 * calendar): allowance, used, remaining, percent used, period start, reset
 * date and the member's own entries in the period. A member not enrolled on
 * as_of gets an empty list (not an error). NOT_FOUND for an unknown member. */
enum handler_result handle_get_allotments(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__GetAllotmentsRequest *req = (const void *)msg;
    const struct allot_plan_version *v = NULL;
    const struct allot_enrollment *e;
    Allot__V1__GetAllotmentsResponse *r;
    struct allot_source src;
    struct allot_status st;
    struct allot_member m;
    struct allot_txn *t;
    allot_date as_of;
    int rc;

    if (allot_check_id(req->member_id, "member_id", &st))
        return call_fail_status(c, &st);
    if (req->as_of[0]) {
        if (codec_date_in(req->as_of, "as_of", 0, &as_of, &st))
            return call_fail_status(c, &st);
    } else {
        as_of = today();
    }
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    allot__v1__get_allotments_response__init(r);
    r->member_id = req->member_id;
    if (!(r->as_of = codec_date_out(&c->arena, as_of)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");

    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = handler_member(t, c, req->member_id, &m);
    if (rc) {
        allot_store_read_end(t);
        if (rc == ALLOT_ENOTFOUND)
            return HANDLER_REPLY;
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    }
    allot_ledger_source(t, &c->arena, &src);
    e = allot_member_enrollment_at(&m, as_of);
    if (e && (rc = src.plan_version(src.ctx, e->plan_id, as_of, &v)))
        goto fail;
    if (v) {
        r->plan_id = (char *)e->plan_id;
        if (!(r->plan_effective_from = codec_date_out(&c->arena, v->effective_from))) {
            rc = ALLOT_ENOMEM;
            goto fail;
        }
        if ((rc = allotments_out(t, &src, &c->arena, &m, v, as_of, r)))
            goto fail;
    }
    allot_store_read_end(t);
    return call_reply(c, &r->base);
fail:
    allot_store_read_end(t);
    return call_fail(c, rc, "allotments: %s", allot_strerror(rc));
}
