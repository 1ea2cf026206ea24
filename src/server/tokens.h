/* tokens.h - the auth config file: who may call allotd, and as what.
 *
 * A small line format (docs/security.md has the operator's view):
 *
 *   # comment; blank lines are ignored; fields are separated by blanks
 *   token   ID ROLE sha256:HEX        a service token: the SHA-256 of the
 *                                     token, 64 hex digits (allotd
 *                                     --hash-token or --new-token makes it)
 *   jwt-key ID hs256 base64:B64       an HMAC key for portal JWTs, 32 bytes
 *   jwt-key ID hs256 file:PATH        or more (a file: its bytes, trailing
 *                                     whitespace removed)
 *   jwt-key ID rs256 file:PATH        an RSA public key (PEM, >= 2048 bits)
 *   jwt-audience VALUE                optional: portal JWTs must carry
 *                                     "aud": "VALUE"
 *
 * ID is 1-64 of [A-Za-z0-9._-] and unique among tokens (and among keys);
 * "anonymous" is reserved. ROLE is admin, billing or reader: portal access
 * is by member JWT only, so no service token has role portal. A relative
 * PATH is relative to the config file's directory. Only hashes of service
 * tokens are kept: the file never holds a token a client sends.
 *
 * Every error names the file and line ("auth.conf:7: token: role
 * \"root\" is not admin, billing or reader") and the whole file is refused:
 * a server never starts with half of its config.
 */
#ifndef ALLOT_SERVER_TOKENS_H
#define ALLOT_SERVER_TOKENS_H

#include <stdbool.h>
#include <stddef.h>

#include "allot/err.h"

/* Roles, as bits so a method lists those it allows. */
enum auth_role {
    AUTH_ROLE_ADMIN = 1u << 0,
    AUTH_ROLE_BILLING = 1u << 1,
    AUTH_ROLE_READER = 1u << 2,
    AUTH_ROLE_PORTAL = 1u << 3,
};
#define AUTH_ROLES_ALL (AUTH_ROLE_ADMIN | AUTH_ROLE_BILLING | AUTH_ROLE_READER | AUTH_ROLE_PORTAL)

/* "admin", "billing", "reader", "portal"; "" for anything else. Static. */
const char *auth_role_name(unsigned role);
/* The role named s, or 0. */
unsigned auth_role_parse(const char *s);

#define AUTH_ID_MAX 64
#define AUTH_TOKENS_MAX 1024
#define AUTH_JWT_KEYS_MAX 8
#define AUTH_SHA256_LEN 32
#define AUTH_HMAC_KEY_MIN 32 /* bytes: HS256 wants a key as long as its hash */
#define AUTH_RSA_BITS_MIN 2048

struct auth_token {
    char id[AUTH_ID_MAX + 1];
    unsigned role; /* one enum auth_role bit */
    unsigned char hash[AUTH_SHA256_LEN];
};

enum auth_jwt_alg {
    AUTH_JWT_HS256 = 1,
    AUTH_JWT_RS256 = 2,
};

struct auth_jwt_key {
    char id[AUTH_ID_MAX + 1];
    enum auth_jwt_alg alg;
    unsigned char *key; /* HS256: the secret; RS256: the PEM text, NUL-terminated */
    size_t len;         /* bytes of key (without the NUL) */
};

struct auth_config {
    struct auth_token *tokens;
    size_t ntokens;
    struct auth_jwt_key keys[AUTH_JWT_KEYS_MAX];
    size_t nkeys;
    char audience[AUTH_ID_MAX * 4 + 1]; /* "" = not checked */
    bool inline_secret;                 /* an HS256 key is written in the file itself */
};

/** Parses config text (n bytes, need not be NUL-terminated) into cfg,
 * which must be zeroed or released. name is the file's name for messages,
 * dir the directory relative key paths are resolved against.
 * @return 0, or ALLOT_EINVAL with "NAME:LINE: ..." in st (cfg is then
 *   released), ALLOT_ENOMEM
 */
int auth_config_parse(struct auth_config *cfg, const char *text, size_t n, const char *name,
                      const char *dir, struct allot_status *st);

/** Reads and parses the file at path. Refuses a file that is not a regular
 * file or that group or others may write (whoever can write it can grant
 * themselves any role).
 * @return 0, or ALLOT_EINVAL (a bad line; st says which), ALLOT_EIO (the
 *   file cannot be read), ALLOT_ENOMEM
 */
int auth_config_load(struct auth_config *cfg, const char *path, struct allot_status *st);

/** Frees what cfg holds (key bytes are wiped first) and zeroes it. */
void auth_config_release(struct auth_config *cfg);

/** Reads a whole file (at most max bytes) into a new NUL-terminated buffer
 * the caller frees. *n (may be NULL) gets its length.
 * @return 0, or ALLOT_EIO (with the reason in st), ALLOT_EINVAL (too large),
 *   ALLOT_ENOMEM
 */
int auth_read_file(const char *path, size_t max, char **out, size_t *n, struct allot_status *st);

#endif
