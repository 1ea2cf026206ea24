/* test_ledger.c - the usage ledger against a real LMDB environment in a
 * temporary directory: entries and day totals, range boundaries, household
 * and member pools, reversals, history, invoices, usage records, events,
 * the engine's source binding, verify (after a long random workload checked
 * against an in-memory model, and against forged damage), map growth,
 * nested rollback, and the upgrade of a version 1 store.
 *
 * Test bodies that write run inside allot_store_write's fn; store_int.h is
 * included only to reach the raw transaction when forging damage or
 * counting rows (layouts: the essay in src/store/store.c). */
#include <errno.h>
#include <ftw.h>
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

#include "allot/date.h"
#include "allot/ledger.h"
#include "allot/store.h"
#include "store_int.h"

/* ---------------------------------------------------------------- fixture */

struct fx {
    char dir[64];
    char path[128];
    struct allot_store *s;
    struct allot_arena a;
    void *arg; /* per test */
    int calls; /* how often a write body ran */
};

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int open_store(struct fx *f, size_t map_size, struct allot_status *st)
{
    struct allot_store_options o;
    memset(&o, 0, sizeof o);
    o.path = f->path;
    o.map_size = map_size;
    o.no_sync = true;
    return allot_store_open(&f->s, &o, st);
}

static int setup_dir(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/allot-ledger-XXXXXX");
    if (!mkdtemp(f->dir)) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/data", f->dir);
    allot_arena_init(&f->a);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    struct allot_status st;
    if (setup_dir(state))
        return -1;
    if (open_store(*state, 0, &st)) {
        fprintf(stderr, "open: %s\n", st.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    allot_store_close(f->s);
    allot_arena_release(&f->a);
    rm_tree(f->dir);
    free(f);
    return 0;
}

static allot_date D(const char *s)
{
    allot_date d = 0;
    assert_int_equal(allot_date_parse(s, &d), 0);
    return d;
}

/* Bodies: a test's steps, run in a write or a read transaction. */
typedef void (*body_fn)(struct fx *f, struct allot_txn *t);
struct body {
    struct fx *f;
    body_fn fn;
};

static int run_body(struct allot_txn *t, void *arg)
{
    struct body *b = arg;
    b->f->calls++;
    b->fn(b->f, t);
    return 0;
}

static void in_write(struct fx *f, body_fn fn)
{
    struct body b = {f, fn};
    struct allot_status st;
    int rc = allot_store_write(f->s, run_body, &b, &st);
    if (rc)
        fail_msg("write: %s", st.msg);
}

static void in_read(struct fx *f, body_fn fn)
{
    struct allot_txn *t;
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    fn(f, t);
    allot_store_read_end(t);
}

/* ---------------------------------------------------------------- helpers */

#define MEMBER ALLOT_POOL_MEMBER
#define HOUSE ALLOT_POOL_HOUSEHOLD

static uint64_t add_src(struct allot_txn *t, enum allot_pool_kind kind, const char *pool,
                        const char *rule, const char *member, allot_date date, int64_t amount,
                        enum allot_source_kind src, const char *inv, const char *line,
                        const char *usage)
{
    struct allot_draw d = {{kind, pool}, rule, member, date, amount};
    uint64_t seq = 0;
    assert_int_equal(allot_ledger_append(t, &d, src, inv, line, usage, &seq), 0);
    assert_true(seq > 0);
    return seq;
}

static uint64_t add(struct allot_txn *t, enum allot_pool_kind kind, const char *pool,
                    const char *rule, const char *member, const char *date, int64_t amount)
{
    return add_src(t, kind, pool, rule, member, D(date), amount, ALLOT_SOURCE_ADJUSTMENT, "", "",
                   "");
}

static int64_t sumd(struct allot_txn *t, enum allot_pool_kind kind, const char *pool,
                    const char *rule, const char *member, allot_date from, allot_date to)
{
    struct allot_pool_ref p = {kind, pool};
    int64_t v = -1;
    assert_int_equal(allot_ledger_sum(t, &p, rule, member, from, to, &v), 0);
    return v;
}

static int64_t sum(struct allot_txn *t, enum allot_pool_kind kind, const char *pool,
                   const char *rule, const char *member, const char *from, const char *to)
{
    return sumd(t, kind, pool, rule, member, D(from), D(to));
}

struct days {
    allot_date d[64];
    int64_t a[64];
    int n;
    int stop_after;      /* return 7 after this many days; 0 = never */
    struct allot_txn *t; /* when set, read through t inside the callback */
};

static int collect(void *arg, allot_date day, int64_t amount)
{
    struct days *c = arg;
    assert_true(c->n < 64);
    c->d[c->n] = day;
    c->a[c->n++] = amount;
    if (c->t) {
        /* move the shared usage_days cursor somewhere else entirely */
        struct allot_pool_ref p = {MEMBER, "zz-elsewhere"};
        int64_t v;
        assert_int_equal(allot_ledger_sum(c->t, &p, "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE, &v),
                         0);
    }
    return c->stop_after && c->n == c->stop_after ? 7 : 0;
}

static struct days each(struct allot_txn *t, enum allot_pool_kind kind, const char *pool,
                        const char *rule, const char *member, allot_date from, allot_date to)
{
    struct allot_pool_ref p = {kind, pool};
    struct days c;
    memset(&c, 0, sizeof c);
    assert_int_equal(allot_ledger_each_day(t, &p, rule, member, from, to, collect, &c), 0);
    return c;
}

static size_t rows(struct allot_txn *t, enum allot__db db)
{
    MDB_stat ms;
    assert_int_equal(mdb_stat(t->txn, t->s->dbi[db], &ms), 0);
    return ms.ms_entries;
}

static void verify_ok(struct allot_txn *t, uint64_t want_entries)
{
    struct allot_status st;
    uint64_t n = 0;
    allot_status_clear(&st);
    if (allot_ledger_verify(t, &n, &st))
        fail_msg("verify: %s", st.msg);
    assert_int_equal(n, want_entries);
}

static void verify_fails(struct allot_txn *t, const char *needle)
{
    struct allot_status st;
    allot_status_clear(&st);
    assert_int_equal(allot_ledger_verify(t, NULL, &st), ALLOT_ECORRUPT);
    assert_int_equal(st.code, ALLOT_ECORRUPT);
    if (!strstr(st.msg, needle))
        fail_msg("verify said \"%s\"; expected \"%s\" in it", st.msg, needle);
}

/* ------------------------------------------------ sums and day boundaries */

static void ranges_write(struct fx *f, struct allot_txn *t)
{
    add(t, MEMBER, "m", "r", "m", "2025-01-01", 1);
    add(t, MEMBER, "m", "r", "m", "2025-03-15", 2);
    add(t, MEMBER, "m", "r", NULL, "2025-03-15", 3); /* NULL member: the pool's */
    add(t, MEMBER, "m", "r", "m", "2025-12-31", 4);
    add(t, MEMBER, "m", "r", "m", "2026-01-01", 8);
    add(t, MEMBER, "m", "r", "m", "1960-06-01", 16); /* a negative day number */
    /* neighbours that must not leak in: longer rule key and pool id,
     * another kind of pool with the same id */
    add(t, MEMBER, "m", "rr", "m", "2025-03-15", 100);
    add(t, MEMBER, "m2", "r", "m2", "2025-03-15", 200);
    add(t, HOUSE, "m", "r", "m", "2025-03-15", 400);
}

static void ranges_read(struct fx *f, struct allot_txn *t)
{
    struct days c;
    /* [from, to): from inclusive, to exclusive */
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-01", "2026-01-01"), 1 + 5 + 4);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-02", "2026-01-01"), 5 + 4);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-01", "2025-12-31"), 1 + 5);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-03-15", "2025-03-16"), 5);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-03-15", "2025-03-15"), 0);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-03-16", "2025-03-15"), 0);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-03-16", "2025-12-31"), 0);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "1960-06-01", "1960-06-02"), 16);
    /* lifetime */
    assert_int_equal(sumd(t, MEMBER, "m", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 34);
    assert_int_equal(sumd(t, MEMBER, "m", "r", NULL, INT32_MIN, ALLOT_DATE_NONE), 34);
    assert_int_equal(sumd(t, MEMBER, "m", "r", NULL, D("2025-12-31"), ALLOT_DATE_NONE), 12);
    /* the member filter on a MEMBER pool is the pool itself */
    assert_int_equal(sumd(t, MEMBER, "m", "r", "m", ALLOT_DATE_MIN, ALLOT_DATE_NONE), 34);
    assert_int_equal(sumd(t, MEMBER, "m", "r", "x", ALLOT_DATE_MIN, ALLOT_DATE_NONE), 0);
    /* neighbours */
    assert_int_equal(sumd(t, MEMBER, "m", "rr", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 100);
    assert_int_equal(sumd(t, MEMBER, "m2", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 200);
    assert_int_equal(sumd(t, HOUSE, "m", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 400);
    assert_int_equal(sumd(t, MEMBER, "nobody", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 0);

    /* each_day: ascending, one call per day with the day's total */
    c = each(t, MEMBER, "m", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE);
    assert_int_equal(c.n, 5);
    assert_int_equal(c.d[0], D("1960-06-01"));
    assert_int_equal(c.a[0], 16);
    assert_int_equal(c.d[2], D("2025-03-15"));
    assert_int_equal(c.a[2], 5);
    assert_int_equal(c.d[4], D("2026-01-01"));
    c = each(t, MEMBER, "m", "r", NULL, D("2025-01-01"), D("2025-12-31"));
    assert_int_equal(c.n, 2);
    assert_int_equal(c.d[1], D("2025-03-15"));
    c = each(t, MEMBER, "m", "r", NULL, D("2025-01-02"), D("2025-01-02"));
    assert_int_equal(c.n, 0);
    c = each(t, MEMBER, "m", "r", "x", ALLOT_DATE_MIN, ALLOT_DATE_NONE);
    assert_int_equal(c.n, 0);

    /* early stop returns fn's value */
    {
        struct allot_pool_ref p = {MEMBER, "m"};
        struct days s;
        memset(&s, 0, sizeof s);
        s.stop_after = 2;
        assert_int_equal(
            allot_ledger_each_day(t, &p, "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE, collect, &s),
            7);
        assert_int_equal(s.n, 2);
        /* a callback that reads through t (moving the shared cursor) does
         * not disturb the walk */
        memset(&s, 0, sizeof s);
        s.t = t;
        assert_int_equal(
            allot_ledger_each_day(t, &p, "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE, collect, &s),
            0);
        assert_int_equal(s.n, 5);
        assert_int_equal(s.d[4], D("2026-01-01"));
    }
    (void)f;
}

static void sums_and_days_across_ranges(void **state)
{
    struct fx *f = *state;
    in_write(f, ranges_write);
    in_write(f, ranges_read); /* a write transaction sees its own writes too */
    in_read(f, ranges_read);
}

/* ----------------------------------------------------- household pools */

static void household_write(struct fx *f, struct allot_txn *t)
{
    add(t, HOUSE, "h", "pt", "a", "2025-02-01", 3);
    add(t, HOUSE, "h", "pt", "b", "2025-02-01", 4);
    add(t, HOUSE, "h", "pt", "a", "2025-05-01", 5);
    add(t, HOUSE, "h", "pt", "c", "2024-12-31", 6);
    (void)f;
}

static void household_read(struct fx *f, struct allot_txn *t)
{
    struct days c;
    struct allot_draw d = {{HOUSE, "h"}, "pt", NULL, D("2025-01-01"), 1};

    assert_int_equal(sum(t, HOUSE, "h", "pt", NULL, "2025-01-01", "2026-01-01"), 12);
    assert_int_equal(sum(t, HOUSE, "h", "pt", "a", "2025-01-01", "2026-01-01"), 8);
    assert_int_equal(sum(t, HOUSE, "h", "pt", "b", "2025-01-01", "2026-01-01"), 4);
    assert_int_equal(sum(t, HOUSE, "h", "pt", "c", "2025-01-01", "2026-01-01"), 0);
    assert_int_equal(sumd(t, HOUSE, "h", "pt", "c", ALLOT_DATE_MIN, ALLOT_DATE_NONE), 6);
    c = each(t, HOUSE, "h", "pt", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.a[1], 7); /* a and b on 2025-02-01 */
    c = each(t, HOUSE, "h", "pt", "a", ALLOT_DATE_MIN, ALLOT_DATE_NONE);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.a[0], 3);
    assert_int_equal(c.a[1], 5);
    /* rows: 3 pool days + 4 member days */
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 7);
    /* a household draw needs its member */
    if (t->write)
        assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_PRIOR, "", "", "", NULL),
                         ALLOT_EINVAL);
    (void)f;
}

static void household_pools_keep_member_totals(void **state)
{
    struct fx *f = *state;
    in_write(f, household_write);
    in_write(f, household_read);
    in_read(f, household_read);
}

static void member_pool_rows(struct fx *f, struct allot_txn *t)
{
    struct allot_draw d = {{MEMBER, "m"}, "r", "other", D("2025-01-01"), 1};
    add(t, MEMBER, "m", "r", "m", "2025-01-01", 2);
    /* a MEMBER pool keeps only the pool's row: its one member is the pool */
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 1);
    /* and is drawn on for no one else */
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_PRIOR, "", "", "", NULL),
                     ALLOT_EINVAL);
    /* the household of one with the same id is another pool */
    add(t, HOUSE, "m", "r", "m", "2025-01-01", 5);
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 3);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-01", "2025-01-02"), 2);
    assert_int_equal(sum(t, MEMBER, "m", "r", "m", "2025-01-01", "2025-01-02"), 2);
    assert_int_equal(sum(t, HOUSE, "m", "r", NULL, "2025-01-01", "2025-01-02"), 5);
    assert_int_equal(sum(t, HOUSE, "m", "r", "m", "2025-01-01", "2025-01-02"), 5);
    verify_ok(t, 2);
    (void)f;
}

static void member_and_household_pools_differ(void **state)
{
    in_write(*state, member_pool_rows);
}

/* ------------------------------------------------------------- reversals */

static void reversal_body(struct fx *f, struct allot_txn *t)
{
    struct allot_entry e, r;
    uint64_t a, b, c;

    a = add_src(t, HOUSE, "h", "pt", "a", D("2025-02-01"), 3, ALLOT_SOURCE_INVOICE, "inv1", "1",
                "");
    b = add(t, HOUSE, "h", "pt", "b", "2025-02-01", 4);
    c = add(t, HOUSE, "h", "pt", "a", "2025-02-02", 5);
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 5);

    assert_int_equal(allot_ledger_reverse(t, a), 0);
    assert_int_equal(sum(t, HOUSE, "h", "pt", NULL, "2025-01-01", "2026-01-01"), 9);
    assert_int_equal(sum(t, HOUSE, "h", "pt", "a", "2025-01-01", "2026-01-01"), 5);
    /* a's member row for 2025-02-01 returned to 0 and is gone */
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 4);

    /* the reversal is an entry of its own; the original is marked */
    assert_int_equal(allot_ledger_get_entry(t, c + 1, &f->a, &r), 0);
    assert_true(r.reversal);
    assert_int_equal(r.reverses, a);
    assert_int_equal(r.draw.amount, -3);
    assert_int_equal(r.draw.pool.kind, HOUSE);
    assert_string_equal(r.draw.pool.id, "h");
    assert_string_equal(r.draw.member_id, "a");
    assert_int_equal(r.draw.date, D("2025-02-01"));
    assert_int_equal(r.source, ALLOT_SOURCE_INVOICE);
    assert_string_equal(r.invoice_id, "inv1");
    assert_string_equal(r.line_id, "1");
    assert_string_equal(r.usage_id, "");
    assert_int_equal(allot_ledger_get_entry(t, a, &f->a, &e), 0);
    assert_true(e.reversed);
    assert_false(e.reversal);
    assert_int_equal(e.reversed_by, c + 1);
    assert_int_equal(e.draw.amount, 3);

    /* twice, a reversal, nothing */
    assert_int_equal(allot_ledger_reverse(t, a), ALLOT_EEXIST);
    assert_int_equal(allot_ledger_reverse(t, c + 1), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_reverse(t, c + 100), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_reverse(t, 0), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_get_entry(t, c + 100, &f->a, &e), ALLOT_ENOTFOUND);

    /* reversing everything leaves no day rows at all */
    assert_int_equal(allot_ledger_reverse(t, b), 0);
    assert_int_equal(allot_ledger_reverse(t, c), 0);
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 0);
    assert_int_equal(rows(t, ALLOT__DB_HISTORY), 0);
    assert_int_equal(rows(t, ALLOT__DB_LEDGER), 6);
    assert_int_equal(sumd(t, HOUSE, "h", "pt", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE), 0);
    verify_ok(t, 6);
}

static void reversal_read(struct fx *f, struct allot_txn *t)
{
    assert_int_equal(allot_ledger_reverse(t, 1), ALLOT_EINVAL); /* read transaction */
    verify_ok(t, 6);
    (void)f;
}

static void reversals_restore_totals_once(void **state)
{
    in_write(*state, reversal_body);
    in_read(*state, reversal_read);
}

/* ---------------------------------------------------------------- history */

static void history_body(struct fx *f, struct allot_txn *t)
{
    struct allot_entry *h;
    size_t n;
    uint64_t s1, s2, s3, s4;

    s1 = add(t, MEMBER, "m", "r", "m", "2025-06-01", 1);
    s2 = add(t, MEMBER, "m", "r", "m", "2025-02-01", 2); /* back-dated */
    s3 = add(t, HOUSE, "h", "r", "m", "2025-06-01", 3);  /* same day, other pool */
    s4 = add(t, MEMBER, "m", "r", "m", "2026-01-01", 4);
    add(t, MEMBER, "m", "r2", "m", "2025-06-01", 5); /* other rule */
    add(t, HOUSE, "h", "r", "mm", "2025-06-01", 6);  /* other member */
    add(t, MEMBER, "m", "r", "m", "2024-12-31", 7);

    assert_int_equal(
        allot_ledger_history(t, "m", "r", D("2025-01-01"), D("2026-01-01"), &f->a, &h, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(h[0].seq, s2); /* by date, then seq */
    assert_int_equal(h[1].seq, s1);
    assert_int_equal(h[2].seq, s3);
    assert_int_equal(h[2].draw.pool.kind, HOUSE);
    assert_string_equal(h[2].draw.pool.id, "h");
    assert_int_equal(h[2].draw.amount, 3);
    assert_int_equal(h[0].draw.date, D("2025-02-01"));
    assert_int_equal(h[0].source, ALLOT_SOURCE_ADJUSTMENT);

    /* to is exclusive, from inclusive */
    assert_int_equal(
        allot_ledger_history(t, "m", "r", D("2025-06-01"), D("2026-01-02"), &f->a, &h, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(h[2].seq, s4);
    assert_int_equal(
        allot_ledger_history(t, "m", "r", ALLOT_DATE_MIN, ALLOT_DATE_NONE, &f->a, &h, &n), 0);
    assert_int_equal(n, 5);
    assert_int_equal(
        allot_ledger_history(t, "m", "r", D("2025-03-01"), D("2025-03-01"), &f->a, &h, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(h);
    assert_int_equal(
        allot_ledger_history(t, "nobody", "r", ALLOT_DATE_MIN, ALLOT_DATE_NONE, &f->a, &h, &n), 0);
    assert_int_equal(n, 0);

    /* a reversed entry leaves the history */
    assert_int_equal(allot_ledger_reverse(t, s1), 0);
    assert_int_equal(
        allot_ledger_history(t, "m", "r", D("2025-01-01"), D("2026-01-01"), &f->a, &h, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(h[0].seq, s2);
    assert_int_equal(h[1].seq, s3);
    verify_ok(t, 8);
}

static void history_is_by_date_and_drops_reversed(void **state)
{
    in_write(*state, history_body);
}

/* Several rules in one pass: each query gets exactly its rule's entries in
 * its own range, whatever the other queries ask (a key that is a prefix of
 * another, a key asked twice, a key with no rows, another member whose id
 * starts with this one's). */
static void histories_body(struct fx *f, struct allot_txn *t)
{
    struct allot_history_query q[5] = {
        {"r2", ALLOT_DATE_MIN, ALLOT_DATE_NONE, NULL, 0},
        {"r", D("2025-01-01"), D("2026-01-01"), NULL, 0},
        {"none", ALLOT_DATE_MIN, ALLOT_DATE_NONE, NULL, 0},
        {"r", D("2026-01-01"), D("2026-01-02"), NULL, 0},
        {"r", D("2025-03-01"), D("2025-03-01"), NULL, 0},
    };
    uint64_t s1, s2, s3, s4, s5;

    s1 = add(t, MEMBER, "m", "r", "m", "2025-06-01", 1);
    s2 = add(t, MEMBER, "m", "r", "m", "2025-02-01", 2);
    s3 = add(t, MEMBER, "m", "r2", "m", "2024-06-01", 3);
    s4 = add(t, MEMBER, "m", "r", "m", "2026-01-01", 4);
    add(t, MEMBER, "mm", "r", "mm", "2025-06-01", 5); /* another member */
    add(t, MEMBER, "m", "r", "m", "2024-12-31", 6);   /* before q[1] */
    s5 = add(t, MEMBER, "m", "r2", "m", "2025-07-01", 7);

    assert_int_equal(allot_ledger_histories(t, "m", q, 5, &f->a), 0);
    assert_int_equal(q[0].n, 2);
    assert_int_equal(q[0].entries[0].seq, s3);
    assert_int_equal(q[0].entries[1].seq, s5);
    assert_string_equal(q[0].entries[1].draw.rule_key, "r2");
    assert_int_equal(q[1].n, 2);
    assert_int_equal(q[1].entries[0].seq, s2);
    assert_int_equal(q[1].entries[1].seq, s1);
    assert_int_equal(q[1].entries[1].draw.amount, 1);
    assert_int_equal(q[2].n, 0);
    assert_non_null(q[2].entries);
    assert_int_equal(q[3].n, 1);
    assert_int_equal(q[3].entries[0].seq, s4);
    assert_int_equal(q[4].n, 0);
    assert_non_null(q[4].entries);

    /* no queries; a reversed entry leaves every answer */
    assert_int_equal(allot_ledger_histories(t, "m", q, 0, &f->a), 0);
    assert_int_equal(allot_ledger_reverse(t, s5), 0);
    assert_int_equal(allot_ledger_histories(t, "m", q, 2, &f->a), 0);
    assert_int_equal(q[0].n, 1);
    assert_int_equal(q[0].entries[0].seq, s3);
    assert_int_equal(q[1].n, 2);

    q[2].rule_key = NULL;
    assert_int_equal(allot_ledger_histories(t, "m", q, 3, &f->a), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_histories(t, NULL, q, 1, &f->a), ALLOT_EINVAL);
    verify_ok(t, 8);
}

static void histories_answer_every_rule_in_one_pass(void **state)
{
    in_write(*state, histories_body);
}

/* --------------------------------------------------------------- invoices */

static const uint8_t req_bytes[] = {1, 2, 3, 0, 4};

static void invoice_put(struct fx *f, struct allot_txn *t)
{
    static uint64_t e1[2], e2[1], e3[1];
    static struct allot_invoice_line_rec lines[3];
    struct allot_invoice_rec r;
    static uint8_t answer[300 * 1024];
    size_t i;

    for (i = 0; i < sizeof answer; i++)
        answer[i] = (uint8_t)(i * 7);
    e1[0] = add_src(t, MEMBER, "m", "visits", "m", D("2025-03-01"), 1, ALLOT_SOURCE_INVOICE, "inv",
                    "L1", "");
    e1[1] = add_src(t, HOUSE, "h", "money", "m", D("2025-03-01"), 15000, ALLOT_SOURCE_INVOICE,
                    "inv", "L1", "");
    e2[0] = add_src(t, MEMBER, "m", "visits", "m", D("2025-03-02"), 2, ALLOT_SOURCE_INVOICE, "inv",
                    "L2", "");
    e3[0] = add_src(t, MEMBER, "m", "visits", "m", D("2025-03-03"), 1, ALLOT_SOURCE_INVOICE, "inv",
                    "L3", "");
    lines[0] = (struct allot_invoice_line_rec){"L1", false, e1, 2};
    lines[1] = (struct allot_invoice_line_rec){"L2", false, e2, 1};
    lines[2] = (struct allot_invoice_line_rec){"L3", false, e3, 1};
    lines[2].entries = e3;
    r = (struct allot_invoice_rec){"inv",  "m",           req_bytes, sizeof req_bytes,
                                   answer, sizeof answer, lines,     3};
    assert_int_equal(allot_ledger_put_invoice(t, &r), 0);
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EEXIST);

    /* what cannot be stored */
    r.invoice_id = "inv-b";
    lines[1].line_id = "L1";
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EINVAL); /* duplicate line id */
    lines[1].line_id = "L2";
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EINVAL); /* entries of "inv" */
    r.invoice_id = "";
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EINVAL);
    r.invoice_id = "inv-c";
    r.nlines = 0;
    r.member_id = "";
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EINVAL);
    r.member_id = "m";
    assert_int_equal(allot_ledger_put_invoice(t, &r), 0); /* no lines, no entries: fine */
    {
        uint64_t missing = 999;
        struct allot_invoice_line_rec l = {"x", false, &missing, 1};
        struct allot_invoice_rec r2 = {"inv-d", "m", NULL, 0, NULL, 0, &l, 1};
        assert_int_equal(allot_ledger_put_invoice(t, &r2), ALLOT_EINVAL);
        l.nentries = ALLOT_LINE_ENTRIES_MAX + 1;
        assert_int_equal(allot_ledger_put_invoice(t, &r2), ALLOT_EINVAL);
    }
    (void)f;
}

static void invoice_get(struct fx *f, struct allot_txn *t)
{
    struct allot_invoice_rec r;
    size_t i;

    assert_int_equal(allot_ledger_get_invoice(t, "inv", &f->a, &r), 0);
    assert_string_equal(r.invoice_id, "inv");
    assert_string_equal(r.member_id, "m");
    assert_int_equal(r.request_len, sizeof req_bytes);
    assert_memory_equal(r.request, req_bytes, sizeof req_bytes);
    assert_int_equal(r.answer_len, 300 * 1024);
    for (i = 0; i < r.answer_len; i++)
        if (r.answer[i] != (uint8_t)(i * 7))
            fail_msg("answer byte %zu", i);
    assert_int_equal(r.nlines, 3);
    assert_string_equal(r.lines[0].line_id, "L1");
    assert_int_equal(r.lines[0].nentries, 2);
    assert_int_equal(r.lines[0].entries[0], 1);
    assert_int_equal(r.lines[0].entries[1], 2);
    assert_string_equal(r.lines[2].line_id, "L3");
    assert_int_equal(r.lines[2].entries[0], 4);
    assert_false(r.lines[0].voided);
    assert_int_equal(allot_ledger_get_invoice(t, "nope", &f->a, &r), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_get_invoice(t, "", &f->a, &r), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_get_invoice(t, "inv-c", &f->a, &r), 0);
    assert_int_equal(r.nlines, 0);
    assert_int_equal(r.request_len, sizeof req_bytes);
}

static void invoice_void(struct fx *f, struct allot_txn *t)
{
    struct allot_invoice_rec r;
    const char **ids;
    uint32_t n;

    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2025-01-01", "2026-01-01"), 4);
    /* one line */
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "L1", &f->a, &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "L1");
    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2025-01-01", "2026-01-01"), 3);
    assert_int_equal(sum(t, HOUSE, "h", "money", "m", "2025-01-01", "2026-01-01"), 0);
    /* the same line again: a success that changes nothing */
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "L1", &f->a, &ids, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(ids);
    /* unknown line, unknown invoice: nothing changes */
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "L9", &f->a, &ids, &n), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_void_invoice(t, "nope", "", &f->a, &ids, &n), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_void_invoice(t, "nope", "L1", &f->a, &ids, &n), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_invoice_exists(t, "nope"), ALLOT_ENOTFOUND); /* which one */
    assert_int_equal(allot_ledger_invoice_exists(t, "inv"), 0);
    assert_int_equal(allot_ledger_invoice_exists(t, ""), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_void_invoice(t, "", "", &f->a, &ids, &n), ALLOT_ENOTFOUND);
    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2025-01-01", "2026-01-01"), 3);
    /* the whole invoice: the lines not voided yet */
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "", &f->a, &ids, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], "L2");
    assert_string_equal(ids[1], "L3");
    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2025-01-01", "2026-01-01"), 0);
    assert_int_equal(allot_ledger_void_invoice(t, "inv", NULL, &f->a, NULL, NULL), 0);
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "", &f->a, &ids, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "L2", &f->a, &ids, &n), 0);
    assert_int_equal(n, 0);

    assert_int_equal(allot_ledger_get_invoice(t, "inv", &f->a, &r), 0);
    assert_true(r.lines[0].voided && r.lines[1].voided && r.lines[2].voided);
    assert_int_equal(r.answer_len, 300 * 1024); /* the answer is kept */
    assert_int_equal(rows(t, ALLOT__DB_LEDGER), 8);
    verify_ok(t, 8);
}

static void invoice_void_read(struct fx *f, struct allot_txn *t)
{
    uint32_t n;
    assert_int_equal(allot_ledger_void_invoice(t, "inv", "", &f->a, NULL, &n), ALLOT_EINVAL);
    verify_ok(t, 8);
}

static void invoices_put_get_void(void **state)
{
    struct fx *f = *state;
    in_write(f, invoice_put);
    in_read(f, invoice_get);
    in_write(f, invoice_void);
    in_read(f, invoice_void_read);
}

/* A line whose entry was reversed behind the invoice's back is still voided
 * (the goal is reached); verify reports the disagreement before. */
static void invoice_stray_reversal(struct fx *f, struct allot_txn *t)
{
    uint64_t e = add_src(t, MEMBER, "m", "visits", "m", D("2025-03-01"), 1, ALLOT_SOURCE_INVOICE,
                         "i2", "1", "");
    struct allot_invoice_line_rec l = {"1", false, &e, 1};
    struct allot_invoice_rec r = {"i2", "m", NULL, 0, NULL, 0, &l, 1};
    uint32_t n;
    assert_int_equal(allot_ledger_put_invoice(t, &r), 0);
    assert_int_equal(allot_ledger_reverse(t, e), 0);
    verify_fails(t, "invoice i2 line 1 is not voided but entry 1 is reversed");
    assert_int_equal(allot_ledger_void_invoice(t, "i2", "1", &f->a, NULL, &n), 0);
    assert_int_equal(n, 1);
    verify_ok(t, 2);
}

static void voiding_tolerates_a_reversed_entry(void **state)
{
    in_write(*state, invoice_stray_reversal);
}

/* The largest invoice there is: 200 lines of ALLOT_LINE_ENTRIES_MAX. */
static void invoice_max(struct fx *f, struct allot_txn *t)
{
    struct allot_invoice_line_rec *lines = allot_arena_alloc(&f->a, 200 * sizeof *lines);
    struct allot_invoice_rec r = {"big", "m", NULL, 0, NULL, 0, lines, 200}, g;
    char rule[16];
    const char **ids;
    uint32_t i, j, n;

    for (i = 0; i < 200; i++) {
        char *id = allot_arena_alloc(&f->a, 8);
        snprintf(id, 8, "%u", i + 1);
        lines[i].line_id = id;
        lines[i].entries = allot_arena_alloc(&f->a, ALLOT_LINE_ENTRIES_MAX * sizeof(uint64_t));
        lines[i].nentries = ALLOT_LINE_ENTRIES_MAX;
        for (j = 0; j < ALLOT_LINE_ENTRIES_MAX; j++) {
            snprintf(rule, sizeof rule, "rule-%u", j);
            lines[i].entries[j] = add_src(t, MEMBER, "m", rule, "m", D("2025-01-01") + (int)i, 1,
                                          ALLOT_SOURCE_INVOICE, "big", id, "");
        }
    }
    assert_int_equal(allot_ledger_put_invoice(t, &r), 0);
    assert_int_equal(allot_ledger_get_invoice(t, "big", &f->a, &g), 0);
    assert_int_equal(g.nlines, 200);
    assert_int_equal(g.lines[199].entries[ALLOT_LINE_ENTRIES_MAX - 1],
                     200 * ALLOT_LINE_ENTRIES_MAX);
    assert_int_equal(allot_ledger_void_invoice(t, "big", "", &f->a, &ids, &n), 0);
    assert_int_equal(n, 200);
    assert_string_equal(ids[199], "200");
    assert_int_equal(rows(t, ALLOT__DB_USAGE_DAYS), 0);
    verify_ok(t, 2 * 200 * ALLOT_LINE_ENTRIES_MAX);
}

static void largest_invoice_round_trips(void **state)
{
    in_write(*state, invoice_max);
}

/* ----------------------------------------------------------- usage records */

static void usage_body(struct fx *f, struct allot_txn *t)
{
    struct allot_usage_rec r, g;
    uint64_t e;
    bool voided;

    e = add_src(t, MEMBER, "m", "visits", "m", D("2024-11-01"), 5, ALLOT_SOURCE_PRIOR, "", "",
                "u1");
    r = (struct allot_usage_rec){"u1", "m", req_bytes, sizeof req_bytes, req_bytes, 2, e, false};
    assert_int_equal(allot_ledger_put_usage(t, &r), 0);
    assert_int_equal(allot_ledger_put_usage(t, &r), ALLOT_EEXIST);
    r.usage_id = "u2"; /* entry e carries usage id u1 */
    assert_int_equal(allot_ledger_put_usage(t, &r), ALLOT_EINVAL);
    r.entry = 77;
    assert_int_equal(allot_ledger_put_usage(t, &r), ALLOT_EINVAL);
    r.entry = 0; /* drew nothing */
    assert_int_equal(allot_ledger_put_usage(t, &r), 0);

    assert_int_equal(allot_ledger_get_usage(t, "u1", &f->a, &g), 0);
    assert_string_equal(g.usage_id, "u1");
    assert_string_equal(g.member_id, "m");
    assert_int_equal(g.request_len, sizeof req_bytes);
    assert_memory_equal(g.request, req_bytes, sizeof req_bytes);
    assert_int_equal(g.answer_len, 2);
    assert_int_equal(g.entry, e);
    assert_false(g.voided);
    assert_int_equal(allot_ledger_get_usage(t, "u3", &f->a, &g), ALLOT_ENOTFOUND);

    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2024-01-01", "2025-01-01"), 5);
    assert_int_equal(allot_ledger_void_usage(t, "u1", &voided), 0);
    assert_true(voided);
    assert_int_equal(sum(t, MEMBER, "m", "visits", NULL, "2024-01-01", "2025-01-01"), 0);
    assert_int_equal(allot_ledger_void_usage(t, "u1", &voided), 0);
    assert_false(voided);
    assert_int_equal(allot_ledger_void_usage(t, "u2", &voided), 0);
    assert_true(voided);
    assert_int_equal(allot_ledger_void_usage(t, "u3", &voided), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_get_usage(t, "u1", &f->a, &g), 0);
    assert_true(g.voided);
    assert_int_equal(g.entry, e);
    verify_ok(t, 2);
}

static void usage_records_put_get_void(void **state)
{
    in_write(*state, usage_body);
}

/* ----------------------------------------------------------------- events */

static void events_write(struct fx *f, struct allot_txn *t)
{
    uint64_t s, last;
    char ev[16];
    int i;

    assert_int_equal(allot_ledger_last_event_seq(t, &last), 0);
    assert_int_equal(last, 0);
    assert_int_equal(allot_ledger_put_event(t, 1, (const uint8_t *)"x", 1), ALLOT_EINVAL);
    for (i = 1; i <= 25; i++) {
        assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
        assert_int_equal(s, (uint64_t)i);
        snprintf(ev, sizeof ev, "event %d", i);
        if (i != 13) /* a number taken but never used stays taken */
            assert_int_equal(allot_ledger_put_event(t, s, (const uint8_t *)ev, strlen(ev)), 0);
    }
    assert_int_equal(allot_ledger_put_event(t, 5, (const uint8_t *)"again", 5), ALLOT_EEXIST);
    assert_int_equal(allot_ledger_put_event(t, 0, (const uint8_t *)"zero", 4), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_put_event(t, 26, (const uint8_t *)"ahead", 5), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_last_event_seq(t, &last), 0);
    assert_int_equal(last, 25);
    (void)f;
}

static void events_read(struct fx *f, struct allot_txn *t)
{
    struct allot_event_rec *e;
    size_t n;
    uint64_t s;

    assert_int_equal(allot_ledger_events(t, 0, 10, &f->a, &e, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(e[0].seq, 1);
    assert_int_equal(e[0].n, strlen("event 1"));
    assert_memory_equal(e[0].bytes, "event 1", e[0].n);
    assert_int_equal(e[9].seq, 10);
    /* the next page starts after the last seq seen; 13 is a gap */
    assert_int_equal(allot_ledger_events(t, e[9].seq + 1, 10, &f->a, &e, &n), 0);
    assert_int_equal(n, 10);
    assert_int_equal(e[0].seq, 11);
    assert_int_equal(e[2].seq, 14);
    assert_int_equal(e[9].seq, 21);
    assert_memory_equal(e[9].bytes, "event 21", e[9].n);
    assert_int_equal(allot_ledger_events(t, 22, 10, &f->a, &e, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(e[3].seq, 25);
    assert_int_equal(allot_ledger_events(t, 26, 10, &f->a, &e, &n), 0);
    assert_int_equal(n, 0);
    assert_non_null(e);
    assert_int_equal(allot_ledger_events(t, 1, 0, &f->a, &e, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(allot_ledger_next_event_seq(t, &s), ALLOT_EINVAL); /* read transaction */
    verify_ok(t, 0);
}

static int failing_event(struct allot_txn *t, void *arg)
{
    uint64_t s;
    assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
    assert_int_equal(s, 26);
    assert_int_equal(allot_ledger_put_event(t, s, (const uint8_t *)"lost", 4), 0);
    (void)arg;
    return ALLOT_EINVAL;
}

static void events_after_rollback(struct fx *f, struct allot_txn *t)
{
    uint64_t s;
    assert_int_equal(allot_store_nested(t, failing_event, NULL), ALLOT_EINVAL);
    /* nothing of the nested transaction committed: 26 was never used */
    assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
    assert_int_equal(s, 26);
    assert_int_equal(allot_ledger_put_event(t, s, (const uint8_t *)"kept", 4), 0);
    (void)f;
}

static void events_next(struct fx *f, struct allot_txn *t)
{
    uint64_t s;
    assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
    assert_int_equal(s, 27);
    (void)f;
}

static void events_in_order_and_paged(void **state)
{
    struct fx *f = *state;
    in_write(f, events_write);
    in_read(f, events_read);
    in_write(f, events_after_rollback);
    in_write(f, events_next);
}

/* ---------------------------------------------------------- source binding */

static const char *visit_codes[] = {"HOME_VISIT"};

static void source_setup(struct fx *f, struct allot_txn *t)
{
    struct allot_rule rule = {.key = "home-visits",
                              .codes = visit_codes,
                              .ncodes = 1,
                              .limit = ALLOT_LIMIT_QUANTITY,
                              .allowance = 2,
                              .period = {ALLOT_PERIOD_CALENDAR_YEAR, 0, 0, 0},
                              .pool = ALLOT_POOL_MEMBER,
                              .payer = ALLOT_PAYER_PATIENT,
                              .thresholds = {50, 100},
                              .nthresholds = 2};
    struct allot_plan_version v = {D("2025-01-01"), &rule, 1};
    struct allot_enrollment e = {"fam", D("2025-01-01"), ALLOT_DATE_NONE};
    struct allot_member m = {"m", &e, 1, ALLOT_DATE_NONE, "", ""};
    struct allot_service svc = {"HOME_VISIT", "Home visit", 15000};
    assert_int_equal(allot_store_put_plan_version(t, "fam", "Family", &v, NULL, NULL), 0);
    assert_int_equal(allot_store_put_member(t, &m, NULL, NULL), 0);
    assert_int_equal(allot_store_put_service(t, &svc, NULL, NULL), 0);
    add(t, MEMBER, "m", "home-visits", "m", "2025-04-01", 1);
    (void)f;
}

static void source_read(struct fx *f, struct allot_txn *t)
{
    struct allot_source src;
    const struct allot_plan_version *pv = NULL;
    struct allot_pool_ref p = {MEMBER, "m"};
    struct allot_member m;
    struct allot_line line = {"1", "HOME_VISIT", D("2025-06-01"), 3, 15000};
    struct allot_priced_line out;
    struct days c;
    int64_t v;

    allot_ledger_source(t, &f->a, &src);
    assert_ptr_equal(src.ctx, t);
    assert_int_equal(src.plan_version(src.ctx, "fam", D("2025-03-01"), &pv), 0);
    assert_non_null(pv);
    assert_int_equal(pv->nrules, 1);
    assert_string_equal(pv->rules[0].key, "home-visits");
    assert_int_equal(src.plan_version(src.ctx, "fam", D("2024-03-01"), &pv), 0);
    assert_null(pv);
    assert_int_equal(src.plan_version(src.ctx, "nope", D("2025-03-01"), &pv), ALLOT_ENOTFOUND);
    assert_int_equal(
        src.sum(src.ctx, &p, "home-visits", NULL, D("2025-01-01"), D("2026-01-01"), &v), 0);
    assert_int_equal(v, 1);
    memset(&c, 0, sizeof c);
    assert_int_equal(
        src.each_day(src.ctx, &p, "home-visits", "m", ALLOT_DATE_MIN, ALLOT_DATE_NONE, collect, &c),
        0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.d[0], D("2025-04-01"));

    /* the engine through it: 1 of 2 used, so 1 of 3 units is covered */
    assert_int_equal(allot_store_get_member(t, "m", &f->a, &m), 0);
    assert_int_equal(allot_price_lines(&src, &m, &line, 1, &f->a, &out, NULL), 0);
    assert_int_equal(out.covered_quantity, 1);
    assert_int_equal(out.billable_quantity, 2);
    assert_int_equal(out.amount_due, 30000);
    assert_int_equal(out.nuses, 1);
    assert_int_equal(out.uses[0].used_before, 1);
}

static void source_binds_the_engine_to_a_transaction(void **state)
{
    struct fx *f = *state;
    in_write(f, source_setup);
    in_read(f, source_read);
    in_write(f, source_read);
}

/* ------------------------------------------------------------ bad input */

static void bad_input_body(struct fx *f, struct allot_txn *t)
{
    char lng[ALLOT_ID_MAX + 2];
    struct allot_draw d;
    struct allot_pool_ref p = {MEMBER, "m"};
    struct allot_entry *h;
    size_t n;
    int64_t v;

    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = 0;
#define DRAW(kind, pool, rule, member, date, amount)                                               \
    (d = (struct allot_draw){{kind, pool}, rule, member, date, amount}, &d)
#define APPEND(dp, src) allot_ledger_append(t, dp, src, "", "", "", NULL)
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", "m", D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     0);
    assert_int_equal(APPEND(NULL, ALLOT_SOURCE_PRIOR), ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "", "r", NULL, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, NULL, "r", NULL, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, lng, "r", NULL, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "", NULL, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", lng, NULL, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(HOUSE, "h", "r", lng, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(HOUSE, "h", "r", "", D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(3, "h", "r", "m", D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), 0), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), -1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(
        APPEND(DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), ALLOT_DRAW_AMOUNT_MAX + 1),
               ALLOT_SOURCE_PRIOR),
        ALLOT_EINVAL);
    assert_int_equal(
        APPEND(DRAW(MEMBER, "m", "r", NULL, ALLOT_DATE_MAX + 1, 1), ALLOT_SOURCE_PRIOR),
        ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, ALLOT_DATE_NONE, 1), ALLOT_SOURCE_PRIOR),
                     ALLOT_EINVAL);
    assert_int_equal(
        APPEND(DRAW(MEMBER, "m", "r", NULL, ALLOT_DATE_MIN - 1, 1), ALLOT_SOURCE_PRIOR),
        ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), 1), 0), ALLOT_EINVAL);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), 1), 5), ALLOT_EINVAL);
    (void)DRAW(MEMBER, "m", "r", NULL, D("2025-01-01"), 1);
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, lng, "1", "", NULL),
                     ALLOT_EINVAL);
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, "i", lng, "", NULL),
                     ALLOT_EINVAL);
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, "i", "1", lng, NULL),
                     ALLOT_EINVAL);
    /* the limits themselves are fine */
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, ALLOT_DATE_MIN, ALLOT_DRAW_AMOUNT_MAX),
                            ALLOT_SOURCE_PRIOR),
                     0);
    assert_int_equal(APPEND(DRAW(MEMBER, "m", "r", NULL, ALLOT_DATE_MAX, 1), ALLOT_SOURCE_PRIOR),
                     0);
    lng[ALLOT_ID_MAX] = 0;
    assert_int_equal(APPEND(DRAW(HOUSE, lng, lng, lng, D("2025-01-01"), 1), ALLOT_SOURCE_PRIOR), 0);
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, lng, lng, lng, NULL), 0);
    lng[ALLOT_ID_MAX] = 'x';
    /* a day total that would overflow */
    assert_int_equal(APPEND(DRAW(MEMBER, "big", "r", NULL, D("2025-01-01"), ALLOT_DRAW_AMOUNT_MAX),
                            ALLOT_SOURCE_PRIOR),
                     0);
    for (int i = 0; i < 925; i++)
        assert_int_equal(
            APPEND(DRAW(MEMBER, "big", "r", NULL, D("2025-01-02") + i, ALLOT_DRAW_AMOUNT_MAX),
                   ALLOT_SOURCE_PRIOR),
            0);
    assert_int_equal(sumd(t, MEMBER, "big", "r", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE),
                     INT64_MAX); /* saturates */
    {
        int i, rc = 0;
        for (i = 0; i < 1000; i++) {
            rc = APPEND(DRAW(MEMBER, "big", "r", NULL, D("2025-01-01"), ALLOT_DRAW_AMOUNT_MAX),
                        ALLOT_SOURCE_PRIOR);
            if (rc)
                break;
        }
        assert_int_equal(rc, ALLOT_EPRECOND);
        assert_int_equal(i, 921); /* 922 x 10^16 fit in int64, 923 do not */
    }
#undef APPEND
#undef DRAW
    /* queries */
    assert_int_equal(allot_ledger_sum(t, NULL, "r", NULL, 0, 1, &v), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_sum(t, &p, NULL, NULL, 0, 1, &v), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_sum(t, &p, lng, NULL, 0, 1, &v), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_sum(t, &p, "r", "", 0, 1, &v), ALLOT_EINVAL);
    p.kind = 0;
    assert_int_equal(allot_ledger_sum(t, &p, "r", NULL, 0, 1, &v), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_history(t, NULL, "r", 0, 1, &f->a, &h, &n), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_history(t, "m", lng, 0, 1, &f->a, &h, &n), ALLOT_EINVAL);
    verify_ok(t, rows(t, ALLOT__DB_LEDGER));
}

static void bad_read(struct fx *f, struct allot_txn *t)
{
    struct allot_draw d = {{MEMBER, "m"}, "r", NULL, D("2025-01-01"), 1};
    struct allot_invoice_rec r = {"i", "m", NULL, 0, NULL, 0, NULL, 0};
    struct allot_usage_rec u = {"u", "m", NULL, 0, NULL, 0, 0, false};
    bool voided;
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_PRIOR, "", "", "", NULL),
                     ALLOT_EINVAL);
    assert_int_equal(allot_ledger_put_invoice(t, &r), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_put_usage(t, &u), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_void_usage(t, "u", &voided), ALLOT_EINVAL);
    assert_int_equal(allot_ledger_put_event(t, 1, NULL, 0), ALLOT_EINVAL);
    (void)f;
}

static void bad_input_is_refused(void **state)
{
    in_write(*state, bad_input_body);
    in_read(*state, bad_read);
}

/* ------------------------------------------- random workload and a model */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct ment {
    int kind;
    char pool[8], rule[8], member[8];
    allot_date date;
    int64_t amount;
    uint64_t seq;
    bool live;
};

struct minv {
    int nlines;
    int first[4], count[4]; /* model entries of each line */
    bool voided[4];
};

struct model {
    struct ment e[12000];
    int n;
    uint64_t next_seq; /* ledger rows so far + 1 */
    struct minv inv[2000];
    int ninv;
    int usage[800]; /* model entry of usage record i */
    bool uvoided[800];
    int nusage;
    uint64_t events;
};

static const char *members[] = {"m0", "m1", "m2", "m3", "m4"};
static const char *households[] = {"h0", "h1"};
static const char *rules[] = {"r0", "r1", "r2"};

/* A random draw: a member pool, or a household for members m0-m3. */
static void random_draw(struct ment *e)
{
    int m = (int)rnd(5);
    memset(e, 0, sizeof *e);
    strcpy(e->member, members[m]);
    if (m < 4 && rnd(2)) {
        e->kind = HOUSE;
        strcpy(e->pool, households[m / 2]);
    } else {
        e->kind = MEMBER;
        strcpy(e->pool, members[m]);
    }
    strcpy(e->rule, rules[rnd(3)]);
    e->date = D("2024-06-01") + (allot_date)rnd(500);
    e->amount = 1 + rnd(rnd(4) ? 3 : 20000);
}

static int model_add(struct model *md, struct allot_txn *t, const struct ment *proto,
                     enum allot_source_kind src, const char *inv, const char *line,
                     const char *usage)
{
    struct ment *e = &md->e[md->n];
    assert_true(md->n < 12000);
    *e = *proto;
    e->seq =
        add_src(t, e->kind, e->pool, e->rule, e->member, e->date, e->amount, src, inv, line, usage);
    assert_int_equal(e->seq, md->next_seq);
    md->next_seq++;
    e->live = true;
    return md->n++;
}

static void model_reverse(struct model *md, struct allot_txn *t, int i)
{
    assert_int_equal(allot_ledger_reverse(t, md->e[i].seq), 0);
    md->e[i].live = false;
    md->next_seq++;
}

static int64_t model_sum(const struct model *md, int kind, const char *pool, const char *rule,
                         const char *member, allot_date from, allot_date to)
{
    int64_t s = 0;
    for (int i = 0; i < md->n; i++) {
        const struct ment *e = &md->e[i];
        if (e->live && e->kind == kind && !strcmp(e->pool, pool) && !strcmp(e->rule, rule) &&
            (!member || !strcmp(e->member, member)) && e->date >= from && e->date < to)
            s += e->amount;
    }
    return s;
}

static void random_ops(struct fx *f, struct allot_txn *t)
{
    struct model *md = f->arg;
    char id[32], lid[4][12];
    int i, j;

    for (int op = 0; op < 100; op++) {
        uint32_t what = rnd(100);
        if (what < 40) {
            struct ment e;
            random_draw(&e);
            model_add(md, t, &e, ALLOT_SOURCE_ADJUSTMENT, "", "", "");
        } else if (what < 55) {
            if (!md->n)
                continue;
            i = (int)rnd((uint32_t)md->n);
            /* only free-standing entries: invoice and usage entries are
             * taken back through their records */
            bool owned = false;
            for (j = 0; j < md->ninv && !owned; j++)
                for (int l = 0; l < md->inv[j].nlines; l++)
                    if (i >= md->inv[j].first[l] && i < md->inv[j].first[l] + md->inv[j].count[l])
                        owned = true;
            for (j = 0; j < md->nusage && !owned; j++)
                owned = md->usage[j] == i;
            if (owned)
                continue;
            if (md->e[i].live)
                model_reverse(md, t, i);
            else
                assert_int_equal(allot_ledger_reverse(t, md->e[i].seq), ALLOT_EEXIST);
        } else if (what < 75) {
            /* an invoice of 1-4 lines, 1-3 draws each, one member */
            struct minv *iv = &md->inv[md->ninv];
            struct allot_invoice_line_rec lines[4];
            uint64_t seqs[4][3];
            struct allot_invoice_rec r;
            struct ment e;
            assert_true(md->ninv < 2000);
            random_draw(&e);
            snprintf(id, sizeof id, "inv%d", md->ninv);
            iv->nlines = 1 + (int)rnd(4);
            for (i = 0; i < iv->nlines; i++) {
                snprintf(lid[i], sizeof lid[i], "%d", i + 1);
                iv->count[i] = 1 + (int)rnd(3);
                iv->voided[i] = false;
                for (j = 0; j < iv->count[i]; j++) {
                    strcpy(e.rule, rules[j]);
                    e.date = D("2024-06-01") + (allot_date)rnd(500);
                    e.amount = 1 + rnd(5);
                    int k = model_add(md, t, &e, ALLOT_SOURCE_INVOICE, id, lid[i], "");
                    if (j == 0)
                        iv->first[i] = k;
                    seqs[i][j] = md->e[k].seq;
                }
                lines[i] =
                    (struct allot_invoice_line_rec){lid[i], false, seqs[i], (uint32_t)iv->count[i]};
            }
            r = (struct allot_invoice_rec){
                id, e.member, (const uint8_t *)id, strlen(id), (const uint8_t *)"answer",
                6,  lines,    (uint32_t)iv->nlines};
            assert_int_equal(allot_ledger_put_invoice(t, &r), 0);
            md->ninv++;
        } else if (what < 85) {
            if (!md->ninv)
                continue;
            int k = (int)rnd((uint32_t)md->ninv);
            struct minv *iv = &md->inv[k];
            int line = rnd(3) ? (int)rnd((uint32_t)iv->nlines) : -1; /* -1: whole */
            int want = 0;
            uint32_t n;
            snprintf(id, sizeof id, "inv%d", k);
            snprintf(lid[0], sizeof lid[0], "%d", line + 1);
            for (i = 0; i < iv->nlines; i++) {
                if ((line >= 0 && i != line) || iv->voided[i])
                    continue;
                want++;
                iv->voided[i] = true;
                for (j = 0; j < iv->count[i]; j++) {
                    md->e[iv->first[i] + j].live = false;
                    md->next_seq++;
                }
            }
            assert_int_equal(
                allot_ledger_void_invoice(t, id, line >= 0 ? lid[0] : "", &f->a, NULL, &n), 0);
            assert_int_equal(n, (uint32_t)want);
        } else if (what < 93) {
            struct allot_usage_rec u;
            struct ment e;
            assert_true(md->nusage < 800);
            random_draw(&e);
            snprintf(id, sizeof id, "use%d", md->nusage);
            i = model_add(md, t, &e, ALLOT_SOURCE_PRIOR, "", "", id);
            md->usage[md->nusage] = i;
            md->uvoided[md->nusage] = false;
            u = (struct allot_usage_rec){id, e.member, NULL, 0, NULL, 0, md->e[i].seq, false};
            assert_int_equal(allot_ledger_put_usage(t, &u), 0);
            md->nusage++;
        } else if (what < 97) {
            bool voided;
            if (!md->nusage)
                continue;
            int k = (int)rnd((uint32_t)md->nusage);
            snprintf(id, sizeof id, "use%d", k);
            assert_int_equal(allot_ledger_void_usage(t, id, &voided), 0);
            assert_int_equal(voided, !md->uvoided[k]);
            if (!md->uvoided[k]) {
                md->uvoided[k] = true;
                md->e[md->usage[k]].live = false;
                md->next_seq++;
            }
        } else {
            uint64_t s;
            assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
            assert_int_equal(s, ++md->events);
            assert_int_equal(allot_ledger_put_event(t, s, (const uint8_t *)"ev", 2), 0);
        }
    }
    allot_arena_reset(&f->a);
}

static void check_model(struct fx *f, struct allot_txn *t)
{
    struct model *md = f->arg;
    struct allot_entry *h;
    size_t n;
    int live = 0;

    for (int i = 0; i < 200; i++) {
        struct ment e;
        allot_date from, to;
        random_draw(&e);
        from = D("2024-05-01") + (allot_date)rnd(600);
        to = rnd(10) ? from + (allot_date)rnd(400) : ALLOT_DATE_NONE;
        if (!rnd(10))
            from = ALLOT_DATE_MIN;
        const char *mem = e.kind == HOUSE && rnd(2) ? e.member : NULL;
        assert_int_equal(sumd(t, e.kind, e.pool, e.rule, mem, from, to),
                         model_sum(md, e.kind, e.pool, e.rule, mem, from, to));
        if (i < 30) {
            /* the history of one member and rule, against the model */
            int k = 0;
            assert_int_equal(allot_ledger_history(t, e.member, e.rule, from, to, &f->a, &h, &n), 0);
            for (size_t j = 0; j < n; j++) {
                assert_string_equal(h[j].draw.member_id, e.member);
                assert_string_equal(h[j].draw.rule_key, e.rule);
                assert_true(h[j].draw.date >= from && h[j].draw.date < to);
                if (j)
                    assert_true(h[j - 1].draw.date < h[j].draw.date ||
                                (h[j - 1].draw.date == h[j].draw.date && h[j - 1].seq < h[j].seq));
            }
            for (int j = 0; j < md->n; j++)
                k += md->e[j].live && !strcmp(md->e[j].member, e.member) &&
                     !strcmp(md->e[j].rule, e.rule) && md->e[j].date >= from && md->e[j].date < to;
            assert_int_equal(n, (size_t)k);
        }
    }
    for (int i = 0; i < md->n; i++)
        live += md->e[i].live;
    assert_int_equal(rows(t, ALLOT__DB_HISTORY), (size_t)live);
    verify_ok(t, md->next_seq - 1);
    allot_arena_reset(&f->a);
}

/* Forged damage, each undone after verify has seen it. */
static void damage_day_total(struct fx *f, struct allot_txn *t)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char buf[8];
    int64_t was;

    assert_int_equal(mdb_cursor_open(t->txn, t->s->dbi[ALLOT__DB_USAGE_DAYS], &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    was = allot__i64_get(v.mv_data);
    allot__i64_put(buf, was + 1);
    v = (MDB_val){8, buf};
    assert_int_equal(mdb_cursor_put(c, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(c);
    verify_fails(t, "usage_days: the row for ");
    verify_fails(t, " holds ");
    /* put it back */
    assert_int_equal(mdb_cursor_open(t->txn, t->s->dbi[ALLOT__DB_USAGE_DAYS], &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_FIRST), 0);
    allot__i64_put(buf, was);
    v = (MDB_val){8, buf};
    assert_int_equal(mdb_cursor_put(c, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(c);
    verify_ok(t, ((struct model *)f->arg)->next_seq - 1);
}

static void damage_rows(struct fx *f, struct allot_txn *t)
{
    struct allot__key k;
    MDB_val kv, v;
    unsigned char buf[8];
    MDB_cursor *c;

    /* a day row no entry accounts for */
    allot__ledger_day_prefix(&k, MEMBER, "ghost", "r0", "");
    allot__key_date(&k, D("2025-01-01"));
    kv = (MDB_val){k.n, k.b};
    allot__i64_put(buf, 3);
    v = (MDB_val){8, buf};
    assert_int_equal(mdb_put(t->txn, t->s->dbi[ALLOT__DB_USAGE_DAYS], &kv, &v, 0), 0);
    verify_fails(t, "usage_days: the row for member ghost / rule r0 / pool total / 2025-01-01 "
                    "(total 3) has no entries");
    assert_int_equal(mdb_del(t->txn, t->s->dbi[ALLOT__DB_USAGE_DAYS], &kv, NULL), 0);

    /* a missing day row (the pool total of a household) */
    assert_int_equal(mdb_cursor_open(t->txn, t->s->dbi[ALLOT__DB_USAGE_DAYS], &c), 0);
    allot__ledger_day_prefix(&k, HOUSE, "h0", "r0", "");
    kv = (MDB_val){k.n, k.b};
    assert_int_equal(mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE), 0);
    assert_int_equal(((unsigned char *)kv.mv_data)[0], HOUSE);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    verify_fails(t, "is missing (the entries add up to");
}

static void damage_history(struct fx *f, struct allot_txn *t)
{
    MDB_cursor *c;
    MDB_val k, v;
    unsigned char key[200];
    size_t n;

    assert_int_equal(mdb_cursor_open(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &c), 0);
    assert_int_equal(mdb_cursor_get(c, &k, &v, MDB_LAST), 0);
    n = k.mv_size;
    memcpy(key, k.mv_data, n);
    assert_int_equal(mdb_cursor_del(c, 0), 0);
    mdb_cursor_close(c);
    verify_fails(t, "history: live entry ");
    /* back, and one too many: an entry number that does not exist */
    k = (MDB_val){n, key};
    v = (MDB_val){0, ""};
    assert_int_equal(mdb_put(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &k, &v, 0), 0);
    verify_ok(t, ((struct model *)f->arg)->next_seq - 1);
    key[n - 1] ^= 0x55;
    key[n - 2] ^= 0x55;
    assert_int_equal(mdb_put(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &k, &v, 0), 0);
    verify_fails(t, "which is missing");
}

static void damage_counter(struct fx *f, struct allot_txn *t)
{
    /* entry_seq behind the ledger: verify says so, and append refuses
     * rather than overwrite */
    struct allot_draw d = {{MEMBER, "m0"}, "r0", NULL, D("2025-01-01"), 1};
    uint64_t next = ((struct model *)f->arg)->next_seq;
    assert_int_equal(allot__meta_seq_put(t, ALLOT__META_ENTRY_SEQ, next - 1), 0);
    verify_fails(t, "is not below the entry_seq counter");
    assert_int_equal(allot_ledger_append(t, &d, ALLOT_SOURCE_PRIOR, "", "", "", NULL),
                     ALLOT_ECORRUPT);
}

static int abort_write(struct allot_txn *t, void *arg)
{
    struct body *b = arg;
    b->fn(b->f, t);
    return ALLOT_ECANCELLED; /* leave the store as it was */
}

static void damage(struct fx *f, body_fn fn)
{
    struct body b = {f, fn};
    assert_int_equal(allot_store_write(f->s, abort_write, &b, NULL), ALLOT_ECANCELLED);
}

static void verify_agrees_after_a_random_workload(void **state)
{
    struct fx *f = *state;
    struct model *md = calloc(1, sizeof *md);

    assert_non_null(md);
    md->next_seq = 1;
    f->arg = md;
    for (int round = 0; round < 40; round++) {
        in_write(f, random_ops);
        if (round % 8 == 7)
            in_read(f, check_model);
    }
    assert_int_equal(f->calls, 40); /* no write ran twice */
    assert_true(md->n > 2000);
    in_read(f, check_model);
    damage(f, damage_day_total);
    damage(f, damage_rows);
    damage(f, damage_history);
    damage(f, damage_counter);
    in_read(f, check_model); /* all of it was rolled back */
    free(md);
}

/* ------------------------------------------------------------- map growth */

struct grow {
    int calls;
    int n;
};

static int grow_fn(struct allot_txn *t, void *arg)
{
    struct grow *g = arg;
    char pool[80], inv[80];
    g->calls++;
    for (int i = 0; i < g->n; i++) {
        struct allot_draw d;
        uint64_t seq;
        snprintf(pool, sizeof pool, "member-with-a-rather-long-identifier-%06d", i % 300);
        snprintf(inv, sizeof inv, "invoice-%06d", i);
        d = (struct allot_draw){
            {ALLOT_POOL_MEMBER, pool}, "rule-key", NULL, D("2025-01-01") + i % 365, 1};
        int rc = allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, inv, "1", "", &seq);
        if (rc)
            return rc;
        if (seq != (uint64_t)i + 1)
            return ALLOT_EIO; /* a rerun must start numbering afresh */
        struct allot_invoice_line_rec l = {"1", false, &seq, 1};
        struct allot_invoice_rec r = {
            inv, pool, (const uint8_t *)inv, strlen(inv), (const uint8_t *)pool, strlen(pool),
            &l,  1};
        if ((rc = allot_ledger_put_invoice(t, &r)))
            return rc;
    }
    return 0;
}

static void grow_check(struct fx *f, struct allot_txn *t)
{
    struct allot_pool_ref p = {MEMBER, "member-with-a-rather-long-identifier-000007"};
    int64_t v;
    verify_ok(t, 5000);
    assert_int_equal(rows(t, ALLOT__DB_INVOICES), 5000);
    assert_int_equal(allot_ledger_sum(t, &p, "rule-key", NULL, ALLOT_DATE_MIN, ALLOT_DATE_NONE, &v),
                     0);
    assert_int_equal(v, 17); /* i = 7, 307, ..., 4807 */
    (void)f;
}

static void map_grows_during_ledger_writes(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct grow g = {0, 5000};
    size_t start;

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, &st), 0);
    start = allot_store_map_size(f->s);
    assert_int_equal(allot_store_write(f->s, grow_fn, &g, &st), 0);
    assert_true(g.calls > 1);
    assert_true(allot_store_map_size(f->s) > start);
    in_read(f, grow_check);
}

/* ------------------------------------------------------- nested rollback */

static int nested_fn(struct allot_txn *t, void *arg)
{
    uint64_t seq, ev;
    struct allot_invoice_line_rec l = {"1", false, &seq, 1};
    struct allot_invoice_rec r = {"inv", "m", NULL, 0, NULL, 0, &l, 1};
    struct allot_usage_rec u = {"u", "m", NULL, 0, NULL, 0, 0, false};
    (void)arg;
    seq =
        add_src(t, MEMBER, "m", "r", "m", D("2025-02-01"), 7, ALLOT_SOURCE_INVOICE, "inv", "1", "");
    assert_int_equal(seq, 2);
    assert_int_equal(allot_ledger_put_invoice(t, &r), 0);
    assert_int_equal(allot_ledger_put_usage(t, &u), 0);
    assert_int_equal(allot_ledger_reverse(t, 1), 0);
    assert_int_equal(allot_ledger_next_event_seq(t, &ev), 0);
    assert_int_equal(allot_ledger_put_event(t, ev, (const uint8_t *)"e", 1), 0);
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-01", "2026-01-01"), 7);
    return ALLOT_EPRECOND;
}

static void nested_body(struct fx *f, struct allot_txn *t)
{
    struct allot_invoice_rec r;
    struct allot_usage_rec u;
    struct allot_event_rec *e;
    struct allot_entry *h;
    size_t n;

    assert_int_equal(add(t, MEMBER, "m", "r", "m", "2025-01-01", 1), 1);
    assert_int_equal(allot_store_nested(t, nested_fn, NULL), ALLOT_EPRECOND);
    /* no trace of the nested transaction */
    assert_int_equal(sum(t, MEMBER, "m", "r", NULL, "2025-01-01", "2026-01-01"), 1);
    assert_int_equal(allot_ledger_get_invoice(t, "inv", &f->a, &r), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_get_usage(t, "u", &f->a, &u), ALLOT_ENOTFOUND);
    assert_int_equal(allot_ledger_events(t, 0, 10, &f->a, &e, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        allot_ledger_history(t, "m", "r", ALLOT_DATE_MIN, ALLOT_DATE_NONE, &f->a, &h, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows(t, ALLOT__DB_LEDGER), 1);
    verify_ok(t, 1);
}

static void nested_after(struct fx *f, struct allot_txn *t)
{
    uint64_t next = 0;
    /* entry_seq was not advanced in the committed state */
    assert_int_equal(allot__meta_seq_get(t, ALLOT__META_ENTRY_SEQ, &next), 0);
    assert_int_equal(next, 2);
    assert_int_equal(allot__meta_seq_get(t, ALLOT__META_EVENT_SEQ, &next), 0);
    assert_int_equal(next, 1);
    if (t->write)
        assert_int_equal(add(t, MEMBER, "m", "r", "m", "2025-03-01", 1), 2);
    verify_ok(t, t->write ? 2 : 1);
    (void)f;
}

static void nested_rollback_leaves_no_trace(void **state)
{
    struct fx *f = *state;
    in_write(f, nested_body);
    in_read(f, nested_after);
    in_write(f, nested_after);
}

/* ---------------------------------------------------------- schema upgrade */

/* A version 1 store as version 1 of allotd left it: meta, services, plans,
 * members, one service. */
static void make_v1_store(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {sizeof "schema_version", (void *)"schema_version"};
    MDB_val v = {4, (void *)"\x01\x00\x00\x00"};
    MDB_val sk = {sizeof "HV", (void *)"HV"};
    MDB_val sv = {8, (void *)"\x01\x04Home\x96\x01"}; /* "Home", 150 */
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_dbi_open(txn, "services", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &sk, &sv, 0), 0);
    assert_int_equal(mdb_dbi_open(txn, "plans", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_dbi_open(txn, "members", MDB_CREATE, &dbi), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void stamp(const char *path, uint32_t version, const char *drop)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    unsigned char b[4] = {(unsigned char)version, 0, 0, 0};
    MDB_val k = {sizeof "schema_version", (void *)"schema_version"}, v = {4, b};
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 16), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    if (drop) {
        assert_int_equal(mdb_dbi_open(txn, drop, 0, &dbi), 0);
        assert_int_equal(mdb_drop(txn, dbi, 1), 0);
    }
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void upgraded_use(struct fx *f, struct allot_txn *t)
{
    struct allot_service svc;
    uint64_t s;
    assert_int_equal(allot_store_get_service(t, "HV", &f->a, &svc), 0);
    assert_string_equal(svc.name, "Home");
    assert_int_equal(svc.cash_price, 150);
    assert_int_equal(add(t, MEMBER, "m", "r", "m", "2025-01-01", 1), f->calls);
    assert_int_equal(allot_ledger_next_event_seq(t, &s), 0);
    assert_int_equal(s, (uint64_t)f->calls);
    assert_int_equal(allot_ledger_put_event(t, s, (const uint8_t *)"e", 1), 0);
    verify_ok(t, (uint64_t)f->calls);
}

static void schema_upgrades_from_v1(void **state)
{
    struct fx *f = *state;
    struct allot_status st;

    make_v1_store(f->path);
    assert_int_equal(open_store(f, 0, &st), 0);
    assert_int_equal(allot_store_schema_version(f->s), 3);
    in_write(f, upgraded_use); /* entry 1, event 1 */
    allot_store_close(f->s);
    f->s = NULL;

    /* on disk it is version 3 now */
    assert_int_equal(open_store(f, 0, &st), 0);
    assert_int_equal(allot_store_schema_version(f->s), 3);
    in_write(f, upgraded_use); /* entry 2, event 2 */
    allot_store_close(f->s);
    f->s = NULL;

    /* an upgrade run again (stamped 1 by hand) keeps the numbering */
    stamp(f->path, 1, NULL);
    assert_int_equal(open_store(f, 0, &st), 0);
    assert_int_equal(allot_store_schema_version(f->s), 3);
    in_write(f, upgraded_use); /* entry 3, event 3 */
    allot_store_close(f->s);
    f->s = NULL;

    /* version 2 without one of its databases is refused ... */
    stamp(f->path, 2, "usage_days");
    assert_int_equal(open_store(f, 0, &st), ALLOT_ECORRUPT);
    assert_non_null(strstr(st.msg, "database \"usage_days\" is missing"));
    /* ... while a version 1 store gets it created (empty) */
    stamp(f->path, 1, NULL);
    assert_int_equal(open_store(f, 0, &st), 0);
    allot_store_close(f->s);
    f->s = NULL;
    /* versions beyond 3 are refused */
    stamp(f->path, 4, NULL);
    assert_int_equal(open_store(f, 0, &st), ALLOT_EFORMAT);
    assert_non_null(strstr(st.msg, "understands up to 3"));
}

/* ------------------------------------------------------- corrupt records */

static void corrupt_entry(struct fx *f, struct allot_txn *t)
{
    struct allot__key k;
    struct allot_entry e;
    struct allot_entry *h;
    size_t n;
    MDB_val kv, v = {3, (void *)"\x01\x00\x07"};
    add(t, MEMBER, "m", "r", "m", "2025-01-01", 1);
    allot__ledger_seq_key(&k, 1);
    kv = (MDB_val){k.n, k.b};
    assert_int_equal(mdb_put(t->txn, t->s->dbi[ALLOT__DB_LEDGER], &kv, &v, 0), 0);
    assert_int_equal(allot_ledger_get_entry(t, 1, &f->a, &e), ALLOT_ECORRUPT);
    assert_int_equal(allot_ledger_reverse(t, 1), ALLOT_ECORRUPT);
    assert_int_equal(
        allot_ledger_history(t, "m", "r", ALLOT_DATE_MIN, ALLOT_DATE_NONE, &f->a, &h, &n),
        ALLOT_ECORRUPT);
    verify_fails(t, "ledger: entry 1 does not decode: entry.pool.kind: 7 is out of range");
}

static void corrupt_records_are_reported(void **state)
{
    damage(*state, corrupt_entry);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TD(name) cmocka_unit_test_setup_teardown(name, setup_dir, teardown)
        T(sums_and_days_across_ranges),
        T(household_pools_keep_member_totals),
        T(member_and_household_pools_differ),
        T(reversals_restore_totals_once),
        T(history_is_by_date_and_drops_reversed),
        T(histories_answer_every_rule_in_one_pass),
        T(invoices_put_get_void),
        T(voiding_tolerates_a_reversed_entry),
        T(largest_invoice_round_trips),
        T(usage_records_put_get_void),
        T(events_in_order_and_paged),
        T(source_binds_the_engine_to_a_transaction),
        T(bad_input_is_refused),
        T(verify_agrees_after_a_random_workload),
        T(map_grows_during_ledger_writes),
        T(nested_rollback_leaves_no_trace),
        TD(schema_upgrades_from_v1),
        T(corrupt_records_are_reported),
#undef T
#undef TD
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
