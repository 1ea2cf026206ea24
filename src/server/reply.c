/* reply.c - see reply.h. */
#include "reply.h"

#include <string.h>

#include "codec.h"

/* CARC 119: "benefit maximum for this time period or occurrence has been
 * reached" - set when something was billed because an allotment ran out. */
#define CARC_BENEFIT_MAXIMUM "119"

char *reply_period_start(struct allot_arena *a, const struct allot_rule *r, allot_date start)
{
    if (r->period.kind == ALLOT_PERIOD_LIFETIME)
        return allot_arena_strdup(a, "");
    return codec_date_out(a, start);
}

const char *reply_x12_period(const struct allot_period *p)
{
    switch (p->kind) {
    case ALLOT_PERIOD_CALENDAR_YEAR:
        return "23";
    case ALLOT_PERIOD_MEMBER_YEAR:
    case ALLOT_PERIOD_PLAN_YEAR:
        return "22";
    case ALLOT_PERIOD_CALENDAR_MONTH:
    case ALLOT_PERIOD_MEMBER_MONTH:
        return "34";
    case ALLOT_PERIOD_ROLLING_DAYS:
        return "7";
    case ALLOT_PERIOD_ROLLING_MONTHS:
        return p->count % 12 == 0 ? "21" : "34";
    case ALLOT_PERIOD_LIFETIME:
        return "32";
    case ALLOT_PERIOD_CALENDAR_QUARTER:
    default:
        return "";
    }
}

Allot__V1__RuleUse *reply_rule_use(struct allot_arena *a, const struct allot_rule_use *u)
{
    Allot__V1__RuleUse *o = codec_msg_new(a, &allot__v1__rule_use__descriptor);
    if (!o)
        return NULL;
    o->rule_key = (char *)u->rule->key;
    o->limit = (Allot__V1__LimitKind)u->rule->limit;
    o->pool = (Allot__V1__PoolKind)u->rule->pool;
    o->unlimited = u->rule->unlimited;
    o->allowance = u->rule->allowance;
    o->drawn = u->drawn;
    o->remaining = u->remaining;
    if (!(o->period_start = reply_period_start(a, u->rule, u->period.start)) ||
        !(o->reset_date = codec_date_out(a, u->reset)))
        return NULL;
    return o;
}

void reply_invoice_init(struct reply_invoice *ri, struct allot_arena *a, const char *invoice_id,
                        const char *member_id)
{
    ri->a = a;
    ri->cap = 0;
    allot__v1__price_invoice_response__init(&ri->msg);
    ri->msg.invoice_id = (char *)invoice_id;
    ri->msg.member_id = (char *)member_id;
}

static Allot__V1__AmountDue *amount_due(struct allot_arena *a, enum allot_payer payer,
                                        const char *payer_id, int64_t cents)
{
    Allot__V1__AmountDue *d = codec_msg_new(a, &allot__v1__amount_due__descriptor);
    if (!d)
        return NULL;
    d->payer = (Allot__V1__Payer)payer;
    d->payer_id = (char *)payer_id;
    d->amount_cents = cents;
    return d;
}

int reply_invoice_line(struct reply_invoice *ri, const struct allot_priced_line *pl, bool voided)
{
    struct allot_arena *a = ri->a;
    Allot__V1__PricedLine *o;
    uint32_t j;

    if (ri->msg.n_lines == ri->cap) {
        size_t cap = ri->cap ? ri->cap * 2 : 8;
        Allot__V1__PricedLine **lines = allot_arena_alloc(a, sizeof *lines * cap);
        if (!lines)
            return ALLOT_ENOMEM;
        if (ri->msg.n_lines)
            memcpy(lines, ri->msg.lines, sizeof *lines * ri->msg.n_lines);
        ri->msg.lines = lines;
        ri->cap = cap;
    }
    if (!(o = codec_msg_new(a, &allot__v1__priced_line__descriptor)))
        return ALLOT_ENOMEM;
    o->line_id = (char *)pl->line->line_id;
    o->service_code = (char *)pl->line->service_code;
    if (!(o->service_date = codec_date_out(a, pl->line->date)))
        return ALLOT_ENOMEM;
    o->quantity = pl->line->quantity;
    o->covered_quantity = pl->covered_quantity;
    o->billable_quantity = pl->billable_quantity;
    o->unit_price_cents = pl->line->unit_price;
    o->covered_amount_cents = pl->covered_amount;
    o->billable_unit_price_cents = pl->billable_unit_price;
    o->amount_due_cents = pl->amount_due;
    if (pl->amount_due > 0) {
        o->n_due = 1;
        if (!(o->due = allot_arena_alloc(a, sizeof *o->due)) ||
            !(o->due[0] = amount_due(a, pl->payer, pl->payer_id, pl->amount_due)))
            return ALLOT_ENOMEM;
    }
    o->reason = (Allot__V1__Reason)pl->reason;
    if (pl->reason == ALLOT_REASON_USED_UP || pl->reason == ALLOT_REASON_PARTLY_COVERED)
        o->carc = CARC_BENEFIT_MAXIMUM;
    if (pl->binding >= 0) {
        const struct allot_rule_use *b = &pl->uses[pl->binding];
        o->rule_key = (char *)b->rule->key;
        o->unlimited = b->rule->unlimited;
        o->remaining = b->remaining;
        if (!(o->period_start = reply_period_start(a, b->rule, b->period.start)) ||
            !(o->reset_date = codec_date_out(a, b->reset)))
            return ALLOT_ENOMEM;
    }
    o->n_rules = pl->nuses;
    if (!(o->rules = allot_arena_alloc(a, sizeof *o->rules * (pl->nuses + 1))))
        return ALLOT_ENOMEM;
    for (j = 0; j < pl->nuses; j++)
        if (!(o->rules[j] = reply_rule_use(a, &pl->uses[j])))
            return ALLOT_ENOMEM;
    o->voided = voided;
    if (pl->plan_id) {
        o->plan_id = (char *)pl->plan_id;
        if (!(o->plan_effective_from = codec_date_out(a, pl->plan_effective_from)))
            return ALLOT_ENOMEM;
    }
    ri->msg.lines[ri->msg.n_lines++] = o;
    return 0;
}

/* total_due and per-payer totals over the lines not voided */
static int invoice_totals(struct allot_arena *a, Allot__V1__PriceInvoiceResponse *m)
{
    size_t i, k;
    m->total_due_cents = 0;
    m->n_totals = 0;
    if (!(m->totals = allot_arena_alloc(a, sizeof *m->totals * (m->n_lines + 1))))
        return ALLOT_ENOMEM;
    for (i = 0; i < m->n_lines; i++) {
        const Allot__V1__PricedLine *l = m->lines[i];
        if (l->voided)
            continue;
        m->total_due_cents += l->amount_due_cents;
        if (!l->n_due)
            continue;
        for (k = 0; k < m->n_totals; k++)
            if (m->totals[k]->payer == l->due[0]->payer &&
                !strcmp(m->totals[k]->payer_id, l->due[0]->payer_id))
                break;
        if (k == m->n_totals) {
            if (!(m->totals[k] = amount_due(a, (enum allot_payer)l->due[0]->payer,
                                            l->due[0]->payer_id, 0)))
                return ALLOT_ENOMEM;
            m->n_totals++;
        }
        m->totals[k]->amount_cents += l->amount_due_cents;
    }
    return 0;
}

static int pack(struct allot_arena *a, const ProtobufCMessage *m, const uint8_t **out, size_t *n)
{
    return (*out = codec_pack_bytes(m, a, n)) ? 0 : ALLOT_ENOMEM;
}

int reply_invoice_pack(struct reply_invoice *ri, const uint8_t **out, size_t *n)
{
    int rc = invoice_totals(ri->a, &ri->msg);
    if (rc)
        return rc;
    return pack(ri->a, &ri->msg.base, out, n);
}

int reply_invoice_replay(struct allot_arena *a, const struct allot_invoice_rec *rec,
                         const uint8_t **out, size_t *n)
{
    ProtobufCAllocator alloc = codec_allocator(a);
    Allot__V1__PriceInvoiceResponse *m;
    uint32_t i, k;
    bool any = false;
    int rc;

    for (i = 0; i < rec->nlines; i++)
        any |= rec->lines[i].voided;
    if (!any) {
        *out = rec->answer;
        *n = rec->answer_len;
        return 0;
    }
    m = allot__v1__price_invoice_response__unpack(&alloc, rec->answer_len, rec->answer);
    if (!m)
        return ALLOT_ECORRUPT;
    for (i = 0; i < rec->nlines; i++) {
        if (!rec->lines[i].voided)
            continue;
        for (k = 0; k < m->n_lines; k++)
            if (!strcmp(m->lines[k]->line_id, rec->lines[i].line_id))
                m->lines[k]->voided = 1;
    }
    if ((rc = invoice_totals(a, m)))
        return rc;
    return pack(a, &m->base, out, n);
}

int reply_threshold_events(struct allot_txn *t, struct allot_arena *a,
                           const struct allot_member *m, const struct allot_rule_use *u,
                           const char *invoice_id, const char *line_id, const char *usage_id)
{
    uint32_t i;
    for (i = 0; i < u->ncrossed; i++) {
        Allot__V1__ThresholdEvent *e = codec_msg_new(a, &allot__v1__threshold_event__descriptor);
        const uint8_t *bytes;
        uint64_t seq;
        size_t n;
        int rc;

        if (!e)
            return ALLOT_ENOMEM;
        if ((rc = allot_ledger_next_event_seq(t, &seq)))
            return rc;
        e->seq = seq;
        e->member_id = (char *)m->id;
        /* a member without a household is a pool of one: no household to name */
        e->household_id = u->pool.kind == ALLOT_POOL_HOUSEHOLD && m->household_id[0]
                              ? (char *)u->pool.id
                              : "";
        e->rule_key = (char *)u->rule->key;
        e->limit = (Allot__V1__LimitKind)u->rule->limit;
        e->percent = u->crossed[i];
        e->allowance = u->rule->allowance;
        e->used = u->used_after;
        e->remaining = u->remaining;
        if (!(e->period_start = reply_period_start(a, u->rule, u->period.start)) ||
            !(e->reset_date = codec_date_out(a, u->reset)))
            return ALLOT_ENOMEM;
        e->invoice_id = (char *)invoice_id;
        e->line_id = (char *)line_id;
        e->usage_id = (char *)usage_id;
        if ((rc = pack(a, &e->base, &bytes, &n)))
            return rc;
        if ((rc = allot_ledger_put_event(t, seq, bytes, n)))
            return rc;
    }
    return 0;
}
