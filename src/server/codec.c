/* codec.c - see codec.h.
 *
 * protobuf-c allocates through a ProtobufCAllocator; ours hands out arena
 * memory and never frees, so an unpacked request costs no free_unpacked and
 * cannot leak: it dies with the call's arena.
 */
#include "codec.h"

#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>

#include "allot/date.h"

#include "pack.h"

static void *arena_pb_alloc(void *data, size_t size)
{
    return allot_arena_alloc_raw(data, size); /* protobuf-c fills what it takes */
}

static void arena_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* freed with the arena */
}

ProtobufCAllocator codec_allocator(struct allot_arena *a)
{
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, a};
    return alloc;
}

int codec_unpack(const ProtobufCMessageDescriptor *d, grpc_byte_buffer *bb, struct allot_arena *a,
                 const ProtobufCMessage **out)
{
    ProtobufCAllocator alloc = codec_allocator(a);
    grpc_byte_buffer_reader reader;
    grpc_slice slice;
    ProtobufCMessage *m;

    *out = NULL;
    if (!bb) {
        m = protobuf_c_message_unpack(d, &alloc, 0, (const uint8_t *)"");
    } else {
        if (!grpc_byte_buffer_reader_init(&reader, bb))
            return ALLOT_EINVAL; /* compressed with an unknown algorithm */
        slice = grpc_byte_buffer_reader_readall(&reader);
        grpc_byte_buffer_reader_destroy(&reader);
        m = protobuf_c_message_unpack(d, &alloc, GRPC_SLICE_LENGTH(slice),
                                      GRPC_SLICE_START_PTR(slice));
        grpc_slice_unref(slice);
    }
    if (!m)
        return ALLOT_EINVAL;
    *out = m;
    return 0;
}

const uint8_t *codec_pack_bytes(const ProtobufCMessage *m, struct allot_arena *a, size_t *n)
{
    const uint8_t *b = pack_message(m, a, n);
    uint8_t *p;

    if (b)
        return b;
    *n = protobuf_c_message_get_packed_size(m); /* what pack_message leaves */
    if (!(p = allot_arena_alloc_raw(a, *n)))
        return NULL;
    protobuf_c_message_pack(m, p);
    return p;
}

int codec_pack(const ProtobufCMessage *m, struct allot_arena *a, grpc_byte_buffer **out)
{
    size_t n;
    const uint8_t *b = codec_pack_bytes(m, a, &n);
    grpc_slice slice;

    *out = NULL;
    if (!b)
        return ALLOT_ENOMEM;
    slice = grpc_slice_from_copied_buffer((const char *)b, n);
    *out = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return *out ? 0 : ALLOT_ENOMEM;
}

/* ------------------------------------------------------------------ dates */

int codec_date_in(const char *s, const char *field, int optional, allot_date *out,
                  struct allot_status *st)
{
    if (!s[0]) {
        if (optional) {
            *out = ALLOT_DATE_NONE;
            return 0;
        }
        return allot_status_set(st, ALLOT_EINVAL, "%s: required (YYYY-MM-DD)", field);
    }
    if (allot_date_parse(s, out))
        return allot_status_set(st, ALLOT_EINVAL,
                                "%s: \"%.20s\" is not a valid date (YYYY-MM-DD, years 1900-9999)",
                                field, s);
    return 0;
}

char *codec_date_out(struct allot_arena *a, allot_date d)
{
    char *p = allot_arena_alloc_raw(a, ALLOT_DATE_STRLEN); /* formatted in place */
    return p ? allot_date_format(d, p) : NULL;
}

/* ------------------------------------------------------------ proto->model */

static const uint16_t default_thresholds[] = {70, 80, 90, 100};

int codec_service_in(const Allot__V1__Service *in, struct allot_service *out)
{
    out->code = in->code;
    out->name = in->name;
    out->cash_price = in->cash_price_cents;
    return 0;
}

static int rule_in(const Allot__V1__Rule *in, const char *prefix, struct allot_arena *a,
                   struct allot_rule *r, struct allot_status *st)
{
    size_t i;

    r->key = in->key;
    if (in->n_service_codes > ALLOT_RULE_CODES_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.service_codes: at most %d codes, got %zu",
                                prefix, ALLOT_RULE_CODES_MAX, in->n_service_codes);
    r->ncodes = (uint32_t)in->n_service_codes;
    r->codes = (const char **)in->service_codes;
    r->limit = (enum allot_limit)in->limit;
    r->allowance = in->allowance;
    r->unlimited = in->unlimited;
    if (!in->period)
        return allot_status_set(st, ALLOT_EINVAL, "%s.period: required", prefix);
    r->period.kind = (enum allot_period_kind)in->period->kind;
    r->period.month = in->period->month;
    r->period.day = in->period->day;
    r->period.count = in->period->count;
    r->pool = in->pool == ALLOT__V1__POOL_KIND__POOL_KIND_UNSPECIFIED
                  ? ALLOT_POOL_MEMBER
                  : (enum allot_pool_kind)in->pool;
    r->member_cap = in->member_cap;
    r->has_overage_price = in->overage_price != NULL;
    r->overage_price = in->overage_price ? in->overage_price->cents : 0;
    r->payer = in->overage_payer == ALLOT__V1__PAYER__PAYER_UNSPECIFIED
                   ? ALLOT_PAYER_PATIENT
                   : (enum allot_payer)in->overage_payer;
    if (!in->thresholds) {
        r->nthresholds = sizeof default_thresholds / sizeof default_thresholds[0];
        memcpy(r->thresholds, default_thresholds, sizeof default_thresholds);
    } else {
        if (in->thresholds->n_percents > ALLOT_THRESHOLDS_MAX)
            return allot_status_set(st, ALLOT_EINVAL, "%s.thresholds: at most %d percents, got %zu",
                                    prefix, ALLOT_THRESHOLDS_MAX, in->thresholds->n_percents);
        r->nthresholds = (uint32_t)in->thresholds->n_percents;
        for (i = 0; i < r->nthresholds; i++) {
            int32_t t = in->thresholds->percents[i];
            if (t < 1 || t > ALLOT_THRESHOLD_PCT_MAX)
                return allot_status_set(st, ALLOT_EINVAL,
                                        "%s.thresholds.percents[%zu]: must be 1-%d, got %d",
                                        prefix, i, ALLOT_THRESHOLD_PCT_MAX, (int)t);
            r->thresholds[i] = (uint16_t)t;
        }
    }
    (void)a;
    return 0;
}

int codec_version_in(const Allot__V1__PlanVersion *in, const char *prefix, struct allot_arena *a,
                     struct allot_plan_version *out, struct allot_status *st)
{
    char f[96];
    size_t i;
    int rc;

    snprintf(f, sizeof f, "%s.effective_from", prefix);
    if ((rc = codec_date_in(in->effective_from, f, 0, &out->effective_from, st)))
        return rc;
    if (in->n_rules > ALLOT_VERSION_RULES_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.rules: at most %d rules, got %zu", prefix,
                                ALLOT_VERSION_RULES_MAX, in->n_rules);
    out->nrules = (uint32_t)in->n_rules;
    out->rules = allot_arena_alloc(a, sizeof *out->rules * (in->n_rules ? in->n_rules : 1));
    if (!out->rules)
        return allot_status_set(st, ALLOT_ENOMEM, "out of memory");
    for (i = 0; i < in->n_rules; i++) {
        snprintf(f, sizeof f, "%s.rules[%zu]", prefix, i);
        if ((rc = rule_in(in->rules[i], f, a, &out->rules[i], st)))
            return rc;
    }
    return 0;
}

int codec_member_in(const Allot__V1__Member *in, const char *prefix, struct allot_arena *a,
                    struct allot_member *out, struct allot_status *st)
{
    char f[96];
    size_t i;
    int rc;

    out->id = in->id;
    out->household_id = in->household_id;
    out->sponsor_id = in->sponsor_id;
    snprintf(f, sizeof f, "%s.anniversary", prefix);
    if ((rc = codec_date_in(in->anniversary, f, 1, &out->anniversary, st)))
        return rc;
    if (in->n_enrollments > ALLOT_ENROLLMENTS_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s.enrollments: at most %d, got %zu", prefix,
                                ALLOT_ENROLLMENTS_MAX, in->n_enrollments);
    out->nenrollments = (uint32_t)in->n_enrollments;
    out->enrollments =
        allot_arena_alloc(a, sizeof *out->enrollments * (in->n_enrollments ? in->n_enrollments : 1));
    if (!out->enrollments)
        return allot_status_set(st, ALLOT_ENOMEM, "out of memory");
    for (i = 0; i < in->n_enrollments; i++) {
        const Allot__V1__Enrollment *e = in->enrollments[i];
        struct allot_enrollment *o = &out->enrollments[i];
        o->plan_id = e->plan_id;
        snprintf(f, sizeof f, "%s.enrollments[%zu].start", prefix, i);
        if ((rc = codec_date_in(e->start, f, 0, &o->start, st)))
            return rc;
        snprintf(f, sizeof f, "%s.enrollments[%zu].end", prefix, i);
        if ((rc = codec_date_in(e->end, f, 1, &o->end, st)))
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------ model->proto */

void *codec_msg_new(struct allot_arena *a, const ProtobufCMessageDescriptor *d)
{
    void *m = allot_arena_alloc(a, d->sizeof_message);
    if (m)
        protobuf_c_message_init(d, m);
    return m;
}

Allot__V1__Service *codec_service_out(struct allot_arena *a, const struct allot_service *s)
{
    Allot__V1__Service *o = codec_msg_new(a, &allot__v1__service__descriptor);
    if (!o)
        return NULL;
    o->code = (char *)s->code;
    o->name = (char *)s->name;
    o->cash_price_cents = s->cash_price;
    return o;
}

Allot__V1__Period *codec_period_out(struct allot_arena *a, const struct allot_period *p)
{
    Allot__V1__Period *o = codec_msg_new(a, &allot__v1__period__descriptor);
    if (!o)
        return NULL;
    o->kind = (Allot__V1__PeriodKind)p->kind;
    o->month = p->month;
    o->day = p->day;
    o->count = p->count;
    return o;
}

static Allot__V1__Rule *rule_out(struct allot_arena *a, const struct allot_rule *r)
{
    Allot__V1__Rule *o = codec_msg_new(a, &allot__v1__rule__descriptor);
    uint32_t i;
    if (!o)
        return NULL;
    o->key = (char *)r->key;
    o->n_service_codes = r->ncodes;
    o->service_codes = (char **)r->codes;
    o->limit = (Allot__V1__LimitKind)r->limit;
    o->allowance = r->allowance;
    o->unlimited = r->unlimited;
    if (!(o->period = codec_period_out(a, &r->period)))
        return NULL;
    o->pool = (Allot__V1__PoolKind)r->pool;
    o->member_cap = r->member_cap;
    if (r->has_overage_price) {
        o->overage_price = codec_msg_new(a, &allot__v1__price__descriptor);
        if (!o->overage_price)
            return NULL;
        o->overage_price->cents = r->overage_price;
    }
    o->overage_payer = (Allot__V1__Payer)r->payer;
    o->thresholds = codec_msg_new(a, &allot__v1__thresholds__descriptor);
    if (!o->thresholds)
        return NULL;
    o->thresholds->n_percents = r->nthresholds;
    o->thresholds->percents = allot_arena_alloc(a, sizeof(int32_t) * (r->nthresholds + 1));
    if (!o->thresholds->percents)
        return NULL;
    for (i = 0; i < r->nthresholds; i++)
        o->thresholds->percents[i] = r->thresholds[i];
    return o;
}

Allot__V1__PlanVersion *codec_version_out(struct allot_arena *a,
                                          const struct allot_plan_version *v)
{
    Allot__V1__PlanVersion *o = codec_msg_new(a, &allot__v1__plan_version__descriptor);
    uint32_t i;
    if (!o || !(o->effective_from = codec_date_out(a, v->effective_from)))
        return NULL;
    o->n_rules = v->nrules;
    o->rules = allot_arena_alloc(a, sizeof *o->rules * (v->nrules + 1));
    if (!o->rules)
        return NULL;
    for (i = 0; i < v->nrules; i++)
        if (!(o->rules[i] = rule_out(a, &v->rules[i])))
            return NULL;
    return o;
}

Allot__V1__Plan *codec_plan_out(struct allot_arena *a, const struct allot_plan *p)
{
    Allot__V1__Plan *o = codec_msg_new(a, &allot__v1__plan__descriptor);
    uint32_t i;
    if (!o)
        return NULL;
    o->id = (char *)p->id;
    o->name = (char *)p->name;
    o->n_versions = p->nversions;
    o->versions = allot_arena_alloc(a, sizeof *o->versions * (p->nversions + 1));
    if (!o->versions)
        return NULL;
    for (i = 0; i < p->nversions; i++)
        if (!(o->versions[i] = codec_version_out(a, &p->versions[i])))
            return NULL;
    return o;
}

Allot__V1__Member *codec_member_out(struct allot_arena *a, const struct allot_member *m)
{
    Allot__V1__Member *o = codec_msg_new(a, &allot__v1__member__descriptor);
    uint32_t i;
    if (!o)
        return NULL;
    o->id = (char *)m->id;
    o->household_id = (char *)m->household_id;
    o->sponsor_id = (char *)m->sponsor_id;
    if (!(o->anniversary = codec_date_out(a, m->anniversary)) ||
        !(o->effective_anniversary = codec_date_out(a, allot_member_anniversary(m))))
        return NULL;
    o->n_enrollments = m->nenrollments;
    o->enrollments = allot_arena_alloc(a, sizeof *o->enrollments * (m->nenrollments + 1));
    if (!o->enrollments)
        return NULL;
    for (i = 0; i < m->nenrollments; i++) {
        Allot__V1__Enrollment *e = codec_msg_new(a, &allot__v1__enrollment__descriptor);
        if (!e)
            return NULL;
        e->plan_id = (char *)m->enrollments[i].plan_id;
        if (!(e->start = codec_date_out(a, m->enrollments[i].start)) ||
            !(e->end = codec_date_out(a, m->enrollments[i].end)))
            return NULL;
        o->enrollments[i] = e;
    }
    return o;
}
