/* fuzz_request.c - request decoding, conversion and validation.
 *
 * Input: byte 0 picks a request type, the rest is its wire encoding. It is
 * decoded the way allotd decodes it (a grpc byte buffer through
 * codec_unpack, protobuf-c allocating from an arena) and pushed through what
 * the handler does before it touches the store (src/server/admin.c,
 * pricing.c, usage.c, views.c, watch.c): codec_*_in, allot_*_check,
 * allot_check_id/name, codec_date_in. Nothing may crash, leak or read out of
 * bounds, and what passes validation must satisfy the limits of
 * allot/model.h, checked here by independent code. Validated plans and
 * members must also survive model -> proto -> bytes -> proto -> model (what
 * PutPlan/GetPlan and PutMember/GetMember do) unchanged, and the canonical
 * form of an invoice or usage request (its idempotency key) must be a fixed
 * point of decode + encode.
 *
 * The handler code is static in the server, so the steps are mirrored here;
 * keep them in step with the handlers.
 */
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/slice.h>

#include "allot/engine.h"
#include "allot/validate.h"

#include "codec.h"
#include "fuzz.h"
#include "pack.h"

/* Limits of allot/model.h, checked without validate.c. */
static void assert_id(const char *s, bool optional)
{
    size_t i, n = strlen(s);
    FUZZ_CHECK(n <= ALLOT_ID_MAX && (optional || n >= 1), "id of %zu bytes", n);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(s[i] > 0x20 && s[i] < 0x7f, "id byte %zu is 0x%02x", i, (unsigned char)s[i]);
}

static void assert_name(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    FUZZ_CHECK(n <= ALLOT_NAME_MAX, "name of %zu bytes", n);
    while (i < n) {
        unsigned c = p[i];
        size_t len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        uint32_t cp = len == 1 ? c : c & (0x7f >> len);
        FUZZ_CHECK(c < 0x80 || (c >= 0xc2 && c <= 0xf4), "name byte %zu: 0x%02x", i, c);
        FUZZ_CHECK(i + len <= n, "name: truncated UTF-8 at %zu", i);
        for (size_t k = 1; k < len; k++) {
            FUZZ_CHECK((p[i + k] & 0xc0) == 0x80, "name: bad continuation at %zu", i + k);
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        FUZZ_CHECK(len > 1 || (cp >= 0x20 && cp != 0x7f), "name: control character at %zu", i);
        FUZZ_CHECK((len != 3 || cp >= 0x800) && (len != 4 || (cp >= 0x10000 && cp <= 0x10ffff)) &&
                       (cp < 0xd800 || cp > 0xdfff),
                   "name: bad code point U+%X at %zu", (unsigned)cp, i);
        i += len;
    }
}

static bool date_ok(allot_date d)
{
    return d >= ALLOT_DATE_MIN && d <= ALLOT_DATE_MAX;
}

static void assert_rule(const struct allot_rule *r)
{
    int64_t max = r->limit == ALLOT_LIMIT_QUANTITY ? ALLOT_UNITS_MAX : ALLOT_MONEY_MAX;
    uint32_t i, j;

    assert_id(r->key, false);
    FUZZ_CHECK(r->ncodes >= 1 && r->ncodes <= ALLOT_RULE_CODES_MAX, "%u codes", r->ncodes);
    for (i = 0; i < r->ncodes; i++) {
        assert_id(r->codes[i], false);
        for (j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(r->codes[i], r->codes[j]) != 0, "code %s twice", r->codes[i]);
    }
    FUZZ_CHECK(r->limit == ALLOT_LIMIT_QUANTITY || r->limit == ALLOT_LIMIT_AMOUNT, "limit %d",
               (int)r->limit);
    if (r->unlimited)
        FUZZ_CHECK(r->allowance == 0, "unlimited with allowance %lld", (long long)r->allowance);
    else
        FUZZ_CHECK(r->allowance >= 0 && r->allowance <= max &&
                       (r->allowance > 0 || r->has_overage_price),
                   "allowance %lld", (long long)r->allowance);
    FUZZ_CHECK(allot_period_valid(&r->period), "period kind %d", (int)r->period.kind);
    if (r->period.kind != ALLOT_PERIOD_PLAN_YEAR)
        FUZZ_CHECK(r->period.month == 0 && r->period.day == 0, "stray month/day");
    if (!allot_period_is_rolling(&r->period))
        FUZZ_CHECK(r->period.count == 0, "stray count");
    FUZZ_CHECK(r->pool == ALLOT_POOL_MEMBER || r->pool == ALLOT_POOL_HOUSEHOLD, "pool %d",
               (int)r->pool);
    if (r->pool == ALLOT_POOL_HOUSEHOLD)
        FUZZ_CHECK(!allot_period_member_anchored(&r->period), "household, member-anchored");
    FUZZ_CHECK(r->member_cap >= 0 && r->member_cap <= max, "cap %lld", (long long)r->member_cap);
    if (r->pool == ALLOT_POOL_MEMBER)
        FUZZ_CHECK(r->member_cap == 0, "cap on a member pool");
    if (r->has_overage_price)
        FUZZ_CHECK(r->limit == ALLOT_LIMIT_QUANTITY && r->overage_price >= 0 &&
                       r->overage_price <= ALLOT_MONEY_MAX,
                   "overage %lld", (long long)r->overage_price);
    FUZZ_CHECK(r->payer == ALLOT_PAYER_PATIENT || r->payer == ALLOT_PAYER_SPONSOR, "payer %d",
               (int)r->payer);
    FUZZ_CHECK(r->nthresholds <= ALLOT_THRESHOLDS_MAX, "%u thresholds", r->nthresholds);
    for (i = 0; i < r->nthresholds; i++)
        FUZZ_CHECK(r->thresholds[i] >= 1 && r->thresholds[i] <= ALLOT_THRESHOLD_PCT_MAX &&
                       (i == 0 || r->thresholds[i] > r->thresholds[i - 1]),
                   "threshold %u", (unsigned)r->thresholds[i]);
}

static void assert_version(const struct allot_plan_version *v)
{
    uint32_t i, j;
    FUZZ_CHECK(date_ok(v->effective_from), "effective_from %d", v->effective_from);
    FUZZ_CHECK(v->nrules <= ALLOT_VERSION_RULES_MAX, "%u rules", v->nrules);
    for (i = 0; i < v->nrules; i++) {
        struct allot_window w;
        assert_rule(&v->rules[i]);
        for (j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(v->rules[i].key, v->rules[j].key) != 0, "key twice");
        /* a stored rule always has a window, also for member-anchored kinds
         * (a member always has an anniversary once enrolled) */
        FUZZ_CHECK(
            allot_period_window(&v->rules[i].period, v->effective_from, v->effective_from, &w) == 0,
            "no window");
        FUZZ_CHECK(w.start <= v->effective_from && v->effective_from < w.end, "window");
    }
}

static void assert_member(const struct allot_member *m)
{
    uint32_t i, j;
    assert_id(m->id, false);
    assert_id(m->household_id, true);
    assert_id(m->sponsor_id, true);
    FUZZ_CHECK(m->anniversary == ALLOT_DATE_NONE || date_ok(m->anniversary), "anniversary");
    FUZZ_CHECK(m->nenrollments <= ALLOT_ENROLLMENTS_MAX, "%u enrollments", m->nenrollments);
    for (i = 0; i < m->nenrollments; i++) {
        const struct allot_enrollment *e = &m->enrollments[i];
        assert_id(e->plan_id, false);
        FUZZ_CHECK(date_ok(e->start), "start");
        FUZZ_CHECK(e->end == ALLOT_DATE_NONE || (date_ok(e->end) && e->end >= e->start), "end");
        for (j = 0; j < i; j++) {
            const struct allot_enrollment *o = &m->enrollments[j];
            FUZZ_CHECK(e->end < o->start || o->end < e->start, "enrollments %u, %u overlap", j, i);
        }
    }
}

/* ------------------------------------------------------------ wire */

static int unpack(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t n,
                  struct allot_arena *a, const ProtobufCMessage **out)
{
    grpc_byte_buffer *bb = NULL;
    int rc;

    if (n) {
        grpc_slice s = grpc_slice_from_copied_buffer((const char *)data, n);
        bb = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
    }
    rc = codec_unpack(d, bb, a, out);
    if (bb)
        grpc_byte_buffer_destroy(bb);
    return rc;
}

static uint8_t *pack(const ProtobufCMessage *m, struct allot_arena *a, size_t *n)
{
    uint8_t *b;
    *n = protobuf_c_message_get_packed_size(m);
    if (!(b = allot_arena_alloc(a, *n + 1)))
        abort();
    FUZZ_CHECK(protobuf_c_message_pack(m, b) == *n, "pack size");
    return b;
}

/* m itself kept an unknown field numbered 0 (see has_field_zero). */
static bool own_field_zero(const ProtobufCMessage *m)
{
    unsigned i;
    for (i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return true;
    return false;
}

/* True when pred holds for m or for a message inside it. */
static bool any_message(const ProtobufCMessage *m, bool (*pred)(const ProtobufCMessage *))
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned i;
    size_t j;

    if (pred(m))
        return true;
    for (i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m + f->offset;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
            const ProtobufCMessage *const *v = *(const ProtobufCMessage *const *const *)base;
            for (j = 0; j < n; j++)
                if (v[j] && any_message(v[j], pred))
                    return true;
        } else {
            const ProtobufCMessage *sub = *(const ProtobufCMessage *const *)base;
            if (sub && any_message(sub, pred))
                return true;
        }
    }
    return false;
}

/* True when m or a message inside it kept an unknown field numbered 0.
 * protobuf-c 1.4 accepts field number 0 (invalid in protobuf) when the tag
 * is written as a non-minimal varint (0x80 0x00), keeps it as an unknown
 * field, and re-encodes it as 0x00, which it then refuses to decode. allot
 * never decodes what it re-encodes (canonical requests are compared as
 * bytes), so this is tolerated here, not fixed. */
static bool has_field_zero(const ProtobufCMessage *m)
{
    return any_message(m, own_field_zero);
}

static bool own_unknown(const ProtobufCMessage *m)
{
    return m->n_unknown_fields != 0;
}

/* True when m or a message inside it kept an unknown field: the one thing
 * in allot's protos that pack_message leaves to protobuf-c. */
static bool has_unknown(const ProtobufCMessage *m)
{
    return any_message(m, own_unknown);
}

/* pack_message writes protobuf-c's bytes, or refuses (unknown fields). */
static void check_pack_message(const ProtobufCMessage *m, struct allot_arena *a)
{
    size_t n1, n2;
    const uint8_t *b1 = pack(m, a, &n1), *b2 = pack_message(m, a, &n2);

    if (!b2) {
        FUZZ_CHECK(has_unknown(m), "pack_message refused %s", m->descriptor->name);
        return;
    }
    FUZZ_CHECK(n1 == n2 && !memcmp(b1, b2, n1), "%s: pack_message differs from protobuf-c",
               m->descriptor->name);
}

/* m through codec_pack and codec_unpack again; the copy encodes to the
 * same bytes. Returns the copy, or m itself when it cannot be decoded
 * again for the reason above. */
static const ProtobufCMessage *reencode(const ProtobufCMessage *m, struct allot_arena *a)
{
    const ProtobufCMessage *m2 = NULL;
    grpc_byte_buffer *bb = NULL;
    uint8_t *b1, *b2;
    size_t n1, n2;

    check_pack_message(m, a);
    FUZZ_CHECK(codec_pack(m, a, &bb) == 0, "codec_pack");
    if (codec_unpack(m->descriptor, bb, a, &m2) != 0) {
        FUZZ_CHECK(has_field_zero(m), "re-decode of %s", m->descriptor->name);
        grpc_byte_buffer_destroy(bb);
        return m;
    }
    grpc_byte_buffer_destroy(bb);
    b1 = pack(m, a, &n1);
    b2 = pack(m2, a, &n2);
    FUZZ_CHECK(n1 == n2 && !memcmp(b1, b2, n1), "%s: encode(decode(encode)) differs",
               m->descriptor->name);
    return m2;
}

/* ------------------------------------------------------------ equality */

static bool str_eq(const char *a, const char *b)
{
    return !strcmp(a, b);
}

static void assert_rule_eq(const struct allot_rule *a, const struct allot_rule *b)
{
    uint32_t i;
    FUZZ_CHECK(str_eq(a->key, b->key) && a->ncodes == b->ncodes, "rule %s", a->key);
    for (i = 0; i < a->ncodes; i++)
        FUZZ_CHECK(str_eq(a->codes[i], b->codes[i]), "rule %s code %u", a->key, i);
    FUZZ_CHECK(a->limit == b->limit && a->unlimited == b->unlimited &&
                   a->allowance == b->allowance && a->period.kind == b->period.kind &&
                   a->period.month == b->period.month && a->period.day == b->period.day &&
                   a->period.count == b->period.count && a->pool == b->pool &&
                   a->member_cap == b->member_cap && a->has_overage_price == b->has_overage_price &&
                   (!a->has_overage_price || a->overage_price == b->overage_price) &&
                   a->payer == b->payer && a->nthresholds == b->nthresholds &&
                   !memcmp(a->thresholds, b->thresholds, a->nthresholds * sizeof a->thresholds[0]),
               "rule %s changed in a round trip", a->key);
}

static void assert_member_eq(const struct allot_member *a, const struct allot_member *b)
{
    uint32_t i;
    FUZZ_CHECK(str_eq(a->id, b->id) && str_eq(a->household_id, b->household_id) &&
                   str_eq(a->sponsor_id, b->sponsor_id) && a->anniversary == b->anniversary &&
                   a->nenrollments == b->nenrollments,
               "member changed in a round trip");
    for (i = 0; i < a->nenrollments; i++)
        FUZZ_CHECK(str_eq(a->enrollments[i].plan_id, b->enrollments[i].plan_id) &&
                       a->enrollments[i].start == b->enrollments[i].start &&
                       a->enrollments[i].end == b->enrollments[i].end,
                   "enrollment %u changed in a round trip", i);
}

/* ------------------------------------------------------------ handlers */

static void put_service(const ProtobufCMessage *msg, struct allot_arena *a)
{
    const Allot__V1__PutServiceRequest *req = (const void *)msg;
    struct allot_service svc, svc2;
    struct allot_status st;
    const Allot__V1__Service *o;

    if (!req->service)
        return;
    codec_service_in(req->service, &svc);
    if (allot_service_check(&svc, "service", &st)) {
        FUZZ_CHECK(st.code == ALLOT_EINVAL && st.msg[0], "service: status");
        return;
    }
    assert_id(svc.code, false);
    assert_name(svc.name);
    FUZZ_CHECK(svc.cash_price >= 0 && svc.cash_price <= ALLOT_MONEY_MAX, "cash price");
    FUZZ_CHECK((o = codec_service_out(a, &svc)), "oom");
    o = (const void *)reencode(&o->base, a);
    codec_service_in(o, &svc2);
    FUZZ_CHECK(str_eq(svc.code, svc2.code) && str_eq(svc.name, svc2.name) &&
                   svc.cash_price == svc2.cash_price,
               "service changed in a round trip");
}

static void put_plan(const ProtobufCMessage *msg, struct allot_arena *a)
{
    const Allot__V1__PutPlanRequest *req = (const void *)msg;
    struct allot_plan_version v, v2;
    struct allot_plan p;
    const Allot__V1__Plan *o;
    struct allot_status st;
    uint32_t i;

    if (allot_check_id(req->plan_id, "plan_id", &st) || allot_check_name(req->name, "name", &st))
        return;
    if (!req->version)
        return;
    memset(&v, 0, sizeof v);
    if (codec_version_in(req->version, "version", a, &v, &st) ||
        allot_plan_version_check(&v, "version", &st)) {
        FUZZ_CHECK(st.code == ALLOT_EINVAL && st.msg[0], "version: status %d", st.code);
        return;
    }
    assert_id(req->plan_id, false);
    assert_name(req->name);
    assert_version(&v);

    /* what PutPlan answers and GetPlan reads back */
    p.id = req->plan_id;
    p.name = req->name;
    p.versions = &v;
    p.nversions = 1;
    FUZZ_CHECK((o = codec_plan_out(a, &p)), "oom");
    o = (const void *)reencode(&o->base, a);
    FUZZ_CHECK(o->n_versions == 1, "versions");
    memset(&v2, 0, sizeof v2);
    FUZZ_CHECK(codec_version_in(o->versions[0], "version", a, &v2, &st) == 0, "%s", st.msg);
    FUZZ_CHECK(allot_plan_version_check(&v2, "version", &st) == 0, "%s", st.msg);
    FUZZ_CHECK(v.effective_from == v2.effective_from && v.nrules == v2.nrules,
               "version changed in a round trip");
    for (i = 0; i < v.nrules; i++)
        assert_rule_eq(&v.rules[i], &v2.rules[i]);
}

static void put_member(const ProtobufCMessage *msg, struct allot_arena *a)
{
    const Allot__V1__PutMemberRequest *req = (const void *)msg;
    struct allot_member m, m2;
    const Allot__V1__Member *o;
    struct allot_status st;
    allot_date anniv;
    uint32_t i;

    if (!req->member)
        return;
    memset(&m, 0, sizeof m);
    if (codec_member_in(req->member, "member", a, &m, &st) ||
        allot_member_check(&m, "member", &st)) {
        FUZZ_CHECK(st.code == ALLOT_EINVAL && st.msg[0], "member: status %d", st.code);
        return;
    }
    assert_member(&m);
    allot_member_sort(&m); /* as put_member_apply does before storing */
    assert_member(&m);
    for (i = 0; i < m.nenrollments; i++) {
        const struct allot_enrollment *e = &m.enrollments[i];
        if (i)
            FUZZ_CHECK(m.enrollments[i - 1].start < e->start, "not sorted");
        FUZZ_CHECK(allot_member_enrollment_at(&m, e->start) == e, "enrollment_at start");
        if (e->end != ALLOT_DATE_NONE)
            FUZZ_CHECK(allot_member_enrollment_at(&m, e->end) == e, "enrollment_at end");
    }
    anniv = allot_member_anniversary(&m);
    FUZZ_CHECK(anniv == (m.anniversary != ALLOT_DATE_NONE ? m.anniversary
                         : m.nenrollments                 ? m.enrollments[0].start
                                                          : ALLOT_DATE_NONE),
               "anniversary");

    FUZZ_CHECK((o = codec_member_out(a, &m)), "oom");
    o = (const void *)reencode(&o->base, a);
    memset(&m2, 0, sizeof m2);
    FUZZ_CHECK(codec_member_in(o, "member", a, &m2, &st) == 0, "%s", st.msg);
    FUZZ_CHECK(allot_member_check(&m2, "member", &st) == 0, "%s", st.msg);
    assert_member_eq(&m, &m2);
}

/* A source with no plans and no usage: enough to price lines of a member
 * who is not enrolled. */
static int no_plan(void *ctx, const char *plan_id, allot_date d,
                   const struct allot_plan_version **out)
{
    (void)ctx, (void)plan_id, (void)d;
    *out = NULL;
    return ALLOT_ENOTFOUND;
}

static void price_invoice(const ProtobufCMessage *msg, struct allot_arena *a, bool need_id)
{
    Allot__V1__PriceInvoiceRequest *req = (void *)msg; /* in a: ours to change */
    struct allot_source src = {NULL, no_plan, NULL, NULL};
    struct allot_priced_line *priced;
    struct allot_line *lines;
    struct allot_member m;
    struct allot_status st;
    const ProtobufCMessage *again;
    uint8_t *canon, *canon2;
    size_t i, j, n, n2;
    char f[64];

    /* pricing.c invoice_parse */
    if (need_id ? allot_check_id(req->invoice_id, "invoice_id", &st)
                : allot_check_opt_id(req->invoice_id, "invoice_id", &st))
        return;
    if (allot_check_id(req->member_id, "member_id", &st))
        return;
    if (req->n_lines == 0 || req->n_lines > ALLOT_INVOICE_LINES_MAX)
        return;
    if (!(lines = allot_arena_alloc(a, sizeof *lines * req->n_lines)))
        abort();
    for (i = 0; i < req->n_lines; i++) {
        Allot__V1__InvoiceLine *l = req->lines[i];
        struct allot_line *ml = &lines[i];
        if (!l->line_id[0]) {
            snprintf(f, sizeof f, "%zu", i + 1);
            if (!(l->line_id = allot_arena_strdup(a, f)))
                abort();
        }
        snprintf(f, sizeof f, "lines[%zu].line_id", i);
        if (allot_check_id(l->line_id, f, &st))
            return;
        for (j = 0; j < i; j++)
            if (!strcmp(l->line_id, req->lines[j]->line_id))
                return;
        snprintf(f, sizeof f, "lines[%zu].service_code", i);
        if (allot_check_id(l->service_code, f, &st))
            return;
        snprintf(f, sizeof f, "lines[%zu].service_date", i);
        if (codec_date_in(l->service_date, f, 0, &ml->date, &st))
            return;
        if (l->quantity < 1 || l->quantity > ALLOT_QUANTITY_MAX)
            return;
        if (l->unit_price && (l->unit_price->cents < 0 || l->unit_price->cents > ALLOT_MONEY_MAX))
            return;
        ml->line_id = l->line_id;
        ml->service_code = l->service_code;
        ml->quantity = l->quantity;
        ml->unit_price = l->unit_price ? l->unit_price->cents : -1;
    }
    assert_id(req->invoice_id, !need_id);
    assert_id(req->member_id, false);
    for (i = 0; i < req->n_lines; i++) {
        assert_id(lines[i].line_id, false);
        assert_id(lines[i].service_code, false);
        FUZZ_CHECK(date_ok(lines[i].date), "line date");
        FUZZ_CHECK(lines[i].quantity >= 1 && lines[i].quantity <= ALLOT_QUANTITY_MAX, "qty");
        FUZZ_CHECK(lines[i].unit_price >= -1 && lines[i].unit_price <= ALLOT_MONEY_MAX, "price");
    }
    /* the canonical request is the idempotency key: decoding and encoding
     * it again must give the same bytes */
    canon = pack(&req->base, a, &n);
    if (unpack(&allot__v1__price_invoice_request__descriptor, canon, n, a, &again) == 0) {
        canon2 = pack(again, a, &n2);
        FUZZ_CHECK(n == n2 && !memcmp(canon, canon2, n), "canonical invoice is not a fixed point");
    } else {
        FUZZ_CHECK(has_field_zero(&req->base), "canonical invoice does not decode");
    }

    /* price it for a member with no enrollment: every line billed whole */
    n = req->n_lines;
    for (i = 0; i < n; i++)
        if (lines[i].unit_price < 0)
            lines[i].unit_price = 15000; /* the catalog's cash price */
    memset(&m, 0, sizeof m);
    m.id = req->member_id;
    m.anniversary = ALLOT_DATE_NONE;
    m.household_id = "";
    m.sponsor_id = "";
    if (!(priced = allot_arena_alloc(a, sizeof *priced * n)))
        abort();
    FUZZ_CHECK(allot_price_lines(&src, &m, lines, n, a, priced, &st) == 0, "%s", st.msg);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(priced[i].reason == ALLOT_REASON_NO_ENROLLMENT && priced[i].binding == -1 &&
                       priced[i].billable_quantity == lines[i].quantity &&
                       priced[i].amount_due == lines[i].quantity * lines[i].unit_price,
                   "line %zu not billed whole", i);
}

static void record_usage(const ProtobufCMessage *msg, struct allot_arena *a)
{
    Allot__V1__RecordUsageRequest *req = (void *)msg;
    const ProtobufCMessage *again;
    struct allot_status st;
    allot_date d;
    uint8_t *canon, *canon2;
    size_t n, n2;

    /* usage.c handle_record_usage */
    if (allot_check_id(req->usage_id, "usage_id", &st) ||
        allot_check_id(req->member_id, "member_id", &st) ||
        allot_check_id(req->rule_key, "rule_key", &st) || allot_check_name(req->note, "note", &st))
        return;
    if (codec_date_in(req->service_date, "service_date", 0, &d, &st))
        return;
    if (req->amount < 1)
        return;
    if (req->source == ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_UNSPECIFIED)
        req->source = ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR;
    if (req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR &&
        req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_EXTERNAL &&
        req->source != ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_ADJUSTMENT)
        return;
    assert_id(req->usage_id, false);
    assert_id(req->member_id, false);
    assert_id(req->rule_key, false);
    assert_name(req->note);
    FUZZ_CHECK(date_ok(d), "service_date");
    canon = pack(&req->base, a, &n);
    if (unpack(&allot__v1__record_usage_request__descriptor, canon, n, a, &again) == 0) {
        canon2 = pack(again, a, &n2);
        FUZZ_CHECK(n == n2 && !memcmp(canon, canon2, n), "canonical usage is not a fixed point");
    } else {
        FUZZ_CHECK(has_field_zero(&req->base), "canonical usage does not decode");
    }
}

static void get_allotments(const ProtobufCMessage *msg, struct allot_arena *a)
{
    const Allot__V1__GetAllotmentsRequest *req = (const void *)msg;
    struct allot_status st;
    allot_date as_of;
    char *s;

    (void)a;
    if (allot_check_id(req->member_id, "member_id", &st))
        return;
    if (req->as_of[0]) {
        if (codec_date_in(req->as_of, "as_of", 0, &as_of, &st)) {
            FUZZ_CHECK(st.code == ALLOT_EINVAL && strstr(st.msg, "as_of"), "as_of: status");
            return;
        }
        FUZZ_CHECK(date_ok(as_of), "as_of");
        FUZZ_CHECK((s = codec_date_out(a, as_of)) && !strcmp(s, req->as_of), "as_of echo");
    }
}

static void ids_only(const ProtobufCMessage *msg, struct allot_arena *a)
{
    struct allot_status st;
    (void)a;
    if (msg->descriptor == &allot__v1__void_invoice_request__descriptor) {
        const Allot__V1__VoidInvoiceRequest *req = (const void *)msg;
        if (allot_check_id(req->invoice_id, "invoice_id", &st) ||
            allot_check_opt_id(req->line_id, "line_id", &st))
            return;
        assert_id(req->invoice_id, false);
        assert_id(req->line_id, true);
    } else if (msg->descriptor == &allot__v1__void_usage_request__descriptor) {
        const Allot__V1__VoidUsageRequest *req = (const void *)msg;
        if (!allot_check_id(req->usage_id, "usage_id", &st))
            assert_id(req->usage_id, false);
    } else if (msg->descriptor == &allot__v1__get_plan_request__descriptor) {
        const Allot__V1__GetPlanRequest *req = (const void *)msg;
        if (!allot_check_id(req->plan_id, "plan_id", &st))
            assert_id(req->plan_id, false);
    } else if (msg->descriptor == &allot__v1__get_member_request__descriptor) {
        const Allot__V1__GetMemberRequest *req = (const void *)msg;
        if (!allot_check_id(req->member_id, "member_id", &st))
            assert_id(req->member_id, false);
    }
}

/* admin.c page_args */
static void list_page(const ProtobufCMessage *msg, struct allot_arena *a)
{
    struct allot_status st;
    int32_t size;
    const char *token;

    (void)a;
    if (msg->descriptor == &allot__v1__list_services_request__descriptor) {
        const Allot__V1__ListServicesRequest *req = (const void *)msg;
        size = req->page_size;
        token = req->page_token;
    } else {
        const Allot__V1__ListPlansRequest *req = (const void *)msg;
        size = req->page_size;
        token = req->page_token;
    }
    if (size < 0 || size > 1000)
        return;
    if (allot_check_opt_id(token, "page_token", &st))
        return;
    assert_id(token, true);
}

/* watch.c handle_watch_thresholds copies the member id into a fixed
 * buffer: an exactly sized heap copy lets ASan see an overflow. */
static void watch(const ProtobufCMessage *msg, struct allot_arena *a)
{
    const Allot__V1__WatchThresholdsRequest *req = (const void *)msg;
    struct allot_status st;
    char *member;

    (void)a;
    if (allot_check_opt_id(req->member_id, "member_id", &st))
        return;
    if (!(member = malloc(ALLOT_ID_MAX + 1)))
        abort();
    strcpy(member, req->member_id);
    free(member);
}

static const struct {
    const ProtobufCMessageDescriptor *d;
    void (*fn)(const ProtobufCMessage *msg, struct allot_arena *a);
} requests[] = {
    {&allot__v1__put_service_request__descriptor, put_service},
    {&allot__v1__put_plan_request__descriptor, put_plan},
    {&allot__v1__put_member_request__descriptor, put_member},
    {&allot__v1__price_invoice_request__descriptor, NULL}, /* PriceInvoice */
    {&allot__v1__price_invoice_request__descriptor, NULL}, /* PreviewInvoice */
    {&allot__v1__record_usage_request__descriptor, record_usage},
    {&allot__v1__get_allotments_request__descriptor, get_allotments},
    {&allot__v1__void_invoice_request__descriptor, ids_only},
    {&allot__v1__void_usage_request__descriptor, ids_only},
    {&allot__v1__get_plan_request__descriptor, ids_only},
    {&allot__v1__get_member_request__descriptor, ids_only},
    {&allot__v1__list_services_request__descriptor, list_page},
    {&allot__v1__list_plans_request__descriptor, list_page},
    {&allot__v1__watch_thresholds_request__descriptor, watch},
};
#define NREQUESTS (sizeof requests / sizeof requests[0])

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    const ProtobufCMessage *msg = NULL;
    unsigned t;
    int rc;

    if (size < 1)
        return 0;
    t = data[0] % NREQUESTS;
    rc = unpack(requests[t].d, data + 1, size - 1, &a, &msg);
    FUZZ_CHECK(rc == 0 || rc == ALLOT_EINVAL, "codec_unpack rc %d", rc);
    if (rc == 0) {
        FUZZ_CHECK(msg && msg->descriptor == requests[t].d, "descriptor");
        FUZZ_CHECK(protobuf_c_message_check(msg), "decoded message fails its own check");
        reencode(msg, &a);
        if (t == 3 || t == 4)
            price_invoice(msg, &a, t == 3);
        else
            requests[t].fn(msg, &a);
    } else {
        FUZZ_CHECK(!msg, "message on failure");
    }
    allot_arena_release(&a);
    return 0;
}

/* ------------------------------------------------------------ seeds */

static int seed(const char *dir, const char *name, unsigned type, const ProtobufCMessage *m)
{
    struct fuzz_buf fb;
    size_t n = protobuf_c_message_get_packed_size(m);

    fb.n = 0;
    fuzz_put(&fb, type);
    FUZZ_CHECK(n + 1 <= sizeof fb.b, "seed too big");
    protobuf_c_message_pack(m, fb.b + 1);
    return fuzz_seed_write(dir, name, fb.b, n + 1);
}

/* Requests at each count limit of allot/model.h and one past it, so the
 * fuzzer starts on both sides of every bound. */
static int write_limit_seeds(const char *dir)
{
    enum { N = 201 };
    static char ids[N][8], dates[N][ALLOT_DATE_STRLEN], ends[N][ALLOT_DATE_STRLEN];
    static char *idp[N];
    static int32_t pcts[ALLOT_THRESHOLDS_MAX + 1];
    static char name[ALLOT_NAME_MAX + 2];
    Allot__V1__Service svc = ALLOT__V1__SERVICE__INIT;
    Allot__V1__PutServiceRequest ps = ALLOT__V1__PUT_SERVICE_REQUEST__INIT;
    Allot__V1__Period per = ALLOT__V1__PERIOD__INIT;
    Allot__V1__Price over = ALLOT__V1__PRICE__INIT;
    Allot__V1__Thresholds th = ALLOT__V1__THRESHOLDS__INIT;
    static Allot__V1__Rule rules[ALLOT_VERSION_RULES_MAX + 1];
    static Allot__V1__Rule *rp[ALLOT_VERSION_RULES_MAX + 1];
    Allot__V1__PlanVersion ver = ALLOT__V1__PLAN_VERSION__INIT;
    Allot__V1__PutPlanRequest pp = ALLOT__V1__PUT_PLAN_REQUEST__INIT;
    static Allot__V1__Enrollment en[ALLOT_ENROLLMENTS_MAX + 1];
    static Allot__V1__Enrollment *enp[ALLOT_ENROLLMENTS_MAX + 1];
    Allot__V1__Member mem = ALLOT__V1__MEMBER__INIT;
    Allot__V1__PutMemberRequest pm = ALLOT__V1__PUT_MEMBER_REQUEST__INIT;
    static Allot__V1__InvoiceLine il[N];
    static Allot__V1__InvoiceLine *ilp[N];
    Allot__V1__PriceInvoiceRequest pi = ALLOT__V1__PRICE_INVOICE_REQUEST__INIT;
    int rc = 0, i;

    for (i = 0; i < N; i++) {
        snprintf(ids[i], sizeof ids[i], "c%d", i);
        idp[i] = ids[i];
        allot_date_format(allot_date_from_ymd(2020, 1, 1) + 10 * i, dates[i]);
        allot_date_format(allot_date_from_ymd(2020, 1, 1) + 10 * i + 9, ends[i]);
    }

    /* a name of 200 bytes (100 two-byte characters), the top price; then
     * one byte and one cent more */
    for (i = 0; i < ALLOT_NAME_MAX; i += 2)
        name[i] = (char)0xc3, name[i + 1] = (char)0xa9;
    svc.code = "X";
    svc.name = name;
    svc.cash_price_cents = ALLOT_MONEY_MAX;
    ps.service = &svc;
    rc |= seed(dir, "limit-service", 0, &ps.base);
    name[ALLOT_NAME_MAX] = 'x';
    svc.cash_price_cents = ALLOT_MONEY_MAX + 1;
    rc |= seed(dir, "over-service", 0, &ps.base);

    /* 64 rules; the first with 64 codes, 16 thresholds and every value at
     * its top; then 65 of each */
    per.kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_MONTHS;
    per.count = ALLOT_ROLLING_MONTHS_MAX;
    for (i = 0; i <= ALLOT_THRESHOLDS_MAX; i++)
        pcts[i] = 1 + i * 66;
    for (i = 0; i <= ALLOT_VERSION_RULES_MAX; i++) {
        allot__v1__rule__init(&rules[i]);
        rules[i].key = ids[i];
        rules[i].n_service_codes = 1;
        rules[i].service_codes = &idp[i];
        rules[i].limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
        rules[i].allowance = 1 + i;
        rules[i].period = &per;
        rp[i] = &rules[i];
    }
    rules[0].n_service_codes = ALLOT_RULE_CODES_MAX;
    rules[0].service_codes = idp;
    rules[0].allowance = ALLOT_UNITS_MAX;
    rules[0].pool = ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD;
    rules[0].member_cap = ALLOT_UNITS_MAX;
    over.cents = ALLOT_MONEY_MAX;
    rules[0].overage_price = &over;
    th.n_percents = ALLOT_THRESHOLDS_MAX;
    th.percents = pcts;
    rules[0].thresholds = &th;
    ver.effective_from = "9999-12-31";
    ver.n_rules = ALLOT_VERSION_RULES_MAX;
    ver.rules = rp;
    pp.plan_id = ids[0];
    pp.name = "";
    pp.version = &ver;
    rc |= seed(dir, "limit-plan", 1, &pp.base);
    ver.n_rules = ALLOT_VERSION_RULES_MAX + 1;
    rules[0].n_service_codes = ALLOT_RULE_CODES_MAX + 1;
    th.n_percents = ALLOT_THRESHOLDS_MAX + 1;
    rules[0].member_cap = ALLOT_UNITS_MAX + 1;
    over.cents = -1;
    rc |= seed(dir, "over-plan", 1, &pp.base);

    /* 64 enrollments, ten days each; then 65 */
    for (i = 0; i <= ALLOT_ENROLLMENTS_MAX; i++) {
        allot__v1__enrollment__init(&en[i]);
        en[i].plan_id = ids[i % 3];
        en[i].start = dates[ALLOT_ENROLLMENTS_MAX - i]; /* unsorted */
        en[i].end = ends[ALLOT_ENROLLMENTS_MAX - i];
        enp[i] = &en[i];
    }
    mem.id = ids[1];
    mem.n_enrollments = ALLOT_ENROLLMENTS_MAX;
    mem.enrollments = enp;
    pm.member = &mem;
    rc |= seed(dir, "limit-member", 2, &pm.base);
    mem.n_enrollments = ALLOT_ENROLLMENTS_MAX + 1;
    rc |= seed(dir, "over-member", 2, &pm.base);

    /* 200 lines at the top quantity and price; then 201 */
    for (i = 0; i < N; i++) {
        allot__v1__invoice_line__init(&il[i]);
        il[i].service_code = ids[i % 5];
        il[i].service_date = dates[i];
        il[i].quantity = ALLOT_QUANTITY_MAX;
        il[i].unit_price = &over;
        ilp[i] = &il[i];
    }
    over.cents = ALLOT_MONEY_MAX;
    pi.invoice_id = "i";
    pi.member_id = "m";
    pi.n_lines = ALLOT_INVOICE_LINES_MAX;
    pi.lines = ilp;
    rc |= seed(dir, "limit-invoice", 3, &pi.base);
    pi.n_lines = ALLOT_INVOICE_LINES_MAX + 1;
    rc |= seed(dir, "over-invoice", 4, &pi.base);
    return rc;
}

int fuzz_write_seeds(const char *dir)
{
    static char *codes_hv[] = {"HOME_VISIT"}, *codes_pt[] = {"97110", "97112"},
                *codes_sub[] = {"97112"}, *codes_lab[] = {"LAB"};
    static int32_t pcts[] = {50, 100, 150};
    Allot__V1__Service svc = ALLOT__V1__SERVICE__INIT;
    Allot__V1__PutServiceRequest ps = ALLOT__V1__PUT_SERVICE_REQUEST__INIT;
    Allot__V1__Period per[4] = {ALLOT__V1__PERIOD__INIT, ALLOT__V1__PERIOD__INIT,
                                ALLOT__V1__PERIOD__INIT, ALLOT__V1__PERIOD__INIT};
    Allot__V1__Rule rules[4] = {ALLOT__V1__RULE__INIT, ALLOT__V1__RULE__INIT, ALLOT__V1__RULE__INIT,
                                ALLOT__V1__RULE__INIT};
    Allot__V1__Rule *rp[4] = {&rules[0], &rules[1], &rules[2], &rules[3]};
    Allot__V1__Price over = ALLOT__V1__PRICE__INIT, lp = ALLOT__V1__PRICE__INIT;
    Allot__V1__Thresholds th = ALLOT__V1__THRESHOLDS__INIT;
    Allot__V1__PlanVersion ver = ALLOT__V1__PLAN_VERSION__INIT;
    Allot__V1__PutPlanRequest pp = ALLOT__V1__PUT_PLAN_REQUEST__INIT;
    Allot__V1__Enrollment en[2] = {ALLOT__V1__ENROLLMENT__INIT, ALLOT__V1__ENROLLMENT__INIT};
    Allot__V1__Enrollment *enp[2] = {&en[0], &en[1]};
    Allot__V1__Member mem = ALLOT__V1__MEMBER__INIT;
    Allot__V1__PutMemberRequest pm = ALLOT__V1__PUT_MEMBER_REQUEST__INIT;
    Allot__V1__InvoiceLine il[3] = {ALLOT__V1__INVOICE_LINE__INIT, ALLOT__V1__INVOICE_LINE__INIT,
                                    ALLOT__V1__INVOICE_LINE__INIT};
    Allot__V1__InvoiceLine *ilp[3] = {&il[0], &il[1], &il[2]};
    Allot__V1__PriceInvoiceRequest pi = ALLOT__V1__PRICE_INVOICE_REQUEST__INIT;
    Allot__V1__RecordUsageRequest ru = ALLOT__V1__RECORD_USAGE_REQUEST__INIT;
    Allot__V1__GetAllotmentsRequest ga = ALLOT__V1__GET_ALLOTMENTS_REQUEST__INIT;
    Allot__V1__VoidInvoiceRequest vi = ALLOT__V1__VOID_INVOICE_REQUEST__INIT;
    Allot__V1__VoidUsageRequest vu = ALLOT__V1__VOID_USAGE_REQUEST__INIT;
    Allot__V1__GetPlanRequest gp = ALLOT__V1__GET_PLAN_REQUEST__INIT;
    Allot__V1__GetMemberRequest gm = ALLOT__V1__GET_MEMBER_REQUEST__INIT;
    Allot__V1__ListServicesRequest ls = ALLOT__V1__LIST_SERVICES_REQUEST__INIT;
    Allot__V1__ListPlansRequest lpl = ALLOT__V1__LIST_PLANS_REQUEST__INIT;
    Allot__V1__WatchThresholdsRequest wt = ALLOT__V1__WATCH_THRESHOLDS_REQUEST__INIT;
    int rc = 0;

    svc.code = "HOME_VISIT";
    svc.name = "Home visit \xc3\xa0 domicile";
    svc.cash_price_cents = 15000;
    ps.service = &svc;
    rc |= seed(dir, "put-service", 0, &ps.base);

    /* the worked examples: home visits per member year, PT combined limit
     * and sub-limit, $500 of labs, a household pool on a rolling window */
    per[0].kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_MEMBER_YEAR;
    per[1].kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_CALENDAR_YEAR;
    per[2].kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_PLAN_YEAR;
    per[2].month = 7;
    per[2].day = 1;
    per[3].kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS;
    per[3].count = 365;
    rules[0].key = "home-visits";
    rules[0].n_service_codes = 1;
    rules[0].service_codes = codes_hv;
    rules[0].limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    rules[0].allowance = 2;
    rules[0].period = &per[0];
    over.cents = 9000;
    rules[0].overage_price = &over;
    rules[0].overage_payer = ALLOT__V1__PAYER__PAYER_SPONSOR;
    rules[1].key = "pt";
    rules[1].n_service_codes = 2;
    rules[1].service_codes = codes_pt;
    rules[1].limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    rules[1].allowance = 20;
    rules[1].period = &per[1];
    th.n_percents = 3;
    th.percents = pcts;
    rules[1].thresholds = &th;
    rules[2].key = "pt-97112";
    rules[2].n_service_codes = 1;
    rules[2].service_codes = codes_sub;
    rules[2].limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    rules[2].allowance = 10;
    rules[2].period = &per[2];
    rules[3].key = "labs";
    rules[3].n_service_codes = 1;
    rules[3].service_codes = codes_lab;
    rules[3].limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    rules[3].allowance = 50000;
    rules[3].period = &per[3];
    rules[3].pool = ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD;
    rules[3].member_cap = 20000;
    ver.effective_from = "2024-01-01";
    ver.n_rules = 4;
    ver.rules = rp;
    pp.plan_id = "family";
    pp.name = "Family Membership";
    pp.version = &ver;
    rc |= seed(dir, "put-plan", 1, &pp.base);
    ver.n_rules = 0;
    ver.effective_from = "2024-02-29";
    rc |= seed(dir, "put-plan-empty", 1, &pp.base);

    en[0].plan_id = "family";
    en[0].start = "2024-03-15";
    en[0].end = "2024-12-31";
    en[1].plan_id = "basic";
    en[1].start = "2025-01-01";
    mem.id = "m-1001";
    mem.n_enrollments = 2;
    mem.enrollments = enp;
    mem.anniversary = "2024-02-29";
    mem.household_id = "hh-7";
    mem.sponsor_id = "acme";
    pm.member = &mem;
    rc |= seed(dir, "put-member", 2, &pm.base);

    il[0].service_code = "HOME_VISIT";
    il[0].service_date = "2025-04-01";
    il[0].quantity = 1;
    il[1].line_id = "b";
    il[1].service_code = "97112";
    il[1].service_date = "2025-06-01";
    il[1].quantity = 3;
    lp.cents = 12000;
    il[1].unit_price = &lp;
    il[2].service_code = "LAB";
    il[2].service_date = "2024-12-31";
    il[2].quantity = 1000000;
    pi.invoice_id = "inv-1";
    pi.member_id = "m-1001";
    pi.n_lines = 3;
    pi.lines = ilp;
    rc |= seed(dir, "price-invoice", 3, &pi.base);
    pi.invoice_id = "";
    rc |= seed(dir, "preview-invoice", 4, &pi.base);

    ru.usage_id = "u-1";
    ru.member_id = "m-1001";
    ru.rule_key = "home-visits";
    ru.service_date = "2024-05-10";
    ru.amount = 3;
    ru.source = ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_EXTERNAL;
    ru.note = "seen at another clinic";
    rc |= seed(dir, "record-usage", 5, &ru.base);

    ga.member_id = "m-1001";
    ga.as_of = "2025-09-01";
    rc |= seed(dir, "get-allotments", 6, &ga.base);
    vi.invoice_id = "inv-1";
    vi.line_id = "b";
    rc |= seed(dir, "void-invoice", 7, &vi.base);
    vu.usage_id = "u-1";
    rc |= seed(dir, "void-usage", 8, &vu.base);
    gp.plan_id = "family";
    rc |= seed(dir, "get-plan", 9, &gp.base);
    gm.member_id = "m-1001";
    rc |= seed(dir, "get-member", 10, &gm.base);
    ls.page_size = 10;
    ls.page_token = "HOME_VISIT";
    rc |= seed(dir, "list-services", 11, &ls.base);
    lpl.page_size = 1000;
    rc |= seed(dir, "list-plans", 12, &lpl.base);
    wt.from_seq = 42;
    wt.member_id = "m-1001";
    rc |= seed(dir, "watch", 13, &wt.base);
    return rc || write_limit_seeds(dir) ? -1 : 0;
}
