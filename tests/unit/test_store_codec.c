/* test_store_codec.c - the store's keys and records without LMDB: exact
 * layouts, round trips, and decoders fed truncated, mutated and random bytes
 * (each from a heap copy of exactly its size, so that the sanitizers and
 * valgrind catch a read past the end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

static const char *codes[] = {"97110", "97112"};

static struct allot_rule rules[] = {
    {.key = "pt",
     .codes = codes,
     .ncodes = 2,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 20,
     .period = {ALLOT_PERIOD_PLAN_YEAR, 7, 1, 0},
     .pool = ALLOT_POOL_HOUSEHOLD,
     .member_cap = 8,
     .has_overage_price = true,
     .overage_price = 9500,
     .payer = ALLOT_PAYER_SPONSOR,
     .thresholds = {70, 80, 90, 100},
     .nthresholds = 4},
    {.key = "labs",
     .codes = codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_AMOUNT,
     .unlimited = true,
     .period = {ALLOT_PERIOD_ROLLING_MONTHS, 0, 0, 36},
     .pool = ALLOT_POOL_MEMBER,
     .payer = ALLOT_PAYER_PATIENT,
     .nthresholds = 0},
};

static const struct allot_plan_version sample_version = {19723, rules, 2};

static struct allot_enrollment enrollments[] = {
    {"basic", -400, -1},
    {"family", 19723, ALLOT_DATE_NONE},
};

static const struct allot_member sample_member = {"m-1", enrollments, 2, 19782, "hh", "acme"};

/* Decodes the n bytes at p from a heap copy of exactly n bytes. */
enum kind { K_SERVICE, K_HEAD, K_VERSION, K_MEMBER };

static int decode(enum kind k, const void *p, size_t n, struct allot_arena *a)
{
    unsigned char *c = malloc(n ? n : 1);
    struct allot_service svc;
    struct allot_plan_version v;
    struct allot_member m;
    const char *name;
    uint32_t nv;
    int rc = ALLOT_EINVAL;

    assert_non_null(c);
    if (n)
        memcpy(c, p, n);
    switch (k) {
    case K_SERVICE:
        rc = allot__service_decode(c, n, "S", 1, a, &svc, NULL);
        break;
    case K_HEAD:
        rc = allot__plan_head_decode(c, n, a, &name, &nv, NULL);
        break;
    case K_VERSION:
        rc = allot__plan_version_decode(c, n, 19723, a, &v, NULL);
        break;
    case K_MEMBER:
        rc = allot__member_decode(c, n, "m", 1, a, &m, NULL);
        break;
    }
    free(c);
    return rc;
}

static void encode(enum kind k, struct allot__buf *b)
{
    struct allot_service svc = {"S", "Home visit", 15000};
    allot__buf_clear(b);
    switch (k) {
    case K_SERVICE:
        assert_int_equal(allot__service_encode(b, &svc), 0);
        break;
    case K_HEAD:
        assert_int_equal(allot__plan_head_encode(b, "Family", 3), 0);
        break;
    case K_VERSION:
        assert_int_equal(allot__plan_version_encode(b, &sample_version), 0);
        break;
    case K_MEMBER:
        assert_int_equal(allot__member_encode(b, &sample_member), 0);
        break;
    }
}

/* ------------------------------------------------------------------ keys */

static void keys_sort_by_value(void **state)
{
    struct allot__key a, b;
    static const allot_date dates[] = {ALLOT_DATE_MIN, -1, 0, 1, 19723, ALLOT_DATE_MAX,
                                       ALLOT_DATE_NONE};
    char lng[ALLOT_ID_MAX + 2];
    size_t i;
    (void)state;

    for (i = 0; i + 1 < sizeof dates / sizeof dates[0]; i++) {
        allot__key_init(&a);
        allot__key_init(&b);
        allot__key_date(&a, dates[i]);
        allot__key_date(&b, dates[i + 1]);
        assert_true(memcmp(a.b, b.b, 4) < 0);
        assert_int_equal(allot__key_get_date(a.b), dates[i]);
    }
    allot__key_init(&a);
    allot__key_date(&a, 0);
    assert_memory_equal(a.b, "\x80\x00\x00\x00", 4);

    /* "a" 00 ... sorts before "ab" 00 ..., whatever follows */
    allot__key_init(&a);
    allot__key_init(&b);
    assert_int_equal(allot__key_str(&a, "a"), 0);
    allot__key_date(&a, ALLOT_DATE_NONE);
    assert_int_equal(allot__key_str(&b, "ab"), 0);
    assert_true(memcmp(a.b, b.b, a.n < b.n ? a.n : b.n) < 0);
    assert_int_equal(allot__key_str_len(a.b, a.n), 1);
    assert_int_equal(allot__key_str_len((const unsigned char *)"abc", 3), -1);

    allot__key_init(&a);
    allot__key_u64(&a, UINT64_C(0x0102030405060708));
    assert_memory_equal(a.b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);

    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = 0;
    allot__key_init(&a);
    assert_int_equal(allot__key_str(&a, lng), ALLOT_EINVAL);
    assert_int_equal(a.n, 0);
    lng[ALLOT_ID_MAX] = 0;
    assert_int_equal(allot__key_str(&a, lng), 0);
    assert_int_equal(a.n, ALLOT_ID_MAX + 1);
}

/* --------------------------------------------------------------- layouts */

static void service_layout(void **state)
{
    struct allot__buf b;
    struct allot_service in = {"HV", "Visit", 15000}, out;
    struct allot_arena a = ALLOT_ARENA_INIT;
    (void)state;
    allot__buf_init(&b);
    assert_int_equal(allot__service_encode(&b, &in), 0);
    /* 01 | 05 "Visit" | 15000 (0x3a98) as LEB128: 98 75 */
    assert_int_equal(b.len, 1 + 1 + 5 + 2);
    assert_memory_equal(b.p, "\x01\x05Visit\x98\x75", b.len);
    assert_int_equal(allot__service_decode(b.p, b.len, "HV", 2, &a, &out, NULL), 0);
    assert_string_equal(out.code, "HV");
    assert_string_equal(out.name, "Visit");
    assert_int_equal(out.cash_price, 15000);
    allot__buf_release(&b);
    allot_arena_release(&a);
}

static void member_layout_and_order(void **state)
{
    struct allot__buf b;
    struct allot_enrollment e[2] = {{"b", 20, ALLOT_DATE_NONE}, {"a", -3, 5}};
    struct allot_member in = {"m", e, 2, ALLOT_DATE_NONE, "", "s"}, out;
    struct allot_arena a = ALLOT_ARENA_INIT;
    (void)state;
    allot__buf_init(&b);
    assert_int_equal(allot__member_encode(&b, &in), 0);
    /* 01 | svar NONE (fe ff ff ff 0f) | "" | "s" | 2
     *    | "a" svar -3 (05) svar 5 (0a) | "b" svar 20 (28) svar NONE */
    assert_int_equal(b.len, 22);
    assert_memory_equal(b.p,
                        "\x01\xfe\xff\xff\xff\x0f\x00\x01s\x02"
                        "\x01"
                        "a\x05\x0a"
                        "\x01"
                        "b\x28\xfe\xff\xff\xff\x0f",
                        b.len);
    assert_int_equal(allot__member_decode(b.p, b.len, "m", 1, &a, &out, NULL), 0);
    assert_string_equal(out.enrollments[0].plan_id, "a");
    assert_int_equal(out.enrollments[0].start, -3);
    assert_int_equal(out.enrollments[1].end, ALLOT_DATE_NONE);
    assert_int_equal(out.anniversary, ALLOT_DATE_NONE);
    assert_string_equal(out.household_id, "");
    assert_string_equal(out.sponsor_id, "s");
    allot__buf_release(&b);
    allot_arena_release(&a);
}

static void version_round_trip(void **state)
{
    struct allot__buf b, b2;
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot_plan_version out;
    uint32_t i;
    (void)state;
    allot__buf_init(&b);
    allot__buf_init(&b2);
    assert_int_equal(allot__plan_version_encode(&b, &sample_version), 0);
    assert_int_equal(allot__plan_version_decode(b.p, b.len, 19723, &a, &out, NULL), 0);
    assert_int_equal(out.effective_from, 19723);
    assert_int_equal(out.nrules, 2);
    assert_string_equal(out.rules[0].key, "pt");
    assert_int_equal(out.rules[0].ncodes, 2);
    assert_string_equal(out.rules[0].codes[1], "97112");
    assert_int_equal(out.rules[0].period.kind, ALLOT_PERIOD_PLAN_YEAR);
    assert_int_equal(out.rules[0].period.month, 7);
    assert_int_equal(out.rules[0].period.day, 1);
    assert_int_equal(out.rules[0].member_cap, 8);
    assert_int_equal(out.rules[0].overage_price, 9500);
    assert_int_equal(out.rules[0].payer, ALLOT_PAYER_SPONSOR);
    for (i = 0; i < 4; i++)
        assert_int_equal(out.rules[0].thresholds[i], rules[0].thresholds[i]);
    assert_true(out.rules[1].unlimited);
    assert_int_equal(out.rules[1].limit, ALLOT_LIMIT_AMOUNT);
    assert_int_equal(out.rules[1].period.count, 36);
    assert_int_equal(out.rules[1].nthresholds, 0);
    /* canonical: re-encoding the decoded version gives the same bytes */
    assert_int_equal(allot__plan_version_encode(&b2, &out), 0);
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.p, b.p, b.len);
    allot__buf_release(&b);
    allot__buf_release(&b2);
    allot_arena_release(&a);
}

/* ------------------------------------------------------------- bad bytes */

static void every_truncation_is_corrupt(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot__buf b;
    enum kind k;
    size_t n;
    (void)state;
    allot__buf_init(&b);
    for (k = K_SERVICE; k <= K_MEMBER; k++) {
        encode(k, &b);
        assert_int_equal(decode(k, b.p, b.len, &a), 0);
        for (n = 0; n < b.len; n++)
            if (decode(k, b.p, n, &a) != ALLOT_ECORRUPT)
                fail_msg("kind %d: a record cut to %zu of %zu bytes decoded", k, n, b.len);
        /* and a byte too many */
        unsigned char *longer = malloc(b.len + 1);
        assert_non_null(longer);
        memcpy(longer, b.p, b.len);
        longer[b.len] = 0;
        assert_int_equal(decode(k, longer, b.len + 1, &a), ALLOT_ECORRUPT);
        free(longer);
        allot_arena_reset(&a);
    }
    allot__buf_release(&b);
    allot_arena_release(&a);
}

static void every_byte_mutation_is_safe(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot__buf b;
    unsigned char *m;
    enum kind k;
    size_t i;
    int v, rc;
    (void)state;
    allot__buf_init(&b);
    for (k = K_SERVICE; k <= K_MEMBER; k++) {
        encode(k, &b);
        m = malloc(b.len);
        assert_non_null(m);
        for (i = 0; i < b.len; i++) {
            for (v = 0; v < 256; v++) {
                memcpy(m, b.p, b.len);
                m[i] = (unsigned char)v;
                rc = decode(k, m, b.len, &a);
                assert_true(rc == 0 || rc == ALLOT_ECORRUPT);
                allot_arena_reset(&a);
            }
        }
        free(m);
    }
    allot__buf_release(&b);
    allot_arena_release(&a);
}

static void random_bytes_are_safe(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    unsigned char buf[512];
    unsigned seed = 12345;
    int i, rc, ok = 0;
    size_t n, j;
    enum kind k;
    (void)state;
    for (i = 0; i < 40000; i++) {
        n = (size_t)(rand_r(&seed) % (sizeof buf + 1));
        for (j = 0; j < n; j++)
            buf[j] = (unsigned char)rand_r(&seed);
        if (n && (i & 1))
            buf[0] = ALLOT__RECORD_V1; /* get past the format byte */
        for (k = K_SERVICE; k <= K_MEMBER; k++) {
            rc = decode(k, buf, n, &a);
            assert_true(rc == 0 || rc == ALLOT_ECORRUPT);
            ok += rc == 0;
        }
        allot_arena_reset(&a);
    }
    allot_arena_release(&a);
    (void)ok;
}

static void specific_corruptions(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot_status st;
    struct allot_service svc;
    struct allot_member m;
    (void)state;
    /* unknown record format */
    assert_int_equal(allot__service_decode("\x02\x00\x00", 3, "S", 1, &a, &svc, &st),
                     ALLOT_ECORRUPT);
    assert_string_equal(st.msg, "service: unknown record format 2");
    /* a NUL inside a string */
    assert_int_equal(allot__service_decode("\x01\x02"
                                           "a\0"
                                           "\x00",
                                           5, "S", 1, &a, &svc, &st),
                     ALLOT_ECORRUPT);
    assert_string_equal(st.msg, "service.name: holds a NUL byte");
    /* a varint longer than 64 bits */
    assert_int_equal(allot__service_decode("\x01\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 12,
                                           "S", 1, &a, &svc, &st),
                     ALLOT_ECORRUPT);
    assert_string_equal(st.msg, "service.cash_price: varint overflows 64 bits");
    /* a price beyond ALLOT_MONEY_MAX (2^40 > 1e10) */
    assert_int_equal(
        allot__service_decode("\x01\x00\x80\x80\x80\x80\x80\x20", 8, "S", 1, &a, &svc, &st),
        ALLOT_ECORRUPT);
    /* a huge string length that would overflow a pointer sum */
    assert_int_equal(allot__service_decode("\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11, "S",
                                           1, &a, &svc, &st),
                     ALLOT_ECORRUPT);
    /* a date out of range in a member */
    assert_int_equal(
        allot__member_decode("\x01\x80\x80\x80\x80\x10\x00\x00\x00", 9, "m", 1, &a, &m, &st),
        ALLOT_ECORRUPT);
    assert_non_null(strstr(st.msg, "member.anniversary"));
    /* too many enrollments for the limit */
    assert_int_equal(allot__member_decode("\x01\x00\x00\x00\x41", 5, "m", 1, &a, &m, &st),
                     ALLOT_ECORRUPT);
    assert_string_equal(st.msg, "member.enrollments: 65 is out of range");
    allot_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_sort_by_value),
        cmocka_unit_test(service_layout),
        cmocka_unit_test(member_layout_and_order),
        cmocka_unit_test(version_round_trip),
        cmocka_unit_test(every_truncation_is_corrupt),
        cmocka_unit_test(every_byte_mutation_is_safe),
        cmocka_unit_test(random_bytes_are_safe),
        cmocka_unit_test(specific_corruptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
