/* fhir.c - see fhir.h. */
#include "fhir.h"

#include <string.h>

#include "allot/date.h"

#include "describe.h"

#define UNIT_SYSTEM "http://terminology.hl7.org/CodeSystem/benefit-unit"
#define TERM_SYSTEM "http://terminology.hl7.org/CodeSystem/benefit-term"
#define TYPE_SYSTEM "http://terminology.hl7.org/CodeSystem/benefit-type"

/* json_pack with "s?" and "o" steals references and fails as a whole, so
 * one NULL check per object is enough. */

static json_t *coding(const char *system, const char *code, const char *display)
{
    return json_pack("{s:[{s:s, s:s, s:s}]}", "coding", "system", system, "code", code, "display",
                     display);
}

static json_t *money(int64_t cents)
{
    /* cents / 100 is the double nearest the decimal amount; printed with
     * 15 significant digits (FHIR_JSON_FLAGS) it reads back exactly. */
    return json_pack("{s:f, s:s}", "value", (double)cents / 100.0, "currency", "USD");
}

static json_t *term(const Allot__V1__Period *p)
{
    char d[DESCRIBE_MAX];
    if (!p)
        return NULL;
    switch (p->kind) {
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_CALENDAR_YEAR:
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_MEMBER_YEAR:
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_PLAN_YEAR:
        return coding(TERM_SYSTEM, "annual", "Annual");
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_MONTHS:
        if (p->count == 12)
            return coding(TERM_SYSTEM, "annual", "Annual");
        break;
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS:
        if (p->count == 1)
            return coding(TERM_SYSTEM, "day", "Day");
        break;
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_LIFETIME:
        return coding(TERM_SYSTEM, "lifetime", "Lifetime");
    default:
        break;
    }
    return json_pack("{s:s}", "text", describe_period(p, d));
}

static json_t *benefit(const Allot__V1__Allotment *al)
{
    json_t *b = json_pack("{s:o}", "type", coding(TYPE_SYSTEM, "benefit", "Benefit"));
    int amount = al->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    int bad = !b;

    if (!b)
        return NULL;
    if (al->unlimited)
        bad |= json_object_set_new(b, "allowedString", json_string("unlimited"));
    else if (amount)
        bad |= json_object_set_new(b, "allowedMoney", money(al->allowance));
    else
        bad |= json_object_set_new(b, "allowedUnsignedInt", json_integer(al->allowance));
    if (amount)
        bad |= json_object_set_new(b, "usedMoney", money(al->used));
    else
        bad |= json_object_set_new(b, "usedUnsignedInt", json_integer(al->used));
    if (bad) {
        json_decref(b);
        return NULL;
    }
    return b;
}

static int rolling(const Allot__V1__Period *p)
{
    return p && (p->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS ||
                 p->kind == ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_MONTHS);
}

/* A FHIR Period's end is inclusive: the day before the reset date.
 * Writes "" when reset is "" or not a date. */
static void last_day(const char *reset, char out[ALLOT_DATE_STRLEN])
{
    allot_date d;
    out[0] = '\0';
    if (*reset && allot_date_parse(reset, &d) == 0)
        allot_date_format(d - 1, out);
}

static json_t *period(const char *start, const char *end)
{
    json_t *p = json_object();
    if (p && *start && json_object_set_new(p, "start", json_string(start)))
        goto fail;
    if (p && *end && json_object_set_new(p, "end", json_string(end)))
        goto fail;
    return p;
fail:
    json_decref(p);
    return NULL;
}

static json_t *item(const Allot__V1__Allotment *al)
{
    json_t *it, *codes, *ext;
    char d[DESCRIBE_MAX], a[DESCRIBE_MAX], text[400], desc[300];
    size_t i, off = 0;
    int n;
    int household = al->pool == ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD, bad = 0;

    text[0] = '\0';
    if (!(codes = json_array()))
        return NULL;
    for (i = 0; i < al->n_service_codes; i++) {
        bad |= json_array_append_new(codes, json_pack("{s:s, s:s}", "system", FHIR_SERVICE_SYSTEM,
                                                      "code", al->service_codes[i]));
        if (off < sizeof text) {
            n = snprintf(text + off, sizeof text - off, "%s%s", i ? ", " : "",
                         al->service_codes[i]);
            off = n > 0 ? off + (size_t)n : sizeof text;
        }
    }
    if (al->unlimited)
        n = snprintf(desc, sizeof desc, "unlimited, %s", describe_period(al->period, d));
    else
        n = snprintf(
            desc, sizeof desc, "%s%s %s%s%s%s", describe_amount(al->limit, al->allowance, a),
            al->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT ? "" : " units",
            describe_period(al->period, d), household ? " (household" : "",
            household && al->member_cap ? ", capped per member" : "", household ? ")" : "");
    if (*al->reset_date && n > 0 && (size_t)n < sizeof desc)
        snprintf(desc + n, sizeof desc - (size_t)n, "; %s %s",
                 rolling(al->period) ? "more available from" : "resets", al->reset_date);

    it = json_pack("{s:{s:o, s:s}, s:s, s:s, s:o, s:o*, s:[o]}", "productOrService", "coding",
                   codes, "text", text, "name", al->rule_key, "description", desc, "unit",
                   household ? coding(UNIT_SYSTEM, "family", "Family")
                             : coding(UNIT_SYSTEM, "individual", "Individual"),
                   "term", term(al->period), "benefit", benefit(al));
    if (!it || bad) {
        json_decref(it);
        return NULL;
    }
    if (*al->period_start) {
        char end[ALLOT_DATE_STRLEN] = "";
        /* A rolling window's reset date is when more becomes available,
         * not the end of a period: it is in the description only. */
        if (!rolling(al->period))
            last_day(al->reset_date, end);
        ext = json_pack("[{s:s, s:o}]", "url", FHIR_PERIOD_EXT, "valuePeriod",
                        period(al->period_start, end));
        if (!ext || json_object_set_new(it, "extension", ext)) {
            json_decref(it);
            return NULL;
        }
    }
    return it;
}

json_t *fhir_eligibility_response(const Allot__V1__GetAllotmentsResponse *r, const char *created)
{
    char patient[128], coverage[200], disposition[300];
    json_t *res, *ins, *items;
    const char *start = NULL, *end = NULL;
    int same = r->n_allotments > 0;
    size_t i;

    snprintf(patient, sizeof patient, "Patient/%s", r->member_id);
    if (*r->plan_id) {
        snprintf(coverage, sizeof coverage, "plan %s, version from %s", r->plan_id,
                 r->plan_effective_from);
        snprintf(disposition, sizeof disposition, "Allotments as of %s under plan %s", r->as_of,
                 r->plan_id);
    } else {
        snprintf(coverage, sizeof coverage, "no plan in force on %s", r->as_of);
        snprintf(disposition, sizeof disposition, "Member %s is not enrolled on %s", r->member_id,
                 r->as_of);
    }

    if (!(items = json_array()))
        return NULL;
    for (i = 0; i < r->n_allotments; i++) {
        const Allot__V1__Allotment *al = r->allotments[i];
        if (json_array_append_new(items, item(al))) {
            json_decref(items);
            return NULL;
        }
        if (i == 0) {
            start = al->period_start;
            end = al->reset_date;
        } else if (strcmp(start, al->period_start) || strcmp(end, al->reset_date)) {
            same = 0;
        }
    }
    if (*r->plan_id)
        ins = json_pack("{s:{s:{s:s, s:s}, s:s}, s:b}", "coverage", "identifier", "system",
                        FHIR_PLAN_SYSTEM, "value", r->plan_id, "display", coverage, "inforce", 1);
    else
        ins = json_pack("{s:{s:s}, s:b}", "coverage", "display", coverage, "inforce", 0);
    if (!ins) {
        json_decref(items);
        return NULL;
    }
    if (same && *start && !rolling(r->allotments[0]->period)) {
        char last[ALLOT_DATE_STRLEN];
        last_day(end, last);
        if (json_object_set_new(ins, "benefitPeriod", period(start, last)))
            goto fail;
    }
    if (json_object_set_new(ins, "item", items)) {
        items = NULL;
        goto fail;
    }
    items = NULL;

    res = json_pack("{s:s, s:s, s:[s], s:{s:s}, s:s, s:s, s:{s:s}, s:s, s:s, s:{s:s}, s:[o]}",
                    "resourceType", "CoverageEligibilityResponse", "status", "active", "purpose",
                    "benefits", "patient", "reference", patient, "servicedDate", r->as_of,
                    "created", created, "request", "display", "allotctl allotments request",
                    "outcome", "complete", "disposition", disposition, "insurer", "display",
                    "allot", "insurance", ins);
    return res;
fail:
    json_decref(items);
    json_decref(ins);
    return NULL;
}
