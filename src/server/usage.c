/* usage.c - RecordUsage and VoidUsage: consumption that happened elsewhere.
 *
 * A usage record is idempotent by its id, like an invoice: the canonical
 * request and the answer are stored with it, a retry gets the answer back,
 * other content under the same id is ALREADY_EXISTS.
 */
#include <string.h>

#include "allot/engine.h"
#include "allot/ledger.h"
#include "allot/validate.h"

#include "codec.h"
#include "handlers.h"
#include "reply.h"
#include "server.h"

struct usage_req {
    Allot__V1__RecordUsageRequest *req;
    allot_date date;
    const uint8_t *canon;
    size_t canon_len;
};

static int usage_record(struct allot_txn *t, struct call *c, struct usage_req *u)
{
    Allot__V1__RecordUsageRequest *req = u->req;
    struct allot_rule_status before, after;
    const struct allot_rule *rule;
    Allot__V1__RecordUsageResponse *r;
    struct allot_rule_use use;
    struct allot_usage_rec rec;
    struct allot_source src;
    struct allot_member m;
    struct allot_draw d;
    int64_t max;
    int rc;

    if ((rc = handler_member(t, c, req->member_id, &m)))
        return rc;
    allot_ledger_source(t, &c->arena, &src);
    if ((rc = allot_usage_rule(&src, &m, req->rule_key, u->date, &rule, &c->status)))
        return rc;
    max = rule->limit == ALLOT_LIMIT_QUANTITY ? ALLOT_UNITS_MAX : ALLOT_MONEY_MAX;
    if (req->amount > max)
        return allot_status_set(&c->status, ALLOT_EINVAL, "amount: must be 1-%lld for rule \"%s\"",
                                (long long)max, rule->key);
    if ((rc = allot_rule_status(&src, &m, rule, u->date, &before)))
        return rc;

    d.pool = before.pool;
    d.rule_key = rule->key;
    d.member_id = m.id;
    d.date = u->date;
    d.amount = req->amount;
    memset(&rec, 0, sizeof rec);
    rc = allot_ledger_append(t, &d, (enum allot_source_kind)req->source, "", "", req->usage_id,
                             &rec.entry);
    if (rc)
        return rc;
    if ((rc = allot_rule_status(&src, &m, rule, u->date, &after)))
        return rc;

    memset(&use, 0, sizeof use);
    use.rule = rule;
    use.pool = after.pool;
    use.drawn = req->amount;
    use.used_before = before.used;
    use.used_after = after.used;
    use.remaining = after.remaining;
    use.period = after.period;
    use.reset = after.reset;
    use.ncrossed = allot_thresholds_crossed(rule, before.used, after.used, use.crossed);
    if ((rc = reply_threshold_events(t, &c->arena, &m, &use, "", "", req->usage_id)))
        return rc;

    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return ALLOT_ENOMEM;
    allot__v1__record_usage_response__init(r);
    r->usage_id = req->usage_id;
    if (!(r->rule = reply_rule_use(&c->arena, &use)))
        return ALLOT_ENOMEM;
    if (!(rec.answer = codec_pack_bytes(&r->base, &c->arena, &rec.answer_len)))
        return ALLOT_ENOMEM;
    rec.usage_id = req->usage_id;
    rec.member_id = req->member_id;
    rec.request = u->canon;
    rec.request_len = u->canon_len;
    if ((rc = allot_ledger_put_usage(t, &rec)))
        return rc;
    call_reply_bytes(c, rec.answer, rec.answer_len);
    return 0;
}

static int record_apply(struct allot_txn *t, struct call *c)
{
    struct usage_req *u = c->write_arg;
    struct allot_usage_rec rec;
    int rc = allot_ledger_get_usage(t, u->req->usage_id, &c->arena, &rec);

    if (rc == ALLOT_ENOTFOUND)
        return usage_record(t, c, u);
    if (rc)
        return rc;
    if (rec.request_len != u->canon_len || memcmp(rec.request, u->canon, u->canon_len))
        return allot_status_set(&c->status, ALLOT_EEXIST,
                                "usage_id: usage \"%s\" was already recorded with other content",
                                u->req->usage_id);
    call_trailer(c, "allot-replayed", "true");
    call_reply_bytes(c, rec.answer, rec.answer_len);
    return 0;
}

/* RecordUsage(usage_id, member_id, rule_key, service_date, amount, source,
 * note) -> {usage_id, rule}
 * Records consumption from elsewhere in the rule's unit (units or cents); it
 * may exceed the allowance. Idempotent by usage_id. Counts against the rule
 * of the plan the member has on service_date (or the plan they joined, for
 * usage before their first enrollment). NOT_FOUND for an unknown member or
 * rule key; FAILED_PRECONDITION when the member has no enrollment on or
 * after the date. */
enum handler_result handle_record_usage(struct call *c, const ProtobufCMessage *msg)
{
    Allot__V1__RecordUsageRequest *req = (void *)msg;
    struct allot_status st;
    struct usage_req *u;

    if (allot_check_id(req->usage_id, "usage_id", &st) ||
        allot_check_id(req->member_id, "member_id", &st) ||
        allot_check_id(req->rule_key, "rule_key", &st) || allot_check_name(req->note, "note", &st))
        return call_fail_status(c, &st);
    if (!(u = allot_arena_alloc(&c->arena, sizeof *u)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    if (codec_date_in(req->service_date, "service_date", 0, &u->date, &st))
        return call_fail_status(c, &st);
    if (req->amount < 1)
        return call_fail(c, ALLOT_EINVAL, "amount: must be > 0, got %lld", (long long)req->amount);
    if (req->source == ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_UNSPECIFIED)
        req->source = ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR;
    if (req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR &&
        req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_EXTERNAL &&
        req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_ADJUSTMENT)
        return call_fail(c, ALLOT_EINVAL,
                         "source: must be USAGE_SOURCE_PRIOR, _EXTERNAL or _ADJUSTMENT (invoice "
                         "lines are recorded by PriceInvoice)");
    u->req = req;
    if (!(u->canon = codec_pack_bytes(&req->base, &c->arena, &u->canon_len)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    c->write_arg = u;
    return server_write(c, record_apply);
}

static int void_usage_apply(struct allot_txn *t, struct call *c)
{
    const Allot__V1__VoidUsageRequest *req = c->write_arg;
    Allot__V1__VoidUsageResponse *r;
    bool voided = false;
    int rc = allot_ledger_void_usage(t, req->usage_id, &voided);

    if (rc == ALLOT_ENOTFOUND)
        return allot_status_set(&c->status, rc, "usage_id: usage \"%s\" not found",
                                req->usage_id);
    if (rc)
        return rc;
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return ALLOT_ENOMEM;
    allot__v1__void_usage_response__init(r);
    r->usage_id = req->usage_id;
    r->voided = voided;
    c->reply = &r->base;
    return 0;
}

/* VoidUsage(usage_id) -> {usage_id, voided}
 * Restores what a usage record used. Voiding again succeeds with voided =
 * false. NOT_FOUND for an unknown id. */
enum handler_result handle_void_usage(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__VoidUsageRequest *req = (const void *)msg;
    struct allot_status st;

    if (allot_check_id(req->usage_id, "usage_id", &st))
        return call_fail_status(c, &st);
    c->write_arg = (void *)req;
    return server_write(c, void_usage_apply);
}
