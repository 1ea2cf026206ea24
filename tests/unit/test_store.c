/* test_store.c - the store against a real LMDB environment in a temporary
 * directory: round trips, version lookup, paging, idempotent puts, reopen,
 * schema checks, aborted writes, map growth, a full map, corrupt records.
 *
 * The raw LMDB API is used only to forge what allotd itself never writes (a
 * newer schema version, a foreign environment, corrupt records); the key
 * and record layouts it relies on are those of the essay in
 * src/store/store.c. */
#include <errno.h>
#include <ftw.h>
#include <lmdb.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "allot/date.h"
#include "allot/store.h"

/* ---------------------------------------------------------------- fixture */

struct fx {
    char dir[64];   /* the mkdtemp directory */
    char path[128]; /* dir/data: the data directory, created by the store */
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

static void rm_tree(const char *dir)
{
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int open_store(struct fx *f, size_t map_size, size_t map_size_max, struct allot_status *st)
{
    struct allot_store_options o;
    memset(&o, 0, sizeof o);
    o.path = f->path;
    o.map_size = map_size;
    o.map_size_max = map_size_max;
    o.no_sync = true;
    return allot_store_open(&f->s, &o, st);
}

static int setup_dir(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    strcpy(f->dir, "/tmp/allot-store-XXXXXX");
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
    struct fx *f;
    if (setup_dir(state))
        return -1;
    f = *state;
    if (open_store(f, 0, 0, &st)) {
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

static void reopen(struct fx *f)
{
    struct allot_status st;
    allot_store_close(f->s);
    f->s = NULL;
    if (open_store(f, 0, 0, &st))
        fail_msg("reopen: %s", st.msg);
}

static allot_date D(const char *s)
{
    allot_date d = 0;
    assert_int_equal(allot_date_parse(s, &d), 0);
    return d;
}

/* --------------------------------------------------------- write helpers */

struct op {
    enum { OP_SERVICE, OP_VERSION, OP_MEMBER } kind;
    const struct allot_service *svc;
    const char *plan_id, *name;
    const struct allot_plan_version *v;
    const struct allot_member *m;
    bool created;
    struct allot_status st;
};

static int op_apply(struct allot_txn *t, void *arg)
{
    struct op *o = arg;
    switch (o->kind) {
    case OP_SERVICE:
        return allot_store_put_service(t, o->svc, &o->created, &o->st);
    case OP_VERSION:
        return allot_store_put_plan_version(t, o->plan_id, o->name, o->v, &o->created, &o->st);
    case OP_MEMBER:
        return allot_store_put_member(t, o->m, &o->created, &o->st);
    }
    return ALLOT_EINVAL;
}

static int run(struct allot_store *s, struct op *o)
{
    struct allot_status st;
    int rc;
    allot_status_clear(&o->st);
    rc = allot_store_write(s, op_apply, o, &st);
    if (rc && !o->st.code)
        o->st = st;
    return rc;
}

static int put_service(struct allot_store *s, const char *code, const char *name, int64_t price,
                       bool *created)
{
    struct allot_service svc = {code, name, price};
    struct op o = {.kind = OP_SERVICE, .svc = &svc};
    int rc = run(s, &o);
    if (created)
        *created = o.created;
    return rc;
}

static int put_version(struct allot_store *s, const char *plan_id, const char *name,
                       const struct allot_plan_version *v, bool *created, struct allot_status *st)
{
    struct op o = {.kind = OP_VERSION, .plan_id = plan_id, .name = name, .v = v};
    int rc = run(s, &o);
    if (created)
        *created = o.created;
    if (st)
        *st = o.st;
    return rc;
}

static int put_member(struct allot_store *s, const struct allot_member *m, bool *created,
                      struct allot_status *st)
{
    struct op o = {.kind = OP_MEMBER, .m = m};
    int rc = run(s, &o);
    if (created)
        *created = o.created;
    if (st)
        *st = o.st;
    return rc;
}

/* -------------------------------------------------------------- samples */

static const char *pt_codes[] = {"97110", "97112"};
static const char *hv_codes[] = {"HOME_VISIT"};
static const char *lab_codes[] = {"LAB_CBC", "LAB_LIPID", "LAB_A1C"};
static const char *ha_codes[] = {"HEARING_AID_FIT"};

/* One rule of each kind of period, and every other field in some rule. */
static struct allot_rule sample_rules[] = {
    {.key = "home-visits",
     .codes = hv_codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 2,
     .period = {ALLOT_PERIOD_MEMBER_YEAR, 0, 0, 0},
     .pool = ALLOT_POOL_MEMBER,
     .payer = ALLOT_PAYER_PATIENT,
     .thresholds = {70, 80, 90, 100},
     .nthresholds = 4},
    {.key = "pt-combined",
     .codes = pt_codes,
     .ncodes = 2,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 20,
     .period = {ALLOT_PERIOD_CALENDAR_YEAR, 0, 0, 0},
     .pool = ALLOT_POOL_HOUSEHOLD,
     .member_cap = 8,
     .has_overage_price = true,
     .overage_price = 9500,
     .payer = ALLOT_PAYER_SPONSOR,
     .thresholds = {50},
     .nthresholds = 1},
    {.key = "labs",
     .codes = lab_codes,
     .ncodes = 3,
     .limit = ALLOT_LIMIT_AMOUNT,
     .allowance = 50000,
     .period = {ALLOT_PERIOD_PLAN_YEAR, 7, 1, 0},
     .pool = ALLOT_POOL_HOUSEHOLD,
     .member_cap = 0,
     .payer = ALLOT_PAYER_PATIENT,
     .nthresholds = 0},
    {.key = "unlimited-visits",
     .codes = hv_codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .unlimited = true,
     .period = {ALLOT_PERIOD_CALENDAR_MONTH, 0, 0, 0},
     .pool = ALLOT_POOL_MEMBER,
     .payer = ALLOT_PAYER_PATIENT,
     .nthresholds = 0},
    {.key = "member-price",
     .codes = pt_codes + 1,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 0,
     .period = {ALLOT_PERIOD_MEMBER_MONTH, 0, 0, 0},
     .pool = ALLOT_POOL_MEMBER,
     .has_overage_price = true,
     .overage_price = 0,
     .payer = ALLOT_PAYER_PATIENT,
     .thresholds = {1, 1000},
     .nthresholds = 2},
    {.key = "quarterly",
     .codes = lab_codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 1000000000,
     .period = {ALLOT_PERIOD_CALENDAR_QUARTER, 0, 0, 0},
     .pool = ALLOT_POOL_MEMBER,
     .payer = ALLOT_PAYER_PATIENT,
     .thresholds = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160},
     .nthresholds = 16},
    {.key = "rolling-days",
     .codes = hv_codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 1,
     .period = {ALLOT_PERIOD_ROLLING_DAYS, 0, 0, 365},
     .pool = ALLOT_POOL_HOUSEHOLD,
     .member_cap = 1,
     .payer = ALLOT_PAYER_SPONSOR,
     .thresholds = {100},
     .nthresholds = 1},
    {.key = "hearing-aid",
     .codes = ha_codes,
     .ncodes = 1,
     .limit = ALLOT_LIMIT_QUANTITY,
     .allowance = 1,
     .period = {ALLOT_PERIOD_ROLLING_MONTHS, 0, 0, 36},
     .pool = ALLOT_POOL_MEMBER,
     .has_overage_price = true,
     .overage_price = 10000000000,
     .payer = ALLOT_PAYER_PATIENT,
     .thresholds = {70, 80, 90, 100},
     .nthresholds = 4},
    {.key = "lifetime-max",
     .codes = lab_codes,
     .ncodes = 3,
     .limit = ALLOT_LIMIT_AMOUNT,
     .allowance = 10000000000,
     .period = {ALLOT_PERIOD_LIFETIME, 0, 0, 0},
     .pool = ALLOT_POOL_HOUSEHOLD,
     .member_cap = 10000000000,
     .payer = ALLOT_PAYER_PATIENT,
     .thresholds = {70, 80, 90, 100},
     .nthresholds = 4},
};
#define NSAMPLE_RULES (sizeof sample_rules / sizeof sample_rules[0])

static struct allot_plan_version version(allot_date from, struct allot_rule *rules, uint32_t n)
{
    struct allot_plan_version v;
    v.effective_from = from;
    v.rules = rules;
    v.nrules = n;
    return v;
}

static void assert_rule_equal(const struct allot_rule *x, const struct allot_rule *y)
{
    uint32_t i;
    assert_string_equal(x->key, y->key);
    assert_int_equal(x->ncodes, y->ncodes);
    for (i = 0; i < x->ncodes; i++)
        assert_string_equal(x->codes[i], y->codes[i]);
    assert_int_equal(x->limit, y->limit);
    assert_int_equal(x->unlimited, y->unlimited);
    assert_int_equal(x->allowance, y->allowance);
    assert_int_equal(x->period.kind, y->period.kind);
    assert_int_equal(x->period.month, y->period.month);
    assert_int_equal(x->period.day, y->period.day);
    assert_int_equal(x->period.count, y->period.count);
    assert_int_equal(x->pool, y->pool);
    assert_int_equal(x->member_cap, y->member_cap);
    assert_int_equal(x->has_overage_price, y->has_overage_price);
    assert_int_equal(x->overage_price, y->overage_price);
    assert_int_equal(x->payer, y->payer);
    assert_int_equal(x->nthresholds, y->nthresholds);
    for (i = 0; i < x->nthresholds; i++)
        assert_int_equal(x->thresholds[i], y->thresholds[i]);
}

static void assert_version_equal(const struct allot_plan_version *x,
                                 const struct allot_plan_version *y)
{
    uint32_t i;
    assert_int_equal(x->effective_from, y->effective_from);
    assert_int_equal(x->nrules, y->nrules);
    for (i = 0; i < x->nrules; i++)
        assert_rule_equal(&x->rules[i], &y->rules[i]);
}

/* ---------------------------------------------------------------- opening */

static void open_creates_directory_and_stamps_version(void **state)
{
    struct fx *f = *state;
    struct stat sb;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {sizeof "schema_version", (void *)"schema_version"}, v;

    assert_int_equal(stat(f->path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(allot_store_schema_version(f->s), 3);
    allot_store_close(f->s);
    f->s = NULL;

    /* What is on disk: meta holds "schema_version" 00 -> u32 LE 3. */
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, f->path, MDB_RDONLY, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
    assert_int_equal(v.mv_size, 4);
    assert_memory_equal(v.mv_data, "\x03\x00\x00\x00", 4);
    assert_int_equal(mdb_dbi_open(txn, "services", 0, &dbi), 0);
    assert_int_equal(mdb_dbi_open(txn, "plans", 0, &dbi), 0);
    assert_int_equal(mdb_dbi_open(txn, "members", 0, &dbi), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    reopen(f);
    assert_int_equal(allot_store_schema_version(f->s), 3);
}

/* Writes version into the meta database with the raw LMDB API. */
static void stamp_version(const char *path, const void *bytes, size_t n)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {sizeof "schema_version", (void *)"schema_version"};
    MDB_val v = {n, (void *)bytes};
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void newer_schema_version_is_refused(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    char want[256];

    assert_int_equal(put_service(f->s, "HOME_VISIT", "Home visit", 15000, NULL), 0);
    allot_store_close(f->s);
    f->s = NULL;
    stamp_version(f->path, "\x07\x00\x00\x00", 4);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EFORMAT);
    assert_null(f->s);
    assert_int_equal(st.code, ALLOT_EFORMAT);
    snprintf(want, sizeof want,
             "data directory %s has schema version 7; this allotd understands up to 3", f->path);
    assert_string_equal(st.msg, want);

    /* version 0 and a malformed version are refused too */
    stamp_version(f->path, "\x00\x00\x00\x00", 4);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EFORMAT);
    assert_non_null(strstr(st.msg, "schema version 0"));
    stamp_version(f->path, "\x01\x00", 2);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EFORMAT);
    assert_non_null(strstr(st.msg, f->path));

    /* and version 1 is accepted again (and upgraded), with the data in place */
    stamp_version(f->path, "\x01\x00\x00\x00", 4);
    assert_int_equal(open_store(f, 0, 0, &st), 0);
}

static void foreign_directories_are_refused(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {3, (void *)"key"}, v = {5, (void *)"value"};
    char p[200];
    FILE *fp;

    /* an LMDB environment of some other program: data in the main db */
    assert_int_equal(mkdir(f->path, 0700), 0);
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_open(env, f->path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EFORMAT);
    assert_non_null(strstr(st.msg, f->path));
    assert_non_null(strstr(st.msg, "not an allot store"));

    /* a data.mdb that is not LMDB at all */
    rm_tree(f->path);
    assert_int_equal(mkdir(f->path, 0700), 0);
    snprintf(p, sizeof p, "%s/data.mdb", f->path);
    fp = fopen(p, "w");
    assert_non_null(fp);
    for (int i = 0; i < 2000; i++)
        fputs("not a database ", fp);
    fclose(fp);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EFORMAT);
    assert_non_null(strstr(st.msg, f->path));

    /* a path that is a file, and a directory whose parent is missing */
    snprintf(p, sizeof p, "%s/file", f->dir);
    fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    strcpy(f->path, p);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EIO);
    assert_non_null(strstr(st.msg, "not a directory"));
    snprintf(f->path, sizeof f->path, "%s/missing/data", f->dir);
    assert_int_equal(open_store(f, 0, 0, &st), ALLOT_EIO);
    assert_non_null(strstr(st.msg, f->path));
    assert_non_null(strstr(st.msg, strerror(ENOENT)));
    assert_null(f->s);
}

/* --------------------------------------------------------------- services */

static void service_round_trip_and_replace(void **state)
{
    struct fx *f = *state;
    struct allot_service svc;
    struct allot_txn *t;
    bool created = false;

    assert_int_equal(put_service(f->s, "HOME_VISIT", "Home visit", 15000, &created), 0);
    assert_true(created);
    assert_int_equal(put_service(f->s, "97110", "", 0, &created), 0);
    assert_true(created);
    assert_int_equal(put_service(f->s, "HOME_VISIT", "Home visit (extended)", 17500, &created), 0);
    assert_false(created);

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_service(t, "HOME_VISIT", &f->a, &svc), 0);
    assert_string_equal(svc.code, "HOME_VISIT");
    assert_string_equal(svc.name, "Home visit (extended)");
    assert_int_equal(svc.cash_price, 17500);
    assert_int_equal(allot_store_get_service(t, "97110", &f->a, &svc), 0);
    assert_string_equal(svc.name, "");
    assert_int_equal(svc.cash_price, 0);
    assert_int_equal(allot_store_get_service(t, "9711", &f->a, &svc), ALLOT_ENOTFOUND);
    assert_int_equal(allot_store_get_service(t, "971100", &f->a, &svc), ALLOT_ENOTFOUND);
    assert_int_equal(allot_store_get_service(t, "", &f->a, &svc), ALLOT_ENOTFOUND);
    allot_store_read_end(t);
}

static void list_services_pages(void **state)
{
    struct fx *f = *state;
    struct allot_service *out;
    struct allot_txn *t;
    char code[16], after[16] = "";
    size_t n, total = 0;
    bool more = true;
    int i, pages = 0;

    /* 25 codes, put in reverse order, listed in byte order */
    for (i = 24; i >= 0; i--) {
        snprintf(code, sizeof code, "SVC%02d", i);
        assert_int_equal(put_service(f->s, code, code, i * 100, NULL), 0);
    }
    /* a code that is a prefix of others sorts before them */
    assert_int_equal(put_service(f->s, "SVC", "prefix", 1, NULL), 0);

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_list_services(t, "", 10, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 10);
    assert_true(more);
    assert_string_equal(out[0].code, "SVC");
    assert_string_equal(out[1].code, "SVC00");
    assert_int_equal(out[1].cash_price, 0);
    assert_string_equal(out[9].code, "SVC08");

    while (more) {
        assert_int_equal(allot_store_list_services(t, after, 10, &f->a, &out, &n, &more), 0);
        assert_true(n > 0);
        for (size_t j = 0; j < n; j++)
            if (j > 0)
                assert_true(strcmp(out[j - 1].code, out[j].code) < 0);
        strcpy(after, out[n - 1].code);
        total += n;
        pages++;
    }
    assert_int_equal(total, 26);
    assert_int_equal(pages, 3);
    assert_string_equal(after, "SVC24");

    /* an exact last page has no more; after a code that is not stored */
    assert_int_equal(allot_store_list_services(t, "SVC15", 9, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 9);
    assert_false(more);
    assert_int_equal(allot_store_list_services(t, "SVC1", 2, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 2);
    assert_string_equal(out[0].code, "SVC10");
    assert_true(more);
    assert_int_equal(allot_store_list_services(t, NULL, 1, &f->a, &out, &n, &more), 0);
    assert_string_equal(out[0].code, "SVC");
    /* limit 0 answers whether any follow */
    assert_int_equal(allot_store_list_services(t, "SVC23", 0, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_true(more);
    assert_non_null(out);
    assert_int_equal(allot_store_list_services(t, "SVC24", 10, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    /* after longer than any id */
    char lng[300];
    memset(lng, 'Z', sizeof lng - 1);
    lng[sizeof lng - 1] = 0;
    assert_int_equal(allot_store_list_services(t, lng, 10, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 0);
    memcpy(lng, "SVC", 3);
    assert_int_equal(allot_store_list_services(t, lng, 100, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 0);
    lng[3] = '0';
    assert_int_equal(allot_store_list_services(t, lng, 100, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 15); /* SVC10..SVC24 */
    allot_store_read_end(t);
}

/* ------------------------------------------------------------------ plans */

static void plan_round_trip_every_rule_field(void **state)
{
    struct fx *f = *state;
    struct allot_plan_version v = version(D("2025-01-01"), sample_rules, NSAMPLE_RULES);
    const struct allot_plan_version *got;
    struct allot_plan plan;
    struct allot_txn *t;
    bool created = false;

    assert_int_equal(put_version(f->s, "family", "Family Membership", &v, &created, NULL), 0);
    assert_true(created);

    for (int pass = 0; pass < 2; pass++) {
        assert_int_equal(allot_store_read_begin(f->s, &t), 0);
        assert_int_equal(allot_store_get_plan(t, "family", &f->a, &plan), 0);
        assert_string_equal(plan.id, "family");
        assert_string_equal(plan.name, "Family Membership");
        assert_int_equal(plan.nversions, 1);
        assert_version_equal(&plan.versions[0], &v);
        assert_int_equal(allot_store_get_plan_version_at(t, "family", D("2025-06-01"), &f->a, &got),
                         0);
        assert_non_null(got);
        assert_version_equal(got, &v);
        assert_int_equal(allot_store_plan_exists(t, "family"), 0);
        assert_int_equal(allot_store_plan_exists(t, "famil"), ALLOT_ENOTFOUND);
        assert_int_equal(allot_store_get_plan(t, "famil", &f->a, &plan), ALLOT_ENOTFOUND);
        allot_store_read_end(t);
        reopen(f); /* and again from disk */
    }
}

static void version_lookup_before_at_between_after(void **state)
{
    struct fx *f = *state;
    struct allot_rule r1 = sample_rules[0], r2 = sample_rules[0], r3 = sample_rules[0];
    struct allot_plan_version v1, v2, v3, vo;
    const struct allot_plan_version *got;
    struct allot_txn *t;
    static const struct {
        const char *plan, *date;
        int rc;
        int64_t allowance; /* -1: none in force */
    } cases[] = {
        {"p", "1959-12-31", 0, -1},
        {"p", "1960-03-01", 0, 1},
        {"p", "1969-12-31", 0, 1},
        {"p", "1970-01-01", 0, 1},
        {"p", "2024-12-31", 0, 1},
        {"p", "2025-01-01", 0, 2},
        {"p", "2025-06-30", 0, 2},
        {"p", "2025-07-01", 0, 3},
        {"p", "9999-12-31", 0, 3},
        {"o", "2030-01-01", 0, -1},
        {"o", "2030-01-02", 0, 99},
        {"q", "2025-01-01", ALLOT_ENOTFOUND, -1},
        {"", "2025-01-01", ALLOT_ENOTFOUND, -1},
        {"pp", "2025-01-01", ALLOT_ENOTFOUND, -1},
        {"a", "2025-01-01", ALLOT_ENOTFOUND, -1},
    };

    r1.allowance = 1;
    r2.allowance = 2;
    r3.allowance = 3;
    v1 = version(D("1960-01-01"), &r1, 1); /* before 1970: a negative day number */
    v2 = version(D("2025-01-01"), &r2, 1);
    v3 = version(D("2025-07-01"), &r3, 1);
    /* later versions first: storage order does not depend on put order */
    assert_int_equal(put_version(f->s, "p", "P", &v3, NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "p", "", &v1, NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "p", "", &v2, NULL, NULL), 0);
    /* neighbours whose keys sort around p's, to catch a lookup that strays */
    r1.allowance = 99;
    vo = version(D("2030-01-02"), &r1, 1);
    assert_int_equal(put_version(f->s, "o", "", &vo, NULL, NULL), 0);
    vo.effective_from = D("1900-01-01");
    r2.allowance = 98;
    vo.rules = &r2;
    assert_int_equal(put_version(f->s, "p0", "", &vo, NULL, NULL), 0);

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        got = (const void *)1;
        int rc = allot_store_get_plan_version_at(t, cases[i].plan, D(cases[i].date), &f->a, &got);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s %s): rc %d", i, cases[i].plan, cases[i].date, rc);
        if (cases[i].allowance < 0) {
            assert_null(got);
        } else {
            assert_non_null(got);
            assert_int_equal(got->rules[0].allowance, cases[i].allowance);
            assert_true(got->effective_from <= D(cases[i].date));
        }
    }
    /* a date past every version of the last plan in the database */
    assert_int_equal(allot_store_get_plan_version_at(t, "p0", ALLOT_DATE_NONE, &f->a, &got), 0);
    assert_non_null(got);
    assert_int_equal(got->rules[0].allowance, 98);
    allot_store_read_end(t);
}

static void plan_versions_ascending_and_named(void **state)
{
    struct fx *f = *state;
    struct allot_rule r[3] = {sample_rules[0], sample_rules[1], sample_rules[2]};
    struct allot_plan_version v[3] = {version(D("2025-03-01"), r, 1),
                                      version(D("2024-03-01"), r + 1, 2),
                                      version(D("2026-03-01"), r + 2, 1)};
    struct allot_plan plan;
    struct allot_txn *t;

    assert_int_equal(put_version(f->s, "x", "", &v[0], NULL, NULL), 0);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_plan(t, "x", &f->a, &plan), 0);
    assert_string_equal(plan.name, ""); /* a new plan given "" is named "" */
    allot_store_read_end(t);

    assert_int_equal(put_version(f->s, "x", "Named", &v[1], NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "x", "", &v[2], NULL, NULL), 0); /* "" keeps the name */
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_plan(t, "x", &f->a, &plan), 0);
    assert_string_equal(plan.name, "Named");
    assert_int_equal(plan.nversions, 3);
    assert_version_equal(&plan.versions[0], &v[1]);
    assert_version_equal(&plan.versions[1], &v[0]);
    assert_version_equal(&plan.versions[2], &v[2]);
    allot_store_read_end(t);
}

static void plan_versions_idempotent_or_conflicting(void **state)
{
    struct fx *f = *state;
    struct allot_rule rules[NSAMPLE_RULES];
    struct allot_plan_version v = version(D("2025-01-01"), sample_rules, NSAMPLE_RULES), w;
    struct allot_status st;
    struct allot_plan plan;
    struct allot_txn *t;
    bool created = true;

    assert_int_equal(put_version(f->s, "p", "Plan", &v, &created, NULL), 0);
    assert_true(created);
    /* the same version again, from a separate copy: a success, not created */
    memcpy(rules, sample_rules, sizeof rules);
    w = version(D("2025-01-01"), rules, NSAMPLE_RULES);
    assert_int_equal(put_version(f->s, "p", "", &w, &created, NULL), 0);
    assert_false(created);
    /* fields that the encoding ignores do not make it different */
    rules[0].member_cap = 5; /* a MEMBER pool has no cap */
    rules[3].allowance = 7;  /* an unlimited rule has no allowance */
    assert_int_equal(put_version(f->s, "p", "Renamed", &w, &created, NULL), 0);
    assert_false(created);

    /* one field changed: refused, and nothing of that write remains */
    rules[1].thresholds[0] = 60;
    assert_int_equal(put_version(f->s, "p", "Other name", &w, &created, &st), ALLOT_EEXIST);
    assert_false(created);
    assert_int_equal(st.code, ALLOT_EEXIST);
    assert_string_equal(st.msg,
                        "plan p already has a version effective 2025-01-01 with different rules");
    rules[1].thresholds[0] = 50;
    w.nrules--; /* a rule fewer */
    assert_int_equal(put_version(f->s, "p", "", &w, &created, &st), ALLOT_EEXIST);

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_plan(t, "p", &f->a, &plan), 0);
    assert_string_equal(plan.name, "Renamed"); /* an identical put still renames */
    assert_int_equal(plan.nversions, 1);
    assert_version_equal(&plan.versions[0], &v);
    allot_store_read_end(t);
}

static void list_plans_pages(void **state)
{
    struct fx *f = *state;
    struct allot_plan_version v;
    struct allot_plan *out;
    struct allot_txn *t;
    char id[16];
    size_t n;
    bool more;
    int i, k;

    for (i = 0; i < 7; i++) {
        snprintf(id, sizeof id, "plan-%d", i);
        for (k = 0; k <= i % 3; k++) {
            v = version(D("2024-01-01") + 31 * k, sample_rules + k, 2);
            assert_int_equal(put_version(f->s, id, id, &v, NULL, NULL), 0);
        }
    }
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_list_plans(t, "", 3, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_string_equal(out[0].id, "plan-0");
    assert_int_equal(out[0].nversions, 1);
    assert_string_equal(out[2].id, "plan-2");
    assert_int_equal(out[2].nversions, 3);
    assert_string_equal(out[2].name, "plan-2");
    assert_int_equal(out[2].versions[2].effective_from, D("2024-01-01") + 62);
    assert_version_equal(&out[2].versions[1],
                         &(struct allot_plan_version){D("2024-02-01"), sample_rules + 1, 2});
    assert_int_equal(allot_store_list_plans(t, out[2].id, 3, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 3);
    assert_true(more);
    assert_string_equal(out[0].id, "plan-3");
    assert_int_equal(allot_store_list_plans(t, out[2].id, 3, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 1);
    assert_false(more);
    assert_string_equal(out[0].id, "plan-6");
    assert_int_equal(allot_store_list_plans(t, "plan-6", 3, &f->a, &out, &n, &more), 0);
    assert_int_equal(n, 0);
    assert_false(more);
    allot_store_read_end(t);
}

/* ---------------------------------------------------------------- members */

static void assert_member_equal(const struct allot_member *x, const struct allot_member *y)
{
    uint32_t i;
    assert_string_equal(x->id, y->id);
    assert_int_equal(x->nenrollments, y->nenrollments);
    for (i = 0; i < x->nenrollments; i++) {
        assert_string_equal(x->enrollments[i].plan_id, y->enrollments[i].plan_id);
        assert_int_equal(x->enrollments[i].start, y->enrollments[i].start);
        assert_int_equal(x->enrollments[i].end, y->enrollments[i].end);
    }
    assert_int_equal(x->anniversary, y->anniversary);
    assert_string_equal(x->household_id, y->household_id);
    assert_string_equal(x->sponsor_id, y->sponsor_id);
}

static void member_round_trip_and_replace(void **state)
{
    struct fx *f = *state;
    struct allot_enrollment given[3] = {
        {"family", D("2025-01-01"), ALLOT_DATE_NONE},
        {"basic", D("2023-01-01"), D("2023-12-31")},
        {"pt", D("2024-01-01"), D("2024-12-31")},
    };
    struct allot_enrollment sorted[3] = {given[1], given[2], given[0]};
    struct allot_member m = {"m-1", given, 3, D("2024-02-29"), "hh-7", "acme"};
    struct allot_member want = {"m-1", sorted, 3, D("2024-02-29"), "hh-7", "acme"};
    struct allot_member bare = {"m-1", NULL, 0, ALLOT_DATE_NONE, "", ""};
    struct allot_member got;
    struct allot_txn *t;
    bool created = false;

    assert_int_equal(put_member(f->s, &m, &created, NULL), 0);
    assert_true(created);
    assert_string_equal(given[0].plan_id, "family"); /* the caller's array is untouched */
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_member(t, "m-1", &f->a, &got), 0);
    assert_member_equal(&got, &want);
    assert_int_equal(allot_store_get_member(t, "m-2", &f->a, &got), ALLOT_ENOTFOUND);
    allot_store_read_end(t);

    /* replaced as a whole */
    assert_int_equal(put_member(f->s, &bare, &created, NULL), 0);
    assert_false(created);
    reopen(f);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_member(t, "m-1", &f->a, &got), 0);
    assert_member_equal(&got, &bare);
    assert_non_null(got.enrollments);
    allot_store_read_end(t);
}

/* -------------------------------------------------- durability and writes */

static void reopen_keeps_everything(void **state)
{
    struct fx *f = *state;
    struct allot_enrollment e = {"family", D("2024-03-15"), ALLOT_DATE_NONE};
    struct allot_member m = {"m-9", &e, 1, ALLOT_DATE_NONE, "", "employer-1"};
    struct allot_plan_version v = version(D("2024-01-01"), sample_rules, 3);
    struct allot_service svc;
    struct allot_member gm;
    struct allot_plan plan;
    struct allot_txn *t;

    assert_int_equal(put_service(f->s, "HOME_VISIT", "Home visit", 15000, NULL), 0);
    assert_int_equal(put_version(f->s, "family", "Family", &v, NULL, NULL), 0);
    assert_int_equal(put_member(f->s, &m, NULL, NULL), 0);
    reopen(f);
    reopen(f);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_service(t, "HOME_VISIT", &f->a, &svc), 0);
    assert_int_equal(svc.cash_price, 15000);
    assert_int_equal(allot_store_get_plan(t, "family", &f->a, &plan), 0);
    assert_version_equal(&plan.versions[0], &v);
    assert_int_equal(allot_store_get_member(t, "m-9", &f->a, &gm), 0);
    assert_member_equal(&gm, &m);
    allot_store_read_end(t);
}

struct failing {
    int calls;
    int rc;
};

static int put_then_fail(struct allot_txn *t, void *arg)
{
    struct failing *fl = arg;
    struct allot_service svc = {"DOOMED", "x", 1};
    struct allot_plan_version v = version(D("2025-01-01"), sample_rules, 1);
    fl->calls++;
    assert_int_equal(allot_store_put_service(t, &svc, NULL, NULL), 0);
    assert_int_equal(allot_store_put_plan_version(t, "doomed", "", &v, NULL, NULL), 0);
    return fl->rc;
}

static void failed_fn_writes_nothing(void **state)
{
    struct fx *f = *state;
    struct failing fl = {0, ALLOT_EPRECOND};
    struct allot_status st;
    struct allot_service svc;
    struct allot_txn *t;

    assert_int_equal(allot_store_write(f->s, put_then_fail, &fl, &st), ALLOT_EPRECOND);
    assert_int_equal(fl.calls, 1);
    assert_int_equal(st.code, ALLOT_EPRECOND);
    assert_string_equal(st.msg, allot_strerror(ALLOT_EPRECOND));
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_service(t, "DOOMED", &f->a, &svc), ALLOT_ENOTFOUND);
    assert_int_equal(allot_store_plan_exists(t, "doomed"), ALLOT_ENOTFOUND);
    allot_store_read_end(t);
}

struct group {
    int n;
    int results[4];
};

static int group_item(struct allot_txn *t, void *arg)
{
    int *i = arg;
    char code[8];
    struct allot_service svc = {code, "", 1};
    snprintf(code, sizeof code, "G%d", *i);
    assert_int_equal(allot_store_put_service(t, &svc, NULL, NULL), 0);
    return *i == 1 ? ALLOT_EINVAL : 0; /* the second one fails */
}

static int group_fn(struct allot_txn *t, void *arg)
{
    struct group *g = arg;
    static int idx[4] = {0, 1, 2, 3};
    for (int i = 0; i < g->n; i++)
        g->results[i] = allot_store_nested(t, group_item, &idx[i]);
    return 0;
}

static void nested_failure_discards_only_its_writes(void **state)
{
    struct fx *f = *state;
    struct group g = {3, {0}};
    struct allot_service svc;
    struct allot_txn *t;

    assert_int_equal(allot_store_write(f->s, group_fn, &g, NULL), 0);
    assert_int_equal(g.results[0], 0);
    assert_int_equal(g.results[1], ALLOT_EINVAL);
    assert_int_equal(g.results[2], 0);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_service(t, "G0", &f->a, &svc), 0);
    assert_int_equal(allot_store_get_service(t, "G1", &f->a, &svc), ALLOT_ENOTFOUND);
    assert_int_equal(allot_store_get_service(t, "G2", &f->a, &svc), 0);
    assert_int_equal(allot_store_nested(t, group_item, &g.n), ALLOT_EINVAL); /* read txn */
    allot_store_read_end(t);
}

static void readers_see_a_snapshot(void **state)
{
    struct fx *f = *state;
    struct allot_service svc;
    struct allot_txn *t;

    assert_int_equal(put_service(f->s, "A", "old", 1, NULL), 0);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(put_service(f->s, "A", "new", 2, NULL), 0);
    assert_int_equal(put_service(f->s, "B", "b", 3, NULL), 0);
    assert_int_equal(allot_store_get_service(t, "A", &f->a, &svc), 0);
    assert_string_equal(svc.name, "old");
    assert_int_equal(allot_store_get_service(t, "B", &f->a, &svc), ALLOT_ENOTFOUND);
    allot_store_read_end(t);
}

/* A read transaction that ended is renewed by the next read_begin, cursors
 * and all, on the snapshot of that moment; no more than a few are kept. */
static void read_transactions_are_reused_on_fresh_snapshots(void **state)
{
    struct fx *f = *state;
    struct allot_service *list;
    struct allot_txn *t, *t2, *many[12];
    size_t n;
    bool more;
    int i, reused = 0;

    assert_int_equal(put_service(f->s, "A", "a", 1, NULL), 0);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_list_services(t, "", 10, &f->a, &list, &n, &more), 0);
    assert_int_equal(n, 1); /* its services cursor is open now */
    allot_store_read_end(t);

    assert_int_equal(put_service(f->s, "B", "b", 2, NULL), 0);
    assert_int_equal(allot_store_read_begin(f->s, &t2), 0);
    assert_ptr_equal(t2, t); /* the same transaction, renewed */
    assert_int_equal(allot_store_list_services(t2, "", 10, &f->a, &list, &n, &more), 0);
    assert_int_equal(n, 2); /* the kept cursor reads the new snapshot */
    assert_string_equal(list[1].code, "B");
    allot_store_read_end(t2);

    for (i = 0; i < 12; i++)
        assert_int_equal(allot_store_read_begin(f->s, &many[i]), 0);
    assert_int_equal(put_service(f->s, "C", "c", 3, NULL), 0); /* readers do not block it */
    for (i = 0; i < 12; i++) {
        assert_int_equal(allot_store_list_services(many[i], "", 10, &f->a, &list, &n, &more), 0);
        assert_int_equal(n, 2); /* each began before C */
        allot_store_read_end(many[i]);
    }
    for (i = 0; i < 12; i++) {
        assert_int_equal(allot_store_read_begin(f->s, &many[i]), 0);
        assert_int_equal(allot_store_list_services(many[i], "", 10, &f->a, &list, &n, &more), 0);
        assert_int_equal(n, 3);
    }
    for (i = 0; i < 12; i++) {
        for (int j = 0; j < 12; j++)
            reused += many[i] == many[j] && i != j;
        allot_store_read_end(many[i]);
    }
    assert_int_equal(reused, 0); /* never handed out twice */
}

static void bad_input_is_refused(void **state)
{
    struct fx *f = *state;
    struct allot_rule r = sample_rules[0];
    struct allot_plan_version v = version(D("2025-01-01"), &r, 1);
    struct allot_enrollment e[2] = {{"p", D("2025-01-01"), D("2025-12-31")},
                                    {"p", D("2025-06-01"), ALLOT_DATE_NONE}};
    struct allot_member m = {"m", e, 2, ALLOT_DATE_NONE, "", ""};
    struct allot_service svc = {"S", "", 1};
    struct allot_status st;
    struct allot_txn *t;
    char lng[ALLOT_ID_MAX + 2];
    char name[ALLOT_NAME_MAX + 2];

    memset(lng, 'x', sizeof lng - 1);
    lng[sizeof lng - 1] = 0;
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = 0;
    assert_int_equal(put_service(f->s, "", "", 1, NULL), ALLOT_EINVAL);
    assert_int_equal(put_service(f->s, lng, "", 1, NULL), ALLOT_EINVAL);
    lng[ALLOT_ID_MAX] = 0; /* exactly the maximum is fine */
    assert_int_equal(put_service(f->s, lng, "", 1, NULL), 0);
    assert_int_equal(put_service(f->s, "S", name, 1, NULL), ALLOT_EINVAL);
    assert_int_equal(put_service(f->s, "S", "", -1, NULL), ALLOT_EINVAL);
    assert_int_equal(put_service(f->s, "S", "", ALLOT_MONEY_MAX + 1, NULL), ALLOT_EINVAL);

    r.period.kind = 42;
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    assert_string_equal(st.msg, "plan p version 2025-01-01 cannot be stored: "
                                "rules[0].period.kind: 42 is out of range");
    r = sample_rules[0];
    r.thresholds[0] = 90; /* not ascending */
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    r = sample_rules[0];
    r.nthresholds = ALLOT_THRESHOLDS_MAX + 1;
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    r = sample_rules[0];
    r.allowance = ALLOT_UNITS_MAX + 1;
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    r = sample_rules[0];
    v.effective_from = ALLOT_DATE_NONE;
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    v.effective_from = D("2025-01-01");
    assert_int_equal(put_version(f->s, "p", name, &v, NULL, &st), ALLOT_EINVAL);
    assert_int_equal(put_version(f->s, "", "", &v, NULL, &st), ALLOT_EINVAL);

    assert_int_equal(put_member(f->s, &m, NULL, &st), ALLOT_EINVAL); /* overlapping */
    assert_non_null(strstr(st.msg, "overlaps"));
    e[1].start = D("2026-01-01");
    e[0].end = ALLOT_DATE_NONE; /* open, yet not the last */
    assert_int_equal(put_member(f->s, &m, NULL, &st), ALLOT_EINVAL);
    e[0].end = D("2024-01-01"); /* ends before it starts */
    assert_int_equal(put_member(f->s, &m, NULL, &st), ALLOT_EINVAL);
    e[0].end = D("2025-12-31");
    assert_int_equal(put_member(f->s, &m, NULL, &st), 0);

    /* writes on a read transaction */
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_put_service(t, &svc, NULL, &st), ALLOT_EINVAL);
    assert_int_equal(allot_store_put_member(t, &m, NULL, &st), ALLOT_EINVAL);
    assert_int_equal(allot_store_put_plan_version(t, "p", "", &v, NULL, &st), ALLOT_EINVAL);
    assert_int_equal(allot_store_plan_exists(t, "p"), ALLOT_ENOTFOUND); /* nothing got in */
    allot_store_read_end(t);
}

/* One read of plan_id's version in force on d, in a transaction and arena
 * of its own, both gone when it returns. */
static const struct allot_plan_version *read_version(struct allot_store *s, const char *plan_id,
                                                     allot_date d)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    const struct allot_plan_version *got = NULL;
    struct allot_txn *t;
    if (allot_store_read_begin(s, &t))
        return NULL;
    if (allot_store_get_plan_version_at(t, plan_id, d, &a, &got))
        got = NULL;
    allot_store_read_end(t);
    allot_arena_release(&a);
    return got;
}

struct version_reader {
    struct allot_store *s;
    const struct allot_plan_version *got[50];
};

static void *version_reader_main(void *arg)
{
    struct version_reader *r = arg;
    for (size_t i = 0; i < sizeof r->got / sizeof r->got[0]; i++)
        r->got[i] = read_version(r->s, "kept", D("2025-03-01"));
    return NULL;
}

static int put_versions_of_many_plans(struct allot_txn *t, void *arg)
{
    struct allot_rule r = sample_rules[0];
    struct allot_plan_version v = version(D("2025-01-01"), &r, 1);
    char id[32];
    int i, rc;
    (void)arg;
    for (i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "plan-%03d", i);
        r.allowance = i + 1;
        if ((rc = allot_store_put_plan_version(t, id, "", &v, NULL, NULL)))
            return rc;
    }
    return 0;
}

/* Puts "ghost" at 2025-01-01 with allowance *arg, reads it back (so the
 * store keeps it), then fails: nothing is committed. */
static int put_read_and_fail(struct allot_txn *t, void *arg)
{
    struct allot_rule r = sample_rules[0];
    struct allot_plan_version v = version(D("2025-01-01"), &r, 1);
    struct allot_arena a = ALLOT_ARENA_INIT;
    const struct allot_plan_version *got = NULL;
    int rc;
    r.allowance = *(int *)arg;
    if ((rc = allot_store_put_plan_version(t, "ghost", "", &v, NULL, NULL)) ||
        (rc = allot_store_get_plan_version_at(t, "ghost", D("2025-02-01"), &a, &got)))
        return rc;
    rc = got && got->rules[0].allowance == r.allowance ? ALLOT_EINVAL : ALLOT_EIO;
    allot_arena_release(&a);
    return rc;
}

/* The store keeps each version it decodes: readers of the same record get
 * the same read-only copy, still whole after their transaction and arena
 * are gone, from any thread; another date or plan gets its own. Past the
 * store's 256 kept versions, versions are decoded into the caller's arena
 * and are just as right. */
static void decoded_versions_are_kept_and_shared(void **state)
{
    struct fx *f = *state;
    struct allot_rule r1 = sample_rules[0], r2 = sample_rules[0];
    struct allot_plan_version v1, v2;
    const struct allot_plan_version *g1, *g2, *g3;
    struct version_reader rd[3];
    pthread_t th[3];
    char id[32];
    int i, shared = 0;

    r1.allowance = 1;
    r2.allowance = 2;
    v1 = version(D("2025-01-01"), &r1, 1);
    v2 = version(D("2025-07-01"), &r2, 1);
    assert_int_equal(put_version(f->s, "kept", "", &v1, NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "kept", "", &v2, NULL, NULL), 0);

    for (i = 0; i < 3; i++) {
        rd[i].s = f->s;
        assert_int_equal(pthread_create(&th[i], NULL, version_reader_main, &rd[i]), 0);
    }
    for (i = 0; i < 3; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    g1 = read_version(f->s, "kept", D("2025-03-01"));
    assert_non_null(g1);
    for (i = 0; i < 3; i++)
        for (size_t j = 0; j < sizeof rd[i].got / sizeof rd[i].got[0]; j++)
            assert_ptr_equal(rd[i].got[j], g1);
    assert_rule_equal(&g1->rules[0], &r1); /* its reader's arena is long gone */
    assert_int_equal(g1->effective_from, D("2025-01-01"));
    g2 = read_version(f->s, "kept", D("2025-06-30"));
    assert_ptr_equal(g2, g1);
    g3 = read_version(f->s, "kept", D("2025-07-01"));
    assert_non_null(g3);
    assert_ptr_not_equal(g3, g1);
    assert_rule_equal(&g3->rules[0], &r2);

    /* a version kept from a transaction that was rolled back is not what
     * a later record at the same plan and date reads as: the bytes decide */
    i = 7;
    assert_int_equal(allot_store_write(f->s, put_read_and_fail, &i, NULL), ALLOT_EINVAL);
    r1.allowance = 8;
    assert_int_equal(put_version(f->s, "ghost", "", &v1, NULL, NULL), 0);
    g2 = read_version(f->s, "ghost", D("2025-02-01"));
    assert_non_null(g2);
    assert_int_equal(g2->rules[0].allowance, 8);

    assert_int_equal(allot_store_write(f->s, put_versions_of_many_plans, NULL, NULL), 0);
    for (int round = 0; round < 2; round++) {
        for (i = 0; i < 300; i++) {
            struct allot_arena a = ALLOT_ARENA_INIT;
            const struct allot_plan_version *a1 = NULL, *a2 = NULL;
            struct allot_txn *t;
            snprintf(id, sizeof id, "plan-%03d", i);
            assert_int_equal(allot_store_read_begin(f->s, &t), 0);
            assert_int_equal(allot_store_get_plan_version_at(t, id, D("2025-02-01"), &a, &a1), 0);
            assert_int_equal(allot_store_get_plan_version_at(t, id, D("2025-02-01"), &a, &a2), 0);
            assert_non_null(a1);
            assert_non_null(a2);
            assert_int_equal(a1->rules[0].allowance, i + 1);
            assert_int_equal(a2->rules[0].allowance, i + 1);
            shared += a1 == a2;
            allot_store_read_end(t);
            allot_arena_release(&a);
        }
    }
    /* 256 slots, two taken by "kept", two by "ghost": 252 plans kept */
    assert_int_equal(shared, 2 * 252);
    assert_ptr_equal(read_version(f->s, "kept", D("2025-03-01")), g1);
}

static int put_many_versions(struct allot_txn *t, void *arg)
{
    struct allot_status *st = arg;
    struct allot_plan_version v = version(0, sample_rules, 1);
    int i, rc;
    for (i = 0; i <= ALLOT_PLAN_VERSIONS_MAX; i++) {
        v.effective_from = i;
        if ((rc = allot_store_put_plan_version(t, "many", "", &v, NULL, st)))
            return i == ALLOT_PLAN_VERSIONS_MAX ? 0 : rc;
    }
    return ALLOT_EINVAL; /* the last one should have been refused */
}

static void plan_version_count_is_capped(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct allot_plan plan;
    struct allot_txn *t;

    allot_status_clear(&st);
    assert_int_equal(allot_store_write(f->s, put_many_versions, &st, NULL), 0);
    assert_int_equal(st.code, ALLOT_EPRECOND);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_plan(t, "many", &f->a, &plan), 0);
    assert_int_equal(plan.nversions, ALLOT_PLAN_VERSIONS_MAX);
    for (uint32_t i = 0; i < plan.nversions; i++)
        assert_int_equal(plan.versions[i].effective_from, (allot_date)i);
    allot_store_read_end(t);
}

/* -------------------------------------------------------------- the map */

struct batch {
    int from, to;
    int calls;
};

static void member_id(char *buf, size_t n, int i)
{
    snprintf(buf, n, "member-%06d-with-a-longish-id", i);
}

static int put_members(struct allot_txn *t, void *arg)
{
    struct batch *b = arg;
    struct allot_enrollment e[2] = {{"basic", D("2023-01-01"), D("2023-12-31")},
                                    {"family", D("2024-01-01"), ALLOT_DATE_NONE}};
    struct allot_member m = {NULL, e, 2, ALLOT_DATE_NONE, "household-0001", "sponsor-0001"};
    char id[64];
    int i, rc;
    b->calls++;
    for (i = b->from; i < b->to; i++) {
        member_id(id, sizeof id, i);
        m.id = id;
        if ((rc = allot_store_put_member(t, &m, NULL, NULL)))
            return rc;
    }
    return 0;
}

static void check_members(struct fx *f, int n)
{
    struct allot_member m;
    struct allot_txn *t;
    char id[64];
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    for (int i = 0; i < n; i++) {
        member_id(id, sizeof id, i);
        assert_int_equal(allot_store_get_member(t, id, &f->a, &m), 0);
        assert_string_equal(m.id, id);
        assert_int_equal(m.nenrollments, 2);
        allot_arena_reset(&f->a);
    }
    allot_store_read_end(t);
}

static void map_grows_when_full(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct batch b;
    size_t start;

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, 0, &st), 0);
    start = allot_store_map_size(f->s);
    assert_int_equal(start, 64 * 1024);

    /* one transaction much larger than the map: grown and rerun */
    b = (struct batch){0, 3000, 0};
    assert_int_equal(allot_store_write(f->s, put_members, &b, &st), 0);
    assert_true(b.calls > 1);
    /* many small ones */
    for (int i = 3000; i < 6000; i += 100) {
        b = (struct batch){i, i + 100, 0};
        assert_int_equal(allot_store_write(f->s, put_members, &b, &st), 0);
    }
    assert_true(allot_store_map_size(f->s) >= 4 * start);
    check_members(f, 6000);

    /* the grown size survives a reopen that asks for less */
    size_t grown = allot_store_map_size(f->s);
    allot_store_close(f->s);
    f->s = NULL;
    assert_int_equal(open_store(f, 64 * 1024, 0, &st), 0);
    assert_int_equal(allot_store_map_size(f->s), grown);
    check_members(f, 6000);
}

static void full_map_is_efull(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct allot_service svc;
    struct allot_txn *t;
    struct batch b;
    int done = 0, rc = 0;

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, 256 * 1024, &st), 0);
    assert_int_equal(put_service(f->s, "KEEP", "kept", 1, NULL), 0);
    while (done < 100000) {
        b = (struct batch){done, done + 200, 0};
        rc = allot_store_write(f->s, put_members, &b, &st);
        if (rc)
            break;
        done += 200;
    }
    assert_int_equal(rc, ALLOT_EFULL);
    assert_int_equal(st.code, ALLOT_EFULL);
    assert_non_null(strstr(st.msg, "maximum of 262144 bytes"));
    assert_int_equal(allot_store_map_size(f->s), 256 * 1024);
    assert_true(done > 0);

    /* what committed before is intact; the failed batch left nothing */
    check_members(f, done);
    char id[64];
    struct allot_member m;
    member_id(id, sizeof id, done);
    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_member(t, id, &f->a, &m), ALLOT_ENOTFOUND);
    assert_int_equal(allot_store_get_service(t, "KEEP", &f->a, &svc), 0);
    allot_store_read_end(t);
    /* and small writes that fit still work */
    assert_int_equal(put_service(f->s, "KEEP", "still", 2, NULL), 0);
}

struct nested_group {
    struct batch b[3];
    int calls;
};

static int nested_members(struct allot_txn *t, void *arg)
{
    return put_members(t, arg);
}

/* Like the server's group commit: results of nested writes are ignored. */
static int nested_group_fn(struct allot_txn *t, void *arg)
{
    struct nested_group *g = arg;
    g->calls++;
    for (int i = 0; i < 3; i++)
        (void)allot_store_nested(t, nested_members, &g->b[i]);
    return 0;
}

/* A nested transaction that fills the map makes the whole write rerun. */
static void nested_map_full_reruns_the_write(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct nested_group g = {{{0, 1000, 0}, {1000, 2000, 0}, {2000, 3000, 0}}, 0};

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, 0, &st), 0);
    assert_int_equal(allot_store_write(f->s, nested_group_fn, &g, &st), 0);
    assert_true(g.calls > 1);
    check_members(f, 3000);
}

struct reader {
    struct allot_store *s;
    atomic_int *stop;
    atomic_long reads;
    int err;
};

/* Waits (up to 10 s) until r has read more than n times. */
static bool reader_passes(struct reader *r, long n)
{
    for (int i = 0; i < 10000 && atomic_load(&r->reads) <= n; i++)
        usleep(1000);
    return atomic_load(&r->reads) > n;
}

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot_service svc;
    struct allot_txn *t;
    while (!atomic_load(r->stop)) {
        if (allot_store_read_begin(r->s, &t)) {
            r->err = 1;
            break;
        }
        if (allot_store_get_service(t, "KEEP", &a, &svc) || svc.cash_price != 7)
            r->err = 2;
        allot_store_read_end(t);
        allot_arena_reset(&a);
        atomic_fetch_add(&r->reads, 1);
    }
    allot_arena_release(&a);
    return NULL;
}

/* Readers on other threads while the writer grows the map: the gate lets
 * the resize through between their transactions. */
static void map_grows_under_concurrent_readers(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    struct reader r[2];
    pthread_t th[2];
    atomic_int stop = 0;
    struct batch b;
    bool early[2], late[2];

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, 0, &st), 0);
    assert_int_equal(put_service(f->s, "KEEP", "k", 7, NULL), 0);
    for (int i = 0; i < 2; i++) {
        r[i] = (struct reader){f->s, &stop, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &r[i]), 0);
    }
    /* Both readers are reading before the first resize (on a busy machine
     * a thread may not have run yet), and read again after the last. The
     * readers are stopped before anything is asserted. */
    for (int i = 0; i < 2; i++)
        early[i] = reader_passes(&r[i], 0);
    for (int i = 0; i < 4000 && early[0] && early[1]; i += 250) {
        b = (struct batch){i, i + 250, 0};
        if (allot_store_write(f->s, put_members, &b, &st))
            break;
    }
    for (int i = 0; i < 2; i++)
        late[i] = reader_passes(&r[i], atomic_load(&r[i].reads));
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_true(early[i]);
        assert_true(late[i]);
        assert_int_equal(r[i].err, 0);
    }
    assert_true(allot_store_map_size(f->s) > 64 * 1024);
    check_members(f, 4000);
}

/* The child half of map_resized_by_another_process: this test binary run
 * again as "test_store --grow PATH" writes 3000 members into the store at
 * PATH, growing its map well past the parent's. */
static const char *self_exe; /* argv[0]; not /proc/self/exe, which is valgrind under it */

static int grow_child(const char *path)
{
    struct allot_store_options o = {path, 64 * 1024, 0, true, false};
    struct allot_store *s;
    struct allot_status st;
    struct batch b = {0, 3000, 0};
    int rc;
    if (allot_store_open(&s, &o, &st)) {
        fprintf(stderr, "child: %s\n", st.msg);
        return 1;
    }
    rc = allot_store_write(s, put_members, &b, &st);
    allot_store_close(s);
    return rc ? 2 : 0;
}

static void map_resized_by_another_process(void **state)
{
    struct fx *f = *state;
    struct allot_status st;
    size_t before;
    pid_t pid;
    int status;

    allot_store_close(f->s);
    f->s = NULL;
    rm_tree(f->path);
    assert_int_equal(open_store(f, 64 * 1024, 0, &st), 0);
    assert_int_equal(put_service(f->s, "KEEP", "k", 7, NULL), 0);
    before = allot_store_map_size(f->s);

    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl(self_exe, self_exe, "--grow", f->path, (char *)NULL);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    /* the next transaction meets MDB_MAP_RESIZED and adopts the new size */
    assert_int_equal(put_service(f->s, "KEEP", "k", 8, NULL), 0);
    assert_true(allot_store_map_size(f->s) > before);
    check_members(f, 3000);
}

/* ---------------------------------------------------------- corrupt data */

/* Overwrites the value of key in database db with the raw LMDB API. */
static void forge(const char *path, const char *db, const void *key, size_t klen, const void *val,
                  size_t vlen)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_env_create(&env), 0);
    assert_int_equal(mdb_env_set_maxdbs(env, 8), 0);
    assert_int_equal(mdb_env_open(env, path, 0, 0600), 0);
    assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
    assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void corrupt_records_are_reported(void **state)
{
    struct fx *f = *state;
    struct allot_enrollment e = {"family", D("2024-03-15"), ALLOT_DATE_NONE};
    struct allot_member m = {"m", &e, 1, ALLOT_DATE_NONE, "", ""};
    struct allot_plan_version v = version(D("2024-01-01"), sample_rules, 2);
    const struct allot_plan_version *pv;
    struct allot_service *svcs;
    struct allot_service svc;
    struct allot_member gm;
    struct allot_plan plan;
    struct allot_txn *t;
    unsigned char vkey[16];
    size_t n;
    bool more;

    assert_int_equal(put_service(f->s, "A", "a", 1, NULL), 0);
    assert_int_equal(put_service(f->s, "B", "b", 1, NULL), 0);
    assert_int_equal(put_member(f->s, &m, NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "p", "", &v, NULL, NULL), 0);
    assert_int_equal(put_version(f->s, "q", "", &v, NULL, NULL), 0);
    allot_store_close(f->s);
    f->s = NULL;

    forge(f->path, "services", "B", 2,
          "\x01\x05"
          "ab",
          4);                                           /* truncated name */
    forge(f->path, "members", "m", 2, "\x02", 1);       /* unknown format */
    forge(f->path, "plans", "p", 2, "\x01\x00\x02", 3); /* header: 2 versions, 1 stored */
    /* q 00 | 2024-05-10 as a key date: big-endian, sign bit flipped */
    uint32_t u = (uint32_t)D("2024-05-10") ^ UINT32_C(0x80000000);
    vkey[0] = 'q';
    vkey[1] = 0;
    vkey[2] = (unsigned char)(u >> 24);
    vkey[3] = (unsigned char)(u >> 16);
    vkey[4] = (unsigned char)(u >> 8);
    vkey[5] = (unsigned char)u;
    forge(f->path, "plans", vkey, 6, "\x01\x01\xff", 3); /* a garbage rule */
    reopen(f);

    assert_int_equal(allot_store_read_begin(f->s, &t), 0);
    assert_int_equal(allot_store_get_service(t, "A", &f->a, &svc), 0);
    assert_int_equal(allot_store_get_service(t, "B", &f->a, &svc), ALLOT_ECORRUPT);
    assert_int_equal(allot_store_list_services(t, "", 10, &f->a, &svcs, &n, &more), ALLOT_ECORRUPT);
    assert_int_equal(n, 0);
    assert_int_equal(allot_store_get_member(t, "m", &f->a, &gm), ALLOT_ECORRUPT);
    assert_int_equal(allot_store_get_plan(t, "p", &f->a, &plan), ALLOT_ECORRUPT);
    /* q's first version is intact and still served; the forged one is not */
    assert_int_equal(allot_store_get_plan_version_at(t, "q", D("2024-02-01"), &f->a, &pv), 0);
    assert_non_null(pv);
    assert_int_equal(allot_store_get_plan_version_at(t, "q", D("2024-06-01"), &f->a, &pv),
                     ALLOT_ECORRUPT);
    assert_null(pv);
    allot_store_read_end(t);
}

int main(int argc, char **argv)
{
    self_exe = argv[0];
    if (argc == 3 && !strcmp(argv[1], "--grow"))
        return grow_child(argv[2]);
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
#define TD(name) cmocka_unit_test_setup_teardown(name, setup_dir, teardown)
        T(open_creates_directory_and_stamps_version),
        T(newer_schema_version_is_refused),
        TD(foreign_directories_are_refused),
        T(service_round_trip_and_replace),
        T(list_services_pages),
        T(plan_round_trip_every_rule_field),
        T(version_lookup_before_at_between_after),
        T(plan_versions_ascending_and_named),
        T(plan_versions_idempotent_or_conflicting),
        T(list_plans_pages),
        T(member_round_trip_and_replace),
        T(reopen_keeps_everything),
        T(failed_fn_writes_nothing),
        T(nested_failure_discards_only_its_writes),
        T(readers_see_a_snapshot),
        T(read_transactions_are_reused_on_fresh_snapshots),
        T(bad_input_is_refused),
        T(decoded_versions_are_kept_and_shared),
        T(plan_version_count_is_capped),
        T(map_grows_when_full),
        T(full_map_is_efull),
        T(nested_map_full_reruns_the_write),
        T(map_grows_under_concurrent_readers),
        T(map_resized_by_another_process),
        T(corrupt_records_are_reported),
#undef T
#undef TD
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
