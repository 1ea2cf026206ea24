/* rpc.h - the gRPC C core client calls allotctl makes.
 *
 * One channel and one pluck completion queue per process. A unary call is
 * one batch of all six ops (send metadata, message, close; receive
 * metadata, message, status) with a deadline of rpc.timeout_ms. A server
 * stream is three batches: the send side plus initial metadata, the status
 * (started at once, so it completes whenever the server ends the call) and
 * one receive per message. Every call sends the same initial metadata:
 * the bearer token, when there is one (streams included).
 *
 * Requests are packed from protobuf-c messages the caller owns; responses
 * are unpacked with the default allocator: the caller frees them with
 * protobuf_c_message_free_unpacked(msg, NULL).
 */
#ifndef ALLOTCTL_RPC_H
#define ALLOTCTL_RPC_H

#include <signal.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

/* How to reach the server: TLS when ca_pem is set (mutual TLS when
 * cert_pem and key_pem are too), and a bearer token on every call when
 * token is set. All borrowed; NULL for what is not used. */
struct rpc_security {
    const char *ca_pem;
    const char *cert_pem, *key_pem;
    const char *tls_name; /* the name the certificate must carry, when not the host */
    const char *token;
};

struct rpc {
    grpc_channel *channel;
    grpc_completion_queue *cq;
    const char *target; /* HOST:PORT, borrowed */
    int64_t timeout_ms; /* per unary call */
    /* "authorization: Bearer TOKEN", sent with every call (nmd 0: none) */
    grpc_metadata md[1];
    size_t nmd;
};

#define RPC_DETAILS_MAX 1024

struct rpc_status {
    grpc_status_code code;
    char details[RPC_DETAILS_MAX]; /* the server's message, "" when none */
};

/* grpc_init and a channel to target (sec may be NULL: plaintext, no
 * token). Cannot fail: the channel connects lazily, so an unreachable
 * server, or a TLS handshake that fails, shows as UNAVAILABLE on the first
 * call. */
void rpc_open(struct rpc *r, const char *target, int64_t timeout_ms,
              const struct rpc_security *sec);
/* Destroys the channel and queue, then grpc_shutdown_blocking. */
void rpc_close(struct rpc *r);

/* Calls method ("/allot.v1.Allot/GetMember") with req. Returns 0 with the
 * response in *resp, or -1 with st filled (*resp NULL). A response that
 * does not decode is reported as INTERNAL. */
int rpc_unary(struct rpc *r, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp,
              struct rpc_status *st);

struct rpc_stream;

/* Starts a server-streaming call with no deadline. Returns NULL only when
 * memory is exhausted or the call cannot be started (st says why). */
struct rpc_stream *rpc_stream_start(struct rpc *r, const char *method, const ProtobufCMessage *req,
                                    struct rpc_status *st);
/* Waits for the next message. Returns 1 with *msg set; 0 when the call has
 * ended (st holds its status; also when a message did not decode: INTERNAL);
 * -1 when *stop became nonzero while waiting (checked every 200 ms; the
 * call is then cancelled). */
int rpc_stream_next(struct rpc_stream *s, const ProtobufCMessageDescriptor *d,
                    ProtobufCMessage **msg, struct rpc_status *st, volatile sig_atomic_t *stop);
/* Cancels the call if it is still running, waits for its batches and frees
 * everything. s may be NULL. */
void rpc_stream_free(struct rpc_stream *s);

#endif
