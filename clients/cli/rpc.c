/* rpc.c - see rpc.h. The only file of allotctl that talks to gRPC. */
#include "rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/log.h>
#include <grpc/support/time.h>

#define POLL_MS 200

/* gRPC's own log lines ("E1123 ... Handshake failed ...") repeat what the
 * call's status says, in words for gRPC developers; allotctl prints the
 * status. GRPC_VERBOSITY or GRPC_TRACE in the environment bring them back. */
static void quiet_log(gpr_log_func_args *args)
{
    (void)args;
}

static grpc_channel_credentials *channel_credentials(const struct rpc_security *sec)
{
    grpc_ssl_pem_key_cert_pair pair;

    if (!sec || !sec->ca_pem)
        return grpc_insecure_credentials_create();
    pair.private_key = sec->key_pem;
    pair.cert_chain = sec->cert_pem;
    return grpc_ssl_credentials_create(sec->ca_pem, sec->cert_pem ? &pair : NULL, NULL, NULL);
}

static void set_token(struct rpc *r, const char *token)
{
    static const char scheme[] = "Bearer ";
    size_t n = strlen(token);
    grpc_slice v = grpc_slice_malloc(sizeof scheme - 1 + n);

    memcpy(GRPC_SLICE_START_PTR(v), scheme, sizeof scheme - 1);
    memcpy(GRPC_SLICE_START_PTR(v) + sizeof scheme - 1, token, n);
    memset(&r->md[0], 0, sizeof r->md[0]);
    r->md[0].key = grpc_slice_from_static_string("authorization");
    r->md[0].value = v;
    r->nmd = 1;
}

void rpc_open(struct rpc *r, const char *target, int64_t timeout_ms, const struct rpc_security *sec)
{
    grpc_channel_credentials *creds;
    grpc_arg args[4];
    grpc_channel_args cargs;

    if (!getenv("GRPC_VERBOSITY") && !getenv("GRPC_TRACE"))
        gpr_set_log_function(quiet_log);
    grpc_init();
    /* No client-side receive limit: the server bounds its answers. A short
     * reconnect backoff so `watch` finds a restarted server quickly. */
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = -1;
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = (char *)GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[1].value.integer = 2000;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = (char *)GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[2].value.integer = 200;
    cargs.num_args = 3;
    if (sec && sec->ca_pem && sec->tls_name) {
        args[3].type = GRPC_ARG_STRING;
        args[3].key = (char *)GRPC_SSL_TARGET_NAME_OVERRIDE_ARG;
        args[3].value.string = (char *)sec->tls_name;
        cargs.num_args = 4;
    }
    cargs.args = args;
    creds = channel_credentials(sec);
    r->channel = grpc_channel_create(target, creds, &cargs);
    grpc_channel_credentials_release(creds);
    r->cq = grpc_completion_queue_create_for_pluck(NULL);
    r->target = target;
    r->timeout_ms = timeout_ms;
    r->nmd = 0;
    if (sec && sec->token)
        set_token(r, sec->token);
}

void rpc_close(struct rpc *r)
{
    grpc_event ev;

    if (r->channel)
        grpc_channel_destroy(r->channel);
    if (r->cq) {
        grpc_completion_queue_shutdown(r->cq);
        do
            ev = grpc_completion_queue_pluck(r->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        while (ev.type != GRPC_QUEUE_SHUTDOWN);
        grpc_completion_queue_destroy(r->cq);
    }
    r->channel = NULL;
    r->cq = NULL;
    if (r->nmd) {
        /* the token: wiped before the memory goes back */
        memset(GRPC_SLICE_START_PTR(r->md[0].value), 0, GRPC_SLICE_LENGTH(r->md[0].value));
        grpc_slice_unref(r->md[0].value);
        r->nmd = 0;
    }
    grpc_shutdown_blocking();
}

static void status_set(struct rpc_status *st, grpc_status_code code, const char *details)
{
    st->code = code;
    snprintf(st->details, sizeof st->details, "%s", details ? details : "");
}

static void status_from_slice(struct rpc_status *st, grpc_status_code code, grpc_slice details)
{
    char *s = grpc_slice_to_c_string(details);
    status_set(st, code, s);
    gpr_free(s);
}

static grpc_byte_buffer *pack(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    grpc_slice slice = grpc_slice_malloc(n);
    grpc_byte_buffer *bb;

    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(slice));
    bb = grpc_raw_byte_buffer_create(&slice, 1);
    grpc_slice_unref(slice);
    return bb;
}

static ProtobufCMessage *unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *d)
{
    grpc_byte_buffer_reader reader;
    ProtobufCMessage *m = NULL;
    grpc_slice all;

    if (!grpc_byte_buffer_reader_init(&reader, bb))
        return NULL;
    all = grpc_byte_buffer_reader_readall(&reader);
    grpc_byte_buffer_reader_destroy(&reader);
    m = protobuf_c_message_unpack(d, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
    grpc_slice_unref(all);
    return m;
}

static grpc_call *new_call(struct rpc *r, const char *method, gpr_timespec deadline)
{
    return grpc_channel_create_call(r->channel, NULL, GRPC_PROPAGATE_DEFAULTS, r->cq,
                                    grpc_slice_from_static_string(method), NULL, deadline, NULL);
}

int rpc_unary(struct rpc *r, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
              struct rpc_status *st)
{
    grpc_metadata_array md_initial, md_trailing;
    grpc_byte_buffer *send = NULL, *recv = NULL;
    grpc_status_code code = GRPC_STATUS_UNKNOWN;
    grpc_slice details = grpc_empty_slice();
    const char *error_string = NULL;
    gpr_timespec deadline;
    grpc_call_error err;
    grpc_op ops[6];
    grpc_event ev;
    grpc_call *call;
    int rc = -1;
    int tag;

    *resp = NULL;
    deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                            gpr_time_from_millis(r->timeout_ms, GPR_TIMESPAN));
    call = new_call(r, method, deadline);
    grpc_metadata_array_init(&md_initial);
    grpc_metadata_array_init(&md_trailing);
    send = pack(req);

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = r->nmd;
    ops[0].data.send_initial_metadata.metadata = r->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &md_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &md_trailing;
    ops[5].data.recv_status_on_client.status = &code;
    ops[5].data.recv_status_on_client.status_details = &details;
    ops[5].data.recv_status_on_client.error_string = &error_string;

    err = grpc_call_start_batch(call, ops, 6, &tag, NULL);
    if (err != GRPC_CALL_OK) {
        status_set(st, GRPC_STATUS_INTERNAL, "cannot start the call");
        goto out;
    }
    ev = grpc_completion_queue_pluck(r->cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE) {
        status_set(st, GRPC_STATUS_INTERNAL, "completion queue failed");
        goto out;
    }
    if (code != GRPC_STATUS_OK) {
        status_from_slice(st, code, details);
        goto out;
    }
    if (!recv || !(*resp = unpack(recv, resp_desc))) {
        status_set(st, GRPC_STATUS_INTERNAL, "the server's answer did not decode");
        goto out;
    }
    status_set(st, GRPC_STATUS_OK, NULL);
    rc = 0;
out:
    if (recv)
        grpc_byte_buffer_destroy(recv);
    grpc_byte_buffer_destroy(send);
    grpc_slice_unref(details);
    gpr_free((void *)error_string);
    grpc_metadata_array_destroy(&md_initial);
    grpc_metadata_array_destroy(&md_trailing);
    grpc_call_unref(call);
    return rc;
}

/* ---- server streams ------------------------------------------------------ */

struct rpc_stream {
    struct rpc *r;
    grpc_call *call;
    grpc_byte_buffer *send;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code code;
    grpc_slice details;
    const char *error_string;
    grpc_byte_buffer *recv;
    /* Tags: the addresses of these flags; each says a batch is in flight. */
    int start_pending, status_pending, recv_pending;
};

/* Waits for tag, in POLL_MS slices so *stop is noticed. 1: done; 0: stop. */
static int wait_tag(struct rpc_stream *s, int *tag, volatile sig_atomic_t *stop)
{
    for (;;) {
        gpr_timespec until =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(POLL_MS, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_pluck(s->r->cq, tag, until, NULL);
        if (ev.type == GRPC_OP_COMPLETE) {
            *tag = 0;
            return 1;
        }
        if (stop && *stop)
            return 0;
    }
}

struct rpc_stream *rpc_stream_start(struct rpc *r, const char *method, const ProtobufCMessage *req,
                                    struct rpc_status *st)
{
    struct rpc_stream *s = calloc(1, sizeof *s);
    grpc_op ops[4];

    if (!s) {
        status_set(st, GRPC_STATUS_RESOURCE_EXHAUSTED, "out of memory");
        return NULL;
    }
    s->r = r;
    s->call = new_call(r, method, gpr_inf_future(GPR_CLOCK_REALTIME));
    grpc_metadata_array_init(&s->md_initial);
    grpc_metadata_array_init(&s->md_trailing);
    s->details = grpc_empty_slice();
    s->code = GRPC_STATUS_UNKNOWN;
    s->send = pack(req);

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].data.send_initial_metadata.count = r->nmd;
    ops[0].data.send_initial_metadata.metadata = r->md;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md_initial;
    if (grpc_call_start_batch(s->call, ops, 4, &s->start_pending, NULL) != GRPC_CALL_OK)
        goto fail;
    s->start_pending = 1;

    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[0].data.recv_status_on_client.trailing_metadata = &s->md_trailing;
    ops[0].data.recv_status_on_client.status = &s->code;
    ops[0].data.recv_status_on_client.status_details = &s->details;
    ops[0].data.recv_status_on_client.error_string = &s->error_string;
    if (grpc_call_start_batch(s->call, ops, 1, &s->status_pending, NULL) != GRPC_CALL_OK)
        goto fail;
    s->status_pending = 1;
    return s;
fail:
    status_set(st, GRPC_STATUS_INTERNAL, "cannot start the call");
    rpc_stream_free(s);
    return NULL;
}

int rpc_stream_next(struct rpc_stream *s, const ProtobufCMessageDescriptor *d,
                    ProtobufCMessage **msg, struct rpc_status *st, volatile sig_atomic_t *stop)
{
    grpc_op op;

    *msg = NULL;
    if (s->start_pending && !wait_tag(s, &s->start_pending, stop))
        goto stopped;
    if (!s->recv_pending) {
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &s->recv;
        if (grpc_call_start_batch(s->call, &op, 1, &s->recv_pending, NULL) != GRPC_CALL_OK) {
            status_set(st, GRPC_STATUS_INTERNAL, "cannot start a receive");
            return 0;
        }
        s->recv_pending = 1;
    }
    if (!wait_tag(s, &s->recv_pending, stop))
        goto stopped;
    if (s->recv) {
        *msg = unpack(s->recv, d);
        grpc_byte_buffer_destroy(s->recv);
        s->recv = NULL;
        if (*msg)
            return 1;
        grpc_call_cancel(s->call, NULL);
        if (s->status_pending)
            wait_tag(s, &s->status_pending, NULL);
        status_set(st, GRPC_STATUS_INTERNAL, "a streamed message did not decode");
        return 0;
    }
    /* No message: the server ended the call; the status follows. */
    if (s->status_pending && !wait_tag(s, &s->status_pending, stop))
        goto stopped;
    status_from_slice(st, s->code, s->details);
    return 0;
stopped:
    grpc_call_cancel(s->call, NULL);
    status_set(st, GRPC_STATUS_CANCELLED, "interrupted");
    return -1;
}

void rpc_stream_free(struct rpc_stream *s)
{
    if (!s)
        return;
    if (s->start_pending || s->recv_pending || s->status_pending) {
        grpc_call_cancel(s->call, NULL);
        if (s->start_pending)
            wait_tag(s, &s->start_pending, NULL);
        if (s->recv_pending)
            wait_tag(s, &s->recv_pending, NULL);
        if (s->status_pending)
            wait_tag(s, &s->status_pending, NULL);
    }
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    if (s->send)
        grpc_byte_buffer_destroy(s->send);
    grpc_slice_unref(s->details);
    gpr_free((void *)s->error_string);
    grpc_metadata_array_destroy(&s->md_initial);
    grpc_metadata_array_destroy(&s->md_trailing);
    if (s->call)
        grpc_call_unref(s->call);
    free(s);
}
