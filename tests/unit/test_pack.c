/* test_pack.c - pack_message writes exactly protobuf-c's bytes.
 *
 * Messages of allot's protos are filled at random through their descriptors
 * (every field kind and label the protos use: zero and non-zero scalars,
 * negative int32s and enums, NULL, empty, long and very long strings,
 * repeated fields of 0-3 elements, nested messages) and
 * packed by both encoders; the bytes must be the same. What pack_message
 * does not handle must be refused, not written differently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "allot/v1/allot.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#include "pack.h"

static uint64_t seed = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
}

static char *rnd_string(struct allot_arena *a, int may_be_null)
{
    static const size_t lens[] = {0, 1, 9, 127, 128, 300, 16383, 16384, 70000};
    size_t n, i;
    char *s;

    switch (rnd() % 5) {
    case 0:
        return may_be_null ? NULL : (char *)"";
    case 1:
        return (char *)"";
    default:
        n = lens[rnd() % (sizeof lens / sizeof lens[0])];
        if (n > 300 && rnd() % 4) /* keep most messages small */
            n = 20;
        s = allot_arena_alloc(a, n + 1);
        for (i = 0; i < n; i++)
            s[i] = (char)('a' + rnd() % 26);
        return s;
    }
}

static uint64_t rnd_scalar(void)
{
    switch (rnd() % 6) {
    case 0:
    case 1:
        return 0;
    case 2:
        return rnd() % 128;
    case 3:
        return (uint64_t) - (int64_t)(rnd() % 1000 + 1); /* negative */
    default:
        return rnd();
    }
}

static void fill(ProtobufCMessage *m, struct allot_arena *a, int depth);

/* One value; an element of a repeated field is never NULL (protobuf-c's
 * sizing would dereference it). */
static void fill_one(const ProtobufCFieldDescriptor *f, void *member, struct allot_arena *a,
                     int depth, int element)
{
    uint64_t v = rnd_scalar();

    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        *(char **)member = rnd_string(a, !element);
        break;
    case PROTOBUF_C_TYPE_MESSAGE:
        if (!element && (depth > 4 || rnd() % 4 == 0)) {
            *(void **)member = NULL;
        } else {
            const ProtobufCMessageDescriptor *d = f->descriptor;
            ProtobufCMessage *sub = allot_arena_alloc(a, d->sizeof_message);
            protobuf_c_message_init(d, sub);
            fill(sub, a, depth + 1);
            *(void **)member = sub;
        }
        break;
    case PROTOBUF_C_TYPE_BOOL:
        *(protobuf_c_boolean *)member = (protobuf_c_boolean)(v & 1);
        break;
    case PROTOBUF_C_TYPE_ENUM:
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_UINT32:
        *(uint32_t *)member = (uint32_t)v;
        break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        *(uint64_t *)member = v;
        break;
    default:
        fail_msg("field %s has a type this test does not fill", f->name);
    }
}

static size_t elt_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_STRING:
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(void *);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_UINT64:
        return 8;
    default:
        return 4;
    }
}

static void fill(ProtobufCMessage *m, struct allot_arena *a, int depth)
{
    const ProtobufCMessageDescriptor *d = m->descriptor;
    unsigned i;

    for (i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        char *member = (char *)m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = depth > 4 ? 0 : rnd() % 4, j, size = elt_size(f->type);
            char *elts = allot_arena_alloc(a, (n ? n : 1) * size);
            for (j = 0; j < n; j++)
                fill_one(f, elts + j * size, a, depth + 1, 1);
            *(size_t *)((char *)m + f->quantifier_offset) = n;
            *(void **)member = n ? elts : NULL;
        } else {
            fill_one(f, member, a, depth, 0);
        }
    }
}

static void assert_same_bytes(const ProtobufCMessage *m, struct allot_arena *a)
{
    size_t n1 = protobuf_c_message_get_packed_size(m), n2;
    uint8_t *b1 = malloc(n1 + 1);
    const uint8_t *b2 = pack_message(m, a, &n2);

    assert_non_null(b1);
    assert_int_equal(protobuf_c_message_pack(m, b1), n1);
    assert_non_null(b2);
    assert_int_equal(n2, n1);
    assert_memory_equal(b2, b1, n1);
    free(b1);
}

static const ProtobufCMessageDescriptor *const roots[] = {
    &allot__v1__get_allotments_response__descriptor,
    &allot__v1__price_invoice_response__descriptor,
    &allot__v1__member__descriptor,
    &allot__v1__plan__descriptor,
    &allot__v1__put_plan_response__descriptor,
    &allot__v1__void_invoice_response__descriptor,
    &allot__v1__list_plans_response__descriptor,
    &allot__v1__list_services_response__descriptor,
    &allot__v1__threshold_event__descriptor,
    &allot__v1__list_audit_response__descriptor,
    &allot__v1__price_invoice_request__descriptor,
    &allot__v1__put_plan_request__descriptor,
    &allot__v1__put_member_request__descriptor,
    &allot__v1__record_usage_response__descriptor,
    &grpc__health__v1__health_check_response__descriptor,
};

static void random_messages_pack_as_protobuf_c_does(void **state)
{
    size_t r, i;
    (void)state;
    for (r = 0; r < sizeof roots / sizeof roots[0]; r++) {
        for (i = 0; i < 300; i++) {
            struct allot_arena a = ALLOT_ARENA_INIT;
            ProtobufCMessage *m = allot_arena_alloc(&a, roots[r]->sizeof_message);
            protobuf_c_message_init(roots[r], m);
            if (i > 0) /* the first of each is the empty message */
                fill(m, &a, 0);
            assert_same_bytes(m, &a);
            allot_arena_release(&a);
        }
    }
}

/* Into a caller's buffer: the same bytes at its end when they fit, even
 * exactly; NULL when they do not, with nothing written before buf. */
static void into_a_buffer_fits_or_refuses(void **state)
{
    size_t i, fitted = 0;
    (void)state;
    for (i = 0; i < 200; i++) {
        struct allot_arena a = ALLOT_ARENA_INIT;
        const ProtobufCMessageDescriptor *d = &allot__v1__audit_entry__descriptor;
        ProtobufCMessage *m = allot_arena_alloc(&a, d->sizeof_message);
        size_t n1, n2, n3;
        uint8_t *b1, *guard;
        const uint8_t *b2, *b3;

        protobuf_c_message_init(d, m);
        fill(m, &a, 0);
        n1 = protobuf_c_message_get_packed_size(m);
        b1 = malloc(n1 + 1);
        guard = malloc(n1 + 2);
        assert_non_null(b1);
        assert_non_null(guard);
        protobuf_c_message_pack(m, b1);
        guard[0] = 0x5a;
        b2 = pack_message_into(m, guard + 1, n1, &n2);
        assert_non_null(b2);
        assert_ptr_equal(b2, guard + 1);
        assert_int_equal(n2, n1);
        assert_memory_equal(b2, b1, n1);
        if (n1) {
            b3 = pack_message_into(m, guard + 2, n1 - 1, &n3);
            assert_null(b3);
            assert_int_equal(n3, 0);
            fitted++;
        }
        assert_int_equal(guard[0], 0x5a);
        free(b1);
        free(guard);
        allot_arena_release(&a);
    }
    assert_true(fitted > 150);
}

/* A reply as allotd builds one: the fields a client reads come back. */
static void a_reply_decodes_to_what_was_packed(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__GetAllotmentsResponse r = ALLOT__V1__GET_ALLOTMENTS_RESPONSE__INIT, *back;
    Allot__V1__Allotment al = ALLOT__V1__ALLOTMENT__INIT, *als[1] = {&al};
    Allot__V1__UsageEntry e = ALLOT__V1__USAGE_ENTRY__INIT, *es[1] = {&e};
    const uint8_t *b;
    size_t n;
    (void)state;

    r.member_id = "m-1";
    r.as_of = "2026-04-04";
    r.n_allotments = 1;
    r.allotments = als;
    al.rule_key = "home-visits";
    al.allowance = 3;
    al.used = 1;
    al.remaining = 2;
    al.reset_date = "2027-03-15";
    al.n_history = 1;
    al.history = es;
    e.service_date = "2026-04-04";
    e.invoice_id = "inv-1";
    e.amount = 1;
    b = pack_message(&r.base, &a, &n);
    assert_non_null(b);
    back = allot__v1__get_allotments_response__unpack(NULL, n, b);
    assert_non_null(back);
    assert_string_equal(back->member_id, "m-1");
    assert_int_equal(back->n_allotments, 1);
    assert_int_equal(back->allotments[0]->remaining, 2);
    assert_string_equal(back->allotments[0]->reset_date, "2027-03-15");
    assert_int_equal(back->allotments[0]->n_history, 1);
    assert_string_equal(back->allotments[0]->history[0]->invoice_id, "inv-1");
    allot__v1__get_allotments_response__free_unpacked(back, NULL);
    allot_arena_release(&a);
}

/* Unknown fields (kept by protobuf-c when it decodes a newer client's
 * request) are left to protobuf-c: refused, never dropped. */
static void unknown_fields_are_refused(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    static const uint8_t wire[] = {0x0a, 0x03, 'm',  '-',
                                   '1',  0xf8, 0x06, 0x07}; /* 1: "m-1", 111: 7 */
    Allot__V1__GetAllotmentsRequest *req;
    Allot__V1__GetAllotmentsResponse outer = ALLOT__V1__GET_ALLOTMENTS_RESPONSE__INIT;
    size_t n;
    (void)state;

    req = allot__v1__get_allotments_request__unpack(NULL, sizeof wire, wire);
    assert_non_null(req);
    assert_int_equal(req->base.n_unknown_fields, 1);
    assert_null(pack_message(&req->base, &a, &n));
    allot__v1__get_allotments_request__free_unpacked(req, NULL);

    req = allot__v1__get_allotments_request__unpack(NULL, 5, wire);
    assert_non_null(req);
    assert_non_null(pack_message(&req->base, &a, &n));
    assert_int_equal(n, 5);
    allot__v1__get_allotments_request__free_unpacked(req, NULL);

    outer.member_id = "x";
    assert_non_null(pack_message(&outer.base, &a, &n));
    assert_int_equal(n, 3);
    allot_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_messages_pack_as_protobuf_c_does),
        cmocka_unit_test(into_a_buffer_fits_or_refuses),
        cmocka_unit_test(a_reply_decodes_to_what_was_packed),
        cmocka_unit_test(unknown_fields_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
