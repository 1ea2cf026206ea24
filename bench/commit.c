/* commit.c - allot-commit: the cost of one bare durable LMDB commit.
 *
 * The yardstick for every writing scenario: opens a fresh LMDB environment
 * in a directory on the same filesystem as the benchmark's data (flags as
 * src/store uses them: default durability, MDB_NOTLS, MDB_NORDAHEAD), and
 * times N transactions that each put one small record and commit. A
 * durable commit is what one PriceInvoice cannot avoid, so "price-1 at 1 in
 * flight costs floor + one commit" is the best the service can do.
 *
 * -k K updates K random records of a 100k-record database per commit instead:
 * -k 8 writes about 16 pages per commit, as many as one priced invoice (14-17
 * pwrite64/writev per fdatasync under strace; a bare commit writes 2-3).
 * -W opens the environment MDB_WRITEMAP, to see what LMDB's write path
 * contributes.
 *
 * This is a measuring tool, not part of the service: it includes lmdb.h
 * directly, which only src/store does otherwise.
 */
#include <errno.h>
#include <getopt.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_COMMITS 20
#define PREFILL 100000 /* records, when -k > 1 */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double pct_us(const uint64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

/* Big-endian, so that memcmp order is numeric order (MDB_APPEND needs it). */
static uint64_t be64(uint64_t v)
{
    return __builtin_bswap64(v);
}

/* Commit number i: puts keys records (one new, or keys random old ones). */
static int one_commit(MDB_env *env, MDB_dbi dbi, uint64_t i, unsigned keys)
{
    char value[100];
    MDB_txn *txn;
    unsigned k;
    int rc;

    memset(value, (int)(i & 0xff), sizeof value);
    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return rc;
    for (k = 0; k < keys; k++) {
        /* a multiplicative hash spreads the keys over the whole tree */
        uint64_t key = be64(keys > 1 ? ((i * keys + k) * 0x9e3779b97f4a7c15ull) % PREFILL : i);
        MDB_val kv = {sizeof key, &key}, v = {keys > 1 ? sizeof value : 32, value};
        if ((rc = mdb_put(txn, dbi, &kv, &v, 0))) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

/* PREFILL records in one transaction, so updates hit a 3-level tree. */
static int prefill(MDB_env *env, MDB_dbi dbi)
{
    char value[100] = {0};
    MDB_txn *txn;
    uint64_t i;
    int rc;

    if ((rc = mdb_txn_begin(env, NULL, 0, &txn)))
        return rc;
    for (i = 0; i < PREFILL; i++) {
        uint64_t key = be64(i);
        MDB_val kv = {sizeof key, &key}, v = {sizeof value, value};
        if ((rc = mdb_put(txn, dbi, &kv, &v, MDB_APPEND))) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

int main(int argc, char **argv)
{
    const char *dir = NULL, *json = NULL;
    unsigned long n = 500, i;
    unsigned keys = 1, flags = MDB_NOTLS | MDB_NORDAHEAD;
    char path[4096], file[4200];
    uint64_t *lat = NULL, total = 0;
    MDB_env *env = NULL;
    MDB_txn *txn;
    MDB_dbi dbi;
    struct statfs fs;
    int ch, rc, status = 1;

    while ((ch = getopt(argc, argv, "d:n:j:k:Wh")) != -1) {
        switch (ch) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            n = strtoul(optarg, NULL, 10);
            break;
        case 'j':
            json = optarg;
            break;
        case 'k':
            keys = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'W':
            flags |= MDB_WRITEMAP;
            break;
        default:
            fprintf(ch == 'h' ? stdout : stderr,
                    "usage: allot-commit -d DIR [-n COMMITS] [-j OUT.json] [-k KEYS] [-W]\n"
                    "Times COMMITS durable one-record LMDB commits in a fresh environment\n"
                    "under DIR (removed afterwards). Default 500 commits.\n"
                    "  -k KEYS  update KEYS random records of 100k per commit\n"
                    "  -W       open the environment MDB_WRITEMAP\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (!dir || n == 0 || keys == 0) {
        fprintf(stderr, "allot-commit: -d DIR is required\n");
        return 2;
    }
    snprintf(path, sizeof path, "%s/bare-commit.%ld", dir, (long)getpid());
    if (mkdir(path, 0700) && errno != EEXIST) {
        fprintf(stderr, "allot-commit: mkdir %s: %s\n", path, strerror(errno));
        return 1;
    }
    if (!(lat = malloc(n * sizeof *lat)))
        goto out;
    if ((rc = mdb_env_create(&env)) || (rc = mdb_env_set_mapsize(env, 64u << 20)) ||
        (rc = mdb_env_open(env, path, flags, 0600)) || (rc = mdb_txn_begin(env, NULL, 0, &txn))) {
        fprintf(stderr, "allot-commit: %s: %s\n", path, mdb_strerror(rc));
        goto out;
    }
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) || (rc = mdb_txn_commit(txn))) {
        fprintf(stderr, "allot-commit: %s\n", mdb_strerror(rc));
        goto out;
    }
    if (keys > 1 && (rc = prefill(env, dbi)))
        goto fail;
    /* the first commits grow the file; not what we want to time */
    for (i = 0; i < WARMUP_COMMITS; i++)
        if ((rc = one_commit(env, dbi, i, keys)))
            goto fail;
    for (i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        if ((rc = one_commit(env, dbi, WARMUP_COMMITS + i, keys)))
            goto fail;
        lat[i] = now_ns() - t0;
        total += lat[i];
    }
    qsort(lat, n, sizeof *lat, cmp_u64);
    if (statfs(dir, &fs))
        memset(&fs, 0, sizeof fs);
    printf(
        "durable LMDB commit of %u record(s)%s (%lu in %s): p50 %.0f us, p90 %.0f us, p99 %.0f us, "
        "max %.0f us, %.0f commits/s\n",
        keys, flags & MDB_WRITEMAP ? ", MDB_WRITEMAP" : "", n, dir, pct_us(lat, n, 0.50),
        pct_us(lat, n, 0.90), pct_us(lat, n, 0.99), (double)lat[n - 1] / 1000.0,
        (double)n * 1e9 / (double)total);
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f) {
            fprintf(stderr, "allot-commit: %s: %s\n", json, strerror(errno));
            goto out;
        }
        fprintf(f,
                "{\"commits\": %lu, \"keys\": %u, \"writemap\": %s, \"fs_type\": \"0x%lx\", "
                "\"p50_us\": %.1f, \"p90_us\": %.1f, "
                "\"p99_us\": %.1f, \"max_us\": %.1f, \"mean_us\": %.1f, \"commits_per_s\": %.0f}\n",
                n, keys, flags & MDB_WRITEMAP ? "true" : "false", (unsigned long)fs.f_type,
                pct_us(lat, n, 0.50), pct_us(lat, n, 0.90), pct_us(lat, n, 0.99),
                (double)lat[n - 1] / 1000.0, (double)total / (double)n / 1000.0,
                (double)n * 1e9 / (double)total);
        if (fclose(f)) {
            fprintf(stderr, "allot-commit: %s: %s\n", json, strerror(errno));
            goto out;
        }
    }
    status = 0;
    goto out;
fail:
    fprintf(stderr, "allot-commit: commit: %s\n", mdb_strerror(rc));
out:
    if (env)
        mdb_env_close(env);
    snprintf(file, sizeof file, "%s/data.mdb", path);
    unlink(file);
    snprintf(file, sizeof file, "%s/lock.mdb", path);
    unlink(file);
    rmdir(path);
    free(lat);
    return status;
}
