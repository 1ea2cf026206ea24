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
    case GRPC_STATUS_PERMISSION_DENIED:
    case GRPC_STATUS_UNAUTHENTICATED:
    case GRPC_STATUS_ABORTED:
        return CLI_EXIT_REJECTED;
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

char *cli_status_message(grpc_status_code code, const char *details, const char *addr,
                         double timeout_s, char *buf, size_t len)
{
    if (!details)
        details = "";
    switch (code) {
    case GRPC_STATUS_UNAVAILABLE:
        if (*details)
            snprintf(buf, len, "cannot reach allotd at %s (%s)", addr, details);
        else
            snprintf(buf, len, "cannot reach allotd at %s", addr);
        break;
    case GRPC_STATUS_DEADLINE_EXCEEDED:
        snprintf(buf, len, "no answer from allotd at %s within %g s (see --timeout)", addr,
                 timeout_s);
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
            snprintf(buf, len, "%s from allotd at %s", cli_status_name(code), addr);
        break;
    }
    return buf;
}
