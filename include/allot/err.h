/* allot/err.h - one error space for the whole project.
 *
 * Every fallible function returns 0 (ALLOT_OK) or a negative enum allot_err.
 * Functions that can explain a failure to a person also fill a
 * struct allot_status whose message names the offending field, e.g.
 * "plan.rules[1].allowance: must be > 0". The server maps each code to a gRPC
 * status in exactly one place (src/server/status.c).
 */
#ifndef ALLOT_ERR_H
#define ALLOT_ERR_H

#include <stdarg.h>

/* X(name, value, text): the code's name, its value, and a short text. */
#define ALLOT_ERR_MAP(X)                                                    \
    X(OK, 0, "ok")                                                          \
    X(EINVAL, -1, "invalid argument")                                       \
    X(ENOTFOUND, -2, "not found")                                           \
    X(EEXIST, -3, "already exists")                                         \
    X(EPRECOND, -4, "failed precondition")                                  \
    X(EFULL, -5, "store is full")                                           \
    X(ENOMEM, -6, "out of memory")                                          \
    X(EIO, -7, "storage error")                                             \
    X(EFORMAT, -8, "unsupported store format")                              \
    X(ECORRUPT, -9, "store is corrupt")                                     \
    X(EUNIMPL, -10, "not implemented")                                      \
    X(EBUSY, -11, "busy")                                                   \
    X(ECANCELLED, -12, "cancelled")                                         \
    X(EDEADLINE, -13, "deadline exceeded")                                  \
    X(EUNAUTH, -14, "unauthenticated")                                      \
    X(EPERM, -15, "permission denied")

enum allot_err {
#define ALLOT__ERR_ENUM(name, value, text) ALLOT_##name = value,
    ALLOT_ERR_MAP(ALLOT__ERR_ENUM)
#undef ALLOT__ERR_ENUM
};

/* Short text for an error code ("not found"); "unknown error" otherwise.
 * The string is static. */
const char *allot_strerror(int err);
/* The code's name ("ENOTFOUND"); "EUNKNOWN" otherwise. Static. */
const char *allot_err_name(int err);

#define ALLOT_STATUS_MSG_MAX 256

/* A result a person can read: code plus a message naming the field. */
struct allot_status {
    int code;                        /* ALLOT_OK or a negative enum allot_err */
    char msg[ALLOT_STATUS_MSG_MAX];  /* "" when code == ALLOT_OK */
};

/* Sets st (when not NULL) to code and a printf-style message; returns code,
 * so callers can write `return allot_status_set(st, ALLOT_EINVAL, ...)`. */
int allot_status_set(struct allot_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Clears st to ALLOT_OK with an empty message. */
void allot_status_clear(struct allot_status *st);

#endif
