/* creds.h - where allotctl's TLS files and bearer token come from.
 *
 * Each setting is a flag, else an environment variable, else unset:
 *
 *   --tls-ca FILE      ALLOT_TLS_CA      PEM roots to trust; turns TLS on
 *   --tls-cert FILE    ALLOT_TLS_CLIENT_CERT    client certificate (mutual TLS) ...
 *   --tls-key FILE     ALLOT_TLS_CLIENT_KEY     ... and its unencrypted PEM key
 *   --tls-name NAME    -                 the name the server's certificate
 *                                        must carry, instead of the host dialed
 *   --token-file FILE  ALLOT_TOKEN_FILE  the bearer token, read from FILE
 *   -                  ALLOT_TOKEN       the bearer token itself
 *
 * There is deliberately no --token flag: a command line is visible to
 * every local user (ps, /proc) and lands in shell history. ALLOT_TOKEN and
 * ALLOT_TOKEN_FILE together are refused as ambiguous (--token-file wins
 * over both). Empty variables count as unset.
 *
 * No network here: the files are read and checked, and the caller hands
 * the result to rpc_open.
 */
#ifndef ALLOTCTL_CREDS_H
#define ALLOTCTL_CREDS_H

#include <stddef.h>
#include <stdio.h>

/* Largest PEM file and token accepted. The server takes an authorization
 * value of at most 8192 bytes, "Bearer " included. */
#define CREDS_PEM_MAX (1024 * 1024)
#define CREDS_TOKEN_MAX (8192 - 7)

/* One setting and where it came from ("--tls-ca", "ALLOT_TLS_CA"), for
 * messages. value NULL: unset. */
struct creds_setting {
    const char *value;
    const char *from;
};

struct creds_opts {
    struct creds_setting tls_ca, tls_cert, tls_key, tls_name, token_file, token;
};

/* What rpc_open needs. Strings are owned (creds_free). */
struct creds {
    char *ca_pem;   /* NULL: plaintext */
    char *cert_pem; /* NULL: no client certificate */
    char *key_pem;
    const char *tls_name; /* borrowed from the options; NULL: the host dialed */
    char *token;          /* NULL: no authorization metadata */
    char token_from[512]; /* for messages: "--token-file FILE", "ALLOT_TOKEN" */
};

/* Fills the settings the flags left unset from the environment, through
 * get (getenv, or a stub in tests). Returns 0, or -1 with a message in err
 * when ALLOT_TOKEN and ALLOT_TOKEN_FILE are both set and no --token-file. */
int creds_from_env(struct creds_opts *o, const char *(*get)(const char *name), char *err,
                   size_t errlen);

/* Reads and checks the files. Returns 0, or -1 with err set ("--tls-key
 * FILE: cannot read it: ..."; never the token itself). Warnings (a token
 * or key file group/others may read) go to warn. */
int creds_load(const struct creds_opts *o, struct creds *c, FILE *warn, char *err, size_t errlen);
/* Wipes the token and key, frees everything. */
void creds_free(struct creds *c);

/* Is target (a gRPC target: "127.0.0.1:50051", "localhost:1", "[::1]:1",
 * "unix:/run/allot.sock", "dns:///host:1", "ipv4:127.0.0.1:1") on this
 * machine? A token sent in plaintext anywhere else can be read on the way. */
int creds_target_is_local(const char *target);

#endif
