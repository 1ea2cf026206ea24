/* watch.c - WatchThresholds: stored threshold events, then live ones.
 *
 * A watch is a server-streaming call with at most one message in flight.
 * Three stream tags drive it:
 *   close   RECV_CLOSE_ON_SERVER, started first; completes when the client
 *           goes away (cancel, deadline) or after our status is sent.
 *   send    initial metadata, then one event at a time. When a send
 *           completes, the next event (seq >= next_seq) is read from a fresh
 *           snapshot and sent; when none is left the watch idles.
 *   status  the final status: UNAVAILABLE at server shutdown, CANCELLED
 *           echo when the client left.
 * The writer calls watch_notify after every commit, which pumps every idle
 * watch; a watch registers before its first pump, so an event committed
 * between "read up to N" and "registered" is still seen (the pump after
 * registering reads a snapshot taken after that commit).
 *
 * One mutex guards every watch (few watchers are expected); it is held
 * while reading events, never while waiting on the completion queue.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/slice.h>

#include "allot/ledger.h"
#include "allot/validate.h"

#include "codec.h"
#include "handlers.h"
#include "log.h"
#include "server.h"

#include "allot/v1/allot.pb-c.h"

#define WATCH_READ_BATCH 64

struct watch {
    struct stream_tag send_tag, close_tag, status_tag;
    struct watch_hub *hub;
    struct call *c;
    struct watch *next;
    uint64_t next_seq;
    char member[ALLOT_ID_MAX + 1]; /* "" = every member */
    grpc_byte_buffer *out;         /* the message in flight */
    grpc_slice status_details;
    int cancelled;
    bool sending, closed, finishing, close_done, status_done, unavailable;
};

struct watch_hub {
    pthread_mutex_t lock;
    struct watch *head;
    bool shutdown;
};

struct watch_hub *watch_hub_new(void)
{
    struct watch_hub *h = calloc(1, sizeof *h);
    if (h)
        pthread_mutex_init(&h->lock, NULL);
    return h;
}

void watch_hub_free(struct watch_hub *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* With the lock held. Frees w once its last batch has completed. */
static void watch_maybe_free(struct watch *w)
{
    struct watch **p;
    if (!w->close_done || !w->status_done || w->sending)
        return;
    for (p = &w->hub->head; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    grpc_slice_unref(w->status_details);
    call_free(w->c);
    free(w);
}

/* With the lock held: sends the final status. */
static void watch_finish(struct watch *w)
{
    grpc_op ops[1];
    grpc_status_code code = w->unavailable ? GRPC_STATUS_UNAVAILABLE : GRPC_STATUS_CANCELLED;

    w->finishing = true;
    memset(ops, 0, sizeof ops);
    w->status_details = grpc_slice_from_static_string(
        w->unavailable ? "server is shutting down; resume from the next seq" : "watch ended");
    ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[0].data.send_status_from_server.status = code;
    ops[0].data.send_status_from_server.status_details = &w->status_details;
    if (grpc_call_start_batch(w->c->call, ops, 1, &w->status_tag, NULL) != GRPC_CALL_OK) {
        allot_log_error("WatchThresholds: could not send the final status");
        w->status_done = true;
    }
}

/* Does this encoded event belong to the watch? (its member filter) */
static bool watch_wants(const struct watch *w, const uint8_t *bytes, size_t n,
                        struct allot_arena *a)
{
    ProtobufCAllocator alloc = codec_allocator(a);
    Allot__V1__ThresholdEvent *e;
    if (!w->member[0])
        return true;
    e = allot__v1__threshold_event__unpack(&alloc, n, bytes);
    return e && !strcmp(e->member_id, w->member);
}

/* With the lock held: sends the next wanted event, or idles. */
static void watch_pump(struct watch *w, struct allot_store *store)
{
    struct allot_arena a = ALLOT_ARENA_INIT;

    if (w->sending || w->finishing)
        return;
    if (w->closed || w->unavailable) {
        watch_finish(w);
        return;
    }
    for (;;) {
        struct allot_event_rec *ev = NULL;
        struct allot_txn *t;
        size_t n = 0, i;
        int rc;

        if (allot_store_read_begin(store, &t))
            break;
        rc = allot_ledger_events(t, w->next_seq, WATCH_READ_BATCH, &a, &ev, &n);
        allot_store_read_end(t);
        if (rc || n == 0)
            break;
        for (i = 0; i < n; i++) {
            w->next_seq = ev[i].seq + 1;
            if (watch_wants(w, ev[i].bytes, ev[i].n, &a)) {
                grpc_slice s = grpc_slice_from_copied_buffer((const char *)ev[i].bytes, ev[i].n);
                grpc_op op;
                w->out = grpc_raw_byte_buffer_create(&s, 1);
                grpc_slice_unref(s);
                memset(&op, 0, sizeof op);
                op.op = GRPC_OP_SEND_MESSAGE;
                op.data.send_message.send_message = w->out;
                if (grpc_call_start_batch(w->c->call, &op, 1, &w->send_tag, NULL) ==
                    GRPC_CALL_OK) {
                    w->sending = true;
                } else {
                    grpc_byte_buffer_destroy(w->out);
                    w->out = NULL;
                    w->closed = true;
                    watch_finish(w);
                }
                allot_arena_release(&a);
                return;
            }
        }
        allot_arena_reset(&a);
    }
    allot_arena_release(&a);
}

static void on_send(struct stream_tag *tag, bool success)
{
    struct watch *w = tag->owner;
    struct watch_hub *h = w->hub;
    pthread_mutex_lock(&h->lock);
    w->sending = false;
    if (w->out) {
        grpc_byte_buffer_destroy(w->out);
        w->out = NULL;
    }
    if (!success)
        w->closed = true;
    watch_pump(w, call_ctx(w->c)->store);
    watch_maybe_free(w);
    pthread_mutex_unlock(&h->lock);
}

static void on_close(struct stream_tag *tag, bool success)
{
    struct watch *w = tag->owner;
    struct watch_hub *h = w->hub;
    (void)success;
    pthread_mutex_lock(&h->lock);
    w->close_done = true;
    w->closed = true;
    if (!w->sending && !w->finishing)
        watch_finish(w);
    watch_maybe_free(w);
    pthread_mutex_unlock(&h->lock);
}

static void on_status(struct stream_tag *tag, bool success)
{
    struct watch *w = tag->owner;
    struct watch_hub *h = w->hub;
    (void)success;
    pthread_mutex_lock(&h->lock);
    w->status_done = true;
    watch_maybe_free(w);
    pthread_mutex_unlock(&h->lock);
}

void watch_notify(struct watch_hub *h, struct allot_store *store)
{
    struct watch *w, *next;
    pthread_mutex_lock(&h->lock);
    for (w = h->head; w; w = next) {
        next = w->next;
        watch_pump(w, store);
    }
    pthread_mutex_unlock(&h->lock);
}

void watch_shutdown(struct watch_hub *h)
{
    struct watch *w;
    pthread_mutex_lock(&h->lock);
    h->shutdown = true;
    for (w = h->head; w; w = w->next) {
        w->unavailable = true;
        if (!w->sending && !w->finishing)
            watch_finish(w);
    }
    pthread_mutex_unlock(&h->lock);
}

static void tag_init(struct stream_tag *t, struct watch *w,
                     void (*done)(struct stream_tag *, bool))
{
    t->state = CALL_STREAM_OP;
    t->done = done;
    t->owner = w;
}

/* WatchThresholds(from_seq, member_id) -> stream ThresholdEvent
 * Every stored event with seq >= from_seq (0 and 1: from the first), for
 * one member or all, then live ones as they commit. Never ends by itself;
 * at server shutdown it ends with UNAVAILABLE and the client resumes from
 * the last seq it saw + 1, missing none. */
enum handler_result handle_watch_thresholds(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__WatchThresholdsRequest *req = (const void *)msg;
    struct watch_hub *h = call_watch_hub(c);
    struct allot_status st;
    struct watch *w;
    grpc_op ops[2];

    if (allot_check_opt_id(req->member_id, "member_id", &st))
        return call_fail_status(c, &st);
    if (!(w = calloc(1, sizeof *w)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    w->hub = h;
    w->c = c;
    w->next_seq = req->from_seq ? req->from_seq : 1;
    strcpy(w->member, req->member_id);
    tag_init(&w->send_tag, w, on_send);
    tag_init(&w->close_tag, w, on_close);
    tag_init(&w->status_tag, w, on_status);
    c->state = CALL_STREAMING;

    pthread_mutex_lock(&h->lock);
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[0].data.recv_close_on_server.cancelled = &w->cancelled;
    if (grpc_call_start_batch(c->call, ops, 1, &w->close_tag, NULL) != GRPC_CALL_OK) {
        pthread_mutex_unlock(&h->lock);
        free(w);
        c->state = CALL_REQUESTED;
        return call_fail(c, ALLOT_EIO, "could not start the stream");
    }
    w->next = h->head;
    h->head = w;
    w->unavailable = h->shutdown;
    /* headers first, so the client sees the stream open at once */
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (grpc_call_start_batch(c->call, ops, 1, &w->send_tag, NULL) == GRPC_CALL_OK)
        w->sending = true;
    else
        w->closed = true;
    if (!w->sending)
        watch_pump(w, call_ctx(c)->store);
    pthread_mutex_unlock(&h->lock);
    return HANDLER_STREAM;
}
