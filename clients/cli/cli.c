/* cli.c - the helpers every command uses (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

#include "allot/date.h"

#include "help.h"

void cli_err(const char *fmt, ...)
{
    va_list ap;
    fputs("allotctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
    va_list ap;
    fputs("allotctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (c && c->cmd)
        fprintf(stderr, "usage: allotctl %s\n(see: allotctl help %s)\n", help_synopsis(c->cmd),
                help_name(c->cmd));
    else
        fprintf(stderr, "(see: allotctl --help)\n");
    return CLI_EXIT_USAGE;
}

struct rpc *cli_rpc(struct cli *c)
{
    if (!c->rpc_open) {
        rpc_open(&c->rpc, c->addr, (int64_t)(c->timeout_s * 1000.0 + 0.5));
        c->rpc_open = 1;
    }
    return &c->rpc;
}

int cli_call(struct cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
             const char *context)
{
    struct rpc_status st;
    char msg[RPC_DETAILS_MAX + 256];

    if (rpc_unary(cli_rpc(c), method, req, resp_desc, resp, &st) == 0)
        return CLI_EXIT_OK;
    cli_status_message(st.code, st.details, c->addr, c->timeout_s, msg, sizeof msg);
    /* A file's name helps with what the server found wrong in it; it does
     * not help with an unreachable server. */
    if (context && cli_exit_for_status(st.code) == CLI_EXIT_REJECTED)
        cli_err("%s: %s", context, msg);
    else
        cli_err("%s", msg);
    return cli_exit_for_status(st.code);
}

int cli_check_date(struct cli *c, const char *what, const char *s)
{
    allot_date d;
    if (allot_date_parse(s, &d))
        return cli_usage(c, "%s \"%s\" is not a date: write YYYY-MM-DD (a real date)", what, s);
    return 0;
}
