/* cli.h - what the command files share: options, the call helper, errors.
 *
 * Each command is `int cmd_NAME(struct cli *, const struct args *)` and
 * returns the process exit code (status.h). Messages for people go to
 * stderr as "allotctl: ..."; results go to stdout.
 */
#ifndef ALLOTCTL_CLI_H
#define ALLOTCTL_CLI_H

#include <signal.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "creds.h"
#include "rpc.h"
#include "status.h"

#define CLI_DEFAULT_ADDR "127.0.0.1:50051"
#define CLI_DEFAULT_TIMEOUT_S 10.0
#define CLI_MAX_ARGS 256
/* A message about a failed call: the server's details and our advice. */
#define CLI_MSG_MAX (RPC_DETAILS_MAX + 512)

struct command;

struct cli {
    const char *addr;           /* --addr, $ALLOT_ADDR, or CLI_DEFAULT_ADDR */
    double timeout_s;           /* --timeout */
    int json;                   /* --json */
    int insecure;               /* --insecure: a token may go without TLS */
    struct creds_opts sec_opts; /* --tls-*, --token-file, then the environment */
    struct creds creds;         /* loaded before the command runs */
    struct rpc rpc;
    int rpc_open;
    const struct command *cmd; /* the command running, for its help hint */
};

/* A command's arguments after option parsing. Options a command does not
 * take never get here (the parser refuses them). */
struct args {
    const char *pos[CLI_MAX_ARGS];
    int npos;
    const char *file;   /* --file */
    const char *as_of;  /* --as-of */
    const char *format; /* --format */
    const char *from;   /* --from */
    const char *member; /* --member */
    const char *source; /* --source */
    const char *note;   /* --note */
    const char *limit;  /* --limit */
    int once;           /* --once */
    int follow;         /* --follow */
};

/* "allotctl: " + message on stderr. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message, a pointer to the command's help, exit 2. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Calls method; on failure prints the mapped message (led by `context`,
 * e.g. the input file, when not NULL) and returns the exit code. 0 with
 * *resp set (free with protobuf_c_message_free_unpacked(*resp, NULL)). */
int cli_call(struct cli *c, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
             const char *context);
/* The channel, opened on first use. */
struct rpc *cli_rpc(struct cli *c);
/* The message for a call that failed with code and details (status.h),
 * naming this server, timeout, TLS setup and token source. Returns buf. */
char *cli_message(struct cli *c, grpc_status_code code, const char *details, char *buf, size_t len);

/* Set by SIGINT and SIGTERM once cli_catch_stop() ran: long-running
 * commands (watch, audit --follow) then finish in order and exit 0. */
extern volatile sig_atomic_t cli_stop;
void cli_catch_stop(void);
/* Sleeps ms, waking early when cli_stop is set. */
void cli_nap(int64_t ms);
/* A decimal uint64 ("0", "42"); -1 for anything else. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Checks a YYYY-MM-DD option or argument; prints a usage error (exit 2
 * returned) naming `what` when it is not a real date. 0 when fine. */
int cli_check_date(struct cli *c, const char *what, const char *s);

#define ALLOT_METHOD(name) "/allot.v1.Allot/" name

int cmd_service_put(struct cli *c, const struct args *a);
int cmd_service_list(struct cli *c, const struct args *a);
int cmd_plan_put(struct cli *c, const struct args *a);
int cmd_plan_get(struct cli *c, const struct args *a);
int cmd_plan_list(struct cli *c, const struct args *a);
int cmd_member_put(struct cli *c, const struct args *a);
int cmd_member_get(struct cli *c, const struct args *a);
int cmd_price(struct cli *c, const struct args *a);
int cmd_preview(struct cli *c, const struct args *a);
int cmd_void(struct cli *c, const struct args *a);
int cmd_usage_record(struct cli *c, const struct args *a);
int cmd_usage_void(struct cli *c, const struct args *a);
int cmd_allotments(struct cli *c, const struct args *a);
int cmd_watch(struct cli *c, const struct args *a);
int cmd_health(struct cli *c, const struct args *a);
int cmd_audit(struct cli *c, const struct args *a);

#endif
