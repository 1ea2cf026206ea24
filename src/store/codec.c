/* codec.c - encoding and decoding of the store's keys and records.
 *
 * Layouts are in the essay at the top of store.c ("Records"). In short: a
 * record is a record-format byte followed by fields in a fixed order;
 * integers are LEB128 varints (signed ones zigzag-encoded first), strings are
 * a varint byte count and the bytes, optional fields are announced by a flags
 * byte or implied by an enum that precedes them. Every encoding is canonical
 * (one byte string per value), which put_plan_version relies on to compare
 * versions.
 *
 * The decoders are the single definition of what a stored record may hold:
 * besides bounds they check enum ranges, counts and the limits of
 * allot/model.h, because the engine trusts stored objects (money times
 * quantity must not overflow, an enum switch must not fall through).
 */
#include "codec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ keys */

int allot__key_str(struct allot__key *k, const char *s)
{
    size_t n = strlen(s);
    if (n > ALLOT_ID_MAX || k->n + n + 1 > sizeof k->b)
        return ALLOT_EINVAL;
    memcpy(k->b + k->n, s, n + 1);
    k->n += n + 1;
    return 0;
}

void allot__key_date(struct allot__key *k, allot_date d)
{
    uint32_t u = (uint32_t)d ^ UINT32_C(0x80000000);
    k->b[k->n++] = (unsigned char)(u >> 24);
    k->b[k->n++] = (unsigned char)(u >> 16);
    k->b[k->n++] = (unsigned char)(u >> 8);
    k->b[k->n++] = (unsigned char)u;
}

void allot__key_u64(struct allot__key *k, uint64_t v)
{
    int i;
    for (i = 7; i >= 0; i--)
        k->b[k->n++] = (unsigned char)(v >> (8 * i));
}

allot_date allot__key_get_date(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    return (allot_date)(int32_t)(u ^ UINT32_C(0x80000000));
}

uint64_t allot__key_get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    int i;
    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

long allot__key_str_len(const unsigned char *p, size_t n)
{
    const unsigned char *z = memchr(p, 0, n);
    return z ? (long)(z - p) : -1;
}

/* --------------------------------------------------------------- buffers */

void allot__buf_init(struct allot__buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void allot__buf_clear(struct allot__buf *b)
{
    b->len = 0;
    b->err = 0;
}

void allot__buf_release(struct allot__buf *b)
{
    free(b->p);
    allot__buf_init(b);
}

static void buf_put(struct allot__buf *b, const void *p, size_t n)
{
    if (b->err)
        return;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        unsigned char *np;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->err = ALLOT_ENOMEM;
                return;
            }
            cap *= 2;
        }
        np = realloc(b->p, cap);
        if (!np) {
            b->err = ALLOT_ENOMEM;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void put_u8(struct allot__buf *b, unsigned v)
{
    unsigned char c = (unsigned char)v;
    buf_put(b, &c, 1);
}

static void put_uvar(struct allot__buf *b, uint64_t v)
{
    unsigned char t[10];
    size_t n = 0;
    while (v >= 0x80) {
        t[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (unsigned char)v;
    buf_put(b, t, n);
}

static void put_svar(struct allot__buf *b, int64_t v)
{
    /* zigzag: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ... */
    put_uvar(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_blob(struct allot__buf *b, const void *p, size_t n)
{
    put_uvar(b, n);
    buf_put(b, p, n);
}

static void put_str(struct allot__buf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    put_uvar(b, n);
    buf_put(b, s, n);
}

/* ---------------------------------------------------------------- reader */

/* A cursor over one record. Field names for messages are static strings;
 * inside a list (rules, enrollments) list and idx give the element, so a
 * message reads "rules[3].period.count: ..." yet nothing is formatted unless
 * decoding fails. */
struct rd {
    const unsigned char *p;
    const unsigned char *end;
    struct allot_arena *a;
    struct allot_status *st;
    const char *list; /* "rules", "member.enrollments", or NULL */
    uint32_t idx;
};

static int corrupt(struct rd *r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int corrupt(struct rd *r, const char *field, const char *fmt, ...)
{
    if (r->st) {
        va_list ap;
        int n;
        if (r->list)
            n = snprintf(r->st->msg, sizeof r->st->msg, "%s[%u].%s: ", r->list, (unsigned)r->idx,
                         field);
        else
            n = snprintf(r->st->msg, sizeof r->st->msg, "%s: ", field);
        if (n < 0)
            n = 0;
        if ((size_t)n < sizeof r->st->msg) {
            va_start(ap, fmt);
            vsnprintf(r->st->msg + n, sizeof r->st->msg - (size_t)n, fmt, ap);
            va_end(ap);
        }
        r->st->code = ALLOT_ECORRUPT;
    }
    return ALLOT_ECORRUPT;
}

static int nomem(struct rd *r)
{
    return allot_status_set(r->st, ALLOT_ENOMEM, "out of memory decoding a record");
}

static int get_u8(struct rd *r, const char *field, unsigned *out)
{
    *out = 0; /* set on failure too: optimisers cannot tell corrupt() != 0 */
    if (r->p >= r->end)
        return corrupt(r, field, "record truncated");
    *out = *r->p++;
    return 0;
}

static int get_uvar(struct rd *r, const char *field, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    *out = 0;
    for (;;) {
        unsigned c;
        if (r->p >= r->end)
            return corrupt(r, field, "record truncated");
        c = *r->p++;
        if (shift == 63 && c > 1)
            return corrupt(r, field, "varint overflows 64 bits");
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80))
            break;
        shift += 7;
    }
    *out = v;
    return 0;
}

static int get_svar(struct rd *r, const char *field, int64_t *out)
{
    uint64_t u;
    int rc;
    *out = 0; /* see get_u8 */
    rc = get_uvar(r, field, &u);
    if (rc)
        return rc;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

/* An unsigned varint in [lo, hi]. */
static int get_range(struct rd *r, const char *field, int64_t lo, int64_t hi, int64_t *out)
{
    uint64_t u;
    int rc;
    *out = 0; /* see get_u8 */
    rc = get_uvar(r, field, &u);
    if (rc)
        return rc;
    if (u > (uint64_t)INT64_MAX || (int64_t)u < lo || (int64_t)u > hi)
        return corrupt(r, field, "%llu is out of range", (unsigned long long)u);
    *out = (int64_t)u;
    return 0;
}

/* A count in [0, max]. */
static int get_count(struct rd *r, const char *field, uint32_t max, uint32_t *out)
{
    int64_t v;
    int rc = get_range(r, field, 0, max, &v);
    if (rc)
        return rc;
    *out = (uint32_t)v;
    return 0;
}

/* A date in [ALLOT_DATE_MIN, ALLOT_DATE_MAX], or ALLOT_DATE_NONE when
 * none_ok. */
static int get_date(struct rd *r, const char *field, int none_ok, allot_date *out)
{
    int64_t v;
    int rc = get_svar(r, field, &v);
    if (rc)
        return rc;
    if (!(v >= ALLOT_DATE_MIN && v <= ALLOT_DATE_MAX) && !(none_ok && v == ALLOT_DATE_NONE))
        return corrupt(r, field, "%lld is not a date", (long long)v);
    *out = (allot_date)v;
    return 0;
}

/* A string of min..max bytes without NUL, copied into the arena. */
static int get_str(struct rd *r, const char *field, size_t min, size_t max, const char **out)
{
    uint64_t n;
    char *s;
    int rc;
    *out = NULL;
    rc = get_uvar(r, field, &n);
    if (rc)
        return rc;
    if (n < min || n > max)
        return corrupt(r, field, "length %llu is out of range", (unsigned long long)n);
    if (n > (uint64_t)(r->end - r->p))
        return corrupt(r, field, "record truncated");
    if (memchr(r->p, 0, (size_t)n))
        return corrupt(r, field, "holds a NUL byte");
    s = allot_arena_strndup(r->a, (const char *)r->p, (size_t)n);
    if (!s)
        return nomem(r);
    r->p += n;
    *out = s;
    return 0;
}

/* A byte string of at most max bytes, copied into the arena (never NULL). */
static int get_blob(struct rd *r, const char *field, size_t max, const uint8_t **out, size_t *len)
{
    uint64_t n;
    uint8_t *c;
    int rc;
    *out = NULL;
    *len = 0;
    if ((rc = get_uvar(r, field, &n)))
        return rc;
    if (n > max)
        return corrupt(r, field, "length %llu is out of range", (unsigned long long)n);
    if (n > (uint64_t)(r->end - r->p))
        return corrupt(r, field, "record truncated");
    if (!(c = allot_arena_alloc(r->a, (size_t)n)))
        return nomem(r);
    if (n)
        memcpy(c, r->p, (size_t)n);
    r->p += n;
    *out = c;
    *len = (size_t)n;
    return 0;
}

static int get_format(struct rd *r, const char *what)
{
    unsigned f;
    int rc = get_u8(r, what, &f);
    if (rc)
        return rc;
    if (f != ALLOT__RECORD_V1)
        return corrupt(r, what, "unknown record format %u", f);
    return 0;
}

static int get_end(struct rd *r, const char *what)
{
    if (r->p != r->end)
        return corrupt(r, what, "%zu bytes after the record", (size_t)(r->end - r->p));
    return 0;
}

/* A key string (id, code) copied from the key into the arena. */
static int key_copy(struct rd *r, const char *s, size_t n, const char **out)
{
    char *c = allot_arena_strndup(r->a, s, n);
    if (!c)
        return nomem(r);
    *out = c;
    return 0;
}

static void rd_init(struct rd *r, const void *p, size_t n, struct allot_arena *a,
                    struct allot_status *st)
{
    r->p = p;
    r->end = r->p + n;
    r->a = a;
    r->st = st;
    r->list = NULL;
    r->idx = 0;
}

/* --------------------------------------------------------------- service */

int allot__service_encode(struct allot__buf *b, const struct allot_service *svc)
{
    put_u8(b, ALLOT__RECORD_V1);
    put_str(b, svc->name);
    put_uvar(b, (uint64_t)svc->cash_price);
    return b->err;
}

int allot__service_decode(const void *p, size_t n, const char *code, size_t code_len,
                          struct allot_arena *a, struct allot_service *out, struct allot_status *st)
{
    struct rd r;
    int rc;
    rd_init(&r, p, n, a, st);
    if ((rc = get_format(&r, "service")) || (rc = key_copy(&r, code, code_len, &out->code)) ||
        (rc = get_str(&r, "service.name", 0, ALLOT_NAME_MAX, &out->name)) ||
        (rc = get_range(&r, "service.cash_price", 0, ALLOT_MONEY_MAX, &out->cash_price)))
        return rc;
    return get_end(&r, "service");
}

/* ------------------------------------------------------------ plan header */

int allot__plan_head_encode(struct allot__buf *b, const char *name, uint32_t nversions)
{
    put_u8(b, ALLOT__RECORD_V1);
    put_str(b, name);
    put_uvar(b, nversions);
    return b->err;
}

int allot__plan_head_decode(const void *p, size_t n, struct allot_arena *a, const char **name,
                            uint32_t *nversions, struct allot_status *st)
{
    struct rd r;
    int rc;
    rd_init(&r, p, n, a, st);
    if ((rc = get_format(&r, "plan")) || (rc = get_str(&r, "plan.name", 0, ALLOT_NAME_MAX, name)) ||
        (rc = get_count(&r, "plan.nversions", ALLOT_PLAN_VERSIONS_MAX, nversions)))
        return rc;
    return get_end(&r, "plan");
}

/* ----------------------------------------------------------- plan version */

#define RULE_UNLIMITED 0x01u
#define RULE_HAS_OVERAGE 0x02u

static void period_encode(struct allot__buf *b, const struct allot_period *p)
{
    put_u8(b, (unsigned)p->kind);
    switch (p->kind) {
    case ALLOT_PERIOD_PLAN_YEAR:
        put_u8(b, (unsigned)p->month);
        put_u8(b, (unsigned)p->day);
        break;
    case ALLOT_PERIOD_ROLLING_DAYS:
    case ALLOT_PERIOD_ROLLING_MONTHS:
        put_uvar(b, (uint64_t)(int64_t)p->count);
        break;
    default:
        break;
    }
}

static void rule_encode(struct allot__buf *b, const struct allot_rule *ru)
{
    uint32_t i;
    put_str(b, ru->key);
    put_uvar(b, ru->ncodes);
    for (i = 0; i < ru->ncodes; i++)
        put_str(b, ru->codes[i]);
    put_u8(b, (unsigned)ru->limit);
    put_u8(b,
           (ru->unlimited ? RULE_UNLIMITED : 0) | (ru->has_overage_price ? RULE_HAS_OVERAGE : 0));
    if (!ru->unlimited)
        put_uvar(b, (uint64_t)ru->allowance);
    period_encode(b, &ru->period);
    put_u8(b, (unsigned)ru->pool);
    if (ru->pool == ALLOT_POOL_HOUSEHOLD)
        put_uvar(b, (uint64_t)ru->member_cap);
    if (ru->has_overage_price)
        put_uvar(b, (uint64_t)ru->overage_price);
    put_u8(b, (unsigned)ru->payer);
    /* A count beyond the array is written as is: the decode check refuses it. */
    put_uvar(b, ru->nthresholds);
    for (i = 0; i < ru->nthresholds && i < ALLOT_THRESHOLDS_MAX; i++)
        put_uvar(b, ru->thresholds[i]);
}

int allot__plan_version_encode(struct allot__buf *b, const struct allot_plan_version *v)
{
    uint32_t i;
    put_u8(b, ALLOT__RECORD_V1);
    put_uvar(b, v->nrules);
    for (i = 0; i < v->nrules; i++)
        rule_encode(b, &v->rules[i]);
    return b->err;
}

static int period_decode(struct rd *r, struct allot_period *p)
{
    unsigned kind, month, day;
    int64_t count;
    int rc = get_u8(r, "period.kind", &kind);
    if (rc)
        return rc;
    p->month = p->day = p->count = 0;
    switch (kind) {
    case ALLOT_PERIOD_CALENDAR_YEAR:
    case ALLOT_PERIOD_MEMBER_YEAR:
    case ALLOT_PERIOD_CALENDAR_MONTH:
    case ALLOT_PERIOD_MEMBER_MONTH:
    case ALLOT_PERIOD_CALENDAR_QUARTER:
    case ALLOT_PERIOD_LIFETIME:
        break;
    case ALLOT_PERIOD_PLAN_YEAR:
        if ((rc = get_u8(r, "period.month", &month)) || (rc = get_u8(r, "period.day", &day)))
            return rc;
        if (month < 1 || month > 12 || day < 1 || day > 31)
            return corrupt(r, "period", "%u/%u is not a month and day", month, day);
        p->month = (int)month;
        p->day = (int)day;
        break;
    case ALLOT_PERIOD_ROLLING_DAYS:
    case ALLOT_PERIOD_ROLLING_MONTHS:
        rc = get_range(r, "period.count", 1,
                       kind == ALLOT_PERIOD_ROLLING_DAYS ? ALLOT_ROLLING_DAYS_MAX
                                                         : ALLOT_ROLLING_MONTHS_MAX,
                       &count);
        if (rc)
            return rc;
        p->count = (int)count;
        break;
    default:
        return corrupt(r, "period.kind", "%u is out of range", kind);
    }
    p->kind = (enum allot_period_kind)kind;
    return 0;
}

static int rule_decode(struct rd *r, struct allot_rule *ru)
{
    unsigned limit, flags, pool, payer;
    uint32_t j;
    int64_t max, v;
    int rc;

    if ((rc = get_str(r, "key", 1, ALLOT_ID_MAX, &ru->key)) ||
        (rc = get_count(r, "codes", ALLOT_RULE_CODES_MAX, &ru->ncodes)))
        return rc;
    ru->codes = allot_arena_alloc(r->a, (ru->ncodes ? ru->ncodes : 1) * sizeof *ru->codes);
    if (!ru->codes)
        return nomem(r);
    for (j = 0; j < ru->ncodes; j++)
        if ((rc = get_str(r, "codes", 1, ALLOT_ID_MAX, &ru->codes[j])))
            return rc;

    if ((rc = get_u8(r, "limit", &limit)) || (rc = get_u8(r, "flags", &flags)))
        return rc;
    if (limit != ALLOT_LIMIT_QUANTITY && limit != ALLOT_LIMIT_AMOUNT)
        return corrupt(r, "limit", "%u is out of range", limit);
    if (flags & ~(RULE_UNLIMITED | RULE_HAS_OVERAGE))
        return corrupt(r, "flags", "unknown bits 0x%02x", flags);
    ru->limit = (enum allot_limit)limit;
    max = limit == ALLOT_LIMIT_QUANTITY ? ALLOT_UNITS_MAX : ALLOT_MONEY_MAX;
    ru->unlimited = (flags & RULE_UNLIMITED) != 0;
    ru->has_overage_price = (flags & RULE_HAS_OVERAGE) != 0;
    ru->allowance = 0;
    if (!ru->unlimited && (rc = get_range(r, "allowance", 0, max, &ru->allowance)))
        return rc;
    if ((rc = period_decode(r, &ru->period)))
        return rc;

    if ((rc = get_u8(r, "pool", &pool)))
        return rc;
    if (pool != ALLOT_POOL_MEMBER && pool != ALLOT_POOL_HOUSEHOLD)
        return corrupt(r, "pool", "%u is out of range", pool);
    ru->pool = (enum allot_pool_kind)pool;
    ru->member_cap = 0;
    if (pool == ALLOT_POOL_HOUSEHOLD && (rc = get_range(r, "member_cap", 0, max, &ru->member_cap)))
        return rc;
    ru->overage_price = 0;
    if (ru->has_overage_price &&
        (rc = get_range(r, "overage_price", 0, ALLOT_MONEY_MAX, &ru->overage_price)))
        return rc;

    if ((rc = get_u8(r, "payer", &payer)))
        return rc;
    if (payer != ALLOT_PAYER_PATIENT && payer != ALLOT_PAYER_SPONSOR)
        return corrupt(r, "payer", "%u is out of range", payer);
    ru->payer = (enum allot_payer)payer;

    if ((rc = get_count(r, "thresholds", ALLOT_THRESHOLDS_MAX, &ru->nthresholds)))
        return rc;
    memset(ru->thresholds, 0, sizeof ru->thresholds);
    for (j = 0; j < ru->nthresholds; j++) {
        if ((rc = get_range(r, "thresholds", 0, ALLOT_THRESHOLD_PCT_MAX, &v)))
            return rc;
        if (j > 0 && v <= ru->thresholds[j - 1])
            return corrupt(r, "thresholds", "not strictly ascending");
        ru->thresholds[j] = (uint16_t)v;
    }
    return 0;
}

int allot__plan_version_decode(const void *p, size_t n, allot_date effective_from,
                               struct allot_arena *a, struct allot_plan_version *out,
                               struct allot_status *st)
{
    struct rd r;
    int rc;
    rd_init(&r, p, n, a, st);
    if (effective_from < ALLOT_DATE_MIN || effective_from > ALLOT_DATE_MAX)
        return corrupt(&r, "effective_from", "%ld is not a date", (long)effective_from);
    out->effective_from = effective_from;
    if ((rc = get_format(&r, "plan version")) ||
        (rc = get_count(&r, "rules", ALLOT_VERSION_RULES_MAX, &out->nrules)))
        return rc;
    out->rules = allot_arena_alloc(a, (out->nrules ? out->nrules : 1) * sizeof *out->rules);
    if (!out->rules)
        return nomem(&r);
    r.list = "rules";
    for (r.idx = 0; r.idx < out->nrules; r.idx++)
        if ((rc = rule_decode(&r, &out->rules[r.idx])))
            return rc;
    r.list = NULL;
    return get_end(&r, "plan version");
}

/* ----------------------------------------------------------------- member */

static void enrollment_encode(struct allot__buf *b, const struct allot_enrollment *e)
{
    put_str(b, e->plan_id);
    put_svar(b, e->start);
    put_svar(b, e->end);
}

int allot__member_encode(struct allot__buf *b, const struct allot_member *m)
{
    uint8_t order[ALLOT_ENROLLMENTS_MAX];
    uint32_t i;
    put_u8(b, ALLOT__RECORD_V1);
    put_svar(b, m->anniversary);
    put_str(b, m->household_id);
    put_str(b, m->sponsor_id);
    put_uvar(b, m->nenrollments);
    if (m->nenrollments > ALLOT_ENROLLMENTS_MAX) {
        /* More than the decoder accepts: write them unsorted, it refuses. */
        for (i = 0; i < m->nenrollments; i++)
            enrollment_encode(b, &m->enrollments[i]);
        return b->err;
    }
    /* Ascending start, stable; the caller's array is left as it is. */
    for (i = 0; i < m->nenrollments; i++) {
        uint32_t j = i;
        order[i] = (uint8_t)i;
        while (j > 0 && m->enrollments[order[j - 1]].start > m->enrollments[i].start) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = (uint8_t)i;
    }
    for (i = 0; i < m->nenrollments; i++)
        enrollment_encode(b, &m->enrollments[order[i]]);
    return b->err;
}

int allot__member_decode(const void *p, size_t n, const char *id, size_t id_len,
                         struct allot_arena *a, struct allot_member *out, struct allot_status *st)
{
    struct rd r;
    int rc;
    rd_init(&r, p, n, a, st);
    if ((rc = get_format(&r, "member")) || (rc = key_copy(&r, id, id_len, &out->id)) ||
        (rc = get_date(&r, "member.anniversary", 1, &out->anniversary)) ||
        (rc = get_str(&r, "member.household_id", 0, ALLOT_ID_MAX, &out->household_id)) ||
        (rc = get_str(&r, "member.sponsor_id", 0, ALLOT_ID_MAX, &out->sponsor_id)) ||
        (rc = get_count(&r, "member.enrollments", ALLOT_ENROLLMENTS_MAX, &out->nenrollments)))
        return rc;
    out->enrollments = allot_arena_alloc(a, (out->nenrollments ? out->nenrollments : 1) *
                                                sizeof *out->enrollments);
    if (!out->enrollments)
        return nomem(&r);
    r.list = "member.enrollments";
    for (r.idx = 0; r.idx < out->nenrollments; r.idx++) {
        struct allot_enrollment *e = &out->enrollments[r.idx];
        if ((rc = get_str(&r, "plan_id", 1, ALLOT_ID_MAX, &e->plan_id)) ||
            (rc = get_date(&r, "start", 0, &e->start)) || (rc = get_date(&r, "end", 1, &e->end)))
            return rc;
        /* Engine lookups rely on ascending, non-overlapping enrollments;
         * an open end (ALLOT_DATE_NONE) can therefore only be the last. */
        if (e->end < e->start)
            return corrupt(&r, "end", "before the start");
        if (r.idx > 0 && e->start <= out->enrollments[r.idx - 1].end)
            return corrupt(&r, "start", "overlaps the enrollment before");
    }
    r.list = NULL;
    return get_end(&r, "member");
}

/* ------------------------------------------------------------ ledger entry */

#define ENTRY_REVERSAL 0x01u
#define ENTRY_REVERSED 0x02u

int allot__entry_encode(struct allot__buf *b, const struct allot_entry *e)
{
    put_u8(b, ALLOT__RECORD_V1);
    put_u8(b, (e->reversal ? ENTRY_REVERSAL : 0) | (e->reversed ? ENTRY_REVERSED : 0));
    put_u8(b, (unsigned)e->draw.pool.kind);
    put_str(b, e->draw.pool.id);
    put_str(b, e->draw.rule_key);
    put_str(b, e->draw.pool.kind == ALLOT_POOL_MEMBER ? "" : e->draw.member_id);
    put_svar(b, e->draw.date);
    put_svar(b, e->draw.amount);
    put_u8(b, (unsigned)e->source);
    if (e->reversal)
        put_uvar(b, e->reverses);
    if (e->reversed)
        put_uvar(b, e->reversed_by);
    put_str(b, e->invoice_id);
    put_str(b, e->line_id);
    put_str(b, e->usage_id);
    return b->err;
}

int allot__entry_decode(const void *p, size_t n, uint64_t seq, struct allot_arena *a,
                        struct allot_entry *out, struct allot_status *st)
{
    struct rd r;
    unsigned flags, kind, source;
    uint64_t u;
    int64_t amount;
    int rc;

    rd_init(&r, p, n, a, st);
    memset(out, 0, sizeof *out);
    out->seq = seq;
    if (seq == 0)
        return corrupt(&r, "entry", "sequence number 0");
    if ((rc = get_format(&r, "entry")) || (rc = get_u8(&r, "entry.flags", &flags)) ||
        (rc = get_u8(&r, "entry.pool.kind", &kind)))
        return rc;
    if (flags & ~(ENTRY_REVERSAL | ENTRY_REVERSED))
        return corrupt(&r, "entry.flags", "unknown bits 0x%02x", flags);
    if (flags == (ENTRY_REVERSAL | ENTRY_REVERSED))
        return corrupt(&r, "entry.flags", "a reversal cannot be reversed");
    if (kind != ALLOT_POOL_MEMBER && kind != ALLOT_POOL_HOUSEHOLD)
        return corrupt(&r, "entry.pool.kind", "%u is out of range", kind);
    out->reversal = (flags & ENTRY_REVERSAL) != 0;
    out->reversed = (flags & ENTRY_REVERSED) != 0;
    out->draw.pool.kind = (enum allot_pool_kind)kind;
    if ((rc = get_str(&r, "entry.pool.id", 1, ALLOT_ID_MAX, &out->draw.pool.id)) ||
        (rc = get_str(&r, "entry.rule_key", 1, ALLOT_ID_MAX, &out->draw.rule_key)))
        return rc;
    if (kind == ALLOT_POOL_MEMBER) {
        if ((rc = get_str(&r, "entry.member_id", 0, 0, &out->draw.member_id)))
            return rc;
        out->draw.member_id = out->draw.pool.id;
    } else if ((rc = get_str(&r, "entry.member_id", 1, ALLOT_ID_MAX, &out->draw.member_id))) {
        return rc;
    }
    if ((rc = get_date(&r, "entry.date", 0, &out->draw.date)) ||
        (rc = get_svar(&r, "entry.amount", &amount)))
        return rc;
    if (out->reversal ? amount < -ALLOT_DRAW_AMOUNT_MAX || amount > -1
                      : amount < 1 || amount > ALLOT_DRAW_AMOUNT_MAX)
        return corrupt(&r, "entry.amount", "%lld is out of range", (long long)amount);
    out->draw.amount = amount;
    if ((rc = get_u8(&r, "entry.source", &source)))
        return rc;
    if (source < ALLOT_SOURCE_INVOICE || source > ALLOT_SOURCE_ADJUSTMENT)
        return corrupt(&r, "entry.source", "%u is out of range", source);
    out->source = (enum allot_source_kind)source;
    if (out->reversal) {
        if ((rc = get_uvar(&r, "entry.reverses", &u)))
            return rc;
        if (u == 0 || u >= seq)
            return corrupt(&r, "entry.reverses", "%llu is not an earlier entry",
                           (unsigned long long)u);
        out->reverses = u;
    }
    if (out->reversed) {
        if ((rc = get_uvar(&r, "entry.reversed_by", &u)))
            return rc;
        if (u <= seq)
            return corrupt(&r, "entry.reversed_by", "%llu is not a later entry",
                           (unsigned long long)u);
        out->reversed_by = u;
    }
    if ((rc = get_str(&r, "entry.invoice_id", 0, ALLOT_ID_MAX, &out->invoice_id)) ||
        (rc = get_str(&r, "entry.line_id", 0, ALLOT_ID_MAX, &out->line_id)) ||
        (rc = get_str(&r, "entry.usage_id", 0, ALLOT_ID_MAX, &out->usage_id)))
        return rc;
    return get_end(&r, "entry");
}

/* ---------------------------------------------------------------- invoice */

#define LINE_VOIDED 0x01u

int allot__invoice_encode(struct allot__buf *b, const struct allot_invoice_rec *rec)
{
    uint32_t i, j;
    put_u8(b, ALLOT__RECORD_V1);
    put_str(b, rec->member_id);
    put_blob(b, rec->request, rec->request_len);
    put_blob(b, rec->answer, rec->answer_len);
    /* Counts beyond the limits are written as they are: the decode check
     * refuses them. */
    put_uvar(b, rec->nlines);
    for (i = 0; i < rec->nlines; i++) {
        const struct allot_invoice_line_rec *l = &rec->lines[i];
        put_str(b, l->line_id);
        put_u8(b, l->voided ? LINE_VOIDED : 0);
        put_uvar(b, l->nentries);
        for (j = 0; j < l->nentries; j++)
            put_uvar(b, l->entries[j]);
    }
    return b->err;
}

int allot__invoice_decode(const void *p, size_t n, const char *id, size_t id_len,
                          struct allot_arena *a, struct allot_invoice_rec *out,
                          struct allot_status *st)
{
    struct rd r;
    uint32_t j;
    int rc;

    rd_init(&r, p, n, a, st);
    memset(out, 0, sizeof *out);
    if ((rc = get_format(&r, "invoice")) || (rc = key_copy(&r, id, id_len, &out->invoice_id)) ||
        (rc = get_str(&r, "invoice.member_id", 1, ALLOT_ID_MAX, &out->member_id)) ||
        (rc = get_blob(&r, "invoice.request", ALLOT_RECORD_BYTES_MAX, &out->request,
                       &out->request_len)) ||
        (rc = get_blob(&r, "invoice.answer", ALLOT_RECORD_BYTES_MAX, &out->answer,
                       &out->answer_len)) ||
        (rc = get_count(&r, "invoice.lines", ALLOT_INVOICE_LINES_MAX, &out->nlines)))
        return rc;
    out->lines = allot_arena_alloc(a, (out->nlines ? out->nlines : 1) * sizeof *out->lines);
    if (!out->lines)
        return nomem(&r);
    r.list = "invoice.lines";
    for (r.idx = 0; r.idx < out->nlines; r.idx++) {
        struct allot_invoice_line_rec *l = &out->lines[r.idx];
        unsigned flags;
        if ((rc = get_str(&r, "line_id", 1, ALLOT_ID_MAX, &l->line_id)) ||
            (rc = get_u8(&r, "flags", &flags)))
            return rc;
        if (flags & ~LINE_VOIDED)
            return corrupt(&r, "flags", "unknown bits 0x%02x", flags);
        l->voided = (flags & LINE_VOIDED) != 0;
        if ((rc = get_count(&r, "entries", ALLOT_LINE_ENTRIES_MAX, &l->nentries)))
            return rc;
        l->entries = allot_arena_alloc(a, (l->nentries ? l->nentries : 1) * sizeof *l->entries);
        if (!l->entries)
            return nomem(&r);
        for (j = 0; j < l->nentries; j++) {
            if ((rc = get_uvar(&r, "entries", &l->entries[j])))
                return rc;
            if (l->entries[j] == 0)
                return corrupt(&r, "entries", "entry 0");
        }
    }
    r.list = NULL;
    return get_end(&r, "invoice");
}

/* ----------------------------------------------------------- usage record */

#define USAGE_VOIDED 0x01u

int allot__usage_encode(struct allot__buf *b, const struct allot_usage_rec *rec)
{
    put_u8(b, ALLOT__RECORD_V1);
    put_str(b, rec->member_id);
    put_blob(b, rec->request, rec->request_len);
    put_blob(b, rec->answer, rec->answer_len);
    put_uvar(b, rec->entry);
    put_u8(b, rec->voided ? USAGE_VOIDED : 0);
    return b->err;
}

int allot__usage_decode(const void *p, size_t n, const char *id, size_t id_len,
                        struct allot_arena *a, struct allot_usage_rec *out, struct allot_status *st)
{
    struct rd r;
    unsigned flags;
    int rc;

    rd_init(&r, p, n, a, st);
    memset(out, 0, sizeof *out);
    if ((rc = get_format(&r, "usage")) || (rc = key_copy(&r, id, id_len, &out->usage_id)) ||
        (rc = get_str(&r, "usage.member_id", 1, ALLOT_ID_MAX, &out->member_id)) ||
        (rc = get_blob(&r, "usage.request", ALLOT_RECORD_BYTES_MAX, &out->request,
                       &out->request_len)) ||
        (rc = get_blob(&r, "usage.answer", ALLOT_RECORD_BYTES_MAX, &out->answer,
                       &out->answer_len)) ||
        (rc = get_uvar(&r, "usage.entry", &out->entry)) || (rc = get_u8(&r, "usage.flags", &flags)))
        return rc;
    if (flags & ~USAGE_VOIDED)
        return corrupt(&r, "usage.flags", "unknown bits 0x%02x", flags);
    out->voided = (flags & USAGE_VOIDED) != 0;
    return get_end(&r, "usage");
}

/* ------------------------------------------------------------------ event */

int allot__event_encode(struct allot__buf *b, const uint8_t *bytes, size_t n)
{
    put_u8(b, ALLOT__RECORD_V1);
    buf_put(b, bytes, n);
    return b->err;
}

int allot__event_decode(const void *p, size_t n, const uint8_t **bytes, size_t *len,
                        struct allot_status *st)
{
    struct rd r;
    int rc;

    rd_init(&r, p, n, NULL, st);
    *bytes = NULL;
    *len = 0;
    if ((rc = get_format(&r, "event")))
        return rc;
    if ((size_t)(r.end - r.p) > ALLOT_RECORD_BYTES_MAX)
        return corrupt(&r, "event", "%zu bytes is too long", (size_t)(r.end - r.p));
    *bytes = r.p;
    *len = (size_t)(r.end - r.p);
    return 0;
}
