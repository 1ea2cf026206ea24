/* status.h - gRPC status -> allotctl exit code and stderr message.
 *
 * One table, so `allotctl --help` and the code cannot disagree:
 *
 *   0  ok
 *   1  the server said no: invalid argument, not found, already exists,
 *      failed precondition (the request changed nothing)
 *   2  usage: a bad command line or input file (nothing was sent)
 *   3  unavailable: allotd cannot be reached or is shutting down
 *   4  timeout: no answer within --timeout (a write may still have happened;
 *      retrying with the same invoice or usage id is safe)
 *   5  server failure: internal error, data loss, store full, unimplemented
 *   6  not authenticated: no token, or one the server does not accept
 *      (UNAUTHENTICATED)
 *   7  permission denied: the token's role may not make this call
 *      (PERMISSION_DENIED)
 */
#ifndef ALLOTCTL_STATUS_H
#define ALLOTCTL_STATUS_H

#include <stddef.h>

#include <grpc/status.h>

enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_REJECTED = 1,
    CLI_EXIT_USAGE = 2,
    CLI_EXIT_UNAVAILABLE = 3,
    CLI_EXIT_TIMEOUT = 4,
    CLI_EXIT_SERVER = 5,
    CLI_EXIT_UNAUTHENTICATED = 6,
    CLI_EXIT_PERMISSION_DENIED = 7,
};

/* What the message about a failed call may mention. */
struct cli_status_ctx {
    const char *addr;       /* the server dialed */
    double timeout_s;       /* --timeout */
    int tls;                /* TLS configured (--tls-ca) */
    int client_cert;        /* a client certificate given (--tls-cert) */
    const char *token_from; /* where the token sent came from ("--token-file",
                               "ALLOT_TOKEN"), NULL when none was sent */
};

/* The exit code for a call that ended with code. */
int cli_exit_for_status(grpc_status_code code);
/* "NOT_FOUND", "UNAVAILABLE", ...; "UNKNOWN_CODE" for others. Static. */
const char *cli_status_name(grpc_status_code code);
/* What allotctl prints after "allotctl: " for a failed call:
 *   NOT_FOUND, ALREADY_EXISTS
 *                      the server's message without its leading field path
 *                      ("member_id: member \"m-42\" not found" ->
 *                       "member \"m-42\" not found")
 *   UNAVAILABLE        "cannot reach allotd at ADDR (DETAILS)"; with TLS
 *                      configured, "... over TLS (DETAILS)" and what to check
 *                      (--tls-ca, --tls-name, the client certificate)
 *   DEADLINE_EXCEEDED  "no answer from allotd at ADDR within N s"
 *   UNAUTHENTICATED    "allotd at ADDR wants a token (DETAILS): ..." when
 *                      none was sent, else "allotd at ADDR did not accept the
 *                      token from SOURCE (DETAILS)"
 *   PERMISSION_DENIED  the server's message ("permission denied: role billing
 *                      may not call PutPlan") and that another role is needed
 *   others             the server's message, or the code's name when empty.
 * Returns buf. */
char *cli_status_message(grpc_status_code code, const char *details,
                         const struct cli_status_ctx *ctx, char *buf, size_t len);

#endif
