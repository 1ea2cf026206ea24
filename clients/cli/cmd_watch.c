/* cmd_watch.c - the threshold event stream, and the health check.
 *
 * watch keeps one server stream open. When it breaks (UNAVAILABLE: the
 * server stopped or the connection dropped) it opens a new one from the
 * last seq it printed + 1, so the server replays exactly what was missed.
 * SIGINT/SIGTERM only set a flag (cli_stop): the stream is cancelled and
 * the channel closed in order, and watch exits 0.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "out_json.h"
#include "out_table.h"

#include "grpc/health/v1/health.pb-c.h"

#define BACKOFF_FIRST_MS 500
#define BACKOFF_MAX_MS 10000

/* Ends worth a reconnect: the server went away, or ended a stream that
 * should never end. */
static int retryable(grpc_status_code code)
{
    return code == GRPC_STATUS_UNAVAILABLE || code == GRPC_STATUS_UNKNOWN || code == GRPC_STATUS_OK;
}

/* watch [--from SEQ] [--member ID] [--once] */
int cmd_watch(struct cli *c, const struct args *a)
{
    Allot__V1__WatchThresholdsRequest req = ALLOT__V1__WATCH_THRESHOLDS_REQUEST__INIT;
    uint64_t next = 1;
    int64_t backoff = BACKOFF_FIRST_MS;
    char msg[CLI_MSG_MAX];

    if (a->from && cli_parse_u64(a->from, &next))
        return cli_usage(c, "--from \"%s\": want a sequence number (1 is the first event)",
                         a->from);
    if (next == 0) /* the server reads 0 as 1; so does the reconnect arithmetic */
        next = 1;
    req.member_id = (char *)(a->member ? a->member : "");

    cli_catch_stop();

    for (;;) {
        struct rpc_status st;
        struct rpc_stream *s;
        ProtobufCMessage *m;
        int r;

        req.from_seq = next;
        if (!(s = rpc_stream_start(cli_rpc(c), ALLOT_METHOD("WatchThresholds"), &req.base, &st))) {
            cli_err("%s", st.details);
            return CLI_EXIT_SERVER;
        }
        while ((r = rpc_stream_next(s, &allot__v1__threshold_event__descriptor, &m, &st,
                                    &cli_stop)) == 1) {
            const Allot__V1__ThresholdEvent *e = (const void *)m;
            if (c->json)
                out_json_print(stdout, out_json_event(e), 1);
            else
                out_table_event(stdout, e);
            fflush(stdout);
            if (e->seq >= next)
                next = e->seq + 1;
            backoff = BACKOFF_FIRST_MS;
            protobuf_c_message_free_unpacked(m, NULL);
        }
        rpc_stream_free(s);
        if (r < 0 || cli_stop)
            return CLI_EXIT_OK;

        cli_message(c, st.code, st.details, msg, sizeof msg);
        if (a->once || !retryable(st.code)) {
            if (st.code == GRPC_STATUS_OK)
                cli_err("the server ended the event stream");
            else
                cli_err("%s", msg);
            return st.code == GRPC_STATUS_OK ? CLI_EXIT_UNAVAILABLE : cli_exit_for_status(st.code);
        }
        cli_err("watch: %s; reconnecting from seq %" PRIu64 " in %.1f s",
                st.code == GRPC_STATUS_OK ? "the server ended the stream" : msg, next,
                (double)backoff / 1000.0);
        cli_nap(backoff);
        if (cli_stop)
            return CLI_EXIT_OK;
        backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    }
}

/* health [SERVICE] */
int cmd_health(struct cli *c, const struct args *a)
{
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    Grpc__Health__V1__HealthCheckResponse *resp;
    const char *status;
    int rc, serving;

    req.service = (char *)(a->npos ? a->pos[0] : "");
    rc = cli_call(c, "/grpc.health.v1.Health/Check", &req.base,
                  &grpc__health__v1__health_check_response__descriptor, (ProtobufCMessage **)&resp,
                  NULL);
    if (rc)
        return rc;
    serving = resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    switch (resp->status) {
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING:
        status = "SERVING";
        break;
    case GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING:
        status = "NOT_SERVING";
        break;
    default:
        status = "UNKNOWN";
        break;
    }
    if (c->json) {
        json_t *o =
            json_pack("{s:s, s:s, s:s}", "addr", c->addr, "service", req.service, "status", status);
        if (out_json_print(stdout, o, 0))
            cli_err("out of memory");
    } else {
        printf("allotd at %s%s%s: %s\n", c->addr, *req.service ? ", service " : "", req.service,
               serving ? "serving" : "NOT serving");
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return serving ? CLI_EXIT_OK : CLI_EXIT_UNAVAILABLE;
}
