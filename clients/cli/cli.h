/* cli.h - what the command files share: options, the call helper, errors.
 *
 * Each command is `int cmd_NAME(struct cli *, const struct args *)` and
 * returns the process exit code (status.h). Messages for people go to
 * stderr as "allotctl: ..."; results go to stdout.
 */
#ifndef ALLOTCTL_CLI_H
#define ALLOTCTL_CLI_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc.h"
#include "status.h"

#define CLI_DEFAULT_ADDR "127.0.0.1:50051"
#define CLI_DEFAULT_TIMEOUT_S 10.0
#define CLI_MAX_ARGS 256

struct command;

struct cli {
    const char *addr; /* --addr, $ALLOT_ADDR, or CLI_DEFAULT_ADDR */
    double timeout_s; /* --timeout */
    int json;         /* --json */
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
    int once;           /* --once */
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

#endif
