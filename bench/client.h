/* client.h - many unary calls in flight on the gRPC C core client API.
 *
 * One completion queue, polled by the calling thread; `inflight` call slots
 * spread round-robin over the channels (each its own TCP connection). A slot
 * is its call's tag: one batch carries the whole unary call (send metadata,
 * message and close; receive metadata, message and status), so each call
 * completes with exactly one event, and the slot starts its next call at
 * once. Methods are registered per channel (grpc_channel_register_call), so
 * no per-call method string is interned.
 *
 * Timing: a call's latency runs from just before grpc_channel_create_
 * registered_call (the request is already encoded) to the moment its event
 * is taken from the queue. Calls completing in [warm-up end, end) are
 * recorded; after `end` no call is started and those still in flight are
 * drained without being recorded.
 */
#ifndef BENCH_CLIENT_H
#define BENCH_CLIENT_H

#include <stdint.h>

#include "requests.h"

struct result {
    enum scen_id scen;
    unsigned inflight;
    double seconds;                        /* measured window */
    uint64_t calls;                        /* successful calls completed in the window */
    uint64_t errors;                       /* failed calls, warm-up and drain included */
    uint64_t replayed;                     /* retry: recorded calls answered as replays */
    double p50, p90, p99, p999, max, mean; /* microseconds */
    double calls_per_s, lines_per_s;
    double server_cpu_us; /* server CPU (user + system) per call; -1 unknown */
    double client_cpu_us; /* this process's CPU per call */
    char first_error[160];
    bool floor_end; /* set by the caller: floor run again to close a level */
};

struct loadgen;

/* Channels to target ("127.0.0.1:50051"); NULL when grpc refuses. Call
 * grpc_init first. */
struct loadgen *loadgen_new(const char *target, unsigned channels);
void loadgen_free(struct loadgen *lg);

/* Health/Check until it answers SERVING-ish (status OK) or timeout_s passes.
 * Returns 0 when the server answered. */
int loadgen_wait_ready(struct loadgen *lg, double timeout_s);

/* Runs scenario s with `inflight` calls in flight: warm-up, then the
 * measured window. server_pid (0: unknown) is read for CPU time. Requests
 * of s must be prepared. Returns 0, or -1 when out of memory. */
int loadgen_run(struct loadgen *lg, struct requests *rq, enum scen_id s, unsigned inflight,
                double warmup_s, double duration_s, int server_pid, struct result *out);

#endif
