/* main.c - allotd: options, start, wait for a signal, stop in order.
 *
 * SIGINT and SIGTERM are blocked in every thread before grpc_init (threads
 * inherit the mask) and taken with sigwait here, so no signal handler ever
 * runs inside grpc or LMDB code.
 *
 * Security options (docs/security.md) are checked before the store is
 * opened: a server that would listen beyond this machine without both TLS
 * and authentication refuses to start (exit 2) unless told --insecure.
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
#include <openssl/crypto.h>

#include "allot/ledger.h"
#include "allot/store.h"

#include "auth.h"
#include "log.h"
#include "server.h"
#include "tokens.h"

#define DEFAULT_LISTEN "127.0.0.1:50051"
#define DEFAULT_DATA "./var/allot"
#define MAX_MESSAGE_BYTES (4 * 1024 * 1024)
#define GRACE_MS 5000
#define PEM_FILE_MAX (1024 * 1024)

static void usage(FILE *f)
{
    fprintf(f, "usage: allotd [--listen HOST:PORT] [--data DIR] [--tls-cert FILE --tls-key FILE\n"
               "              [--tls-client-ca FILE]] [--auth-config FILE] [--insecure]\n"
               "       allotd --verify [--data DIR]\n"
               "       allotd --backup DIR [--data DIR]\n"
               "       allotd --hash-token < TOKEN\n"
               "       allotd --new-token ID ROLE\n"
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
               "\n"
               "Security (docs/security.md):\n"
               "      --tls-cert FILE     serve TLS with this PEM certificate chain (env\n"
               "                          ALLOT_TLS_CERT); needs --tls-key\n"
               "      --tls-key FILE      its PEM private key, unencrypted (env ALLOT_TLS_KEY)\n"
               "      --tls-client-ca FILE  require client certificates signed by this PEM CA\n"
               "                          (mutual TLS; env ALLOT_TLS_CLIENT_CA)\n"
               "      --auth-config FILE  require \"authorization: Bearer <token>\" on every call\n"
               "                          but health; FILE lists token hashes, roles and JWT\n"
               "                          keys (env ALLOT_AUTH_CONFIG). Without it every\n"
               "                          caller may do everything: loopback only\n"
               "      --insecure          allow listening beyond loopback without TLS and\n"
               "                          authentication (refused otherwise, exit 2)\n"
               "      --hash-token        read a token on stdin, print its config hash\n"
               "      --new-token ID ROLE print a fresh random token (once) and its config\n"
               "                          line; ROLE is admin, billing or reader\n"
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

/* Opens the store at data for --verify or --backup: it must exist already (a
 * mistyped path must not "verify" or back up an empty store). NULL, having
 * said why, when it cannot be opened. */
static struct allot_store *open_existing(const char *data)
{
    struct allot_store_options sopt;
    struct allot_store *store = NULL;
    struct allot_status st;

    memset(&sopt, 0, sizeof sopt);
    sopt.path = data;
    sopt.must_exist = true;
    allot_status_clear(&st);
    if (allot_store_open(&store, &sopt, &st)) {
        fprintf(stderr, "allotd: cannot open the store: %s\n", st.msg);
        return NULL;
    }
    return store;
}

/* --backup: LMDB's compacting copy from a read snapshot of the live store. */
static int backup(const char *data, const char *dir)
{
    struct allot_store *store = open_existing(data);
    struct allot_status st;
    int rc;

    if (!store)
        return 1;
    allot_status_clear(&st);
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
    struct allot_store *store = open_existing(data);
    struct allot_status st;
    struct allot_txn *t;
    uint64_t n = 0;
    int rc;

    if (!store)
        return 1;
    allot_status_clear(&st);
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

/* --hash-token: a token on stdin (one line) -> "sha256:HEX" on stdout. */
static int hash_token(void)
{
    char buf[AUTH_VALUE_MAX + 2], text[AUTH_HASH_TEXT_LEN];
    unsigned char h[AUTH_SHA256_LEN];
    size_t n = fread(buf, 1, sizeof buf - 1, stdin), i;
    int rc = 2;

    if (n == sizeof buf - 1) {
        fprintf(stderr, "allotd: --hash-token: a token is at most %d bytes\n", AUTH_VALUE_MAX);
        goto out;
    }
    buf[n] = '\0';
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    if (n == 0) {
        fprintf(stderr, "allotd: --hash-token: no token on stdin\n");
        goto out;
    }
    for (i = 0; i < n; i++)
        if ((unsigned char)buf[i] <= 0x20 || (unsigned char)buf[i] >= 0x7f) {
            fprintf(stderr, "allotd: --hash-token: a token is one line of printable ASCII "
                            "without spaces\n");
            goto out;
        }
    auth_token_hash(buf, n, h);
    auth_hash_text(h, text);
    printf("%s\n", text);
    rc = 0;
out:
    OPENSSL_cleanse(buf, sizeof buf);
    return rc;
}

/* --new-token ID ROLE: a fresh token and the config line that admits it. */
static int new_token(const char *id, const char *role)
{
    char tok[AUTH_NEW_TOKEN_LEN], text[AUTH_HASH_TEXT_LEN], line[512];
    unsigned char h[AUTH_SHA256_LEN];
    struct auth_config cfg;
    struct allot_status st;

    if (auth_new_token(tok)) {
        fprintf(stderr, "allotd: --new-token: no randomness from the kernel\n");
        return 1;
    }
    auth_token_hash(tok, strlen(tok), h);
    auth_hash_text(h, text);
    snprintf(line, sizeof line, "token %s %s %s", id, role, text);
    /* the line must parse as the server will parse it */
    memset(&cfg, 0, sizeof cfg);
    allot_status_clear(&st);
    if (auth_config_parse(&cfg, line, strlen(line), "--new-token", NULL, &st)) {
        fprintf(stderr, "allotd: %s\n", st.msg);
        OPENSSL_cleanse(tok, sizeof tok);
        return 2;
    }
    auth_config_release(&cfg);
    printf("%s\n%s\n", tok, line);
    fflush(stdout);
    fprintf(stderr, "allotd: line 1 is the token: hand it to the client now, it is not kept "
                    "anywhere.\nallotd: line 2 goes into the auth config file.\n");
    OPENSSL_cleanse(tok, sizeof tok);
    return 0;
}

/* A PEM file for a TLS option, into *out (freed with free_secret). */
static int read_pem(const char *flag, const char *path, char **out)
{
    struct allot_status st;
    struct stat sb;
    allot_status_clear(&st);
    if (auth_read_file(path, PEM_FILE_MAX, out, NULL, &st)) {
        fprintf(stderr, "allotd: %s: %s\n", flag, st.msg);
        return 2;
    }
    if (!strcmp(flag, "--tls-key") && stat(path, &sb) == 0 && (sb.st_mode & 077))
        allot_log_info("warning: --tls-key %s may be read by group or others (chmod 600)", path);
    return 0;
}

static void free_secret(char *p)
{
    if (p) {
        OPENSSL_cleanse(p, strlen(p));
        free(p);
    }
}

/* A non-loopback listener needs TLS and authentication, or --insecure. */
static int check_exposure(const char *listen, bool tls, bool auth, bool insecure)
{
    if (auth_addr_is_loopback(listen) || (tls && auth))
        return 0;
    if (insecure) {
        allot_log_info("warning: --insecure: listening on %s without %s%s%s; anyone who can "
                       "reach it %s",
                       listen, tls ? "" : "TLS", !tls && !auth ? " and " : "",
                       auth ? "" : "authentication",
                       auth ? "can read the traffic, credentials included"
                            : "can read and change every member's data");
        return 0;
    }
    fprintf(stderr,
            "allotd: refusing to listen on %s without %s%s%s: it is not a loopback address,\n"
            "so anyone who can reach it could %s.\n"
            "Give --tls-cert/--tls-key and --auth-config (docs/security.md), listen on\n"
            "127.0.0.1, or say --insecure if the network itself is trusted.\n",
            listen, tls ? "" : "TLS", !tls && !auth ? " and " : "", auth ? "" : "authentication",
            auth ? "read the traffic, bearer tokens included"
                 : "read and change every member's utilization data");
    return 2;
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
        {"tls-cert", required_argument, NULL, 'C'},
        {"tls-key", required_argument, NULL, 'K'},
        {"tls-client-ca", required_argument, NULL, 'A'},
        {"auth-config", required_argument, NULL, 'a'},
        {"insecure", no_argument, NULL, 'I'},
        {"hash-token", no_argument, NULL, 'H'},
        {"new-token", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0},
    };
    const char *listen = getenv("ALLOT_LISTEN");
    const char *data = getenv("ALLOT_DATA");
    struct allot_store_options sopt;
    struct server_options opt;
    struct allot_store *store = NULL;
    struct allot_status st;
    struct server *srv;
    char port[24] = "";
    sigset_t sigs;
    const char *backup_dir = NULL, *map_max = getenv("ALLOT_MAP_MAX");
    const char *tls_cert = getenv("ALLOT_TLS_CERT"), *tls_key = getenv("ALLOT_TLS_KEY");
    const char *tls_ca = getenv("ALLOT_TLS_CLIENT_CA"), *auth_path = getenv("ALLOT_AUTH_CONFIG");
    const char *new_token_id = NULL;
    char *cert_pem = NULL, *key_pem = NULL, *ca_pem = NULL;
    struct auth_config auth;
    bool insecure = false, have_auth = false;
    int ch, sig = 0, do_verify = 0, do_hash = 0, rc;

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
        case 'C':
            tls_cert = optarg;
            break;
        case 'K':
            tls_key = optarg;
            break;
        case 'A':
            tls_ca = optarg;
            break;
        case 'a':
            auth_path = optarg;
            break;
        case 'I':
            insecure = true;
            break;
        case 'H':
            do_hash = 1;
            break;
        case 'N':
            new_token_id = optarg;
            break;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (new_token_id) {
        if (optind != argc - 1) {
            fprintf(stderr, "allotd: --new-token ID ROLE: want one ROLE (admin, billing or "
                            "reader)\n");
            return 2;
        }
        return new_token(new_token_id, argv[optind]);
    }
    if (optind < argc) {
        fprintf(stderr, "allotd: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (do_hash)
        return hash_token();
    if (!listen || !*listen)
        listen = DEFAULT_LISTEN;
    if (!data || !*data)
        data = DEFAULT_DATA;
    if (do_verify)
        return verify(data);
    if (backup_dir)
        return backup(data, backup_dir);

    /* security options, before anything is opened */
    if (tls_cert && !*tls_cert)
        tls_cert = NULL;
    if (tls_key && !*tls_key)
        tls_key = NULL;
    if (tls_ca && !*tls_ca)
        tls_ca = NULL;
    if (auth_path && !*auth_path)
        auth_path = NULL;
    if (!tls_cert != !tls_key) {
        fprintf(stderr, "allotd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (tls_ca && !tls_cert) {
        fprintf(stderr, "allotd: --tls-client-ca needs --tls-cert and --tls-key\n");
        return 2;
    }
    if (check_exposure(listen, tls_cert != NULL, auth_path != NULL, insecure))
        return 2;
    memset(&auth, 0, sizeof auth);
    allot_status_clear(&st);
    if (tls_cert) {
        if ((rc = read_pem("--tls-cert", tls_cert, &cert_pem)) ||
            (rc = read_pem("--tls-key", tls_key, &key_pem)) ||
            (tls_ca && (rc = read_pem("--tls-client-ca", tls_ca, &ca_pem))))
            goto fail_options;
        if (auth_tls_check(cert_pem, key_pem, ca_pem, &st)) {
            fprintf(stderr, "allotd: %s\n", st.msg);
            rc = 2;
            goto fail_options;
        }
    }
    if (auth_path) {
        struct stat sb;
        if (auth_config_load(&auth, auth_path, &st)) {
            fprintf(stderr, "allotd: %s\n", st.msg);
            rc = 2;
            goto fail_options;
        }
        have_auth = true;
        if (auth.inline_secret && stat(auth_path, &sb) == 0 && (sb.st_mode & 077))
            allot_log_info("warning: auth config %s holds a JWT key and may be read by group "
                           "or others (chmod 600, or keep the key in a file:)",
                           auth_path);
    }

    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (make_parents(data)) {
        allot_log_error("cannot create the parents of data directory %s: %s", data,
                        strerror(errno));
        rc = 1;
        goto fail_options;
    }
    memset(&sopt, 0, sizeof sopt);
    sopt.path = data;
    if (map_max && *map_max && !(sopt.map_size_max = parse_size(map_max))) {
        fprintf(stderr, "allotd: --map-max: \"%s\" is not a size (e.g. 512M, 64G)\n", map_max);
        rc = 2;
        goto fail_options;
    }
    if (sopt.map_size_max && sopt.map_size_max < (1u << 20)) {
        fprintf(stderr, "allotd: --map-max: at least 1M\n");
        rc = 2;
        goto fail_options;
    }
    if (sopt.map_size_max)
        sopt.map_size = sopt.map_size_max < ((size_t)64 << 20) ? sopt.map_size_max : 0;
    allot_status_clear(&st);
    if (allot_store_open(&store, &sopt, &st)) {
        allot_log_error("cannot open the store: %s", st.msg);
        rc = 1;
        goto fail_options;
    }

    grpc_init();
    memset(&opt, 0, sizeof opt);
    opt.listen = listen;
    opt.store = store;
    opt.max_message_bytes = MAX_MESSAGE_BYTES;
    opt.grace_ms = GRACE_MS;
    opt.auth = have_auth ? &auth : NULL;
    opt.tls_cert_pem = cert_pem;
    opt.tls_key_pem = key_pem;
    opt.tls_client_ca_pem = ca_pem;
    srv = server_start(&opt, &st);
    if (!srv) {
        allot_log_error("%s", st.msg);
        allot_store_close(store);
        grpc_shutdown();
        rc = 1;
        goto fail_options;
    }
    if (strncmp(listen, "unix:", 5) != 0)
        snprintf(port, sizeof port, "port %d; ", server_port(srv));
    allot_log_info("listening on %s (%s%s%s, %s), data in %s", listen, port,
                   cert_pem ? "TLS" : "plaintext",
                   ca_pem ? " with client certificates" : "",
                   have_auth ? "authentication on" : "authentication OFF", data);

    while (sigwait(&sigs, &sig) != 0)
        ;
    allot_log_info("stopping on %s: finishing in-flight calls", strsignal(sig));
    server_stop(srv);
    allot_store_close(store);
    grpc_shutdown();
    allot_log_info("stopped");
    rc = 0;
fail_options:
    auth_config_release(&auth);
    free_secret(cert_pem);
    free_secret(key_pem);
    free_secret(ca_pem);
    return rc;
}
