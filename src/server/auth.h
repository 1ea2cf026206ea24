/* auth.h - who is calling, and may they.
 *
 * Authentication turns the value of a call's "authorization" metadata into
 * a principal: a service token (looked up by its SHA-256 among the
 * config's hashes, compared in constant time) or a portal JWT (HS256 or
 * RS256, verified with libjwt against the config's keys; its "sub" is the
 * one member it may see, and "exp" is required). Authorization asks whether
 * that principal's role is among those a method allows and, for a
 * member-scoped principal, whether the request names its own member. Both
 * run before a handler looks anything up, so a refusal reveals nothing
 * about what is stored.
 *
 * Nothing here keeps or logs a credential: a principal holds the token's
 * id, or "jwt:" and the member id.
 *
 * No grpc here (the server passes the metadata value in), so this file and
 * tokens.c are unit-tested on their own.
 */
#ifndef ALLOT_SERVER_AUTH_H
#define ALLOT_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/err.h"
#include "allot/model.h"

#include "tokens.h"

/* The longest authorization value looked at; longer ones are refused. */
#define AUTH_VALUE_MAX 8192

struct auth_principal {
    char id[AUTH_ID_MAX + 5];      /* a token id, "jwt:<member>", or "anonymous" */
    unsigned role;                 /* one enum auth_role bit; AUTH_ROLES_ALL when auth is off */
    char member[ALLOT_ID_MAX + 1]; /* the only member it may see; "" = not scoped */
};

/* The principal of every call when the server runs without --auth-config:
 * "anonymous", every role, no scope. */
void auth_principal_anonymous(struct auth_principal *p);

/* "admin", ...; "" for the anonymous principal (every role). */
const char *auth_principal_role(const struct auth_principal *p);

/** Authenticates a call. value is its "authorization" metadata (n bytes,
 * not NUL-terminated; NULL when there is none), now the time in seconds
 * since the epoch (for JWT "exp" and "nbf").
 *
 * Accepted: "Bearer <token>" (the scheme in any case). A token that
 * matches a configured hash is that token's id and role; otherwise a token
 * of three dot-separated parts is tried as a JWT against every configured
 * key, and must verify with an algorithm equal to the key's (so "none", or
 * HS256 signed with an RSA key's public PEM, never passes), carry a string
 * "sub" that is a valid member id, an integer "exp" in the future, an
 * integer "nbf" (if present) in the past, and the configured audience (if
 * any) as its string "aud".
 *
 * @return 0 with *p filled, or ALLOT_EUNAUTH with a message in st that
 *   names what was wrong but never echoes the credential
 */
int auth_authenticate(const struct auth_config *cfg, const char *value, size_t n, int64_t now,
                      struct auth_principal *p, struct allot_status *st);

/** Whether p may call method (a short name, for the message), which allows
 * roles (enum auth_role bits). member_scoped: the method reads one member's
 * data and req_member is the member its request names; a scoped principal
 * may call it only for its own member. A method that is not member-scoped
 * is never allowed to a scoped principal, whatever its roles.
 *
 * @return 0, or ALLOT_EPERM with a message that names the role and the
 *   method, and for a scoped principal the same words whether or not the
 *   other member exists (nothing has been looked up)
 */
int auth_authorize(const struct auth_principal *p, const char *method, unsigned roles,
                   bool member_scoped, const char *req_member, struct allot_status *st);

/** SHA-256 of the n bytes of token. */
void auth_token_hash(const char *token, size_t n, unsigned char out[AUTH_SHA256_LEN]);

/** "sha256:" and 64 lowercase hex digits into out (at least
 * AUTH_HASH_TEXT_LEN bytes). */
#define AUTH_HASH_TEXT_LEN (7 + 2 * AUTH_SHA256_LEN + 1)
void auth_hash_text(const unsigned char hash[AUTH_SHA256_LEN], char *out);

/** A fresh service token: "allot_" and 43 base64url characters (256 random
 * bits from the kernel) into out (at least AUTH_NEW_TOKEN_LEN bytes).
 * @return 0, or ALLOT_EIO when the kernel gave no randomness
 */
#define AUTH_NEW_TOKEN_LEN (6 + 43 + 1)
int auth_new_token(char *out);

/** Whether a listen address can only be reached from this machine:
 * 127.0.0.0/8, ::1 (also as [::1] and ::ffff:127.x.y.z), "localhost", or a
 * unix socket ("unix:", "unix-abstract:"). Everything else, including ""
 * or ":PORT" (every interface), 0.0.0.0, [::] and any other host name, is
 * not. An "ipv4:" or "ipv6:" prefix is looked through. */
bool auth_addr_is_loopback(const char *listen);

/** Checks that the PEM text of a certificate chain and a private key
 * parse and belong together, and that a client CA (NULL: none) parses.
 * @return 0, or ALLOT_EINVAL with the reason in st
 */
int auth_tls_check(const char *cert_pem, const char *key_pem, const char *ca_pem,
                   struct allot_status *st);

#endif
