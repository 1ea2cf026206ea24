/* test_auth.c - the auth config parser, token hashing and lookup, JWT
 * verification, the role x method matrix of the real method table,
 * member scoping, and loopback detection.
 *
 * JWTs are built here by hand (base64url, HMAC-SHA256 or RSA-SHA256 with
 * OpenSSL) rather than with libjwt, so the tests can forge what a careful
 * encoder never would: "alg": "none", a string exp, HS256 keyed with an RSA
 * public key.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth.h"
#include "server.h"
#include "tokens.h"

#define NOW ((int64_t)1750000000)

/* ---------------------------------------------------------------- helpers */

static char tmpdir[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup_all(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/allot-auth-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_all(void **state)
{
    (void)state;
    nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void write_file(const char *name, const void *bytes, size_t n, mode_t mode)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int parse(struct auth_config *cfg, const char *text, struct allot_status *st)
{
    memset(cfg, 0, sizeof *cfg);
    allot_status_clear(st);
    return auth_config_parse(cfg, text, strlen(text), "auth.conf", tmpdir, st);
}

/* Parsing text fails with a message that starts with want. */
static void parse_fails(const char *text, const char *want)
{
    struct auth_config cfg;
    struct allot_status st;
    assert_int_equal(parse(&cfg, text, &st), ALLOT_EINVAL);
    assert_int_equal(st.code, ALLOT_EINVAL);
    if (strncmp(st.msg, want, strlen(want)) != 0)
        fail_msg("message \"%s\" does not start with \"%s\"", st.msg, want);
    assert_int_equal(cfg.ntokens, 0); /* released */
    assert_null(cfg.tokens);
}

static void hash_line(char *out, size_t cap, const char *id, const char *role, const char *token)
{
    unsigned char h[AUTH_SHA256_LEN];
    char text[AUTH_HASH_TEXT_LEN];
    auth_token_hash(token, strlen(token), h);
    auth_hash_text(h, text);
    snprintf(out, cap, "token %s %s %s", id, role, text);
}

static char *b64url(const void *p, size_t n)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *b = p;
    char *out = malloc(n * 4 / 3 + 4);
    size_t i, o = 0;
    unsigned acc = 0, bits = 0;
    assert_non_null(out);
    for (i = 0; i < n; i++) {
        acc = (acc << 8) | b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = al[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = al[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return out;
}

/* header.payload, signed: alg "HS256" with key, "RS256" with pkey, or
 * unsigned (sig ""). The caller frees the result. */
static char *jwt_make(const char *header, const char *payload, const char *alg, const void *key,
                      size_t klen, EVP_PKEY *pkey)
{
    char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload)), *s, *out;
    unsigned char sig[1024];
    size_t siglen = 0, n = strlen(h) + strlen(p) + 2;
    char *signing = malloc(n);

    assert_non_null(signing);
    snprintf(signing, n, "%s.%s", h, p);
    if (alg && !strcmp(alg, "HS256")) {
        unsigned len = 0;
        assert_non_null(HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)signing,
                             strlen(signing), sig, &len));
        siglen = len;
    } else if (alg && !strcmp(alg, "RS256")) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        siglen = sizeof sig;
        assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey), 1);
        assert_int_equal(
            EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)signing, strlen(signing)), 1);
        EVP_MD_CTX_free(ctx);
    }
    s = b64url(sig, siglen);
    n = strlen(signing) + strlen(s) + 2;
    out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%s.%s", signing, s);
    free(h);
    free(p);
    free(s);
    free(signing);
    return out;
}

static const char hs_key[] = "0123456789abcdef0123456789abcdef-portal"; /* 39 bytes */
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static char *hs_token(const char *payload)
{
    return jwt_make(HS_HEADER, payload, "HS256", hs_key, strlen(hs_key), NULL);
}

static int authn(const struct auth_config *cfg, const char *token, struct auth_principal *p,
                 struct allot_status *st)
{
    char value[AUTH_VALUE_MAX + 64];
    snprintf(value, sizeof value, "Bearer %s", token);
    allot_status_clear(st);
    return auth_authenticate(cfg, value, strlen(value), NOW, p, st);
}

/* A config with one HS256 key (base64 of hs_key) and service tokens. */
static void hs_config(struct auth_config *cfg)
{
    struct allot_status st;
    char text[1024], *b64 = NULL, l1[256], l2[256];
    BIO *mem = BIO_new(BIO_s_mem()), *f = BIO_new(BIO_f_base64());
    BUF_MEM *bm;

    BIO_set_flags(f, BIO_FLAGS_BASE64_NO_NL);
    f = BIO_push(f, mem);
    BIO_write(f, hs_key, (int)strlen(hs_key));
    (void)BIO_flush(f);
    BIO_get_mem_ptr(f, &bm);
    b64 = strndup(bm->data, bm->length);
    BIO_free_all(f);
    hash_line(l1, sizeof l1, "billing-1", "billing", "s3cret-billing");
    hash_line(l2, sizeof l2, "ops", "admin", "s3cret-admin");
    snprintf(text, sizeof text, "%s\n%s\njwt-key portal-1 hs256 base64:%s\n", l1, l2, b64);
    free(b64);
    assert_int_equal(parse(cfg, text, &st), 0);
}

/* ---------------------------------------------------------- config lines */

static void config_good_lines(void **state)
{
    struct auth_config cfg;
    struct allot_status st;
    char text[2048], l1[256], l2[256], l3[256];
    (void)state;

    write_file("hs.key", "0123456789abcdef0123456789abcdef\n", 33, 0600);
    hash_line(l1, sizeof l1, "billing-1", "billing", "tok-b");
    hash_line(l2, sizeof l2, "Ops.admin_2", "admin", "tok-a");
    hash_line(l3, sizeof l3, "dash", "reader", "tok-r");
    snprintf(text, sizeof text,
             "# allot auth config\n"
             "\n"
             "%s\n"
             "   %s\n" /* leading blanks */
             "%s\r\n"  /* CRLF */
             "jwt-key k1 hs256 base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n"
             "jwt-key k2\ths256 file:hs.key   # trailing comment\n"
             "jwt-audience allot-portal\n",
             l1, l2, l3);
    assert_int_equal(parse(&cfg, text, &st), 0);
    assert_int_equal(cfg.ntokens, 3);
    assert_string_equal(cfg.tokens[0].id, "billing-1");
    assert_int_equal(cfg.tokens[0].role, AUTH_ROLE_BILLING);
    assert_string_equal(cfg.tokens[1].id, "Ops.admin_2");
    assert_int_equal(cfg.tokens[1].role, AUTH_ROLE_ADMIN);
    assert_int_equal(cfg.tokens[2].role, AUTH_ROLE_READER);
    assert_int_equal(cfg.nkeys, 2);
    assert_int_equal(cfg.keys[0].alg, AUTH_JWT_HS256);
    assert_int_equal(cfg.keys[0].len, 32);
    assert_memory_equal(cfg.keys[0].key, "0123456789abcdef0123456789abcdef", 32);
    assert_int_equal(cfg.keys[1].len, 32); /* the file's newline is not part of the key */
    assert_memory_equal(cfg.keys[1].key, "0123456789abcdef0123456789abcdef", 32);
    assert_true(cfg.inline_secret);
    assert_string_equal(cfg.audience, "allot-portal");
    auth_config_release(&cfg);
    assert_int_equal(cfg.ntokens, 0);
    assert_int_equal(cfg.nkeys, 0);
}

static void config_bad_lines_name_their_line(void **state)
{
    static const char H[] =
        "sha256:0000000000000000000000000000000000000000000000000000000000000001";
    char text[1024];
    (void)state;

    parse_fails(
        "# ok\n\nfrobnicate x\n",
        "auth.conf:3: unknown keyword \"frobnicate\" (want token, jwt-key or jwt-audience)");
    parse_fails("token a admin\n", "auth.conf:1: token: want \"token ID ROLE sha256:HEX\", got 3");
    snprintf(text, sizeof text, "token a root %s\n", H);
    parse_fails(text, "auth.conf:1: token: role \"root\" is not admin, billing or reader");
    snprintf(text, sizeof text, "\n\ntoken a portal %s\n", H);
    parse_fails(text, "auth.conf:3: token: role portal is for member JWTs only");
    parse_fails("token a admin md5:abc\n", "auth.conf:1: token: the hash must be \"sha256:\"");
    parse_fails("token a admin sha256:abc\n",
                "auth.conf:1: token: sha256: wants 64 hex digits, got 3");
    parse_fails(
        "token a admin sha256:zz00000000000000000000000000000000000000000000000000000000000001\n",
        "auth.conf:1: token: sha256: \"zz00");
    snprintf(text, sizeof text, "token a/b admin %s\n", H);
    parse_fails(text, "auth.conf:1: token: id \"a/b\" must be 1-64 of");
    snprintf(text, sizeof text, "token anonymous admin %s\n", H);
    parse_fails(text, "auth.conf:1: token: id \"anonymous\" is reserved");
    snprintf(text, sizeof text, "token a admin %s\ntoken a reader %.70s2\n", H, H);
    parse_fails(text, "auth.conf:2: token: id \"a\" is already used");
    snprintf(text, sizeof text, "token a admin %s\n# two ids, one token\ntoken b reader %s\n", H,
             H);
    parse_fails(text, "auth.conf:3: token: id \"b\" has the same hash as \"a\"");
    parse_fails("jwt-key k hs256 base64:c2hvcnQ=\n",
                "auth.conf:1: jwt-key: an hs256 key needs at least 32 bytes, got 5");
    parse_fails("jwt-key k hs512 base64:c2hvcnQ=\n",
                "auth.conf:1: jwt-key: algorithm \"hs512\" is not hs256 or rs256");
    parse_fails("jwt-key k rs256 base64:c2hvcnQ=\n",
                "auth.conf:1: jwt-key: rs256 keys are read from a PEM file");
    parse_fails("jwt-key k hs256 base64:!!!!\n", "auth.conf:1: jwt-key: base64: is not base64");
    parse_fails("jwt-key k hs256 file:no-such-file\n", "auth.conf:1: jwt-key: ");
    parse_fails("jwt-key k hs256 plain-secret-in-the-clear-0123456789\n",
                "auth.conf:1: jwt-key: the key must be");
    write_file("not-a-key.pem", "hello\n", 6, 0600);
    parse_fails("jwt-key k rs256 file:not-a-key.pem\n",
                "auth.conf:1: jwt-key: rs256 wants a PEM public key");
    parse_fails("jwt-audience a\njwt-audience b\n", "auth.conf:2: jwt-audience: given twice");
    parse_fails("jwt-audience\n", "auth.conf:1: jwt-audience: want");
    parse_fails("# only comments\n\n", "auth.conf: no token and no jwt-key");
    parse_fails("", "auth.conf: no token and no jwt-key");
    {
        char *big = malloc(5000);
        memset(big, 'x', 4999);
        big[4999] = '\0';
        parse_fails(big, "auth.conf:1: line longer than 4096 bytes");
        free(big);
    }
}

static void config_load_checks_the_file(void **state)
{
    struct auth_config cfg;
    struct allot_status st;
    char path[256], line[256];
    (void)state;

    hash_line(line, sizeof line, "a", "admin", "tok");
    write_file("w.conf", line, strlen(line), 0666);
    snprintf(path, sizeof path, "%s/w.conf", tmpdir);
    memset(&cfg, 0, sizeof cfg);
    assert_int_equal(auth_config_load(&cfg, path, &st), ALLOT_EINVAL);
    assert_non_null(strstr(st.msg, "group or others may write it"));
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(auth_config_load(&cfg, path, &st), 0);
    assert_int_equal(cfg.ntokens, 1);
    auth_config_release(&cfg);
    snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
    assert_int_equal(auth_config_load(&cfg, path, &st), ALLOT_EIO);
    assert_non_null(strstr(st.msg, "missing.conf"));
}

/* ------------------------------------------------------- tokens, hashing */

static void sha256_and_text(void **state)
{
    unsigned char h[AUTH_SHA256_LEN];
    char text[AUTH_HASH_TEXT_LEN];
    (void)state;
    auth_token_hash("abc", 3, h);
    auth_hash_text(h, text);
    assert_string_equal(text,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void new_tokens_are_random_and_admitted(void **state)
{
    char a[AUTH_NEW_TOKEN_LEN], b[AUTH_NEW_TOKEN_LEN], line[256];
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    size_t i;
    (void)state;

    assert_int_equal(auth_new_token(a), 0);
    assert_int_equal(auth_new_token(b), 0);
    assert_int_equal(strlen(a), 49);
    assert_memory_equal(a, "allot_", 6);
    assert_string_not_equal(a, b);
    for (i = 6; i < strlen(a); i++)
        assert_non_null(
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]));
    hash_line(line, sizeof line, "svc", "reader", a);
    assert_int_equal(parse(&cfg, line, &st), 0);
    assert_int_equal(authn(&cfg, a, &p, &st), 0);
    assert_string_equal(p.id, "svc");
    assert_int_equal(p.role, AUTH_ROLE_READER);
    assert_string_equal(p.member, "");
    assert_int_equal(authn(&cfg, b, &p, &st), ALLOT_EUNAUTH);
    auth_config_release(&cfg);
}

static void bearer_values(void **state)
{
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    const char *v;
    (void)state;

    hs_config(&cfg);
    assert_int_equal(authn(&cfg, "s3cret-billing", &p, &st), 0);
    assert_string_equal(p.id, "billing-1");
    assert_int_equal(p.role, AUTH_ROLE_BILLING);
    assert_string_equal(auth_principal_role(&p), "billing");
    assert_int_equal(authn(&cfg, "s3cret-admin", &p, &st), 0);
    assert_string_equal(p.id, "ops");
    assert_int_equal(p.role, AUTH_ROLE_ADMIN);

    /* any case for the scheme, several blanks */
    v = "bEaReR    s3cret-billing";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), 0);
    /* the value is not NUL-terminated: only n bytes count */
    v = "Bearer s3cret-billingXYZ";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v) - 3, NOW, &p, &st), 0);

    /* missing, malformed, unknown: UNAUTHENTICATED, never echoing the token */
    assert_int_equal(auth_authenticate(&cfg, NULL, 0, NOW, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(st.msg,
                        "missing credentials: send metadata \"authorization: Bearer <token>\"");
    assert_string_equal(p.id, "");
    assert_int_equal(p.role, 0);
    v = "Basic dXNlcjpwYXNz";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), ALLOT_EUNAUTH);
    assert_non_null(strstr(st.msg, "malformed credentials"));
    v = "Bearer";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), ALLOT_EUNAUTH);
    v = "Bearer   ";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), ALLOT_EUNAUTH);
    v = "Bearers3cret-billing";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), ALLOT_EUNAUTH);
    v = "Bearer s3cret billing";
    assert_int_equal(auth_authenticate(&cfg, v, strlen(v), NOW, &p, &st), ALLOT_EUNAUTH);
    assert_null(strstr(st.msg, "s3cret"));
    assert_int_equal(authn(&cfg, "s3cret-billinG", &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(st.msg, "invalid credentials: unknown token");
    assert_int_equal(authn(&cfg, "s3cret-billing ", &p, &st), ALLOT_EUNAUTH);
    {
        char *big = malloc(AUTH_VALUE_MAX + 10);
        memset(big, 'a', AUTH_VALUE_MAX + 9);
        memcpy(big, "Bearer ", 7);
        big[AUTH_VALUE_MAX + 9] = '\0';
        assert_int_equal(auth_authenticate(&cfg, big, strlen(big), NOW, &p, &st), ALLOT_EUNAUTH);
        free(big);
    }
    auth_config_release(&cfg);
}

/* ------------------------------------------------------------------ JWTs */

static void jwt_hs256(void **state)
{
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    char *t;
    (void)state;

    hs_config(&cfg);
#define EXPECT(payload, rc_, msg_)                                                                 \
    do {                                                                                           \
        t = hs_token(payload);                                                                     \
        assert_int_equal(authn(&cfg, t, &p, &st), rc_);                                            \
        if (msg_)                                                                                  \
            assert_string_equal(st.msg, (const char *)(msg_));                                     \
        free(t);                                                                                   \
    } while (0)

    /* valid: the member's portal principal */
    EXPECT("{\"sub\":\"m-17\",\"exp\":1750000600}", 0, NULL);
    assert_string_equal(p.id, "jwt:m-17");
    assert_string_equal(p.member, "m-17");
    assert_int_equal(p.role, AUTH_ROLE_PORTAL);
    assert_string_equal(auth_principal_role(&p), "portal");
    EXPECT("{\"sub\":\"m-17\",\"exp\":1750000001,\"nbf\":1749999000,\"iat\":1749999000}", 0, NULL);

    /* expired (exp is the first second it is not valid) */
    EXPECT("{\"sub\":\"m-17\",\"exp\":1750000000}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT has expired");
    EXPECT("{\"sub\":\"m-17\",\"exp\":1}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT has expired");
    /* exp missing or not an integer */
    EXPECT("{\"sub\":\"m-17\"}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT has no integer \"exp\" claim");
    EXPECT("{\"sub\":\"m-17\",\"exp\":\"1750000600\"}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT has no integer \"exp\" claim");
    /* not valid yet */
    EXPECT("{\"sub\":\"m-17\",\"exp\":1750000600,\"nbf\":1750000100}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT is not valid yet (nbf)");
    /* sub missing, not a string, not an id */
    EXPECT("{\"exp\":1750000600}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT's \"sub\" is not a member id");
    EXPECT("{\"sub\":17,\"exp\":1750000600}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT's \"sub\" is not a member id");
    EXPECT("{\"sub\":\"m 17\",\"exp\":1750000600}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT's \"sub\" is not a member id");
    EXPECT("{\"sub\":\"\",\"exp\":1750000600}", ALLOT_EUNAUTH,
           "invalid credentials: the JWT's \"sub\" is not a member id");
#undef EXPECT

    /* signed with another key */
    t = jwt_make(HS_HEADER, "{\"sub\":\"m-17\",\"exp\":1750000600}", "HS256",
                 "another-key-another-key-another-key!!", 37, NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(st.msg,
                        "invalid credentials: the JWT does not verify with any configured key");
    free(t);
    /* a tampered payload */
    t = hs_token("{\"sub\":\"m-17\",\"exp\":1750000600}");
    {
        char *dot = strchr(t, '.');
        dot[3] = dot[3] == 'A' ? 'B' : 'A';
    }
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    free(t);
    /* alg none, with or without a signature part */
    t = jwt_make("{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"sub\":\"m-17\",\"exp\":1750000600}",
                 NULL, NULL, 0, NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(p.id, "");
    free(t);
    t = jwt_make("{\"alg\":\"none\"}", "{\"sub\":\"m-17\",\"exp\":1750000600}", "HS256", hs_key,
                 strlen(hs_key), NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    free(t);
    /* another algorithm than the key's, even with the right secret */
    t = jwt_make("{\"alg\":\"HS512\"}", "{\"sub\":\"m-17\",\"exp\":1750000600}", "HS256", hs_key,
                 strlen(hs_key), NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    free(t);
    /* garbage with two dots */
    assert_int_equal(authn(&cfg, "a.b.c", &p, &st), ALLOT_EUNAUTH);
    assert_int_equal(authn(&cfg, "..", &p, &st), ALLOT_EUNAUTH);
    assert_int_equal(authn(&cfg, "eyJhbGciOiJIUzI1NiJ9.e30", &p, &st), ALLOT_EUNAUTH);
    auth_config_release(&cfg);
}

static void jwt_audience(void **state)
{
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    char text[512], *t;
    (void)state;

    snprintf(text, sizeof text,
             "jwt-key k hs256 base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYtcG9ydGFs\n"
             "jwt-audience allot\n");
    assert_int_equal(parse(&cfg, text, &st), 0);
    assert_int_equal(cfg.keys[0].len, strlen(hs_key));
    t = hs_token("{\"sub\":\"m\",\"exp\":1750000600,\"aud\":\"allot\"}");
    assert_int_equal(authn(&cfg, t, &p, &st), 0);
    free(t);
    t = hs_token("{\"sub\":\"m\",\"exp\":1750000600,\"aud\":\"other\"}");
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(st.msg, "invalid credentials: the JWT is not for this audience (aud)");
    free(t);
    t = hs_token("{\"sub\":\"m\",\"exp\":1750000600}");
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    free(t);
    auth_config_release(&cfg);
}

static char *pubkey_pem(EVP_PKEY *k)
{
    BIO *b = BIO_new(BIO_s_mem());
    BUF_MEM *bm;
    char *out;
    assert_int_equal(PEM_write_bio_PUBKEY(b, k), 1);
    BIO_get_mem_ptr(b, &bm);
    out = strndup(bm->data, bm->length);
    BIO_free(b);
    return out;
}

static void jwt_rs256(void **state)
{
    EVP_PKEY *k = EVP_RSA_gen(2048), *other = EVP_RSA_gen(2048), *weak = EVP_RSA_gen(1024);
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    char *pem = pubkey_pem(k), *wpem = pubkey_pem(weak), *t;
    const char *payload = "{\"sub\":\"m-9\",\"exp\":1750000600}";
    (void)state;

    assert_non_null(k);
    write_file("rs.pem", pem, strlen(pem), 0644);
    write_file("weak.pem", wpem, strlen(wpem), 0644);
    parse_fails("jwt-key k rs256 file:weak.pem\n",
                "auth.conf:1: jwt-key: the RSA key has 1024 bits; at least 2048");
    assert_int_equal(parse(&cfg, "jwt-key k rs256 file:rs.pem\n", &st), 0);
    assert_false(cfg.inline_secret);

    t = jwt_make("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", payload, "RS256", NULL, 0, k);
    assert_int_equal(authn(&cfg, t, &p, &st), 0);
    assert_string_equal(p.id, "jwt:m-9");
    free(t);
    /* signed by another key */
    t = jwt_make("{\"alg\":\"RS256\"}", payload, "RS256", NULL, 0, other);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    free(t);
    /* algorithm confusion: HS256 keyed with the public PEM anyone can read */
    t = jwt_make(HS_HEADER, payload, "HS256", pem, strlen(pem), NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(p.id, "");
    free(t);
    /* expired, well signed */
    t = jwt_make("{\"alg\":\"RS256\"}", "{\"sub\":\"m-9\",\"exp\":1700000000}", "RS256", NULL, 0,
                 k);
    assert_int_equal(authn(&cfg, t, &p, &st), ALLOT_EUNAUTH);
    assert_string_equal(st.msg, "invalid credentials: the JWT has expired");
    free(t);
    auth_config_release(&cfg);
    free(pem);
    free(wpem);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
    EVP_PKEY_free(weak);
}

static void jwt_key_rotation(void **state)
{
    struct auth_config cfg;
    struct auth_principal p;
    struct allot_status st;
    char *t;
    (void)state;

    /* old and new key side by side: tokens of either verify */
    assert_int_equal(
        parse(&cfg,
              "jwt-key old hs256 base64:b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleSE=\n"
              "jwt-key new hs256 base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYtcG9ydGFs\n",
              &st),
        0);
    t = hs_token("{\"sub\":\"m\",\"exp\":1750000600}");
    assert_int_equal(authn(&cfg, t, &p, &st), 0);
    free(t);
    t = jwt_make(HS_HEADER, "{\"sub\":\"m\",\"exp\":1750000600}", "HS256",
                 "old-key-old-key-old-key-old-key!", 32, NULL);
    assert_int_equal(authn(&cfg, t, &p, &st), 0);
    free(t);
    auth_config_release(&cfg);
}

/* ------------------------------------------------------- roles, methods */

struct expect {
    const char *method;
    const char *roles; /* letters of the roles allowed: a b r p */
};

static const struct expect matrix[] = {
    {"/grpc.health.v1.Health/Check", "abrp"},  {"/allot.v1.Allot/PutService", "a"},
    {"/allot.v1.Allot/ListServices", "abr"},   {"/allot.v1.Allot/PutPlan", "a"},
    {"/allot.v1.Allot/GetPlan", "abr"},        {"/allot.v1.Allot/ListPlans", "abr"},
    {"/allot.v1.Allot/PutMember", "a"},        {"/allot.v1.Allot/GetMember", "abr"},
    {"/allot.v1.Allot/PriceInvoice", "b"},     {"/allot.v1.Allot/PreviewInvoice", "b"},
    {"/allot.v1.Allot/VoidInvoice", "b"},      {"/allot.v1.Allot/RecordUsage", "b"},
    {"/allot.v1.Allot/VoidUsage", "b"},        {"/allot.v1.Allot/GetAllotments", "brp"},
    {"/allot.v1.Allot/WatchThresholds", "br"}, {"/allot.v1.Allot/ListAudit", "a"},
};

static const struct method *find_method(const char *path)
{
    unsigned i;
    for (i = 0; i < allot_nmethods; i++)
        if (!strcmp(allot_methods[i].path, path))
            return &allot_methods[i];
    return NULL;
}

static void role_method_matrix(void **state)
{
    static const struct {
        char letter;
        unsigned role;
    } roles[] = {{'a', AUTH_ROLE_ADMIN}, {'b', AUTH_ROLE_BILLING}, {'r', AUTH_ROLE_READER}};
    struct auth_principal p, anon;
    struct allot_status st;
    size_t i, k;
    (void)state;

    /* the table and the matrix list the same methods */
    assert_int_equal(allot_nmethods, sizeof matrix / sizeof matrix[0]);
    auth_principal_anonymous(&anon);
    for (i = 0; i < sizeof matrix / sizeof matrix[0]; i++) {
        const struct method *m = find_method(matrix[i].method);
        if (!m)
            fail_msg("%s is not in the method table", matrix[i].method);
        if (!strcmp(matrix[i].method, "/grpc.health.v1.Health/Check")) {
            assert_true(m->flags & METHOD_PUBLIC);
            continue;
        }
        assert_false(m->flags & METHOD_PUBLIC);
        for (k = 0; k < sizeof roles / sizeof roles[0]; k++) {
            bool want = strchr(matrix[i].roles, roles[k].letter) != NULL;
            int rc;
            memset(&p, 0, sizeof p);
            snprintf(p.id, sizeof p.id, "svc");
            p.role = roles[k].role;
            rc = auth_authorize(&p, "M", m->roles, (m->flags & METHOD_MEMBER_SCOPED) != 0, "m-1",
                                &st);
            if (want != (rc == 0))
                fail_msg("%s for role %s: want %s, got %d", matrix[i].method,
                         auth_role_name(roles[k].role), want ? "allowed" : "denied", rc);
            if (rc) {
                assert_int_equal(rc, ALLOT_EPERM);
                snprintf(p.id, sizeof p.id, "permission denied: role %s may not call M",
                         auth_role_name(roles[k].role));
                assert_string_equal(st.msg, p.id);
            }
        }
        /* a member's portal JWT: its own member's GetAllotments, nothing else */
        memset(&p, 0, sizeof p);
        snprintf(p.id, sizeof p.id, "jwt:m-1");
        snprintf(p.member, sizeof p.member, "m-1");
        p.role = AUTH_ROLE_PORTAL;
        assert_int_equal(auth_authorize(&p, "M", m->roles, (m->flags & METHOD_MEMBER_SCOPED) != 0,
                                        "m-1", &st) == 0,
                         strchr(matrix[i].roles, 'p') != NULL);
        /* with authentication off, everything */
        assert_int_equal(auth_authorize(&anon, "M", m->roles,
                                        (m->flags & METHOD_MEMBER_SCOPED) != 0, "m-1", &st),
                         0);
    }
    /* every write and the member reads are audited */
    assert_true(find_method("/allot.v1.Allot/PriceInvoice")->flags & METHOD_AUDIT);
    assert_true(find_method("/allot.v1.Allot/PutMember")->flags & METHOD_AUDIT);
    assert_true(find_method("/allot.v1.Allot/VoidUsage")->flags & METHOD_AUDIT);
    assert_true(find_method("/allot.v1.Allot/GetAllotments")->flags & METHOD_AUDIT);
    assert_false(find_method("/allot.v1.Allot/ListAudit")->flags & METHOD_AUDIT);
}

static void member_scope(void **state)
{
    struct auth_principal p;
    struct allot_status st, st2;
    unsigned roles = AUTH_ROLE_BILLING | AUTH_ROLE_READER | AUTH_ROLE_PORTAL;
    (void)state;

    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "jwt:m-1");
    snprintf(p.member, sizeof p.member, "m-1");
    p.role = AUTH_ROLE_PORTAL;
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, "m-1", &st), 0);
    /* another member, existing or not: one message */
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, "m-2", &st), ALLOT_EPERM);
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, "no-such", &st2),
                     ALLOT_EPERM);
    assert_string_equal(st.msg, st2.msg);
    assert_null(strstr(st.msg, "m-2"));
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, "m-1x", &st), ALLOT_EPERM);
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, "", &st), ALLOT_EPERM);
    assert_int_equal(auth_authorize(&p, "GetAllotments", roles, true, NULL, &st), ALLOT_EPERM);
    /* a method that is not member-scoped, even if its roles named portal */
    assert_int_equal(auth_authorize(&p, "GetMember", roles, false, "m-1", &st), ALLOT_EPERM);
    assert_string_equal(st.msg,
                        "permission denied: a member's portal credential may not call GetMember");
}

/* -------------------------------------------------------------- addresses */

static void loopback_addresses(void **state)
{
    static const char *const yes[] = {
        "127.0.0.1:50051",
        "127.0.0.1",
        "127.1.2.3:1",
        "localhost:50051",
        "LocalHost:1",
        "[::1]:50051",
        "[::1]",
        "ipv4:127.0.0.1:5",
        "ipv6:[::1]:5",
        "[::ffff:127.0.0.1]:9",
        "unix:/tmp/allot.sock",
        "unix-abstract:allot",
    };
    static const char *const no[] = {
        "0.0.0.0:50051",
        ":50051",
        "[::]:50051",
        "10.0.0.5:50051",
        "128.0.0.1:1",
        "example.com:443",
        "localhost.evil:1",
        "[::2]:1",
        "::1:50051",
        "",
        "[::1",
        "[::1]x",
        "126.255.255.255:1",
        "localhost.:1",
        "[::ffff:10.0.0.1]:1",
        "127.0.0.1.nip.io:1",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!auth_addr_is_loopback(yes[i]))
            fail_msg("%s should be loopback", yes[i]);
    for (i = 0; i < sizeof no / sizeof no[0]; i++)
        if (auth_addr_is_loopback(no[i]))
            fail_msg("%s should not be loopback", no[i]);
    assert_false(auth_addr_is_loopback(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_good_lines),
        cmocka_unit_test(config_bad_lines_name_their_line),
        cmocka_unit_test(config_load_checks_the_file),
        cmocka_unit_test(sha256_and_text),
        cmocka_unit_test(new_tokens_are_random_and_admitted),
        cmocka_unit_test(bearer_values),
        cmocka_unit_test(jwt_hs256),
        cmocka_unit_test(jwt_audience),
        cmocka_unit_test(jwt_rs256),
        cmocka_unit_test(jwt_key_rotation),
        cmocka_unit_test(role_method_matrix),
        cmocka_unit_test(member_scope),
        cmocka_unit_test(loopback_addresses),
    };
    return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
