/* validate.c - what may be stored; see allot/validate.h.
 *
 * Messages follow one shape, "<field path>: <what is wrong>", so a caller
 * can find the field without reading our source. The path uses the proto's
 * field names because that is what the caller wrote.
 */
#include "allot/validate.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/date.h"

#define FIELD_MAX 160

int allot_check_opt_id(const char *s, const char *field, struct allot_status *st)
{
    size_t i, n = strlen(s);
    if (n > ALLOT_ID_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s: longer than %d bytes", field, ALLOT_ID_MAX);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s: byte %zu is not printable ASCII (no spaces allowed)",
                                    field, i);
    }
    return 0;
}

int allot_check_id(const char *s, const char *field, struct allot_status *st)
{
    if (!s[0])
        return allot_status_set(st, ALLOT_EINVAL, "%s: required", field);
    return allot_check_opt_id(s, field, st);
}

/* Length of the UTF-8 sequence at s (n bytes left), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

int allot_check_name(const char *s, const char *field, struct allot_status *st)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    if (n > ALLOT_NAME_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s: longer than %d bytes", field,
                                ALLOT_NAME_MAX);
    while (i < n) {
        size_t l = utf8_len(p + i, n - i);
        if (!l)
            return allot_status_set(st, ALLOT_EINVAL, "%s: not valid UTF-8 at byte %zu", field, i);
        if (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))
            return allot_status_set(st, ALLOT_EINVAL, "%s: control character at byte %zu", field,
                                    i);
        i += l;
    }
    return 0;
}

int allot_service_check(const struct allot_service *s, const char *prefix,
                        struct allot_status *st)
{
    char f[FIELD_MAX];
    int rc;
    snprintf(f, sizeof f, "%s.code", prefix);
    if ((rc = allot_check_id(s->code, f, st)))
        return rc;
    snprintf(f, sizeof f, "%s.name", prefix);
    if ((rc = allot_check_name(s->name, f, st)))
        return rc;
    if (s->cash_price < 0 || s->cash_price > ALLOT_MONEY_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.cash_price_cents: must be 0-%lld, got %lld",
                                prefix, (long long)ALLOT_MONEY_MAX, (long long)s->cash_price);
    return 0;
}

static int period_check(const struct allot_period *p, enum allot_pool_kind pool,
                        const char *prefix, struct allot_status *st)
{
    bool plan_year = p->kind == ALLOT_PERIOD_PLAN_YEAR;
    bool rolling = p->kind == ALLOT_PERIOD_ROLLING_DAYS || p->kind == ALLOT_PERIOD_ROLLING_MONTHS;

    if (p->kind < ALLOT_PERIOD_CALENDAR_YEAR || p->kind > ALLOT_PERIOD_LIFETIME)
        return allot_status_set(st, ALLOT_EINVAL, "%s.period.kind: required (one of PERIOD_KIND_*)",
                                prefix);
    if (pool == ALLOT_POOL_HOUSEHOLD &&
        (p->kind == ALLOT_PERIOD_MEMBER_YEAR || p->kind == ALLOT_PERIOD_MEMBER_MONTH))
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.period.kind: a household pool cannot use a member-anchored "
                                "period (its members have different anniversaries)",
                                prefix);
    if (plan_year) {
        if (p->month < 1 || p->month > 12)
            return allot_status_set(st, ALLOT_EINVAL, "%s.period.month: must be 1-12, got %d",
                                    prefix, p->month);
        /* 2000 is a leap year, so Feb 29 is an accepted (clamped) anchor. */
        if (p->day < 1 || p->day > allot_days_in_month(2000, p->month))
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.period.day: must be 1-%d for month %d, got %d", prefix,
                                    allot_days_in_month(2000, p->month), p->month, p->day);
    } else if (p->month || p->day) {
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.period.%s: only PERIOD_KIND_PLAN_YEAR takes a month and day",
                                prefix, p->month ? "month" : "day");
    }
    if (rolling) {
        int max = p->kind == ALLOT_PERIOD_ROLLING_DAYS ? ALLOT_ROLLING_DAYS_MAX
                                                        : ALLOT_ROLLING_MONTHS_MAX;
        if (p->count < 1 || p->count > max)
            return allot_status_set(st, ALLOT_EINVAL, "%s.period.count: must be 1-%d, got %d",
                                    prefix, max, p->count);
    } else if (p->count) {
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.period.count: only rolling periods take a count", prefix);
    }
    return 0;
}

int allot_rule_check(const struct allot_rule *r, const char *prefix, struct allot_status *st)
{
    char f[FIELD_MAX];
    int64_t max;
    uint32_t i, j;
    int rc;

    snprintf(f, sizeof f, "%s.key", prefix);
    if ((rc = allot_check_id(r->key, f, st)))
        return rc;
    if (r->ncodes == 0)
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.service_codes: at least one service code is required", prefix);
    if (r->ncodes > ALLOT_RULE_CODES_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.service_codes: at most %d codes, got %u",
                                prefix, ALLOT_RULE_CODES_MAX, r->ncodes);
    for (i = 0; i < r->ncodes; i++) {
        snprintf(f, sizeof f, "%s.service_codes[%u]", prefix, i);
        if ((rc = allot_check_id(r->codes[i], f, st)))
            return rc;
        for (j = 0; j < i; j++)
            if (!strcmp(r->codes[i], r->codes[j]))
                return allot_status_set(st, ALLOT_EINVAL, "%s: \"%s\" is listed twice", f,
                                        r->codes[i]);
    }
    if (r->limit != ALLOT_LIMIT_QUANTITY && r->limit != ALLOT_LIMIT_AMOUNT)
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.limit: required (LIMIT_KIND_QUANTITY or LIMIT_KIND_AMOUNT)",
                                prefix);
    max = r->limit == ALLOT_LIMIT_QUANTITY ? ALLOT_UNITS_MAX : ALLOT_MONEY_MAX;
    if (r->unlimited) {
        if (r->allowance)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.allowance: must be 0 (absent) when unlimited is set",
                                    prefix);
    } else if (r->allowance < 0 || r->allowance > max) {
        return allot_status_set(st, ALLOT_EINVAL, "%s.allowance: must be 1-%lld, got %lld", prefix,
                                (long long)max, (long long)r->allowance);
    } else if (r->allowance == 0 && !r->has_overage_price) {
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s.allowance: must be > 0 (0 is allowed only for a member-price "
                                "rule, which sets overage_price)",
                                prefix);
    }
    if (r->pool != ALLOT_POOL_MEMBER && r->pool != ALLOT_POOL_HOUSEHOLD)
        return allot_status_set(st, ALLOT_EINVAL, "%s.pool: unknown pool kind %d", prefix,
                                (int)r->pool);
    if ((rc = period_check(&r->period, r->pool, prefix, st)))
        return rc;
    if (r->member_cap) {
        if (r->pool != ALLOT_POOL_HOUSEHOLD)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.member_cap: only household pools take a per-member cap",
                                    prefix);
        if (r->member_cap < 0 || r->member_cap > max)
            return allot_status_set(st, ALLOT_EINVAL, "%s.member_cap: must be 0-%lld, got %lld",
                                    prefix, (long long)max, (long long)r->member_cap);
    }
    if (r->has_overage_price) {
        if (r->limit != ALLOT_LIMIT_QUANTITY)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.overage_price: amount rules bill what they do not cover "
                                    "at the line's price; only quantity rules take an overage "
                                    "price",
                                    prefix);
        if (r->overage_price < 0 || r->overage_price > ALLOT_MONEY_MAX)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.overage_price.cents: must be 0-%lld, got %lld", prefix,
                                    (long long)ALLOT_MONEY_MAX, (long long)r->overage_price);
    }
    if (r->payer != ALLOT_PAYER_PATIENT && r->payer != ALLOT_PAYER_SPONSOR)
        return allot_status_set(st, ALLOT_EINVAL, "%s.overage_payer: unknown payer %d", prefix,
                                (int)r->payer);
    if (r->nthresholds > ALLOT_THRESHOLDS_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.thresholds: at most %d percents, got %u",
                                prefix, ALLOT_THRESHOLDS_MAX, r->nthresholds);
    for (i = 0; i < r->nthresholds; i++) {
        unsigned t = r->thresholds[i];
        if (t < 1 || t > ALLOT_THRESHOLD_PCT_MAX)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.thresholds.percents[%u]: must be 1-%d, got %u", prefix, i,
                                    ALLOT_THRESHOLD_PCT_MAX, t);
        if (i && t <= r->thresholds[i - 1])
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.thresholds.percents[%u]: must be strictly ascending "
                                    "(%u after %u)",
                                    prefix, i, t, (unsigned)r->thresholds[i - 1]);
    }
    return 0;
}

int allot_plan_version_check(const struct allot_plan_version *v, const char *prefix,
                             struct allot_status *st)
{
    char f[FIELD_MAX];
    uint32_t i, j;
    int rc;

    if (v->effective_from < ALLOT_DATE_MIN || v->effective_from > ALLOT_DATE_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.effective_from: required (YYYY-MM-DD)",
                                prefix);
    if (v->nrules > ALLOT_VERSION_RULES_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.rules: at most %d rules, got %u", prefix,
                                ALLOT_VERSION_RULES_MAX, v->nrules);
    for (i = 0; i < v->nrules; i++) {
        snprintf(f, sizeof f, "%s.rules[%u]", prefix, i);
        if ((rc = allot_rule_check(&v->rules[i], f, st)))
            return rc;
        for (j = 0; j < i; j++)
            if (!strcmp(v->rules[i].key, v->rules[j].key))
                return allot_status_set(st, ALLOT_EINVAL,
                                        "%s.key: \"%s\" is already the key of rules[%u]", f,
                                        v->rules[i].key, j);
    }
    return 0;
}

int allot_member_check(const struct allot_member *m, const char *prefix,
                       struct allot_status *st)
{
    char f[FIELD_MAX];
    uint32_t i, j;
    int rc;

    snprintf(f, sizeof f, "%s.id", prefix);
    if ((rc = allot_check_id(m->id, f, st)))
        return rc;
    snprintf(f, sizeof f, "%s.household_id", prefix);
    if ((rc = allot_check_opt_id(m->household_id, f, st)))
        return rc;
    snprintf(f, sizeof f, "%s.sponsor_id", prefix);
    if ((rc = allot_check_opt_id(m->sponsor_id, f, st)))
        return rc;
    if (m->nenrollments > ALLOT_ENROLLMENTS_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.enrollments: at most %d, got %u", prefix,
                                ALLOT_ENROLLMENTS_MAX, m->nenrollments);
    for (i = 0; i < m->nenrollments; i++) {
        const struct allot_enrollment *e = &m->enrollments[i];
        snprintf(f, sizeof f, "%s.enrollments[%u].plan_id", prefix, i);
        if ((rc = allot_check_id(e->plan_id, f, st)))
            return rc;
        if (e->start < ALLOT_DATE_MIN || e->start > ALLOT_DATE_MAX)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.enrollments[%u].start: required (YYYY-MM-DD)", prefix, i);
        if (e->end != ALLOT_DATE_NONE && e->end < e->start)
            return allot_status_set(st, ALLOT_EINVAL,
                                    "%s.enrollments[%u].end: before its start (the end date is "
                                    "the last covered day)",
                                    prefix, i);
        for (j = 0; j < i; j++) {
            const struct allot_enrollment *o = &m->enrollments[j];
            if (e->start <= o->end && o->start <= e->end)
                return allot_status_set(st, ALLOT_EINVAL,
                                        "%s.enrollments[%u]: overlaps enrollments[%u] (a member "
                                        "has one enrollment on any day)",
                                        prefix, i, j);
        }
    }
    return 0;
}

static int enrollment_cmp(const void *a, const void *b)
{
    const struct allot_enrollment *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

void allot_member_sort(struct allot_member *m)
{
    /* starts are distinct once allot_member_check passed (no overlaps) */
    if (m->nenrollments > 1)
        qsort(m->enrollments, m->nenrollments, sizeof *m->enrollments, enrollment_cmp);
}
