/* test_audit.c - the store's audit trail (allot/audit.h): numbering,
 * paging, append-only, atomic with the write, and the upgrade of a schema
 * version 2 store. The raw LMDB API only forges a version 2 store. */
#include <ftw.h>
#include <lmdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "allot/audit.h"
#include "allot/store.h"

struct fx {
    char dir[64];
    char path[128];
    struct allot_store *s;
    struct allot_arena a;
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void open_fx(struct fx *f)
{
    struct allot_store_options o;
    struct allot_status st;
    memset(&o, 0, sizeof o);
    o.path = f->path;
    o.no_sync = true;
    if (allot_store_open(&f->s, &o, &st))
        fail_msg("open: %s", st.msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/allot-audit-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/data", f->dir);
    allot_arena_init(&f->a);
    open_fx(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    allot_store_close(f->s);
    allot_arena_release(&f->a);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

struct app {
    const char *text;
    uint64_t seq;
    int fail; /* returned after appending: the write aborts */
};

static int append_fn(struct allot_txn *t, void *arg)
{
    struct app *a = arg;
    int rc = allot_store_audit_append(t, (const uint8_t *)a->text, strlen(a->text), &a->seq);
    return rc ? rc : a->fail;
}

static uint64_t append(struct fx *f, const char *text, int fail)
{
    struct app a = {text, 0, fail};
    struct allot_status st;
    assert_int_equal(allot_store_write(f->s, append_fn, &a, &st), fail);
    return a.seq;
}

static size_t list(struct fx *f, uint64_t from, size_t limit, struct allot_audit_rec **out,
                   bool *more)
{
    struct allot_txn *t;
    size_t n = 0;
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_audit_list(t, from, limit, &f->a, out, &n, more), 0);
    allot_store_read_end(t);
    return n;
}

static void numbers_and_pages(void **state)
{
    struct fx *f = *state;
    struct allot_audit_rec *r;
    bool more;

    assert_int_equal(list(f, 0, 10, &r, &more), 0);
    assert_non_null(r);
    assert_false(more);
    assert_int_equal(append(f, "one", 0), 1);
    assert_int_equal(append(f, "two", 0), 2);
    assert_int_equal(append(f, "three", 0), 3);

    assert_int_equal(list(f, 0, 10, &r, &more), 3);
    assert_false(more);
    assert_int_equal(r[0].seq, 1);
    assert_int_equal(r[0].n, 3);
    assert_memory_equal(r[0].bytes, "one", 3);
    assert_int_equal(r[2].seq, 3);
    assert_memory_equal(r[2].bytes, "three", 5);
    assert_int_equal(list(f, 2, 1, &r, &more), 1);
    assert_int_equal(r[0].seq, 2);
    assert_true(more);
    assert_int_equal(list(f, 3, 1, &r, &more), 1);
    assert_false(more);
    assert_int_equal(list(f, 4, 10, &r, &more), 0);
    assert_false(more);
    assert_int_equal(list(f, 1, 0, &r, &more), 0);
    assert_true(more);
}

static void atomic_with_the_write_and_never_reused(void **state)
{
    struct fx *f = *state;
    struct allot_audit_rec *r;
    bool more;

    assert_int_equal(append(f, "a", 0), 1);
    /* a write that aborts leaves no record, and its number may be reused */
    assert_int_equal(append(f, "lost", ALLOT_EEXIST), 2);
    assert_int_equal(list(f, 0, 10, &r, &more), 1);
    assert_int_equal(append(f, "b", 0), 2);
    /* across a reopen the numbering goes on */
    allot_store_close(f->s);
    f->s = NULL;
    open_fx(f);
    assert_int_equal(append(f, "c", 0), 3);
    assert_int_equal(list(f, 0, 10, &r, &more), 3);
    assert_memory_equal(r[1].bytes, "b", 1);
}

static void bad_appends(void **state)
{
    struct fx *f = *state;
    struct allot_txn *t;
    uint8_t big[ALLOT_AUDIT_BYTES_MAX + 1];
    struct app a = {"", 0, 0};
    struct allot_status st;
    uint64_t seq = 99;

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_audit_append(t, (const uint8_t *)"x", 1, &seq), ALLOT_EINVAL);
    assert_int_equal(seq, 0);
    allot_store_read_end(t);
    /* empty record */
    assert_int_equal(allot_store_write(f->s, append_fn, &a, &st), ALLOT_EINVAL);
    memset(big, 'x', sizeof big);
    big[sizeof big - 1] = '\0';
    a.text = (const char *)big;
    assert_int_equal(allot_store_write(f->s, append_fn, &a, &st), 0); /* exactly the max */
    memset(big, 'x', sizeof big);
    {
        char *over = malloc(ALLOT_AUDIT_BYTES_MAX + 2);
        memset(over, 'y', ALLOT_AUDIT_BYTES_MAX + 1);
        over[ALLOT_AUDIT_BYTES_MAX + 1] = '\0';
        a.text = over;
        assert_int_equal(allot_store_write(f->s, append_fn, &a, &st), ALLOT_EINVAL);
        free(over);
    }
}

/* Makes the store look like schema version 2 left it: no audit database, no
 * counter, the version stamped 2. */
static void make_v2(const char *path, bool drop)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, audit;
    unsigned char b[4] = {2, 0, 0, 0};
    MDB_val k = {sizeof "schema_version", (void *)"schema_version"}, v = {4, b};
    MDB_val ck = {sizeof "audit_seq", (void *)"audit_seq"};

    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    assert_int_equal(mdb_put(txn, meta, &k, &v, 0), 0);
    if (drop) {
        assert_int_equal(mdb_dbi_open(txn, "audit", 0, &audit), 0);
        assert_int_equal(mdb_drop(txn, audit, 1), 0);
        assert_int_equal(mdb_del(txn, meta, &ck, NULL), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void upgrade_from_version_2(void **state)
{
    struct fx *f = *state;
    struct allot_audit_rec *r;
    bool more;

    assert_int_equal(allot_store_schema_version(f->s), 3);
    assert_int_equal(append(f, "before", 0), 1);
    allot_store_close(f->s);
    f->s = NULL;

    /* a version 2 store gets the database and counter */
    make_v2(f->path, true);
    open_fx(f);
    assert_int_equal(allot_store_schema_version(f->s), 3);
    assert_int_equal(list(f, 0, 10, &r, &more), 0);
    assert_int_equal(append(f, "after", 0), 1);
    assert_int_equal(append(f, "again", 0), 2);
    allot_store_close(f->s);
    f->s = NULL;

    /* an upgrade run again (stamped 2 by hand) keeps the numbering */
    make_v2(f->path, false);
    open_fx(f);
    assert_int_equal(append(f, "third", 0), 3);
    assert_int_equal(list(f, 0, 10, &r, &more), 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(numbers_and_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_with_the_write_and_never_reused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_from_version_2, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
