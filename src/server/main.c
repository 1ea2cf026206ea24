/* main.c - allotd: options, start, wait for a signal, stop in order.
 *
 * SIGINT and SIGTERM are blocked in every thread before grpc_init (threads
 * inherit the mask) and taken with sigwait here, so no signal handler ever
 * runs inside grpc or LMDB code.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "allot/ledger.h"
#include "allot/store.h"

#include "log.h"
#include "server.h"

#define DEFAULT_LISTEN "127.0.0.1:50051"
#define DEFAULT_DATA "./var/allot"
#define MAX_MESSAGE_BYTES (4 * 1024 * 1024)
#define GRACE_MS 5000

static void usage(FILE *f)
{
    fprintf(f,
            "usage: allotd [--listen HOST:PORT] [--data DIR]\n"
            "       allotd --verify [--data DIR]\n"
            "       allotd --backup DIR [--data DIR]\n"
            "\n"
            "Serves allot.v1.Allot (membership coverage and pricing) over gRPC.\n"
            "\n"
            "  -l, --listen HOST:PORT  address to listen on (env ALLOT_LISTEN;\n"
            "                          default " DEFAULT_LISTEN ")\n"
            "  -d, --data DIR          data directory, created when missing (env ALLOT_DATA;\n"
            "                          default " DEFAULT_DATA ")\n"
            "      --map-max BYTES     largest the store may grow to, e.g. 64G, 512M\n"
            "                          (env ALLOT_MAP_MAX; default 1T): past it writes\n"
            "                          fail with RESOURCE_EXHAUSTED\n"
            "      --backup DIR        write a consistent, compacted copy of the store to\n"
            "                          DIR and exit; safe while a server runs\n"
            "      --verify            check that the ledger's indexes agree with its\n"
            "                          entries, print a summary, and exit (0: they agree,\n"
            "                          1: they do not); safe while a server runs\n"
            "  -h, --help              show this help\n"
            "\n"
            "SIGINT or SIGTERM stop the server after in-flight calls finish.\n");
}

/* "512M", "64G", "1T" or plain bytes; 0 when malformed. */
static size_t parse_size(const char *s)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || end == s)
        return 0;
    switch (*end) {
    case 'K': case 'k': v <<= 10; end++; break;
    case 'M': case 'm': v <<= 20; end++; break;
    case 'G': case 'g': v <<= 30; end++; break;
    case 'T': case 't': v <<= 40; end++; break;
    default: break;
    }
    return *end ? 0 : (size_t)v;
}

/* --backup: LMDB's compacting copy from a read snapshot of the live store. */
static int backup(const char *data, const char *dir)
{
    struct allot_store_options sopt;
    struct allot_store *store = NULL;
    struct allot_status st;
    int rc;

    memset(&sopt, 0, sizeof sopt);
    sopt.path = data;
    allot_status_clear(&st);
    if (allot_store_open(&store, &sopt, &st)) {
        fprintf(stderr, "allotd: cannot open the store: %s\n", st.msg);
        return 1;
    }
    umask(077); /* utilization data: readable by its owner only */
    rc = allot_store_backup(store, dir, &st);
    allot_store_close(store);
    if (rc) {
        fprintf(stderr, "allotd: %s\n", st.msg);
        return 1;
    }
    printf("backup of %s written to %s\n", data, dir);
    return 0;
}

/* --verify: recompute the ledger's indexes from its entries and compare. */
static int verify(const char *data)
{
    struct allot_store_options sopt;
    struct allot_store *store = NULL;
    struct allot_status st;
    struct allot_txn *t;
    uint64_t n = 0;
    int rc;

    memset(&sopt, 0, sizeof sopt);
    sopt.path = data;
    allot_status_clear(&st);
    if (allot_store_open(&store, &sopt, &st)) {
        fprintf(stderr, "allotd: cannot open the store: %s\n", st.msg);
        return 1;
    }
    if ((rc = allot_store_read_begin(store, &t))) {
        fprintf(stderr, "allotd: %s\n", allot_strerror(rc));
        allot_store_close(store);
        return 1;
    }
    rc = allot_ledger_verify(t, &n, &st);
    allot_store_read_end(t);
    allot_store_close(store);
    if (rc) {
        fprintf(stderr, "allotd: ledger of %s does NOT verify: %s\n", data,
                st.msg[0] ? st.msg : allot_strerror(rc));
        return 1;
    }
    printf("ledger ok: %llu entries, indexes agree (%s)\n", (unsigned long long)n, data);
    return 0;
}

/* mkdir -p for the parents of path (the store creates the last part). */
static int make_parents(const char *path)
{
    char buf[PATH_MAX];
    size_t i, n = strlen(path);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, path, n + 1);
    for (i = 1; i < n; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -1;
        buf[i] = '/';
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"verify", no_argument, NULL, 'V'},
        {"backup", required_argument, NULL, 'B'},
        {"map-max", required_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = getenv("ALLOT_LISTEN");
    const char *data = getenv("ALLOT_DATA");
    struct allot_store_options sopt;
    struct server_options opt;
    struct allot_store *store = NULL;
    struct allot_status st;
    struct server *srv;
    sigset_t sigs;
    const char *backup_dir = NULL, *map_max = getenv("ALLOT_MAP_MAX");
    int ch, sig = 0, do_verify = 0;

    while ((ch = getopt_long(argc, argv, "l:d:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'l':
            listen = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            do_verify = 1;
            break;
        case 'B':
            backup_dir = optarg;
            break;
        case 'M':
            map_max = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "allotd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!listen || !*listen)
        listen = DEFAULT_LISTEN;
    if (!data || !*data)
        data = DEFAULT_DATA;
    if (do_verify)
        return verify(data);
    if (backup_dir)
        return backup(data, backup_dir);

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (make_parents(data)) {
        allot_log_error("cannot create the parents of data directory %s: %s", data,
                        strerror(errno));
        return 1;
    }
    memset(&sopt, 0, sizeof sopt);
    sopt.path = data;
    if (map_max && *map_max && !(sopt.map_size_max = parse_size(map_max))) {
        fprintf(stderr, "allotd: --map-max: \"%s\" is not a size (e.g. 512M, 64G)\n", map_max);
        return 2;
    }
    if (sopt.map_size_max && sopt.map_size_max < (1u << 20)) {
        fprintf(stderr, "allotd: --map-max: at least 1M\n");
        return 2;
    }
    if (sopt.map_size_max)
        sopt.map_size = sopt.map_size_max < ((size_t)64 << 20) ? sopt.map_size_max : 0;
    allot_status_clear(&st);
    if (allot_store_open(&store, &sopt, &st)) {
        allot_log_error("cannot open the store: %s", st.msg);
        return 1;
    }

    grpc_init();
    memset(&opt, 0, sizeof opt);
    opt.listen = listen;
    opt.store = store;
    opt.max_message_bytes = MAX_MESSAGE_BYTES;
    opt.grace_ms = GRACE_MS;
    srv = server_start(&opt, &st);
    if (!srv) {
        allot_log_error("%s", st.msg);
        allot_store_close(store);
        grpc_shutdown();
        return 1;
    }
    allot_log_info("listening on %s, data in %s", listen, data);

    while (sigwait(&sigs, &sig) != 0)
        ;
    allot_log_info("stopping on %s: finishing in-flight calls", strsignal(sig));
    server_stop(srv);
    allot_store_close(store);
    grpc_shutdown();
    allot_log_info("stopped");
    return 0;
}
