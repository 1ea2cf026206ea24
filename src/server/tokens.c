/* tokens.c - parsing the auth config file (format in tokens.h).
 *
 * Strict on purpose: an unknown keyword, a missing or extra field, a
 * duplicate id or a key too weak to be safe refuses the whole file with its
 * line number, because a config read differently from what its author meant
 * is how access is granted by accident.
 */
#include "tokens.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#define LINE_MAX_BYTES 4096
#define FIELDS_MAX 8
#define KEY_FILE_MAX (64 * 1024)
#define CONFIG_FILE_MAX (4 * 1024 * 1024)

static const char *const role_names[] = {"admin", "billing", "reader", "portal"};

const char *auth_role_name(unsigned role)
{
    switch (role) {
    case AUTH_ROLE_ADMIN:
        return role_names[0];
    case AUTH_ROLE_BILLING:
        return role_names[1];
    case AUTH_ROLE_READER:
        return role_names[2];
    case AUTH_ROLE_PORTAL:
        return role_names[3];
    default:
        return "";
    }
}

unsigned auth_role_parse(const char *s)
{
    unsigned i;
    for (i = 0; i < sizeof role_names / sizeof role_names[0]; i++)
        if (!strcmp(s, role_names[i]))
            return 1u << i;
    return 0;
}

/* ------------------------------------------------------------------ files */

int auth_read_file(const char *path, size_t max, char **out, size_t *n, struct allot_status *st)
{
    struct stat sb;
    char *buf = NULL;
    size_t got = 0;
    int fd, rc = ALLOT_EIO;

    *out = NULL;
    if (n)
        *n = 0;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return allot_status_set(st, ALLOT_EIO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
        rc = allot_status_set(st, ALLOT_EIO, "%s: not a regular file", path);
        goto out;
    }
    if ((size_t)sb.st_size > max) {
        rc = allot_status_set(st, ALLOT_EINVAL, "%s: larger than %zu bytes", path, max);
        goto out;
    }
    if (!(buf = malloc((size_t)sb.st_size + 1))) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "out of memory");
        goto out;
    }
    while (got < (size_t)sb.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)sb.st_size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = allot_status_set(st, ALLOT_EIO, "%s: %s", path,
                                  r < 0 ? strerror(errno) : "changed while read");
            goto out;
        }
        got += (size_t)r;
    }
    buf[got] = '\0';
    *out = buf;
    buf = NULL;
    if (n)
        *n = got;
    rc = 0;
out:
    if (buf) {
        OPENSSL_cleanse(buf, (size_t)sb.st_size);
        free(buf);
    }
    close(fd);
    return rc;
}

/* ---------------------------------------------------------------- helpers */

struct parser {
    struct auth_config *cfg;
    const char *name;
    const char *dir;
    unsigned line;
    struct allot_status *st;
};

static int bad(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct parser *p, const char *fmt, ...)
{
    char msg[ALLOT_STATUS_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return allot_status_set(p->st, ALLOT_EINVAL, "%s:%u: %s", p->name, p->line, msg);
}

static bool id_ok(const char *s)
{
    size_t n = strlen(s), i;
    if (n == 0 || n > AUTH_ID_MAX)
        return false;
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int b64val(char ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Standard or URL-safe base64, padding optional. Returns the length, or -1
 * for anything that is not base64. out has room for strlen(s) bytes. */
static long b64_decode(const char *s, unsigned char *out)
{
    size_t n = strlen(s), i, o = 0;
    unsigned acc = 0, bits = 0;
    while (n && s[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return -1;
    for (i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return (long)o;
}

/* Splits line (modified) into blank-separated fields. */
static size_t split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *s = line;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            break;
        if (n == max)
            return max + 1;
        f[n++] = s;
        while (*s && *s != ' ' && *s != '\t')
            s++;
        if (*s)
            *s++ = '\0';
    }
    return n;
}

/* --------------------------------------------------------------- keywords */

static int parse_token(struct parser *p, char **f, size_t nf)
{
    struct auth_config *cfg = p->cfg;
    struct auth_token *t;
    unsigned role;
    const char *hex;
    size_t i;

    if (nf != 4)
        return bad(p, "token: want \"token ID ROLE sha256:HEX\", got %zu fields", nf);
    if (!id_ok(f[1]))
        return bad(p, "token: id \"%.80s\" must be 1-%d of A-Z a-z 0-9 . _ -", f[1], AUTH_ID_MAX);
    if (!strcmp(f[1], "anonymous"))
        return bad(p, "token: id \"anonymous\" is reserved");
    role = auth_role_parse(f[2]);
    if (role == AUTH_ROLE_PORTAL)
        return bad(p, "token: role portal is for member JWTs only (jwt-key); a service token is "
                      "admin, billing or reader");
    if (!role)
        return bad(p, "token: role \"%.40s\" is not admin, billing or reader", f[2]);
    if (strncmp(f[3], "sha256:", 7) != 0)
        return bad(p,
                   "token: the hash must be \"sha256:\" and 64 hex digits (allotd --hash-token)");
    hex = f[3] + 7;
    if (strlen(hex) != 2 * AUTH_SHA256_LEN)
        return bad(p, "token: sha256: wants 64 hex digits, got %zu", strlen(hex));
    for (i = 0; i < cfg->ntokens; i++)
        if (!strcmp(cfg->tokens[i].id, f[1]))
            return bad(p, "token: id \"%s\" is already used", f[1]);
    if (cfg->ntokens == AUTH_TOKENS_MAX)
        return bad(p, "token: more than %d tokens", AUTH_TOKENS_MAX);
    if (cfg->ntokens % 16 == 0) {
        struct auth_token *n = realloc(cfg->tokens, (cfg->ntokens + 16) * sizeof *n);
        if (!n)
            return allot_status_set(p->st, ALLOT_ENOMEM, "out of memory");
        cfg->tokens = n;
    }
    t = &cfg->tokens[cfg->ntokens];
    memset(t, 0, sizeof *t);
    for (i = 0; i < AUTH_SHA256_LEN; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return bad(p, "token: sha256: \"%.64s\" is not hex", hex);
        t->hash[i] = (unsigned char)(hi << 4 | lo);
    }
    for (i = 0; i < cfg->ntokens; i++)
        if (!memcmp(cfg->tokens[i].hash, t->hash, AUTH_SHA256_LEN))
            return bad(p, "token: id \"%s\" has the same hash as \"%s\": one token, two ids", f[1],
                       cfg->tokens[i].id);
    memcpy(t->id, f[1], strlen(f[1]) + 1);
    t->role = role;
    cfg->ntokens++;
    return 0;
}

/* Reads a key file named relative to the config's directory. */
static int key_file(struct parser *p, const char *path, unsigned char **out, size_t *n)
{
    char full[4096];
    struct allot_status fst;
    char *buf;
    int rc;

    if (path[0] == '/' || !p->dir || !p->dir[0])
        rc = snprintf(full, sizeof full, "%s", path);
    else
        rc = snprintf(full, sizeof full, "%s/%s", p->dir, path);
    if (rc < 0 || (size_t)rc >= sizeof full)
        return bad(p, "jwt-key: path too long");
    allot_status_clear(&fst);
    if ((rc = auth_read_file(full, KEY_FILE_MAX, &buf, n, &fst)))
        return rc == ALLOT_ENOMEM ? allot_status_set(p->st, rc, "out of memory")
                                  : bad(p, "jwt-key: %s", fst.msg);
    *out = (unsigned char *)buf;
    return 0;
}

static int check_rsa_pem(struct parser *p, const unsigned char *pem, size_t n)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)n);
    EVP_PKEY *k = NULL;
    int rc = 0;

    if (!bio)
        return allot_status_set(p->st, ALLOT_ENOMEM, "out of memory");
    k = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    if (!k)
        rc = bad(p, "jwt-key: rs256 wants a PEM public key (\"-----BEGIN PUBLIC KEY-----\")");
    else if (EVP_PKEY_get_base_id(k) != EVP_PKEY_RSA)
        rc = bad(p, "jwt-key: rs256 wants an RSA key");
    else if (EVP_PKEY_get_bits(k) < AUTH_RSA_BITS_MIN)
        rc = bad(p, "jwt-key: the RSA key has %d bits; at least %d", EVP_PKEY_get_bits(k),
                 AUTH_RSA_BITS_MIN);
    EVP_PKEY_free(k);
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

static int parse_jwt_key(struct parser *p, char **f, size_t nf)
{
    struct auth_config *cfg = p->cfg;
    struct auth_jwt_key k;
    const char *src;
    size_t i;
    int rc;

    if (nf != 4)
        return bad(p, "jwt-key: want \"jwt-key ID ALG SOURCE\", got %zu fields", nf);
    if (!id_ok(f[1]))
        return bad(p, "jwt-key: id \"%.80s\" must be 1-%d of A-Z a-z 0-9 . _ -", f[1], AUTH_ID_MAX);
    for (i = 0; i < cfg->nkeys; i++)
        if (!strcmp(cfg->keys[i].id, f[1]))
            return bad(p, "jwt-key: id \"%s\" is already used", f[1]);
    if (cfg->nkeys == AUTH_JWT_KEYS_MAX)
        return bad(p, "jwt-key: more than %d keys", AUTH_JWT_KEYS_MAX);
    memset(&k, 0, sizeof k);
    memcpy(k.id, f[1], strlen(f[1]) + 1);
    if (!strcmp(f[2], "hs256"))
        k.alg = AUTH_JWT_HS256;
    else if (!strcmp(f[2], "rs256"))
        k.alg = AUTH_JWT_RS256;
    else
        return bad(p, "jwt-key: algorithm \"%.20s\" is not hs256 or rs256", f[2]);
    src = f[3];

    if (!strncmp(src, "file:", 5)) {
        if (!src[5])
            return bad(p, "jwt-key: file: wants a path");
        if ((rc = key_file(p, src + 5, &k.key, &k.len)))
            return rc;
        if (k.alg == AUTH_JWT_HS256)
            while (k.len && (k.key[k.len - 1] == '\n' || k.key[k.len - 1] == '\r' ||
                             k.key[k.len - 1] == ' ' || k.key[k.len - 1] == '\t'))
                k.key[--k.len] = '\0';
    } else if (!strncmp(src, "base64:", 7)) {
        long n;
        if (k.alg != AUTH_JWT_HS256)
            return bad(p, "jwt-key: rs256 keys are read from a PEM file (file:PATH)");
        if (!(k.key = malloc(strlen(src) + 1)))
            return allot_status_set(p->st, ALLOT_ENOMEM, "out of memory");
        if ((n = b64_decode(src + 7, k.key)) < 0) {
            free(k.key);
            return bad(p, "jwt-key: base64: is not base64");
        }
        k.len = (size_t)n;
        cfg->inline_secret = true;
    } else {
        return bad(p, "jwt-key: the key must be \"base64:...\" (hs256) or \"file:PATH\"");
    }

    if (k.alg == AUTH_JWT_HS256 && k.len < AUTH_HMAC_KEY_MIN)
        rc = bad(p, "jwt-key: an hs256 key needs at least %d bytes, got %zu", AUTH_HMAC_KEY_MIN,
                 k.len);
    else if (k.alg == AUTH_JWT_RS256)
        rc = check_rsa_pem(p, k.key, k.len);
    else
        rc = 0;
    if (rc) {
        OPENSSL_cleanse(k.key, k.len);
        free(k.key);
        return rc;
    }
    cfg->keys[cfg->nkeys++] = k;
    return 0;
}

static int parse_audience(struct parser *p, char **f, size_t nf)
{
    if (nf != 2)
        return bad(p, "jwt-audience: want \"jwt-audience VALUE\"");
    if (p->cfg->audience[0])
        return bad(p, "jwt-audience: given twice");
    if (strlen(f[1]) >= sizeof p->cfg->audience)
        return bad(p, "jwt-audience: too long");
    memcpy(p->cfg->audience, f[1], strlen(f[1]) + 1);
    return 0;
}

/* ----------------------------------------------------------------- config */

int auth_config_parse(struct auth_config *cfg, const char *text, size_t n, const char *name,
                      const char *dir, struct allot_status *st)
{
    struct parser p = {cfg, name ? name : "auth config", dir, 0, st};
    char line[LINE_MAX_BYTES + 1];
    char *f[FIELDS_MAX];
    size_t pos = 0;
    int rc = 0;

    while (pos < n && !rc) {
        size_t len = 0, nf;
        p.line++;
        while (pos + len < n && text[pos + len] != '\n')
            len++;
        if (len > LINE_MAX_BYTES) {
            rc = bad(&p, "line longer than %d bytes", LINE_MAX_BYTES);
            break;
        }
        memcpy(line, text + pos, len);
        line[len] = '\0';
        pos += len + 1;
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        if (strlen(line) != len) {
            rc = bad(&p, "a NUL byte");
            break;
        }
        nf = split(line, f, FIELDS_MAX);
        if (nf == 0)
            continue;
        if (nf > FIELDS_MAX)
            rc = bad(&p, "too many fields");
        else if (!strcmp(f[0], "token"))
            rc = parse_token(&p, f, nf);
        else if (!strcmp(f[0], "jwt-key"))
            rc = parse_jwt_key(&p, f, nf);
        else if (!strcmp(f[0], "jwt-audience"))
            rc = parse_audience(&p, f, nf);
        else
            rc = bad(&p, "unknown keyword \"%.40s\" (want token, jwt-key or jwt-audience)", f[0]);
    }
    OPENSSL_cleanse(line, sizeof line);
    if (!rc && cfg->ntokens == 0 && cfg->nkeys == 0)
        rc = allot_status_set(st, ALLOT_EINVAL,
                              "%s: no token and no jwt-key: nobody could call the server", p.name);
    if (rc)
        auth_config_release(cfg);
    return rc;
}

int auth_config_load(struct auth_config *cfg, const char *path, struct allot_status *st)
{
    struct stat sb;
    char dir[4096];
    const char *slash;
    char *text;
    size_t n;
    int rc;

    if (stat(path, &sb))
        return allot_status_set(st, ALLOT_EIO, "auth config %s: %s", path, strerror(errno));
    if (sb.st_mode & (S_IWGRP | S_IWOTH))
        return allot_status_set(st, ALLOT_EINVAL,
                                "auth config %s: group or others may write it, so anyone there "
                                "could grant themselves a role (chmod go-w)",
                                path);
    if ((rc = auth_read_file(path, CONFIG_FILE_MAX, &text, &n, st)))
        return rc;
    slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    rc = auth_config_parse(cfg, text, n, path, dir, st);
    OPENSSL_cleanse(text, n);
    free(text);
    return rc;
}

void auth_config_release(struct auth_config *cfg)
{
    size_t i;
    for (i = 0; i < cfg->nkeys; i++) {
        if (cfg->keys[i].key) {
            OPENSSL_cleanse(cfg->keys[i].key, cfg->keys[i].len);
            free(cfg->keys[i].key);
        }
    }
    free(cfg->tokens);
    memset(cfg, 0, sizeof *cfg);
}
