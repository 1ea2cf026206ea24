/* test_base.c - errors and arenas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "allot/arena.h"
#include "allot/err.h"

static void err_names_and_texts(void **state)
{
    (void)state;
    assert_string_equal(allot_err_name(ALLOT_ENOTFOUND), "ENOTFOUND");
    assert_string_equal(allot_strerror(ALLOT_EEXIST), "already exists");
    assert_string_equal(allot_strerror(12345), "unknown error");
    assert_string_equal(allot_err_name(-999), "EUNKNOWN");
}

static void status_set_formats_and_returns_code(void **state)
{
    struct allot_status st;
    (void)state;
    assert_int_equal(allot_status_set(&st, ALLOT_EINVAL, "%s[%d]: bad", "rules", 2), ALLOT_EINVAL);
    assert_int_equal(st.code, ALLOT_EINVAL);
    assert_string_equal(st.msg, "rules[2]: bad");
    allot_status_clear(&st);
    assert_int_equal(st.code, 0);
    assert_string_equal(st.msg, "");
    /* a NULL status is allowed and still returns the code */
    assert_int_equal(allot_status_set(NULL, ALLOT_EIO, "x"), ALLOT_EIO);
}

static void arena_aligns_zeroes_and_grows(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    unsigned char *p, *big;
    int i;
    (void)state;
    for (i = 0; i < 5000; i++) {
        p = allot_arena_alloc(&a, (size_t)(i % 37) + 1);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        assert_int_equal(p[0], 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    {
        struct allot__arena_chunk *head = a.head;
        size_t used = a.used;
        big = allot_arena_alloc(&a, 100000); /* larger than a chunk */
        assert_non_null(big);
        assert_int_equal(big[99999], 0);
        /* the head chunk keeps serving small requests */
        assert_ptr_equal(a.head, head);
        assert_int_equal(a.used, used);
        p = allot_arena_alloc(&a, 16);
        assert_ptr_equal(a.head, head);
    }
    allot_arena_reset(&a);
    assert_int_equal(a.total, 0);
    p = allot_arena_alloc(&a, 8);
    assert_non_null(p);
    allot_arena_release(&a);
    assert_null(a.head);
}

/* alloc_raw hands out the same aligned bump memory as alloc without
 * zeroing it; alloc zeroes even memory a reset arena hands out again. */
static void arena_raw_allocations_share_chunks_unzeroed(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    unsigned char *p, *q, *big;
    int i;
    (void)state;
    p = allot_arena_alloc_raw(&a, 40);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 16, 0);
    memset(p, 0xab, 40);
    q = allot_arena_alloc_raw(&a, 3);
    assert_ptr_equal(q, p + 48); /* 40 rounded up to 16 */
    allot_arena_reset(&a);
    q = allot_arena_alloc(&a, 40);
    assert_ptr_equal(q, p); /* the kept chunk, written 0xab above */
    for (i = 0; i < 40; i++)
        assert_int_equal(q[i], 0);
    big = allot_arena_alloc_raw(&a, 100000);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 16, 0);
    assert_ptr_equal(allot_arena_alloc_raw(&a, 1), p + 48); /* the head still serves */
    allot_arena_release(&a);
}

/* reserve makes one chunk that later allocations use (and reset keeps),
 * and the memory it hands out is still zeroed. */
static void arena_reserve_serves_later_allocations(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot__arena_chunk *first;
    unsigned char *p;
    size_t i;
    (void)state;
    assert_int_equal(allot_arena_reserve(&a, 100000), 0);
    first = a.head;
    assert_non_null(first);
    assert_int_equal(a.total, 0);
    p = allot_arena_alloc(&a, 60000);
    assert_ptr_equal(a.head, first); /* no new chunk for what fits */
    for (i = 0; i < 60000; i++)
        assert_int_equal(p[i], 0);
    memset(p, 0xab, 60000);
    assert_int_equal(allot_arena_reserve(&a, 30000), 0); /* fits: nothing new */
    assert_ptr_equal(a.head, first);
    allot_arena_reset(&a);
    assert_ptr_equal(a.head, first); /* kept for the next round */
    p = allot_arena_alloc(&a, 60000);
    assert_ptr_equal(a.head, first);
    for (i = 0; i < 60000; i++)
        assert_int_equal(p[i], 0); /* reused memory is zeroed again */
    assert_int_equal(allot_arena_reserve(&a, 50000), 0); /* does not fit: a new chunk */
    assert_ptr_not_equal(a.head, first);
    allot_arena_release(&a);
}

static void arena_strndup_copies_and_terminates(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    char *s;
    (void)state;
    s = allot_arena_strndup(&a, "home-visits-xyz", 11);
    assert_string_equal(s, "home-visits");
    s = allot_arena_strdup(&a, "");
    assert_string_equal(s, "");
    allot_arena_release(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_names_and_texts),
        cmocka_unit_test(status_set_formats_and_returns_code),
        cmocka_unit_test(arena_aligns_zeroes_and_grows),
        cmocka_unit_test(arena_raw_allocations_share_chunks_unzeroed),
        cmocka_unit_test(arena_reserve_serves_later_allocations),
        cmocka_unit_test(arena_strndup_copies_and_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
