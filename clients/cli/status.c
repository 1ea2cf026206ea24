/* status.c - see status.h. */
#include "status.h"

#include <stdio.h>
#include <string.h>

int cli_exit_for_status(grpc_status_code code)
{
    switch (code) {
    case GRPC_STATUS_OK:
        return CLI_EXIT_OK;
    case GRPC_STATUS_INVALID_ARGUMENT:
    case GRPC_STATUS_NOT_FOUND:
    case GRPC_STATUS_ALREADY_EXISTS:
    case GRPC_STATUS_FAILED_PRECONDITION:
    case GRPC_STATUS_OUT_OF_RANGE:
    case GRPC_STATUS_ABORTED:
        return CLI_EXIT_REJECTED;
    case GRPC_STATUS_UNAUTHENTICATED:
        return CLI_EXIT_UNAUTHENTICATED;
    case GRPC_STATUS_PERMISSION_DENIED:
        return CLI_EXIT_PERMISSION_DENIED;
    case GRPC_STATUS_UNAVAILABLE:
        return CLI_EXIT_UNAVAILABLE;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        return CLI_EXIT_TIMEOUT;
    default:
        return CLI_EXIT_SERVER;
    }
}

const char *cli_status_name(grpc_status_code code)
{
    static const char *const names[] = {
        "OK",
        "CANCELLED",
        "UNKNOWN",
        "INVALID_ARGUMENT",
        "DEADLINE_EXCEEDED",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "PERMISSION_DENIED",
        "RESOURCE_EXHAUSTED",
        "FAILED_PRECONDITION",
        "ABORTED",
        "OUT_OF_RANGE",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
        "UNAUTHENTICATED",
    };
    if ((unsigned)code < sizeof names / sizeof names[0])
        return names[code];
    return "UNKNOWN_CODE";
}

/* Length of a leading "field.path[1]: " that the server puts before what
 * it says, or 0. */
static size_t field_prefix(const char *s)
{
    const char *p = s;
    while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
           *p == '[' || *p == ']')
        p++;
    if (p > s && p[0] == ':' && p[1] == ' ')
        return (size_t)(p + 2 - s);
    return 0;
}

/* " (DETAILS)", or "" when there are none. */
static void paren(char *buf, size_t len, const char *details)
{
    if (*details)
        snprintf(buf, len, " (%s)", details);
    else
        buf[0] = '\0';
}

static void unavailable(const char *details, const struct cli_status_ctx *ctx, char *buf,
                        size_t len)
{
    char d[1100];
    paren(d, sizeof d, details);
    if (!ctx->tls && strstr(details, "Socket closed"))
        /* what a plaintext call to a TLS port gets */
        snprintf(buf, len, "cannot reach allotd at %s%s; if it uses TLS, give --tls-ca FILE",
                 ctx->addr, d);
    else if (!ctx->tls)
        snprintf(buf, len, "cannot reach allotd at %s%s", ctx->addr, d);
    else
        snprintf(buf, len,
                 "cannot reach allotd at %s over TLS%s. If it is running, check that --tls-ca "
                 "is the CA that signed its certificate, that the certificate names the host "
                 "dialed (or give --tls-name NAME)%s",
                 ctx->addr, d,
                 ctx->client_cert ? ", and that the server trusts the CA of --tls-cert"
                                  : ", and whether it requires a client certificate "
                                    "(--tls-cert, --tls-key)");
}

char *cli_status_message(grpc_status_code code, const char *details,
                         const struct cli_status_ctx *ctx, char *buf, size_t len)
{
    char d[1100];

    if (!details)
        details = "";
    switch (code) {
    case GRPC_STATUS_UNAVAILABLE:
        unavailable(details, ctx, buf, len);
        break;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        snprintf(buf, len, "no answer from allotd at %s within %g s (see --timeout)", ctx->addr,
                 ctx->timeout_s);
        break;
    case GRPC_STATUS_UNAUTHENTICATED:
        paren(d, sizeof d, details);
        if (ctx->token_from)
            snprintf(buf, len, "allotd at %s did not accept the token from %s%s", ctx->addr,
                     ctx->token_from, d);
        else
            snprintf(buf, len,
                     "allotd at %s wants a token%s: give --token-file FILE, or set "
                     "ALLOT_TOKEN_FILE or ALLOT_TOKEN",
                     ctx->addr, d);
        break;
    case GRPC_STATUS_PERMISSION_DENIED:
        snprintf(buf, len,
                 "%s (this needs a token with another role: see `allotctl help security`)",
                 *details ? details : "permission denied");
        break;
    case GRPC_STATUS_NOT_FOUND:
    case GRPC_STATUS_ALREADY_EXISTS:
        if (*details) {
            snprintf(buf, len, "%s", details + field_prefix(details));
            break;
        }
        /* fall through */
    default:
        if (*details)
            snprintf(buf, len, "%s", details);
        else
            snprintf(buf, len, "%s from allotd at %s", cli_status_name(code), ctx->addr);
        break;
    }
    return buf;
}
