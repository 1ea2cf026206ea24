/* out_table.c - see out_table.h. */
#include "out_table.h"

#include <inttypes.h>
#include <string.h>

#include "describe.h"
#include "money.h"
#include "table.h"
#include "words.h"

#define DASH "-"

static const char *or_dash(const char *s)
{
    return s && *s ? s : DASH;
}

/* "a, b, c" of a string list, cut to fit buf. */
static char *join(char *const *v, size_t n, char *buf, size_t len)
{
    size_t off = 0, i;
    buf[0] = '\0';
    for (i = 0; i < n && off < len; i++) {
        int k = snprintf(buf + off, len - off, "%s%s", i ? ", " : "", v[i]);
        if (k < 0)
            break;
        off += (size_t)k;
    }
    return buf;
}

void out_table_services(FILE *f, Allot__V1__Service *const *s, size_t n)
{
    struct table t;
    char m[MONEY_BUFLEN];
    size_t i;

    if (n == 0) {
        fprintf(f, "no services in the catalog\n");
        return;
    }
    table_init(&t, 3);
    table_row(&t);
    table_cell(&t, "CODE");
    table_cell(&t, "NAME");
    table_cell(&t, "CASH PRICE");
    for (i = 0; i < n; i++) {
        table_row(&t);
        table_cell(&t, "%s", s[i]->code);
        table_cell(&t, "%s", or_dash(s[i]->name));
        table_cell(&t, "%s", money_format_usd(s[i]->cash_price_cents, m));
    }
    table_print(&t, f, "");
    table_release(&t);
}

void out_table_service_put(FILE *f, const Allot__V1__PutServiceResponse *r)
{
    char m[MONEY_BUFLEN];
    const Allot__V1__Service *s = r->service;
    if (!s)
        return;
    fprintf(f, "service %s %s: %s%s%s at %s\n", s->code, r->created ? "created" : "replaced",
            *s->name ? "\"" : "", s->name, *s->name ? "\"" : "",
            money_format_usd(s->cash_price_cents, m));
}

static void rules_table(FILE *f, const Allot__V1__PlanVersion *v)
{
    char codes[300], a[DESCRIBE_MAX], b[DESCRIBE_MAX], m[MONEY_BUFLEN];
    struct table t;
    size_t i, k;

    if (v->n_rules == 0) {
        fprintf(f, "    (no rules: nothing is covered)\n");
        return;
    }
    table_init(&t, 7);
    table_row(&t);
    table_cell(&t, "RULE");
    table_cell(&t, "SERVICES");
    table_cell(&t, "ALLOWANCE");
    table_cell(&t, "PERIOD");
    table_cell(&t, "POOL");
    table_cell(&t, "BEYOND IT");
    table_cell(&t, "ALERTS AT");
    for (i = 0; i < v->n_rules; i++) {
        const Allot__V1__Rule *r = v->rules[i];
        int amount = r->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
        table_row(&t);
        table_cell(&t, "%s", r->key);
        table_cell(&t, "%s", join(r->service_codes, r->n_service_codes, codes, sizeof codes));
        if (r->unlimited)
            table_cell(&t, "unlimited");
        else if (r->allowance == 0)
            table_cell(&t, "none (member price)");
        else
            table_cell(&t, "%s%s", describe_amount(r->limit, r->allowance, a),
                       amount              ? ""
                       : r->allowance == 1 ? " unit"
                                           : " units");
        table_cell(&t, "%s", describe_period(r->period, b));
        if (r->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD && r->member_cap)
            table_cell(&t, "household, %s per member", describe_amount(r->limit, r->member_cap, a));
        else
            table_cell(&t, "%s",
                       r->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD ? "household"
                                                                            : "member");
        table_cell(&t, "%s, %s pays",
                   r->overage_price ? money_format_usd(r->overage_price->cents, m) : "line price",
                   r->overage_payer == ALLOT__V1__PAYER__PAYER_SPONSOR ? "sponsor" : "patient");
        if (r->unlimited) {
            table_cell(&t, "never (unlimited)");
        } else if (!r->thresholds) {
            table_cell(&t, "70, 80, 90, 100%%");
        } else if (r->thresholds->n_percents == 0) {
            table_cell(&t, "never");
        } else {
            char p[200];
            size_t off = 0;
            p[0] = '\0';
            for (k = 0; k < r->thresholds->n_percents && off < sizeof p; k++) {
                int x = snprintf(p + off, sizeof p - off, "%s%d", k ? ", " : "",
                                 (int)r->thresholds->percents[k]);
                if (x < 0)
                    break;
                off += (size_t)x;
            }
            table_cell(&t, "%s%%", p);
        }
    }
    table_print(&t, f, "    ");
    table_release(&t);
}

void out_table_plan(FILE *f, const Allot__V1__Plan *p)
{
    size_t i;
    fprintf(f, "plan %s%s%s%s\n", p->id, *p->name ? "  \"" : "", p->name, *p->name ? "\"" : "");
    for (i = 0; i < p->n_versions; i++) {
        const Allot__V1__PlanVersion *v = p->versions[i];
        fprintf(f, "  version from %s%s\n", v->effective_from,
                i + 1 < p->n_versions ? "" : " (latest)");
        rules_table(f, v);
    }
}

void out_table_plans(FILE *f, Allot__V1__Plan *const *p, size_t n)
{
    struct table t;
    size_t i;

    if (n == 0) {
        fprintf(f, "no plans\n");
        return;
    }
    table_init(&t, 5);
    table_row(&t);
    table_cell(&t, "PLAN");
    table_cell(&t, "NAME");
    table_cell(&t, "VERSIONS");
    table_cell(&t, "LATEST FROM");
    table_cell(&t, "RULES");
    for (i = 0; i < n; i++) {
        const Allot__V1__PlanVersion *v =
            p[i]->n_versions ? p[i]->versions[p[i]->n_versions - 1] : NULL;
        char keys[300] = "";
        size_t k, off = 0;
        if (v)
            for (k = 0; k < v->n_rules && off < sizeof keys; k++) {
                int x = snprintf(keys + off, sizeof keys - off, "%s%s", k ? ", " : "",
                                 v->rules[k]->key);
                if (x < 0)
                    break;
                off += (size_t)x;
            }
        table_row(&t);
        table_cell(&t, "%s", p[i]->id);
        table_cell(&t, "%s", or_dash(p[i]->name));
        table_cell(&t, "%zu", p[i]->n_versions);
        table_cell(&t, "%s", v ? v->effective_from : DASH);
        table_cell(&t, "%s", or_dash(keys));
    }
    table_print(&t, f, "");
    table_release(&t);
}

void out_table_plan_put(FILE *f, const Allot__V1__PutPlanResponse *r, const char *effective_from)
{
    const Allot__V1__Plan *p = r->plan;
    if (!p)
        return;
    if (r->created)
        fprintf(f, "plan %s: version from %s added (%zu version%s stored)\n", p->id, effective_from,
                p->n_versions, p->n_versions == 1 ? "" : "s");
    else
        fprintf(f, "plan %s: version from %s already stored, identical: nothing changed\n", p->id,
                effective_from);
}

void out_table_member(FILE *f, const Allot__V1__Member *m)
{
    size_t i;
    fprintf(f, "member %s\n", m->id);
    if (*m->anniversary)
        fprintf(f, "  anniversary   %s\n", m->anniversary);
    else
        fprintf(f, "  anniversary   %s (first enrollment's start)\n",
                or_dash(m->effective_anniversary));
    fprintf(f, "  household     %s\n", or_dash(m->household_id));
    fprintf(f, "  sponsor       %s\n", or_dash(m->sponsor_id));
    if (m->n_enrollments == 0)
        fprintf(f, "  enrollments   none\n");
    for (i = 0; i < m->n_enrollments; i++) {
        const Allot__V1__Enrollment *e = m->enrollments[i];
        fprintf(f, "  %s plan %s from %s %s%s\n", i == 0 ? "enrollments  " : "             ",
                e->plan_id, e->start, *e->end ? "through " : "(open-ended)", e->end);
    }
}

void out_table_member_put(FILE *f, const Allot__V1__PutMemberResponse *r)
{
    if (r->member)
        fprintf(f, "member %s %s\n", r->member->id, r->created ? "created" : "replaced");
}

/* The binding rule's allowance, from the matching rules the line lists. */
static const Allot__V1__RuleUse *binding_use(const Allot__V1__PricedLine *l)
{
    size_t i;
    for (i = 0; i < l->n_rules; i++)
        if (!strcmp(l->rules[i]->rule_key, l->rule_key))
            return l->rules[i];
    return NULL;
}

static void payer_text(const Allot__V1__AmountDue *d, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s", d->payer == ALLOT__V1__PAYER__PAYER_SPONSOR ? "sponsor" : "patient",
             d->payer_id);
}

void out_table_priced(FILE *f, const Allot__V1__PriceInvoiceResponse *r, int preview)
{
    char a[DESCRIBE_MAX], m1[MONEY_BUFLEN], m2[MONEY_BUFLEN], who[160];
    const char *plan = NULL, *from = NULL;
    struct table t;
    size_t i;

    for (i = 0; i < r->n_lines; i++)
        if (*r->lines[i]->plan_id) {
            plan = r->lines[i]->plan_id;
            from = r->lines[i]->plan_effective_from;
            break;
        }
    if (preview)
        fprintf(f, "Preview for member %s (nothing recorded)", r->member_id);
    else
        fprintf(f, "Invoice %s for member %s", r->invoice_id, r->member_id);
    if (plan)
        fprintf(f, ", plan %s (version from %s)", plan, from);
    fprintf(f, "\n\n");

    table_init(&t, 11);
    table_row(&t);
    table_cell(&t, "LINE");
    table_cell(&t, "SERVICE");
    table_cell(&t, "DATE");
    table_cell(&t, "QTY");
    table_cell(&t, "COVERED");
    table_cell(&t, "BILLED");
    table_cell(&t, "DUE");
    table_cell(&t, "PAYER");
    table_cell(&t, "REASON");
    table_cell(&t, "LEFT");
    table_cell(&t, "RESETS");
    for (i = 0; i < r->n_lines; i++) {
        const Allot__V1__PricedLine *l = r->lines[i];
        const Allot__V1__RuleUse *u = binding_use(l);
        const char *reason = words_text(reason_words, l->reason);
        table_row(&t);
        table_cell(&t, "%s", l->line_id);
        table_cell(&t, "%s", l->service_code);
        table_cell(&t, "%s", l->service_date);
        table_cell(&t, "%" PRId64, l->quantity);
        if (l->covered_quantity || l->covered_amount_cents)
            table_cell(&t, "%" PRId64 " (%s)", l->covered_quantity,
                       money_format_usd(l->covered_amount_cents, m1));
        else
            table_cell(&t, "0");
        if (l->billable_quantity)
            table_cell(&t, "%" PRId64 " x %s", l->billable_quantity,
                       money_format_usd(l->billable_unit_price_cents, m2));
        else
            table_cell(&t, "0");
        table_cell(&t, "%s", money_format_usd(l->amount_due_cents, m1));
        if (l->n_due && l->amount_due_cents) {
            payer_text(l->due[0], who, sizeof who);
            table_cell(&t, "%s", who);
        } else {
            table_cell(&t, DASH);
        }
        table_cell(&t, "%s%s", l->voided ? "VOIDED: " : "", reason ? reason : "unknown");
        if (!*l->rule_key)
            table_cell(&t, DASH);
        else if (u)
            table_cell(&t, "%s (%s)",
                       describe_left(u->limit, l->unlimited, l->remaining, u->allowance, a),
                       l->rule_key);
        else
            table_cell(&t, "%" PRId64 " left (%s)", l->remaining, l->rule_key);
        table_cell(&t, "%s", *l->reset_date ? l->reset_date : *l->rule_key ? "never" : DASH);
    }
    table_print(&t, f, "");
    table_release(&t);

    fprintf(f, "\nTotal due: %s", money_format_usd(r->total_due_cents, m1));
    for (i = 0; i < r->n_totals; i++) {
        payer_text(r->totals[i], who, sizeof who);
        fprintf(f, "%s%s %s", i ? ", " : " (", who,
                money_format_usd(r->totals[i]->amount_cents, m1));
    }
    fprintf(f, "%s\n", r->n_totals ? ")" : "");
}

void out_table_void(FILE *f, const Allot__V1__VoidInvoiceResponse *r, const char *line_id)
{
    char ids[400];
    if (r->n_voided_line_ids == 0) {
        fprintf(f, "invoice %s%s%s: already voided, nothing changed\n", r->invoice_id,
                *line_id ? " line " : "", line_id);
        return;
    }
    fprintf(f, "invoice %s: voided line%s %s (usage restored)\n", r->invoice_id,
            r->n_voided_line_ids == 1 ? "" : "s",
            join(r->voided_line_ids, r->n_voided_line_ids, ids, sizeof ids));
}

void out_table_usage_recorded(FILE *f, const Allot__V1__RecordUsageResponse *r)
{
    char a[DESCRIBE_MAX];
    const Allot__V1__RuleUse *u = r->rule;
    if (!u) {
        fprintf(f, "usage %s recorded\n", r->usage_id);
        return;
    }
    fprintf(f, "usage %s recorded: %s now %s", r->usage_id, u->rule_key,
            describe_left(u->limit, u->unlimited, u->remaining, u->allowance, a));
    if (*u->reset_date)
        fprintf(f, ", resets %s", u->reset_date);
    fprintf(f, "\n");
}

void out_table_usage_voided(FILE *f, const Allot__V1__VoidUsageResponse *r)
{
    if (r->voided)
        fprintf(f, "usage %s voided (its amount is restored)\n", r->usage_id);
    else
        fprintf(f, "usage %s: already voided, nothing changed\n", r->usage_id);
}

/* "2025-04-01 (inv-1)", "2025-03-02 x3 (inv-2)", "2025-01-10 $80.00 (prior u-7)";
 * past HISTORY_SHOWN entries, the first ones and "and N more". */
#define HISTORY_SHOWN 4

static void history_text(const Allot__V1__Allotment *al, char *buf, size_t len)
{
    size_t off = 0, i, shown = al->n_history > HISTORY_SHOWN ? HISTORY_SHOWN - 1 : al->n_history;
    int k;

    buf[0] = '\0';
    for (i = 0; i < shown && off < len; i++) {
        const Allot__V1__UsageEntry *h = al->history[i];
        char amt[DESCRIBE_MAX] = "", src[160];
        if (al->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT) {
            char m[MONEY_BUFLEN];
            snprintf(amt, sizeof amt, " %s", money_format_usd(h->amount, m));
        } else if (h->amount != 1) {
            snprintf(amt, sizeof amt, " x%" PRId64, h->amount);
        }
        if (h->source == ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_INVOICE || *h->invoice_id)
            snprintf(src, sizeof src, "%s", h->invoice_id);
        else
            snprintf(src, sizeof src, "%s %s", or_dash(words_name(source_words, h->source)),
                     h->usage_id);
        k = snprintf(buf + off, len - off, "%s%s%s (%s)", i ? ", " : "", h->service_date, amt, src);
        if (k < 0)
            return;
        off += (size_t)k;
    }
    if (shown < al->n_history && off < len)
        snprintf(buf + off, len - off, " and %zu more", al->n_history - shown);
}

static int64_t nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

/* One row per rule: RULE  LEFT  USED  RESETS  WHAT (period, pool). */
void out_table_allotments(FILE *f, const Allot__V1__GetAllotmentsResponse *r)
{
    char a[DESCRIBE_MAX], b[DESCRIBE_MAX], hist[1000];
    struct table t;
    size_t i;

    if (!*r->plan_id) {
        fprintf(f, "Member %s as of %s: no plan in force (not enrolled)\n", r->member_id, r->as_of);
        return;
    }
    fprintf(f, "Member %s as of %s: plan %s (version from %s)\n\n", r->member_id, r->as_of,
            r->plan_id, r->plan_effective_from);
    if (r->n_allotments == 0) {
        fprintf(f, "  the plan has no rules\n");
        return;
    }
    table_init(&t, 5);
    for (i = 0; i < r->n_allotments; i++) {
        const Allot__V1__Allotment *al = r->allotments[i];
        int household = al->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD;
        table_row(&t);
        table_cell(&t, "%s", al->rule_key);
        /* The server's remaining is what this member may still use (for a
         * capped household pool, the smaller of pool and cap); the LEFT
         * column shows the pool, the member's share goes with the pool. */
        if (household && al->member_cap)
            table_cell(&t, "%s",
                       describe_left(al->limit, al->unlimited, nonneg(al->allowance - al->used),
                                     al->allowance, a));
        else
            table_cell(&t, "%s",
                       describe_left(al->limit, al->unlimited, al->remaining, al->allowance, a));
        if (al->n_history) {
            history_text(al, hist, sizeof hist);
            table_cell(&t, "used %s", hist);
        } else if (al->used) {
            /* Household: others' use shows only as a total. */
            table_cell(&t, "used %s by the household", describe_amount(al->limit, al->used, a));
        } else {
            table_cell(&t, "not used yet");
        }
        if (*al->reset_date)
            table_cell(&t, "resets %s", al->reset_date);
        else if (al->period && al->period->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_LIFETIME)
            table_cell(&t, "never resets");
        else
            table_cell(&t, "%s", "");
        describe_period(al->period, b);
        if (household && al->member_cap)
            table_cell(&t, "%s, household (member cap %s: %s left)", b,
                       describe_amount(al->limit, al->member_cap, a),
                       describe_amount(al->limit, al->remaining, hist));
        else
            table_cell(&t, "%s%s", b, household ? ", household" : "");
    }
    table_print(&t, f, "");
    table_release(&t);
}

void out_table_event(FILE *f, const Allot__V1__ThresholdEvent *e)
{
    fprintf(f, "#%" PRIu64 "  member %s", e->seq, e->member_id);
    if (*e->household_id)
        fprintf(f, " (household %s)", e->household_id);
    if (e->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT) {
        char u[MONEY_BUFLEN], a[MONEY_BUFLEN], r[MONEY_BUFLEN];
        fprintf(f, "  %s reached %d%%: used %s of %s, %s left", e->rule_key, (int)e->percent,
                money_format_usd(e->used, u), money_format_usd(e->allowance, a),
                money_format_usd(e->remaining, r));
    } else {
        fprintf(f, "  %s reached %d%%: used %" PRId64 " of %" PRId64 ", %" PRId64 " left",
                e->rule_key, (int)e->percent, e->used, e->allowance, e->remaining);
    }
    if (*e->reset_date)
        fprintf(f, ", resets %s", e->reset_date);
    if (*e->invoice_id)
        fprintf(f, "  (invoice %s line %s)", e->invoice_id, e->line_id);
    else if (*e->usage_id)
        fprintf(f, "  (usage %s)", e->usage_id);
    fputc('\n', f);
}
