/* cmd_audit.c - allotctl audit: the server's audit trail (ListAudit, which
 * only the admin role may call).
 *
 * Pages from --from on, up to AUDIT_PAGE entries a call, from each
 * answer's next_seq, until the server says nothing more is stored or
 * --limit entries are printed. With --follow it then asks again every
 * FOLLOW_POLL_MS for what was committed since, until SIGINT/SIGTERM (exit
 * 0). Once a call has succeeded, --follow rides out a server restart:
 * UNAVAILABLE and timeouts are reported and retried with backoff; a first
 * call that fails (wrong address, TLS or token) exits at once.
 */
#include <inttypes.h>
#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "out_audit.h"
#include "out_json.h"

#define AUDIT_PAGE 1000 /* the most ListAudit answers in one call */
#define FOLLOW_POLL_MS 1000
#define FOLLOW_BACKOFF_MAX_MS 10000

/* One ListAudit call. 0 with *resp set; an exit code after printing why;
 * or -1 when the failure is worth retrying (retry set, reported). */
static int fetch(struct cli *c, uint64_t from, uint64_t want, int retry,
                 Allot__V1__ListAuditResponse **resp)
{
    Allot__V1__ListAuditRequest req = ALLOT__V1__LIST_AUDIT_REQUEST__INIT;
    struct rpc_status st;
    char msg[CLI_MSG_MAX];

    req.from_seq = from;
    req.limit = (int32_t)want;
    if (rpc_unary(cli_rpc(c), ALLOT_METHOD("ListAudit"), &req.base,
                  &allot__v1__list_audit_response__descriptor, (ProtobufCMessage **)resp, &st) == 0)
        return 0;
    cli_message(c, st.code, st.details, msg, sizeof msg);
    if (retry && (st.code == GRPC_STATUS_UNAVAILABLE || st.code == GRPC_STATUS_DEADLINE_EXCEEDED)) {
        cli_err("audit: %s; trying again from seq %" PRIu64, msg, from);
        return -1;
    }
    cli_err("%s", msg);
    return cli_exit_for_status(st.code);
}

static int print_entry(struct cli *c, const Allot__V1__AuditEntry *e, int *header)
{
    if (c->json)
        return out_json_print(stdout, out_json_audit_entry(e), 1);
    if (!*header) {
        out_audit_header(stdout);
        *header = 1;
    }
    out_audit_entry(stdout, e);
    return 0;
}

/* audit [--from SEQ] [--limit N] [--follow] */
int cmd_audit(struct cli *c, const struct args *a)
{
    uint64_t next = 1, limit = 0, printed = 0;
    int64_t backoff = FOLLOW_POLL_MS;
    int header = 0, answered = 0;

    if (a->from && cli_parse_u64(a->from, &next))
        return cli_usage(c, "--from \"%s\": want a sequence number (1 is the first entry)",
                         a->from);
    if (next == 0) /* the server reads 0 as 1 */
        next = 1;
    if (a->limit && (cli_parse_u64(a->limit, &limit) || limit == 0))
        return cli_usage(c, "--limit \"%s\": want a number of entries, 1 or more", a->limit);
    if (a->follow)
        cli_catch_stop();

    for (;;) {
        Allot__V1__ListAuditResponse *resp;
        uint64_t want = AUDIT_PAGE;
        size_t i, n;
        int rc, more;

        if (limit && limit - printed < want)
            want = limit - printed;
        rc = fetch(c, next, want, a->follow && answered, &resp);
        if (rc > 0)
            return rc;
        if (rc < 0) {
            cli_nap(backoff);
            backoff = backoff * 2 > FOLLOW_BACKOFF_MAX_MS ? FOLLOW_BACKOFF_MAX_MS : backoff * 2;
            if (cli_stop)
                return CLI_EXIT_OK;
            continue;
        }
        answered = 1;
        backoff = FOLLOW_POLL_MS;
        n = resp->n_entries;
        for (i = 0; i < n && (!limit || printed < limit); i++) {
            const Allot__V1__AuditEntry *e = resp->entries[i];
            if (print_entry(c, e, &header)) {
                protobuf_c_message_free_unpacked(&resp->base, NULL);
                cli_err("out of memory");
                return CLI_EXIT_SERVER;
            }
            printed++;
            if (e->seq >= next)
                next = e->seq + 1;
        }
        /* Never backwards, so a confused answer cannot loop. */
        if (resp->next_seq > next)
            next = resp->next_seq;
        more = resp->more && n > 0;
        protobuf_c_message_free_unpacked(&resp->base, NULL);
        fflush(stdout);

        if ((limit && printed >= limit) || cli_stop)
            break;
        if (more)
            continue;
        if (!a->follow)
            break;
        cli_nap(FOLLOW_POLL_MS);
        if (cli_stop)
            break;
    }
    if (!printed && !c->json && !a->follow)
        printf("no audit entries from seq %" PRIu64 "\n", next);
    return CLI_EXIT_OK;
}
