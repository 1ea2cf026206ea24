/* audit.c - audit records: building them from a call, and ListAudit.
 * Where records are written is server.c's business; see audit.h.
 */
#include "audit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc.h>
#include <grpc/support/alloc.h>

#include "allot/v1/allot.pb-c.h"

#include "handlers.h"
#include "pack.h"
#include "status.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000

/* ----------------------------------------------------- request fields */

static const ProtobufCFieldDescriptor *field(const ProtobufCMessage *m, const char *name,
                                             ProtobufCType type)
{
    const ProtobufCFieldDescriptor *f;
    if (!m)
        return NULL;
    f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (!f || f->type != type || f->label == PROTOBUF_C_LABEL_REPEATED)
        return NULL;
    return f;
}

/* A top-level string field of m, or NULL when m has none of that name. */
static const char *str_field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = field(m, name, PROTOBUF_C_TYPE_STRING);
    return f ? *(const char *const *)(const void *)((const char *)m + f->offset) : NULL;
}

/* A top-level message field of m, or NULL (absent, or no such field). */
static const ProtobufCMessage *msg_field(const ProtobufCMessage *m, const char *name)
{
    const ProtobufCFieldDescriptor *f = field(m, name, PROTOBUF_C_TYPE_MESSAGE);
    return f ? *(const ProtobufCMessage *const *)(const void *)((const char *)m + f->offset) : NULL;
}

const char *audit_request_member(const ProtobufCMessage *req)
{
    return str_field(req, "member_id");
}

/* Copies at most AUDIT_FIELD_MAX bytes of s into out (AUDIT_FIELD_MAX + 1
 * bytes), each byte that is not printable ASCII as '?': a record is plain
 * text whatever a request held, and cannot forge lines in an export. */
static char *clean(char *out, const char *s)
{
    size_t i;
    for (i = 0; s && s[i] && i < AUDIT_FIELD_MAX; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    out[i] = '\0';
    return out;
}

/* --------------------------------------------------------------- encode */

/* Writes v as exactly n decimal digits (v < 10^n) at p; returns p + n. */
static char *digits(char *p, long v, int n)
{
    int i;
    for (i = n - 1; i >= 0; i--, v /= 10)
        p[i] = (char)('0' + v % 10);
    return p + n;
}

/* ts as "YYYY-MM-DDThh:mm:ss.uuuuuuZ" (UTC) into out (at least 28 bytes).
 * By hand: snprintf was half of what an audit record cost to build. */
static char *utc_stamp(char *out, const struct timespec *ts)
{
    struct tm tm;
    char *p = out;
    gmtime_r(&ts->tv_sec, &tm);
    if (tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        out[0] = '\0';
        return out;
    }
    p = digits(p, tm.tm_year + 1900, 4);
    *p++ = '-';
    p = digits(p, tm.tm_mon + 1, 2);
    *p++ = '-';
    p = digits(p, tm.tm_mday, 2);
    *p++ = 'T';
    p = digits(p, tm.tm_hour, 2);
    *p++ = ':';
    p = digits(p, tm.tm_min, 2);
    *p++ = ':';
    p = digits(p, tm.tm_sec, 2);
    *p++ = '.';
    p = digits(p, ts->tv_nsec / 1000L, 6);
    *p++ = 'Z';
    *p = '\0';
    return out;
}

size_t audit_encode(const struct call *c, int code, uint8_t *buf, size_t cap)
{
    char f[8][AUDIT_FIELD_MAX + 1], pclean[AUDIT_FIELD_MAX + 1];
    char when[32];
    const ProtobufCMessage *req = c->req, *sub;
    const char *path = c->method ? c->method->path : "?", *slash;
    Allot__V1__AuditEntry e;
    struct timespec ts;
    char *peer = NULL;
    const uint8_t *p;
    size_t n;

    allot__v1__audit_entry__init(&e);
    clock_gettime(CLOCK_REALTIME, &ts);
    e.time = utc_stamp(when, &ts);
    e.principal = clean(f[0], c->principal.id);
    e.role = (char *)auth_principal_role(&c->principal);
    slash = strrchr(path, '/');
    e.rpc = clean(f[1], slash ? slash + 1 : path);
    e.code = (int32_t)status_to_grpc(code);

    e.member_id = clean(f[2], str_field(req, "member_id"));
    if (!e.member_id[0] && (sub = msg_field(req, "member")))
        e.member_id = clean(f[2], str_field(sub, "id"));
    e.invoice_id = clean(f[3], str_field(req, "invoice_id"));
    e.line_id = clean(f[4], str_field(req, "line_id"));
    e.usage_id = clean(f[5], str_field(req, "usage_id"));
    e.plan_id = clean(f[6], str_field(req, "plan_id"));
    e.service_code = clean(f[7], (sub = msg_field(req, "service")) ? str_field(sub, "code") : NULL);
    if (c->call)
        peer = grpc_call_get_peer(c->call);
    e.peer = clean(pclean, peer);
    if (peer)
        gpr_free(peer);
    /* written at the end of buf, then moved to its start; pack.c handles
     * every field of an AuditEntry (test_pack), so NULL means too big */
    if (!(p = pack_message_into(&e.base, buf, cap, &n)))
        return 0;
    memmove(buf, p, n);
    return n; /* never 0: the time is always there */
}

/* ------------------------------------------------------------ ListAudit */

static void *arena_pb_alloc(void *data, size_t size)
{
    return allot_arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *ptr)
{
    (void)data;
    (void)ptr; /* freed with the arena */
}

/* ListAudit(from_seq, limit) -> {entries, next_seq, more}
 * Entries with seq >= from_seq, oldest first, at most limit (0 means 100,
 * at most 1000). Admin only (the method table says so). DATA_LOSS when a
 * stored record does not decode. */
enum handler_result handle_list_audit(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__ListAuditRequest *req = (const void *)msg;
    ProtobufCAllocator alloc = {arena_pb_alloc, arena_pb_free, &c->arena};
    Allot__V1__ListAuditResponse *r;
    struct allot_audit_rec *recs = NULL;
    struct allot_txn *t;
    size_t limit, n = 0, i;
    bool more = false;
    int rc;

    if (req->limit < 0 || req->limit > LIST_MAX)
        return call_fail(c, ALLOT_EINVAL, "limit: must be 0-%d, got %d", LIST_MAX, (int)req->limit);
    limit = req->limit ? (size_t)req->limit : LIST_DEFAULT;
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = allot_store_audit_list(t, req->from_seq, limit, &c->arena, &recs, &n, &more);
    allot_store_read_end(t);
    if (rc)
        return call_fail(c, rc, "audit trail: %s", allot_strerror(rc));

    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    allot__v1__list_audit_response__init(r);
    r->entries = allot_arena_alloc(&c->arena, sizeof *r->entries * (n + 1));
    if (!r->entries)
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    for (i = 0; i < n; i++) {
        Allot__V1__AuditEntry *e = allot__v1__audit_entry__unpack(&alloc, recs[i].n, recs[i].bytes);
        if (!e)
            return call_fail(c, ALLOT_ECORRUPT, "audit record %llu does not decode",
                             (unsigned long long)recs[i].seq);
        e->seq = recs[i].seq;
        r->entries[r->n_entries++] = e;
    }
    r->next_seq = n ? recs[n - 1].seq + 1 : (req->from_seq ? req->from_seq : 1);
    r->more = more;
    return call_reply(c, &r->base);
}
