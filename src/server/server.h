/* server.h - allotd's gRPC core plumbing, shared by the handlers.
 *
 * One completion queue, polled by one thread, drives every call. Each call
 * is a struct call that is also its completion-queue tag and moves through a
 * small state machine:
 *
 *   REQUESTED --new call--> (handler runs) --+--> FINISHING --done--> freed
 *                                            |
 *                                            +--> WRITING (queued for the
 *                                                 writer thread, which
 *                                                 commits and then starts
 *                                                 the FINISHING batch)
 *
 * A new call for the same method is requested before the current one is
 * handled, so a fixed pool of requests is always outstanding.
 *
 * Handlers see decoded protobuf-c messages and a per-call arena: everything
 * a handler allocates for its reply comes from c->arena and is freed with
 * the call. Handlers never touch grpc_* functions.
 */
#ifndef ALLOT_SERVER_H
#define ALLOT_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "allot/arena.h"
#include "allot/err.h"
#include "allot/store.h"

#include "auth.h"

struct server;
struct call;

/* What a handler decided. */
enum handler_result {
    HANDLER_REPLY,   /* c->reply or c->status is set: send it now */
    HANDLER_WRITE,   /* c was queued with server_write(): the writer replies */
    HANDLER_STREAM,  /* a streaming handler owns the call from now on */
};

typedef enum handler_result (*handler_fn)(struct call *c, const ProtobufCMessage *req);

/* What the server does around a method's handler (struct method.flags). */
enum method_flag {
    METHOD_PUBLIC = 1u << 0,        /* needs no credential (health) */
    METHOD_AUDIT = 1u << 1,         /* every call leaves an audit record */
    METHOD_MEMBER_SCOPED = 1u << 2, /* reads the request's member_id only: a
                                       member-scoped (portal) principal may
                                       call it for its own member */
};

/* One RPC method allotd serves. */
struct method {
    const char *path;                           /* "/allot.v1.Allot/PutService" */
    const ProtobufCMessageDescriptor *request;  /* decoded before the handler runs */
    handler_fn handler;
    bool server_streaming;                      /* WatchThresholds */
    unsigned roles;                             /* enum auth_role bits allowed to call it */
    unsigned flags;                             /* enum method_flag */
    void *registered;                           /* grpc's handle, set at start */
};

enum call_state {
    CALL_REQUESTED,  /* waiting for a client */
    CALL_WRITING,    /* queued for the writer thread */
    CALL_REPLYING,   /* committed: the head of a group the poller will answer */
    CALL_FINISHING,  /* final batch started */
    CALL_STREAMING,  /* owned by a stream; its batches use stream tags */
    CALL_STREAM_OP,  /* not a call: a struct stream_tag */
};

/* A completion-queue tag for one batch of a streaming call. Its first member
 * matches struct call's, so the poller reads the state through the tag
 * whatever it points to, and calls done for CALL_STREAM_OP. */
struct stream_tag {
    enum call_state state; /* CALL_STREAM_OP */
    void (*done)(struct stream_tag *tag, bool success);
    void *owner;
};

struct call {
    enum call_state state;        /* first: see struct stream_tag */
    struct server *srv;
    const struct method *method;  /* NULL for an unregistered method */
    grpc_call *call;
    gpr_timespec deadline;
    grpc_metadata_array request_md;
    grpc_byte_buffer *request_payload;
    grpc_call_details details;    /* unregistered calls only */
    const ProtobufCMessage *req;  /* the decoded request (in arena), once decoded */
    struct auth_principal principal; /* who is calling; checked before the handler */

    /* The reply: a message to send (status OK), or an error status. */
    const ProtobufCMessage *reply;
    const uint8_t *reply_bytes;   /* or an already encoded reply (a stored answer) */
    size_t reply_len;
    struct allot_status status;   /* code != 0: send as an error */
    grpc_byte_buffer *response_payload;
    grpc_slice status_details;
    grpc_metadata trailing[1];
    size_t ntrailing;
    int cancelled;                /* from RECV_CLOSE_ON_SERVER */
    bool started;                 /* a client called: counts as in flight */

    /* Write calls: run by the writer inside one group transaction. */
    int (*write_apply)(struct allot_txn *t, struct call *c);
    void *write_arg;
    struct call *write_next;

    struct allot_arena arena;     /* request, reply and scratch memory */
};

/* Server-wide state handlers may read. */
struct server_ctx {
    struct allot_store *store;
};

const struct server_ctx *call_ctx(const struct call *c);

/* Sets c->status (a negative allot_err and a message); returns HANDLER_REPLY. */
enum handler_result call_fail(struct call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies st into c->status; returns HANDLER_REPLY. */
enum handler_result call_fail_status(struct call *c, const struct allot_status *st);
/* Sets the reply message; returns HANDLER_REPLY. */
enum handler_result call_reply(struct call *c, const ProtobufCMessage *msg);
/* Sets an encoded reply (copied when sent); returns HANDLER_REPLY. */
enum handler_result call_reply_bytes(struct call *c, const uint8_t *bytes, size_t n);
/* Adds a trailing metadata entry (static key and value strings). */
void call_trailer(struct call *c, const char *key, const char *value);

/* Queues c for the writer: apply(t, c) runs inside a nested transaction of
 * the next group commit and must set c->reply or c->status (its return value
 * decides whether its writes are kept: 0 keeps them, non-zero discards them
 * and leaves the other calls of the group unharmed). After the group commits
 * durably the reply is sent; if the commit fails every call of the group
 * gets the commit's error. Returns HANDLER_WRITE. */
enum handler_result server_write(struct call *c, int (*apply)(struct allot_txn *t, struct call *c));

/* Frees a call that a stream owned (after its last batch completed). */
void call_free(struct call *c);

/* Streams of threshold events (watch.c). The writer calls watch_notify after
 * every commit; server_stop calls watch_shutdown before waiting for calls. */
struct watch_hub;
struct watch_hub *watch_hub_new(void);
void watch_hub_free(struct watch_hub *h);
void watch_notify(struct watch_hub *h, struct allot_store *store);
void watch_shutdown(struct watch_hub *h);
struct watch_hub *call_watch_hub(const struct call *c);

/* ------------------------------------------------------------- lifecycle */

struct server_options {
    const char *listen;      /* host:port */
    struct allot_store *store;
    int max_message_bytes;
    int grace_ms;            /* how long shutdown waits for in-flight calls */
    /* Authentication: NULL serves every call as "anonymous" with every role
     * (loopback only; main enforces that). Must outlive the server. */
    const struct auth_config *auth;
    /* TLS: PEM text, NULL for plaintext. With tls_client_ca_pem, clients
     * must present a certificate that CA signed (mutual TLS). */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    const char *tls_client_ca_pem;
};

/* Creates, binds and starts the server. Returns NULL and fills st when the
 * address cannot be bound. */
struct server *server_start(const struct server_options *opt, struct allot_status *st);
/* The port grpc_server_add_http2_port reported: for TCP the bound port
 * (the kernel's choice when asked for port 0); for a unix: socket, 1. */
int server_port(const struct server *s);
/* Stops accepting, lets in-flight calls finish (up to grace_ms, then cancels
 * them), drains the writer and the completion queue, and frees the server.
 * The store stays open. */
void server_stop(struct server *s);

/* Queues the audit record of c, answered with c->status, for the writer's
 * next group transaction (audit.h). ALLOT_EBUSY when AUDIT_QUEUE_MAX
 * records are already waiting. */
int server_audit(struct call *c);

/* The method table (methods.c). */
extern struct method allot_methods[];
extern const unsigned allot_nmethods;

#endif
