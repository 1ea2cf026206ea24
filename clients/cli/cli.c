/* cli.c - the helpers every command uses (see cli.h). */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
        struct rpc_security sec;
        sec.ca_pem = c->creds.ca_pem;
        sec.cert_pem = c->creds.cert_pem;
        sec.key_pem = c->creds.key_pem;
        sec.tls_name = c->creds.tls_name;
        sec.token = c->creds.token;
        rpc_open(&c->rpc, c->addr, (int64_t)(c->timeout_s * 1000.0 + 0.5), &sec);
        c->rpc_open = 1;
    }
    return &c->rpc;
}

char *cli_message(struct cli *c, grpc_status_code code, const char *details, char *buf, size_t len)
{
    struct cli_status_ctx ctx;
    ctx.addr = c->addr;
    ctx.timeout_s = c->timeout_s;
    ctx.tls = c->creds.ca_pem != NULL;
    ctx.client_cert = c->creds.cert_pem != NULL;
    ctx.token_from = c->creds.token ? c->creds.token_from : NULL;
    return cli_status_message(code, details, &ctx, buf, len);
}

volatile sig_atomic_t cli_stop;

static void on_stop(int sig)
{
    (void)sig;
    cli_stop = 1;
}

void cli_catch_stop(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_nap(int64_t ms)
{
    while (ms > 0 && !cli_stop) {
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

int cli_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    const char *p = s;
    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    *out = v;
    return 0;
}

int cli_call(struct cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
             const char *context)
{
    struct rpc_status st;
    char msg[CLI_MSG_MAX];

    if (rpc_unary(cli_rpc(c), method, req, resp_desc, resp, &st) == 0)
        return CLI_EXIT_OK;
    cli_message(c, st.code, st.details, msg, sizeof msg);
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
