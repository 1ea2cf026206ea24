/* auth.c - authentication, authorization, and the helpers around them
 * (token hashing and minting, loopback detection, TLS file checks).
 * See auth.h.
 */
#include "auth.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "allot/validate.h"

void auth_principal_anonymous(struct auth_principal *p)
{
    memset(p, 0, sizeof *p);
    memcpy(p->id, "anonymous", sizeof "anonymous");
    p->role = AUTH_ROLES_ALL;
}

const char *auth_principal_role(const struct auth_principal *p)
{
    return auth_role_name(p->role);
}

void auth_token_hash(const char *token, size_t n, unsigned char out[AUTH_SHA256_LEN])
{
    unsigned len = AUTH_SHA256_LEN;
    if (!EVP_Digest(token, n, out, &len, EVP_sha256(), NULL))
        memset(out, 0, AUTH_SHA256_LEN); /* matches no configured hash of a real token */
}

void auth_hash_text(const unsigned char hash[AUTH_SHA256_LEN], char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;
    memcpy(out, "sha256:", 7);
    for (i = 0; i < AUTH_SHA256_LEN; i++) {
        out[7 + 2 * i] = hex[hash[i] >> 4];
        out[7 + 2 * i + 1] = hex[hash[i] & 15];
    }
    out[7 + 2 * AUTH_SHA256_LEN] = '\0';
}

int auth_new_token(char *out)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char r[32];
    size_t got = 0, i, o = 6;
    unsigned acc = 0, bits = 0;

    while (got < sizeof r) {
        ssize_t k = getrandom(r + got, sizeof r - got, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return ALLOT_EIO;
        got += (size_t)k;
    }
    memcpy(out, "allot_", 6);
    for (i = 0; i < sizeof r; i++) {
        acc = (acc << 8) | r[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = b64url[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    OPENSSL_cleanse(r, sizeof r);
    return 0;
}

/* ------------------------------------------------------- authentication */

static int unauth(struct allot_status *st, const char *msg)
{
    return allot_status_set(st, ALLOT_EUNAUTH, "%s", msg);
}

/* The index of the service token whose hash matches, or -1. Every
 * configured hash is compared, with CRYPTO_memcmp, whatever matched: the
 * time taken depends on the number of tokens, not on the token sent. */
static long token_lookup(const struct auth_config *cfg, const char *tok, size_t n)
{
    unsigned char h[AUTH_SHA256_LEN];
    long found = -1;
    size_t i;

    auth_token_hash(tok, n, h);
    for (i = 0; i < cfg->ntokens; i++) {
        int eq = CRYPTO_memcmp(h, cfg->tokens[i].hash, AUTH_SHA256_LEN) == 0;
        found = eq ? (long)i : found;
    }
    OPENSSL_cleanse(h, sizeof h);
    return found;
}

static jwt_alg_t key_alg(const struct auth_jwt_key *k)
{
    return k->alg == AUTH_JWT_HS256 ? JWT_ALG_HS256 : JWT_ALG_RS256;
}

/* Verifies tok against each key; the JWT that verified, or NULL. */
static jwt_t *jwt_verified(const struct auth_config *cfg, const char *tok)
{
    size_t i;
    for (i = 0; i < cfg->nkeys; i++) {
        const struct auth_jwt_key *k = &cfg->keys[i];
        jwt_t *j = NULL;
        if (jwt_decode(&j, tok, k->key, (int)k->len) != 0 || !j) {
            if (j)
                jwt_free(j);
            continue;
        }
        /* libjwt takes the algorithm from the token: insist on the key's,
         * or "none" (no signature at all) and HS256 keyed with an RSA
         * key's public PEM (which anyone can compute) would pass. */
        if (jwt_get_alg(j) != key_alg(k)) {
            jwt_free(j);
            continue;
        }
        return j;
    }
    return NULL;
}

/* An integer claim: 0 and *v, 1 when absent, -1 when not an integer.
 * Read from the claim's JSON text: libjwt 1.10's jwt_get_grant_int says
 * neither "absent" nor "not an integer" reliably (a string reads as 0). */
static int int_claim(jwt_t *j, const char *name, long *v)
{
    char *json = jwt_get_grants_json(j, name), *end;
    const char *p;
    int rc = -1;

    *v = 0;
    if (!json)
        return 1;
    p = json[0] == '-' ? json + 1 : json;
    if (*p >= '0' && *p <= '9' && strlen(p) <= 18) {
        errno = 0;
        *v = strtol(json, &end, 10);
        if (!errno && *end == '\0')
            rc = 0;
    }
    free(json);
    return rc;
}

static int jwt_principal(const struct auth_config *cfg, const char *tok, int64_t now,
                         struct auth_principal *p, struct allot_status *st)
{
    struct allot_status ist;
    jwt_t *j = jwt_verified(cfg, tok);
    const char *sub, *aud;
    long exp, nbf;
    int rc;

    if (!j)
        return unauth(st, "invalid credentials: the JWT does not verify with any configured key");
    rc = ALLOT_EUNAUTH;
    if (int_claim(j, "exp", &exp) != 0) {
        unauth(st, "invalid credentials: the JWT has no integer \"exp\" claim");
        goto out;
    }
    if (now >= (int64_t)exp) {
        unauth(st, "invalid credentials: the JWT has expired");
        goto out;
    }
    switch (int_claim(j, "nbf", &nbf)) {
    case 1:
        break;
    case 0:
        if (now < (int64_t)nbf) {
            unauth(st, "invalid credentials: the JWT is not valid yet (nbf)");
            goto out;
        }
        break;
    default:
        unauth(st, "invalid credentials: the JWT's \"nbf\" is not an integer");
        goto out;
    }
    if (cfg->audience[0]) {
        aud = jwt_get_grant(j, "aud");
        if (!aud || strcmp(aud, cfg->audience) != 0) {
            unauth(st, "invalid credentials: the JWT is not for this audience (aud)");
            goto out;
        }
    }
    sub = jwt_get_grant(j, "sub");
    if (!sub || allot_check_id(sub, "sub", &ist)) {
        unauth(st, "invalid credentials: the JWT's \"sub\" is not a member id");
        goto out;
    }
    memset(p, 0, sizeof *p);
    snprintf(p->id, sizeof p->id, "jwt:%s", sub);
    memcpy(p->member, sub, strlen(sub) + 1);
    p->role = AUTH_ROLE_PORTAL;
    rc = 0;
out:
    jwt_free(j);
    return rc;
}

int auth_authenticate(const struct auth_config *cfg, const char *value, size_t n, int64_t now,
                      struct auth_principal *p, struct allot_status *st)
{
    char buf[AUTH_VALUE_MAX + 1];
    const char *tok;
    size_t i, tlen, dots = 0;
    long idx;
    int rc;

    memset(p, 0, sizeof *p);
    if (!value)
        return unauth(st, "missing credentials: send metadata \"authorization: Bearer <token>\"");
    if (n > AUTH_VALUE_MAX || n < 7 || strncasecmp(value, "bearer", 6) != 0 ||
        (value[6] != ' ' && value[6] != '\t'))
        return unauth(st, "malformed credentials: want metadata \"authorization: Bearer <token>\"");
    memcpy(buf, value, n);
    buf[n] = '\0';
    for (i = 6; buf[i] == ' ' || buf[i] == '\t'; i++)
        ;
    tok = buf + i;
    tlen = n - i;
    if (tlen == 0) {
        rc = unauth(st, "malformed credentials: want metadata \"authorization: Bearer <token>\"");
        goto out;
    }
    for (i = 0; i < tlen; i++) {
        unsigned char ch = (unsigned char)tok[i];
        if (ch <= 0x20 || ch >= 0x7f) {
            rc = unauth(st, "malformed credentials: a token is printable ASCII without spaces");
            goto out;
        }
        dots += ch == '.';
    }

    idx = token_lookup(cfg, tok, tlen);
    if (idx >= 0) {
        const struct auth_token *t = &cfg->tokens[idx];
        memcpy(p->id, t->id, strlen(t->id) + 1);
        p->role = t->role;
        rc = 0;
    } else if (dots == 2 && cfg->nkeys) {
        rc = jwt_principal(cfg, tok, now, p, st);
    } else {
        rc = unauth(st, "invalid credentials: unknown token");
    }
out:
    OPENSSL_cleanse(buf, n + 1);
    /* a failed verification leaves errors in this thread's OpenSSL queue;
     * grpc's TLS reads that queue (SSL_get_error) on the same thread */
    ERR_clear_error();
    return rc;
}

/* -------------------------------------------------------- authorization */

int auth_authorize(const struct auth_principal *p, const char *method, unsigned roles,
                   bool member_scoped, const char *req_member, struct allot_status *st)
{
    if (p->member[0]) {
        /* a member-scoped principal: one kind of call, for one member. The
         * same words whether or not req_member exists. */
        if (!member_scoped || !(roles & p->role))
            return allot_status_set(st, ALLOT_EPERM,
                                    "permission denied: a member's portal credential may not "
                                    "call %s",
                                    method);
        if (!req_member || strcmp(req_member, p->member) != 0)
            return allot_status_set(st, ALLOT_EPERM,
                                    "permission denied: a member's portal credential may read "
                                    "only that member's own data");
        return 0;
    }
    if (!(roles & p->role))
        return allot_status_set(st, ALLOT_EPERM, "permission denied: role %s may not call %s",
                                auth_principal_role(p), method);
    return 0;
}

/* ------------------------------------------------------------- addresses */

bool auth_addr_is_loopback(const char *listen)
{
    char host[256];
    const char *h, *end;
    struct in_addr a4;
    struct in6_addr a6;
    size_t n;

    if (!listen)
        return false;
    if (!strncmp(listen, "unix:", 5) || !strncmp(listen, "unix-abstract:", 14))
        return true;
    if (!strncmp(listen, "ipv4:", 5) || !strncmp(listen, "ipv6:", 5))
        listen += 5;
    if (listen[0] == '[') {
        h = listen + 1;
        if (!(end = strchr(h, ']')) || (end[1] != ':' && end[1] != '\0'))
            return false;
    } else {
        h = listen;
        end = strrchr(listen, ':');
        if (!end)
            end = listen + strlen(listen);
        else if (memchr(listen, ':', (size_t)(end - listen)))
            return false; /* an unbracketed IPv6 address and a port: ambiguous */
    }
    n = (size_t)(end - h);
    if (n == 0 || n >= sizeof host)
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    if (!strcasecmp(host, "localhost"))
        return true;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

/* ------------------------------------------------------------------- TLS */

static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1; /* never prompt on a terminal */
}

int auth_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem,
                   struct allot_status *st)
{
    BIO *b = NULL;
    X509 *cert = NULL, *ca = NULL;
    EVP_PKEY *key = NULL;
    int rc = ALLOT_EINVAL;

    if (!(b = BIO_new_mem_buf(cert_pem, -1)) || !(cert = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        allot_status_set(st, rc, "--tls-cert: no PEM certificate in the file");
        goto out;
    }
    BIO_free(b);
    if (!(b = BIO_new_mem_buf(key_pem, -1)) ||
        !(key = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, NULL))) {
        allot_status_set(st, rc, "--tls-key: no unencrypted PEM private key in the file");
        goto out;
    }
    if (X509_check_private_key(cert, key) != 1) {
        allot_status_set(st, rc, "--tls-key does not belong to the certificate of --tls-cert");
        goto out;
    }
    if (ca_pem) {
        BIO_free(b);
        if (!(b = BIO_new_mem_buf(ca_pem, -1)) || !(ca = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
            allot_status_set(st, rc, "--tls-client-ca: no PEM certificate in the file");
            goto out;
        }
    }
    rc = 0;
out:
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(b);
    ERR_clear_error();
    return rc;
}
