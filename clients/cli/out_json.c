/* out_json.c - see out_json.h.
 *
 * Built with jansson's "steal" setters (json_object_set_new): a NULL
 * value from an exhausted allocator makes the set fail, and the caller's
 * final check (out_json_print refuses NULL) catches the half-built tree
 * only at the top, so each builder returns NULL if any set failed.
 */
#include "out_json.h"

#include <string.h>

#include "money.h"
#include "words.h"

struct jb {
    json_t *o;
    int bad;
};

static void put(struct jb *b, const char *key, json_t *v)
{
    if (!v || json_object_set_new(b->o, key, v))
        b->bad = 1;
}

static json_t *done(struct jb *b)
{
    if (b->bad || !b->o) {
        json_decref(b->o);
        return NULL;
    }
    return b->o;
}

static json_t *str_or_null(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *word_or_null(const struct word tbl[], int v)
{
    const char *w = words_name(tbl, v);
    return w ? json_string(w) : json_null();
}

static json_t *dollars(int64_t cents)
{
    char m[MONEY_BUFLEN];
    return json_string(money_format(cents, m));
}

/* NAME_cents and NAME. */
static void put_money(struct jb *b, const char *name, int64_t cents)
{
    char key[64];
    snprintf(key, sizeof key, "%s_cents", name);
    put(b, key, json_integer(cents));
    put(b, name, dollars(cents));
}

/* A value in the rule's unit (see out_json.h). */
static void put_rule_value(struct jb *b, const char *name, Allot__V1__LimitKind limit, int64_t v)
{
    if (limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT)
        put_money(b, name, v);
    else
        put(b, name, json_integer(v));
}

static json_t *strings(char *const *v, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static int append(json_t *a, json_t *v)
{
    return !v || json_array_append_new(a, v);
}

json_t *out_json_service(const Allot__V1__Service *s)
{
    struct jb b = {json_object(), 0};
    put(&b, "code", json_string(s->code));
    put(&b, "name", json_string(s->name));
    put_money(&b, "cash_price", s->cash_price_cents);
    return done(&b);
}

json_t *out_json_services(Allot__V1__Service *const *s, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (append(a, out_json_service(s[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *period(const Allot__V1__Period *p)
{
    struct jb b;
    if (!p)
        return json_null();
    b.o = json_object();
    b.bad = 0;
    put(&b, "kind", word_or_null(period_words, p->kind));
    if (p->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_PLAN_YEAR) {
        put(&b, "month", json_integer(p->month));
        put(&b, "day", json_integer(p->day));
    }
    if (p->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS ||
        p->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_MONTHS)
        put(&b, "count", json_integer(p->count));
    return done(&b);
}

static json_t *rule(const Allot__V1__Rule *r)
{
    struct jb b = {json_object(), 0};
    size_t i;

    put(&b, "key", json_string(r->key));
    put(&b, "service_codes", strings(r->service_codes, r->n_service_codes));
    put(&b, "limit", word_or_null(limit_words, r->limit));
    put(&b, "unlimited", json_boolean(r->unlimited));
    if (!r->unlimited)
        put_rule_value(&b, "allowance", r->limit, r->allowance);
    put(&b, "period", period(r->period));
    put(&b, "pool",
        json_string(r->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD ? "household" : "member"));
    if (r->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD)
        put_rule_value(&b, "member_cap", r->limit, r->member_cap);
    if (r->overage_price)
        put_money(&b, "overage_price", r->overage_price->cents);
    put(&b, "overage_payer",
        json_string(r->overage_payer == ALLOT__V1__PAYER__PAYER_SPONSOR ? "sponsor" : "patient"));
    if (r->thresholds) {
        json_t *a = json_array();
        for (i = 0; a && i < r->thresholds->n_percents; i++)
            if (append(a, json_integer(r->thresholds->percents[i]))) {
                json_decref(a);
                a = NULL;
            }
        put(&b, "thresholds", a);
    }
    return done(&b);
}

json_t *out_json_plan(const Allot__V1__Plan *p)
{
    struct jb b = {json_object(), 0};
    json_t *vs = json_array();
    size_t i, k;

    put(&b, "id", json_string(p->id));
    put(&b, "name", json_string(p->name));
    for (i = 0; vs && i < p->n_versions; i++) {
        struct jb v = {json_object(), 0};
        json_t *rules = json_array();
        put(&v, "effective_from", json_string(p->versions[i]->effective_from));
        for (k = 0; rules && k < p->versions[i]->n_rules; k++)
            if (append(rules, rule(p->versions[i]->rules[k]))) {
                json_decref(rules);
                rules = NULL;
            }
        put(&v, "rules", rules);
        if (append(vs, done(&v))) {
            json_decref(vs);
            vs = NULL;
        }
    }
    put(&b, "versions", vs);
    return done(&b);
}

json_t *out_json_plans(Allot__V1__Plan *const *p, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++)
        if (append(a, out_json_plan(p[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

json_t *out_json_member(const Allot__V1__Member *m)
{
    struct jb b = {json_object(), 0};
    json_t *es = json_array();
    size_t i;

    put(&b, "id", json_string(m->id));
    put(&b, "anniversary", str_or_null(m->anniversary));
    put(&b, "effective_anniversary", str_or_null(m->effective_anniversary));
    put(&b, "household_id", str_or_null(m->household_id));
    put(&b, "sponsor_id", str_or_null(m->sponsor_id));
    for (i = 0; es && i < m->n_enrollments; i++) {
        struct jb e = {json_object(), 0};
        put(&e, "plan_id", json_string(m->enrollments[i]->plan_id));
        put(&e, "start", json_string(m->enrollments[i]->start));
        put(&e, "end", str_or_null(m->enrollments[i]->end));
        if (append(es, done(&e))) {
            json_decref(es);
            es = NULL;
        }
    }
    put(&b, "enrollments", es);
    return done(&b);
}

static json_t *amounts_due(Allot__V1__AmountDue *const *d, size_t n)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < n; i++) {
        struct jb b = {json_object(), 0};
        put(&b, "payer",
            json_string(d[i]->payer == ALLOT__V1__PAYER__PAYER_SPONSOR ? "sponsor" : "patient"));
        put(&b, "payer_id", json_string(d[i]->payer_id));
        put_money(&b, "amount", d[i]->amount_cents);
        if (append(a, done(&b))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *out_json_rule_use(const Allot__V1__RuleUse *u)
{
    struct jb b = {json_object(), 0};
    put(&b, "rule_key", json_string(u->rule_key));
    put(&b, "limit", word_or_null(limit_words, u->limit));
    put(&b, "pool",
        json_string(u->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD ? "household" : "member"));
    put(&b, "unlimited", json_boolean(u->unlimited));
    put_rule_value(&b, "allowance", u->limit, u->allowance);
    put_rule_value(&b, "drawn", u->limit, u->drawn);
    put_rule_value(&b, "remaining", u->limit, u->remaining);
    put(&b, "period_start", str_or_null(u->period_start));
    put(&b, "reset_date", str_or_null(u->reset_date));
    return done(&b);
}

static json_t *priced_line(const Allot__V1__PricedLine *l)
{
    struct jb b = {json_object(), 0};
    const Allot__V1__RuleUse *binding = NULL;
    json_t *rules = json_array();
    size_t i;

    for (i = 0; i < l->n_rules; i++)
        if (!strcmp(l->rules[i]->rule_key, l->rule_key))
            binding = l->rules[i];
    put(&b, "line_id", json_string(l->line_id));
    put(&b, "service_code", json_string(l->service_code));
    put(&b, "service_date", json_string(l->service_date));
    put(&b, "quantity", json_integer(l->quantity));
    put(&b, "covered_quantity", json_integer(l->covered_quantity));
    put(&b, "billable_quantity", json_integer(l->billable_quantity));
    put_money(&b, "unit_price", l->unit_price_cents);
    put_money(&b, "covered_amount", l->covered_amount_cents);
    put_money(&b, "billable_unit_price", l->billable_unit_price_cents);
    put_money(&b, "amount_due", l->amount_due_cents);
    put(&b, "due", amounts_due(l->due, l->n_due));
    put(&b, "reason", word_or_null(reason_words, l->reason));
    put(&b, "reason_text", str_or_null(words_text(reason_words, l->reason)));
    put(&b, "carc", str_or_null(l->carc));
    put(&b, "rule_key", str_or_null(l->rule_key));
    put(&b, "unlimited", json_boolean(l->unlimited));
    /* The binding rule's remaining, in its unit (integer when no rule). */
    put_rule_value(&b, "remaining",
                   binding ? binding->limit : ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY,
                   l->remaining);
    put(&b, "period_start", str_or_null(l->period_start));
    put(&b, "reset_date", str_or_null(l->reset_date));
    put(&b, "voided", json_boolean(l->voided));
    put(&b, "plan_id", str_or_null(l->plan_id));
    put(&b, "plan_effective_from", str_or_null(l->plan_effective_from));
    for (i = 0; rules && i < l->n_rules; i++)
        if (append(rules, out_json_rule_use(l->rules[i]))) {
            json_decref(rules);
            rules = NULL;
        }
    put(&b, "rules", rules);
    return done(&b);
}

json_t *out_json_priced(const Allot__V1__PriceInvoiceResponse *r, int preview)
{
    struct jb b = {json_object(), 0};
    json_t *lines = json_array();
    size_t i;

    put(&b, "invoice_id", json_string(r->invoice_id));
    put(&b, "member_id", json_string(r->member_id));
    put(&b, "preview", json_boolean(preview));
    for (i = 0; lines && i < r->n_lines; i++)
        if (append(lines, priced_line(r->lines[i]))) {
            json_decref(lines);
            lines = NULL;
        }
    put(&b, "lines", lines);
    put_money(&b, "total_due", r->total_due_cents);
    put(&b, "totals", amounts_due(r->totals, r->n_totals));
    return done(&b);
}

json_t *out_json_void(const Allot__V1__VoidInvoiceResponse *r)
{
    struct jb b = {json_object(), 0};
    put(&b, "invoice_id", json_string(r->invoice_id));
    put(&b, "voided_line_ids", strings(r->voided_line_ids, r->n_voided_line_ids));
    return done(&b);
}

static json_t *history(const Allot__V1__Allotment *al)
{
    json_t *a = json_array();
    size_t i;
    for (i = 0; a && i < al->n_history; i++) {
        const Allot__V1__UsageEntry *h = al->history[i];
        struct jb b = {json_object(), 0};
        put(&b, "service_date", json_string(h->service_date));
        put(&b, "source", word_or_null(source_words, h->source));
        put(&b, "invoice_id", str_or_null(h->invoice_id));
        put(&b, "line_id", str_or_null(h->line_id));
        put(&b, "usage_id", str_or_null(h->usage_id));
        put_rule_value(&b, "amount", al->limit, h->amount);
        if (append(a, done(&b))) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

json_t *out_json_allotments(const Allot__V1__GetAllotmentsResponse *r)
{
    struct jb b = {json_object(), 0};
    json_t *list = json_array();
    size_t i;

    put(&b, "member_id", json_string(r->member_id));
    put(&b, "as_of", json_string(r->as_of));
    put(&b, "plan_id", str_or_null(r->plan_id));
    put(&b, "plan_effective_from", str_or_null(r->plan_effective_from));
    for (i = 0; list && i < r->n_allotments; i++) {
        const Allot__V1__Allotment *al = r->allotments[i];
        struct jb a = {json_object(), 0};
        put(&a, "rule_key", json_string(al->rule_key));
        put(&a, "service_codes", strings(al->service_codes, al->n_service_codes));
        put(&a, "limit", word_or_null(limit_words, al->limit));
        put(&a, "pool",
            json_string(al->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD ? "household"
                                                                              : "member"));
        put(&a, "period", period(al->period));
        put(&a, "unlimited", json_boolean(al->unlimited));
        put_rule_value(&a, "allowance", al->limit, al->allowance);
        put_rule_value(&a, "used", al->limit, al->used);
        put_rule_value(&a, "remaining", al->limit, al->remaining);
        put(&a, "percent_used", json_integer(al->percent_used));
        put(&a, "period_start", str_or_null(al->period_start));
        put(&a, "reset_date", str_or_null(al->reset_date));
        if (al->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD) {
            put_rule_value(&a, "member_used", al->limit, al->member_used);
            put_rule_value(&a, "member_cap", al->limit, al->member_cap);
        }
        put(&a, "x12_time_period", str_or_null(al->x12_time_period));
        put(&a, "history", history(al));
        if (append(list, done(&a))) {
            json_decref(list);
            list = NULL;
        }
    }
    put(&b, "allotments", list);
    return done(&b);
}

json_t *out_json_event(const Allot__V1__ThresholdEvent *e)
{
    struct jb b = {json_object(), 0};
    put(&b, "seq", json_integer((json_int_t)e->seq));
    put(&b, "member_id", json_string(e->member_id));
    put(&b, "household_id", str_or_null(e->household_id));
    put(&b, "rule_key", json_string(e->rule_key));
    put(&b, "percent", json_integer(e->percent));
    /* in the rule's unit, as in allotments: NAME_cents and NAME (dollars)
     * for an amount rule, NAME (units) otherwise; an event stored before
     * events named their limit has "limit": null and bare numbers */
    put(&b, "limit", word_or_null(limit_words, e->limit));
    put_rule_value(&b, "allowance", e->limit, e->allowance);
    put_rule_value(&b, "used", e->limit, e->used);
    put_rule_value(&b, "remaining", e->limit, e->remaining);
    put(&b, "period_start", str_or_null(e->period_start));
    put(&b, "reset_date", str_or_null(e->reset_date));
    put(&b, "invoice_id", str_or_null(e->invoice_id));
    put(&b, "line_id", str_or_null(e->line_id));
    put(&b, "usage_id", str_or_null(e->usage_id));
    return done(&b);
}

int out_json_print(FILE *f, json_t *v, int compact)
{
    int rc;
    if (!v)
        return -1;
    rc = json_dumpf(v, f, compact ? JSON_COMPACT : JSON_INDENT(2));
    json_decref(v);
    if (rc)
        return -1;
    fputc('\n', f);
    return 0;
}
