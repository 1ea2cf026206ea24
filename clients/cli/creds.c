/* creds.c - see creds.h. */
#include "creds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static void from_env(struct creds_setting *s, const char *name,
                     const char *(*get)(const char *name))
{
    const char *v;
    if (s->value)
        return;
    v = get(name);
    if (v && *v) {
        s->value = v;
        s->from = name;
    }
}

int creds_from_env(struct creds_opts *o, const char *(*get)(const char *name), char *err,
                   size_t errlen)
{
    from_env(&o->tls_ca, "ALLOT_TLS_CA", get);
    from_env(&o->tls_cert, "ALLOT_TLS_CLIENT_CERT", get);
    from_env(&o->tls_key, "ALLOT_TLS_CLIENT_KEY", get);
    if (!o->token_file.value) {
        from_env(&o->token_file, "ALLOT_TOKEN_FILE", get);
        from_env(&o->token, "ALLOT_TOKEN", get);
        if (o->token_file.value && o->token.value)
            return fail(err, errlen,
                        "ALLOT_TOKEN and ALLOT_TOKEN_FILE are both set: unset one "
                        "(or give --token-file)");
    }
    return 0;
}

/* Overwrites n bytes in a way the compiler keeps. */
static void wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    while (n--)
        *v++ = 0;
}

/* Reads a whole file (a pipe too: --token-file <(...)) of at most max
 * bytes into a new NUL-terminated string. warn_readable: say so when
 * group or others may read it. */
static char *slurp(const struct creds_setting *s, size_t max, int warn_readable, FILE *warn,
                   char *err, size_t errlen)
{
    struct stat st;
    size_t len = 0, cap = 4096;
    char *buf = NULL;
    int fd;

    if (!*s->value) {
        fail(err, errlen, "%s: the file name is empty", s->from);
        return NULL;
    }
    if ((fd = open(s->value, O_RDONLY | O_CLOEXEC)) < 0) {
        fail(err, errlen, "%s %s: cannot open it: %s", s->from, s->value, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fail(err, errlen, "%s %s: is a directory", s->from, s->value);
            goto bad;
        }
        if (warn_readable && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)))
            fprintf(warn,
                    "allotctl: warning: %s %s may be read by group or others "
                    "(chmod 600 %s)\n",
                    s->from, s->value, s->value);
    }
    for (;;) {
        ssize_t n;
        if (len + 1 >= cap || !buf) {
            char *nb = malloc(cap *= 2);
            if (!nb) {
                fail(err, errlen, "%s %s: out of memory", s->from, s->value);
                goto bad;
            }
            if (buf) {
                memcpy(nb, buf, len);
                wipe(buf, len);
                free(buf);
            }
            buf = nb;
        }
        n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fail(err, errlen, "%s %s: cannot read it: %s", s->from, s->value, strerror(errno));
            goto bad;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > max) {
            fail(err, errlen, "%s %s: larger than %zu bytes", s->from, s->value, max);
            goto bad;
        }
    }
    close(fd);
    buf[len] = '\0';
    if (strlen(buf) != len) {
        fail(err, errlen, "%s %s: holds a NUL byte", s->from, s->value);
        wipe(buf, len);
        free(buf);
        return NULL;
    }
    return buf;
bad:
    if (buf) {
        wipe(buf, len);
        free(buf);
    }
    close(fd);
    return NULL;
}

static char *load_pem(const struct creds_setting *s, int secret, FILE *warn, char *err,
                      size_t errlen)
{
    char *pem = slurp(s, CREDS_PEM_MAX, secret, warn, err, errlen);
    if (pem && !strstr(pem, "-----BEGIN ")) {
        fail(err, errlen, "%s %s: not a PEM file (no \"-----BEGIN\" line)", s->from, s->value);
        wipe(pem, strlen(pem));
        free(pem);
        return NULL;
    }
    return pem;
}

/* Drops trailing blanks and line ends; then the token must be 1 to
 * CREDS_TOKEN_MAX printable ASCII characters without spaces (what the
 * server accepts). */
static int check_token(char *t, const char *what, char *err, size_t errlen)
{
    size_t n = strlen(t), i;
    while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
        t[--n] = '\0';
    if (n == 0)
        return fail(err, errlen, "%s: the token is empty", what);
    if (n > CREDS_TOKEN_MAX)
        return fail(err, errlen, "%s: the token is longer than %d bytes", what, CREDS_TOKEN_MAX);
    for (i = 0; i < n; i++)
        if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
            return fail(err, errlen,
                        "%s: the token holds a blank, a line break or a non-ASCII character "
                        "(a token is one line of printable ASCII)",
                        what);
    return 0;
}

static int load_token(const struct creds_opts *o, struct creds *c, FILE *warn, char *err,
                      size_t errlen)
{
    if (o->token_file.value) {
        snprintf(c->token_from, sizeof c->token_from, "%s %s", o->token_file.from,
                 o->token_file.value);
        if (!(c->token = slurp(&o->token_file, CREDS_TOKEN_MAX + 2, 1, warn, err, errlen)))
            return -1;
    } else if (o->token.value) {
        snprintf(c->token_from, sizeof c->token_from, "%s", o->token.from);
        if (!(c->token = strdup(o->token.value)))
            return fail(err, errlen, "out of memory");
    } else {
        return 0;
    }
    return check_token(c->token, c->token_from, err, errlen);
}

int creds_load(const struct creds_opts *o, struct creds *c, FILE *warn, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    if (!o->tls_ca.value) {
        const struct creds_setting *orphan = o->tls_cert.value   ? &o->tls_cert
                                             : o->tls_key.value  ? &o->tls_key
                                             : o->tls_name.value ? &o->tls_name
                                                                 : NULL;
        if (orphan)
            return fail(err, errlen,
                        "%s needs --tls-ca (or ALLOT_TLS_CA): the CA that signed the server's "
                        "certificate",
                        orphan->from);
    }
    if (!o->tls_cert.value != !o->tls_key.value)
        return fail(err, errlen, "%s needs %s too: a client certificate goes with its key",
                    o->tls_cert.value ? o->tls_cert.from : o->tls_key.from,
                    o->tls_cert.value ? "--tls-key (or ALLOT_TLS_CLIENT_KEY)"
                                      : "--tls-cert (or ALLOT_TLS_CLIENT_CERT)");
    if (o->tls_name.value && !*o->tls_name.value)
        return fail(err, errlen, "%s: the name is empty", o->tls_name.from);

    if (o->tls_ca.value && !(c->ca_pem = load_pem(&o->tls_ca, 0, warn, err, errlen)))
        goto bad;
    if (o->tls_cert.value) {
        if (!(c->cert_pem = load_pem(&o->tls_cert, 0, warn, err, errlen)) ||
            !(c->key_pem = load_pem(&o->tls_key, 1, warn, err, errlen)))
            goto bad;
    }
    c->tls_name = o->tls_name.value;
    if (load_token(o, c, warn, err, errlen))
        goto bad;
    return 0;
bad:
    creds_free(c);
    return -1;
}

void creds_free(struct creds *c)
{
    if (c->token) {
        wipe(c->token, strlen(c->token));
        free(c->token);
    }
    if (c->key_pem) {
        wipe(c->key_pem, strlen(c->key_pem));
        free(c->key_pem);
    }
    free(c->ca_pem);
    free(c->cert_pem);
    memset(c, 0, sizeof *c);
}

/* ---- is the target on this machine? -------------------------------------- */

static int is_loopback_v4(const char *h, size_t n)
{
    /* 127.0.0.0/8: "127." and then digits and dots. */
    size_t i;
    if (n < 5 || strncmp(h, "127.", 4) != 0)
        return 0;
    for (i = 4; i < n; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || h[i] == '.'))
            return 0;
    return 1;
}

int creds_target_is_local(const char *t)
{
    const char *host, *end;
    size_t n;

    if (!strncmp(t, "unix:", 5) || !strncmp(t, "unix-abstract:", 14))
        return 1;
    if (!strncmp(t, "dns:///", 7))
        t += 7;
    else if (!strncmp(t, "dns:", 4) || !strncmp(t, "ipv4:", 5) || !strncmp(t, "ipv6:", 5))
        t = strchr(t, ':') + 1;
    host = t;
    if (*host == '[') {
        host++;
        if (!(end = strchr(host, ']')))
            return 0;
    } else if ((end = strrchr(host, ':')) == NULL || strchr(host, ':') != end) {
        /* no port, or a bare IPv6 address (ipv6:::1) */
        end = host + strlen(host);
        if (strchr(host, ':'))
            return !strcmp(host, "::1");
    }
    n = (size_t)(end - host);
    if (n == 9 && !strncasecmp(host, "localhost", 9))
        return 1;
    if (n == 3 && !strncmp(host, "::1", 3))
        return 1;
    return is_loopback_v4(host, n);
}
