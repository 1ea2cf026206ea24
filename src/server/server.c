/* server.c - completion queue, per-call state machine, writer thread.
 *
 * Threads:
 *   - the poller: the only thread that takes events from the completion
 *     queue. It requests calls, decodes requests, runs handlers (reads run
 *     here on LMDB snapshots) and frees finished calls.
 *   - the writer: takes every call queued for writing, runs them all in one
 *     write transaction (each in a nested transaction, so one rejected call
 *     does not spoil the others), commits once, durably, and only then
 *     hands the group back to the poller to answer. This is group commit:
 *     one fsync for many calls. The hand-back is a batch of no operations
 *     on the group's first call, which gRPC completes at once onto our
 *     queue with that call as the tag; the poller then starts every call's
 *     final batch. Sending a reply runs gRPC's HTTP/2 write and sendmsg
 *     inline, so doing it in the poller lets the writer start the next
 *     group immediately.
 *
 * Every call is authenticated and authorized (auth.h) before its request is
 * looked at by a handler, and calls of audited methods leave an audit
 * record (audit.h): in the group transaction for a write, otherwise queued
 * for the writer, which flushes the queue at least every AUDIT_FLUSH_MS.
 *
 * Shutdown order (clean under ASan, see platform-notes.md): stop accepting
 * with grpc_server_shutdown_and_notify; in-flight calls finish (the writer
 * answers what it holds) until the shutdown tag arrives or the grace period
 * ends, then grpc_server_cancel_all_calls; destroy the server; shut the
 * queue down and drain it; then the writer exits.
 */
#include "server.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "audit.h"
#include "codec.h"
#include "log.h"
#include "status.h"

/* Calls requested per method at any time. */
#define REQUESTS_PER_METHOD 8

/* Refused credentials logged per second at most (the rest are counted). */
#define UNAUTH_LOGS_PER_SEC 10

/* A queued audit record (audit.h). */
struct audit_rec {
    struct audit_rec *next;
    size_t n;
    uint8_t bytes[];
};

struct server {
    struct server_ctx ctx;
    grpc_server *grpc;
    grpc_completion_queue *cq;
    pthread_t poller;
    int grace_ms;
    int port; /* as grpc_server_add_http2_port returned it */

    /* the shutdown tag: its address is unique among tags */
    char shutdown_tag;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool shutting_down; /* no new requests are made once set */
    bool shutdown_done; /* the shutdown tag arrived */
    unsigned active;    /* calls started and not yet freed */

    struct watch_hub *watches;

    /* writer queue, guarded by lock */
    pthread_t writer;
    pthread_cond_t writer_cond;
    struct call *wq_head, *wq_tail;
    bool writer_stop;

    /* audit records waiting for the writer, guarded by lock */
    struct audit_rec *aq_head, *aq_tail;
    size_t aq_n;
    struct timespec aq_since; /* when the oldest was queued (CLOCK_REALTIME) */

    const struct auth_config *auth; /* NULL: authentication off */
    /* poller thread only */
    time_t unauth_sec;
    unsigned unauth_n;
};

static void call_finish(struct call *c);

const struct server_ctx *call_ctx(const struct call *c)
{
    return &c->srv->ctx;
}

struct watch_hub *call_watch_hub(const struct call *c)
{
    return c->srv->watches;
}

/* ---------------------------------------------------------------- replies */

enum handler_result call_fail(struct call *c, int code, const char *fmt, ...)
{
    va_list ap;
    c->status.code = code;
    va_start(ap, fmt);
    vsnprintf(c->status.msg, sizeof c->status.msg, fmt, ap);
    va_end(ap);
    return HANDLER_REPLY;
}

enum handler_result call_fail_status(struct call *c, const struct allot_status *st)
{
    c->status = *st;
    if (!c->status.code)
        c->status.code = ALLOT_EIO; /* a failure without a code is ours */
    return HANDLER_REPLY;
}

enum handler_result call_reply(struct call *c, const ProtobufCMessage *msg)
{
    c->reply = msg;
    return HANDLER_REPLY;
}

enum handler_result call_reply_bytes(struct call *c, const uint8_t *bytes, size_t n)
{
    c->reply = NULL;
    c->reply_bytes = bytes;
    c->reply_len = n;
    return HANDLER_REPLY;
}

void call_trailer(struct call *c, const char *key, const char *value)
{
    if (c->ntrailing < sizeof c->trailing / sizeof c->trailing[0]) {
        grpc_metadata *m = &c->trailing[c->ntrailing++];
        memset(m, 0, sizeof *m);
        m->key = grpc_slice_from_static_string(key);
        m->value = grpc_slice_from_static_string(value);
    }
}

/* ------------------------------------------------------------------ calls */

static struct call *call_new(struct server *s, const struct method *m)
{
    struct call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->srv = s;
    c->method = m;
    c->state = CALL_REQUESTED;
    grpc_metadata_array_init(&c->request_md);
    grpc_call_details_init(&c->details);
    allot_arena_init(&c->arena);
    return c;
}

void call_free(struct call *c)
{
    size_t i;
    if (c->started) {
        struct server *s = c->srv;
        pthread_mutex_lock(&s->lock);
        if (--s->active == 0)
            pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
    if (c->call)
        grpc_call_unref(c->call);
    grpc_metadata_array_destroy(&c->request_md);
    grpc_call_details_destroy(&c->details);
    if (c->request_payload)
        grpc_byte_buffer_destroy(c->request_payload);
    if (c->response_payload)
        grpc_byte_buffer_destroy(c->response_payload);
    grpc_slice_unref(c->status_details);
    for (i = 0; i < c->ntrailing; i++) {
        grpc_slice_unref(c->trailing[i].key);
        grpc_slice_unref(c->trailing[i].value);
    }
    allot_arena_release(&c->arena);
    free(c);
}

/* Asks grpc for the next call of method m (NULL: any unregistered method).
 * Does nothing once shutdown has begun. */
static void request_call(struct server *s, const struct method *m)
{
    struct call *c;
    grpc_call_error e;

    pthread_mutex_lock(&s->lock);
    if (s->shutting_down) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    c = call_new(s, m);
    if (!c) {
        allot_log_error("out of memory requesting a call");
        return;
    }
    if (m)
        e = grpc_server_request_registered_call(s->grpc, m->registered, &c->call, &c->deadline,
                                                &c->request_md, &c->request_payload, s->cq, s->cq,
                                                c);
    else
        e = grpc_server_request_call(s->grpc, &c->call, &c->details, &c->request_md, s->cq, s->cq,
                                     c);
    if (e != GRPC_CALL_OK) {
        /* only happens when the server is going away */
        call_free(c);
    }
}

/* Starts the final batch: initial metadata, the reply or an error status,
 * and the close notification. Safe from any thread. */
static void call_finish(struct call *c)
{
    grpc_op ops[4], *op = ops;
    grpc_status_code code = GRPC_STATUS_OK;
    grpc_call_error e;

    memset(ops, 0, sizeof ops);
    c->state = CALL_FINISHING;

    if (!c->status.code && c->reply) {
        int rc = codec_pack(c->reply, &c->arena, &c->response_payload);
        if (rc)
            call_fail(c, rc, "could not encode the reply");
    } else if (!c->status.code && c->reply_bytes) {
        grpc_slice slice = grpc_slice_from_copied_buffer((const char *)c->reply_bytes, c->reply_len);
        c->response_payload = grpc_raw_byte_buffer_create(&slice, 1);
        grpc_slice_unref(slice);
    }
    if (c->status.code) {
        code = status_to_grpc(c->status.code);
        if (code == GRPC_STATUS_INTERNAL || code == GRPC_STATUS_UNKNOWN)
            allot_log_error("%s: %s", c->method ? c->method->path : "?", c->status.msg);
        c->status_details = grpc_slice_from_copied_string(c->status.msg);
    }

    op->op = GRPC_OP_SEND_INITIAL_METADATA;
    op++;
    if (code == GRPC_STATUS_OK && c->response_payload) {
        op->op = GRPC_OP_SEND_MESSAGE;
        op->data.send_message.send_message = c->response_payload;
        op++;
    }
    op->op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op->data.send_status_from_server.status = code;
    op->data.send_status_from_server.status_details =
        code == GRPC_STATUS_OK ? NULL : &c->status_details;
    op->data.send_status_from_server.trailing_metadata_count = c->ntrailing;
    op->data.send_status_from_server.trailing_metadata = c->ntrailing ? c->trailing : NULL;
    op++;
    op->op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op->data.recv_close_on_server.cancelled = &c->cancelled;
    op++;

    e = grpc_call_start_batch(c->call, ops, (size_t)(op - ops), c, NULL);
    if (e != GRPC_CALL_OK) {
        allot_log_error("start_batch failed (%d) on %s", (int)e,
                        c->method ? c->method->path : "?");
        /* the tag will never come back: free here; only the poller frees
         * otherwise, so there is no double free */
        call_free(c);
    }
}

static bool deadline_passed(const struct call *c)
{
    return gpr_time_cmp(c->deadline, gpr_now(c->deadline.clock_type)) < 0;
}

/* The value of the call's "authorization" metadata: 1 and *v when there is
 * exactly one, 0 when none, -1 when several (ambiguous: refused). */
static int authorization_md(const struct call *c, const char **v, size_t *n)
{
    size_t i;
    int found = 0;
    for (i = 0; i < c->request_md.count; i++) {
        const grpc_metadata *m = &c->request_md.metadata[i];
        if (grpc_slice_str_cmp(m->key, "authorization") != 0)
            continue;
        if (found++)
            return -1;
        *v = (const char *)GRPC_SLICE_START_PTR(m->value);
        *n = GRPC_SLICE_LENGTH(m->value);
    }
    return found;
}

/* Logs a refused credential (never the credential), at most
 * UNAUTH_LOGS_PER_SEC a second. */
static void log_unauth(struct call *c)
{
    time_t now = time(NULL);
    char *peer;
    if (now != c->srv->unauth_sec) {
        if (c->srv->unauth_n > UNAUTH_LOGS_PER_SEC)
            allot_log_info("%u more calls refused as unauthenticated",
                           c->srv->unauth_n - UNAUTH_LOGS_PER_SEC);
        c->srv->unauth_sec = now;
        c->srv->unauth_n = 0;
    }
    if (++c->srv->unauth_n > UNAUTH_LOGS_PER_SEC)
        return;
    peer = grpc_call_get_peer(c->call);
    allot_log_info("unauthenticated %s from %s: %s", c->method->path, peer ? peer : "?",
                   c->status.msg);
    gpr_free(peer);
}

/* Who is calling: fills c->principal, or fails c with UNAUTHENTICATED. */
static int call_authenticate(struct call *c)
{
    const char *v = NULL;
    size_t n = 0;
    int k;

    if (!c->srv->auth) {
        auth_principal_anonymous(&c->principal);
        return 0;
    }
    k = authorization_md(c, &v, &n);
    if (k < 0) {
        call_fail(c, ALLOT_EUNAUTH, "malformed credentials: more than one authorization entry");
    } else if (auth_authenticate(c->srv->auth, k ? v : NULL, n, (int64_t)time(NULL), &c->principal,
                                 &c->status) == 0) {
        return 0;
    }
    log_unauth(c);
    return -1;
}

/* "GetMember" for "/allot.v1.Allot/GetMember". */
static const char *method_name(const struct method *m)
{
    const char *slash = strrchr(m->path, '/');
    return slash ? slash + 1 : m->path;
}

/* Refuses c with PERMISSION_DENIED (already in c->status) and records it. */
static void call_deny(struct call *c)
{
    if (server_audit(c))
        allot_log_error("audit trail backlog full: a refused %s went unrecorded", c->method->path);
    call_finish(c);
}

/* A new call arrived on the poller thread. */
static void call_start(struct call *c)
{
    const struct method *m = c->method;
    const ProtobufCMessage *req = NULL;
    enum handler_result r;
    bool scoped;
    int rc;

    /* in flight from now until call_free: server_stop waits for these */
    pthread_mutex_lock(&c->srv->lock);
    c->started = true;
    c->srv->active++;
    pthread_mutex_unlock(&c->srv->lock);
    /* keep the pool full before doing any work */
    request_call(c->srv, m);

    if (!m) {
        char *path = grpc_slice_to_c_string(c->details.method);
        call_fail(c, ALLOT_EUNIMPL, "method %s is not served here", path);
        gpr_free(path);
        call_finish(c);
        return;
    }
    /* Who, then whether their role may call m at all: before the request
     * is even decoded. A member-scoped principal's member is checked
     * against the decoded request, still before the handler looks
     * anything up. */
    if (m->flags & METHOD_PUBLIC) {
        auth_principal_anonymous(&c->principal);
        scoped = false;
    } else {
        if (call_authenticate(c)) {
            call_finish(c);
            return;
        }
        scoped = c->principal.member[0] && (m->flags & METHOD_MEMBER_SCOPED) &&
                 (m->roles & c->principal.role);
        if (!scoped && auth_authorize(&c->principal, method_name(m), m->roles,
                                      (m->flags & METHOD_MEMBER_SCOPED) != 0, NULL, &c->status)) {
            call_deny(c);
            return;
        }
    }
    rc = codec_unpack(m->request, c->request_payload, &c->arena, &req);
    if (rc) {
        call_fail(c, rc,
                  rc == ALLOT_EINVAL ? "request: could not decode %s" : "request: %s (%s)",
                  m->request->name, allot_strerror(rc));
        call_finish(c);
        return;
    }
    c->req = req;
    if (scoped && auth_authorize(&c->principal, method_name(m), m->roles, true,
                                 audit_request_member(req), &c->status)) {
        call_deny(c);
        return;
    }
    r = m->handler(c, req);
    if (r == HANDLER_REPLY) {
        /* a read (or a write refused before the writer) that is audited:
         * queue its record; a read that cannot be recorded is not answered */
        if ((m->flags & METHOD_AUDIT) && server_audit(c)) {
            c->reply = NULL;
            c->reply_bytes = NULL;
            c->ntrailing = 0;
            call_fail(c, ALLOT_EBUSY, "the audit trail cannot be written now; try again later");
        }
        call_finish(c);
    }
    /* HANDLER_WRITE: the writer finishes it; HANDLER_STREAM: the stream does */
}

/* ----------------------------------------------------------------- audit */

/* With s->lock held. */
static void audit_push_locked(struct server *s, struct audit_rec *r)
{
    r->next = NULL;
    if (s->aq_tail)
        s->aq_tail->next = r;
    else
        s->aq_head = r;
    s->aq_tail = r;
    if (s->aq_n++ == 0) {
        clock_gettime(CLOCK_REALTIME, &s->aq_since);
        pthread_cond_signal(&s->writer_cond); /* start its flush timer */
    }
}

static struct audit_rec *audit_rec_new(struct call *c)
{
    uint8_t buf[ALLOT_AUDIT_BYTES_MAX];
    struct audit_rec *r;
    size_t n = audit_encode(c, c->status.code, buf, sizeof buf);
    if (!n || !(r = malloc(sizeof *r + n)))
        return NULL;
    r->n = n;
    memcpy(r->bytes, buf, n);
    return r;
}

int server_audit(struct call *c)
{
    struct server *s = c->srv;
    struct audit_rec *r;

    pthread_mutex_lock(&s->lock);
    if (s->aq_n >= AUDIT_QUEUE_MAX) {
        pthread_mutex_unlock(&s->lock);
        return ALLOT_EBUSY;
    }
    pthread_mutex_unlock(&s->lock);
    if (!(r = audit_rec_new(c)))
        return ALLOT_ENOMEM;
    pthread_mutex_lock(&s->lock);
    audit_push_locked(s, r);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

static void audit_free_list(struct audit_rec *r)
{
    while (r) {
        struct audit_rec *next = r->next;
        free(r);
        r = next;
    }
}

static size_t audit_list_len(const struct audit_rec *r)
{
    size_t n = 0;
    for (; r; r = r->next)
        n++;
    return n;
}

/* Puts records the writer could not commit back in front of the queue
 * (they are older than anything queued meanwhile); the next try is a
 * flush period away. */
static void audit_requeue(struct server *s, struct audit_rec *head)
{
    struct audit_rec *tail = head;
    if (!head)
        return;
    while (tail->next)
        tail = tail->next;
    pthread_mutex_lock(&s->lock);
    tail->next = s->aq_head;
    if (!s->aq_head)
        s->aq_tail = tail;
    s->aq_head = head;
    s->aq_n += audit_list_len(head);
    clock_gettime(CLOCK_REALTIME, &s->aq_since);
    pthread_mutex_unlock(&s->lock);
}

/* ---------------------------------------------------------------- writer */

enum handler_result server_write(struct call *c, int (*apply)(struct allot_txn *t, struct call *c))
{
    struct server *s = c->srv;
    c->write_apply = apply;
    c->write_next = NULL;
    pthread_mutex_lock(&s->lock);
    if (s->writer_stop) {
        /* a call that arrived as the server stopped: nothing will run it */
        pthread_mutex_unlock(&s->lock);
        return call_fail(c, ALLOT_EBUSY, "the server is shutting down; retry elsewhere");
    }
    c->state = CALL_WRITING;
    if (s->wq_tail)
        s->wq_tail->write_next = c;
    else
        s->wq_head = c;
    s->wq_tail = c;
    pthread_cond_signal(&s->writer_cond);
    pthread_mutex_unlock(&s->lock);
    return HANDLER_WRITE;
}

struct group {
    struct call *head;
    struct audit_rec *audit; /* queued records to append first */
};

static int apply_one(struct allot_txn *t, void *arg)
{
    struct call *c = arg;
    int rc = c->write_apply(t, c);
    if (rc && !c->status.code)
        call_fail(c, rc, "%s", allot_strerror(rc));
    return rc;
}

/* Runs inside the group transaction; rerun from scratch if the map grows. */
static int apply_group(struct allot_txn *t, void *arg)
{
    struct group *g = arg;
    struct audit_rec *a;
    struct call *c;
    int rc;

    for (a = g->audit; a; a = a->next)
        if ((rc = allot_store_audit_append(t, a->bytes, a->n, NULL)))
            return rc;
    for (c = g->head; c; c = c->write_next) {
        uint8_t buf[ALLOT_AUDIT_BYTES_MAX];
        size_t n;

        c->reply = NULL;
        c->reply_bytes = NULL;
        c->ntrailing = 0;
        allot_status_clear(&c->status);
        if (deadline_passed(c)) {
            call_fail(c, ALLOT_EDEADLINE, "deadline passed before the write began");
        } else {
            /* a failed call's nested transaction is discarded; the group
             * goes on */
            rc = allot_store_nested(t, apply_one, c);
            if (rc && !c->status.code)
                call_fail(c, rc, "%s", allot_strerror(rc)); /* the nested commit failed */
        }
        /* the record of the write, in the write's own transaction: it
         * commits exactly when the write does */
        if ((c->method->flags & METHOD_AUDIT) &&
            (!(n = audit_encode(c, c->status.code, buf, sizeof buf)) ||
             (rc = allot_store_audit_append(t, buf, n, NULL))))
            return n ? rc : ALLOT_ENOMEM;
    }
    return 0;
}

/* With s->lock held: whether the queued audit records are due (the oldest
 * waited AUDIT_FLUSH_MS); if not, *until is when they will be. */
static bool audit_due(struct server *s, struct timespec *until)
{
    struct timespec now;
    *until = s->aq_since;
    until->tv_nsec += (long)AUDIT_FLUSH_MS * 1000000L;
    while (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
    clock_gettime(CLOCK_REALTIME, &now);
    return now.tv_sec > until->tv_sec ||
           (now.tv_sec == until->tv_sec && now.tv_nsec >= until->tv_nsec);
}

/* Answers every call of a group, from the poller. */
static void answer_group(struct call *head)
{
    struct call *c, *next;
    for (c = head; c; c = next) {
        next = c->write_next; /* call_finish may free c */
        call_finish(c);
    }
}

/* Gives a committed (or failed) group to the poller to answer, through a
 * batch of no operations completed at once with the group's head as tag.
 * Answers in this thread if gRPC refuses the batch (it never has). */
static void hand_back(struct call *head)
{
    head->state = CALL_REPLYING;
    if (grpc_call_start_batch(head->call, NULL, 0, head, NULL) != GRPC_CALL_OK) {
        allot_log_error("could not hand a group to the poller; answering from the writer");
        answer_group(head);
    }
}

static void *writer_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        struct group g;
        struct allot_status st;
        struct call *c;
        struct timespec until;
        bool stopping;
        int rc;

        pthread_mutex_lock(&s->lock);
        for (;;) {
            if (s->wq_head || s->writer_stop)
                break;
            if (!s->aq_head) {
                pthread_cond_wait(&s->writer_cond, &s->lock);
                continue;
            }
            if (audit_due(s, &until))
                break;
            pthread_cond_timedwait(&s->writer_cond, &s->lock, &until);
        }
        g.head = s->wq_head;
        s->wq_head = s->wq_tail = NULL;
        g.audit = s->aq_head;
        s->aq_head = s->aq_tail = NULL;
        s->aq_n = 0;
        stopping = s->writer_stop;
        pthread_mutex_unlock(&s->lock);
        if (!g.head && !g.audit)
            break; /* stop requested and nothing left */

        allot_status_clear(&st);
        rc = allot_store_write(s->ctx.store, apply_group, &g, &st);
        if (!rc) {
            audit_free_list(g.audit);
        } else if (stopping) {
            allot_log_error("%zu audit records could not be written at shutdown: %s",
                            audit_list_len(g.audit), st.msg);
            audit_free_list(g.audit);
        } else {
            audit_requeue(s, g.audit);
        }
        for (c = rc ? g.head : NULL; c; c = c->write_next) {
            c->reply = NULL;
            c->reply_bytes = NULL;
            c->ntrailing = 0;
            call_fail_status(c, &st);
            /* its record was in the transaction that failed: queue one
             * that says so */
            if ((c->method->flags & METHOD_AUDIT) && server_audit(c))
                allot_log_error("audit trail backlog full: a failed %s went unrecorded",
                                c->method->path);
        }
        if (g.head)
            hand_back(g.head);
        if (!rc)
            watch_notify(s->watches, s->ctx.store);
    }
    return NULL;
}

/* ---------------------------------------------------------------- poller */

static void *poller_main(void *arg)
{
    struct server *s = arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        struct call *c;

        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        if (ev.tag == &s->shutdown_tag) {
            pthread_mutex_lock(&s->lock);
            s->shutdown_done = true;
            pthread_cond_broadcast(&s->cond);
            pthread_mutex_unlock(&s->lock);
            continue;
        }
        if (*(enum call_state *)ev.tag == CALL_STREAM_OP) {
            struct stream_tag *tag = ev.tag;
            tag->done(tag, ev.success != 0);
            continue;
        }
        c = ev.tag;
        switch (c->state) {
        case CALL_REQUESTED:
            if (!ev.success) {
                call_free(c); /* a pending request cancelled by shutdown */
                break;
            }
            call_start(c);
            break;
        case CALL_FINISHING:
            call_free(c);
            break;
        case CALL_REPLYING:
            answer_group(c);
            break;
        case CALL_WRITING:
        case CALL_STREAMING:
        case CALL_STREAM_OP:
            /* cannot happen: such calls have no batch under their own tag */
            allot_log_error("unexpected event for call in state %d", (int)c->state);
            break;
        }
    }
    return NULL;
}

/* -------------------------------------------------------------- lifecycle */

struct server *server_start(const struct server_options *opt, struct allot_status *st)
{
    struct server *s = calloc(1, sizeof *s);
    grpc_server_credentials *creds;
    grpc_arg args[3];
    grpc_channel_args chargs;
    unsigned i, k;
    int port;

    if (!s) {
        allot_status_set(st, ALLOT_ENOMEM, "out of memory");
        return NULL;
    }
    s->ctx.store = opt->store;
    s->grace_ms = opt->grace_ms;
    s->auth = opt->auth;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    pthread_cond_init(&s->writer_cond, NULL);
    if (!(s->watches = watch_hub_new())) {
        allot_status_set(st, ALLOT_ENOMEM, "out of memory");
        free(s);
        return NULL;
    }

    memset(args, 0, sizeof args);
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_ALLOW_REUSEPORT;
    args[0].value.integer = 0; /* a second server must not share our port */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[1].value.integer = opt->max_message_bytes;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
    args[2].value.integer = opt->max_message_bytes;
    chargs.num_args = 3;
    chargs.args = args;

    s->grpc = grpc_server_create(&chargs, NULL);
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_server_register_completion_queue(s->grpc, s->cq, NULL);
    for (i = 0; i < allot_nmethods; i++) {
        allot_methods[i].registered =
            grpc_server_register_method(s->grpc, allot_methods[i].path, NULL,
                                        GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    }
    if (opt->tls_cert_pem) {
        grpc_ssl_pem_key_cert_pair pair = {opt->tls_key_pem, opt->tls_cert_pem};
        creds = grpc_ssl_server_credentials_create_ex(
            opt->tls_client_ca_pem, &pair, 1,
            opt->tls_client_ca_pem ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                                   : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
            NULL);
    } else {
        creds = grpc_insecure_server_credentials_create();
    }
    port = grpc_server_add_http2_port(s->grpc, opt->listen, creds);
    grpc_server_credentials_release(creds);
    if (port == 0) {
        allot_status_set(st, ALLOT_EIO,
                         "cannot listen on %s (address in use, or not a valid host:port)",
                         opt->listen);
        grpc_server_destroy(s->grpc);
        grpc_completion_queue_shutdown(s->cq);
        while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
               GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(s->cq);
        watch_hub_free(s->watches);
        free(s);
        return NULL;
    }
    s->port = port;
    grpc_server_start(s->grpc);

    for (i = 0; i < allot_nmethods; i++)
        for (k = 0; k < REQUESTS_PER_METHOD; k++)
            request_call(s, &allot_methods[i]);
    for (k = 0; k < 2; k++)
        request_call(s, NULL);

    pthread_create(&s->writer, NULL, writer_main, s);
    pthread_setname_np(s->writer, "allot-writer"); /* for top -H, perf, gdb */
    pthread_create(&s->poller, NULL, poller_main, s);
    pthread_setname_np(s->poller, "allot-poller");
    return s;
}

int server_port(const struct server *s)
{
    return s->port;
}

void server_stop(struct server *s)
{
    struct timespec until;
    unsigned active;
    bool done;

    pthread_mutex_lock(&s->lock);
    s->shutting_down = true;
    pthread_mutex_unlock(&s->lock);
    grpc_server_shutdown_and_notify(s->grpc, s->cq, &s->shutdown_tag);
    watch_shutdown(s->watches); /* streams never end by themselves */

    /* Let in-flight calls finish, within the grace period. gRPC's own
     * shutdown also waits for clients to close idle connections after its
     * GOAWAY, which can take seconds; once none of our calls is left,
     * cancel_all_calls drops those connections at once. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += s->grace_ms / 1000;
    until.tv_nsec += (long)(s->grace_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->lock);
    while (!s->shutdown_done && s->active > 0)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until))
            break;
    done = s->shutdown_done;
    active = s->active;
    pthread_mutex_unlock(&s->lock);
    if (!done) {
        if (active)
            allot_log_info("grace period over: cancelling %u call(s) still open", active);
        grpc_server_cancel_all_calls(s->grpc);
        pthread_mutex_lock(&s->lock);
        while (!s->shutdown_done)
            pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }

    /* Stop the writer once it has run what it holds (the shutdown tag can
     * come while calls still wait for it), then let the poller answer the
     * groups the writer handed back: every call must be freed before the
     * queue is shut down, or answering one would post to a dead queue. */
    pthread_mutex_lock(&s->lock);
    s->writer_stop = true;
    pthread_cond_signal(&s->writer_cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->writer, NULL);
    pthread_mutex_lock(&s->lock);
    while (s->active > 0)
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until))
            break;
    active = s->active;
    pthread_mutex_unlock(&s->lock);
    if (active) {
        allot_log_info("cancelling %u call(s) still being answered", active);
        grpc_server_cancel_all_calls(s->grpc);
        pthread_mutex_lock(&s->lock);
        while (s->active > 0)
            pthread_cond_wait(&s->cond, &s->lock);
        pthread_mutex_unlock(&s->lock);
    }

    grpc_server_destroy(s->grpc);
    grpc_completion_queue_shutdown(s->cq);
    pthread_join(s->poller, NULL);
    grpc_completion_queue_destroy(s->cq);

    if (s->aq_head) /* queued after the writer's last group: cannot happen */
        allot_log_error("%zu audit records left unwritten", s->aq_n);
    audit_free_list(s->aq_head);
    watch_hub_free(s->watches);
    pthread_cond_destroy(&s->writer_cond);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
