/* out_audit.c - see out_audit.h. */
#include "out_audit.h"

#include <inttypes.h>
#include <string.h>

#include "status.h"

/* Column widths (the last column is not padded). */
#define W_SEQ 6
#define W_TIME 20
#define W_WHO 20
#define W_RPC 15
#define W_STATUS 19

#define AUDIT_LINE_MAX 2048

/* A growing line; what does not fit in AUDIT_LINE_MAX is cut. */
struct line {
    char buf[AUDIT_LINE_MAX];
    size_t len;
};

static void add_byte(struct line *l, char ch)
{
    if (l->len + 1 < sizeof l->buf)
        l->buf[l->len++] = ch;
}

/* s with every byte outside '!'..'~' as \xNN. */
static void add_safe(struct line *l, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch > 0x20 && ch < 0x7f) {
            add_byte(l, (char)ch);
        } else {
            add_byte(l, '\\');
            add_byte(l, 'x');
            add_byte(l, hex[ch >> 4]);
            add_byte(l, hex[ch & 15]);
        }
    }
}

/* Text of our own (a status name), as it is. */
static void add_text(struct line *l, const char *s)
{
    for (; *s; s++)
        add_byte(l, *s);
}

static void pad_to(struct line *l, size_t col)
{
    while (l->len < col)
        add_byte(l, ' ');
}

/* Ends a column that began at start: pads it to width, then two blanks. */
static void end_column(struct line *l, size_t start, size_t width)
{
    pad_to(l, start + width);
    add_byte(l, ' ');
    add_byte(l, ' ');
}

static void column(struct line *l, const char *text, size_t width)
{
    size_t start = l->len;
    add_safe(l, text);
    end_column(l, start, width);
}

/* "front-desk (billing)", "anonymous" when the server has no roles. */
static void who_column(struct line *l, const Allot__V1__AuditEntry *e)
{
    size_t start = l->len;
    add_safe(l, *e->principal ? e->principal : "-");
    if (*e->role) {
        add_byte(l, ' ');
        add_byte(l, '(');
        add_safe(l, e->role);
        add_byte(l, ')');
    }
    end_column(l, start, W_WHO);
}

/* "2025-05-20T14:03:07.123456Z" -> "2025-05-20T14:03:07Z"; anything else
 * is kept as it is. */
static void utc_seconds(const char *t, char *out, size_t len)
{
    const char *dot = strchr(t, '.');
    size_t n = strlen(t);
    if (dot && n && t[n - 1] == 'Z' && (size_t)(dot - t) + 2 <= len)
        snprintf(out, len, "%.*sZ", (int)(dot - t), t);
    else
        snprintf(out, len, "%s", *t ? t : "-");
}

static void id(struct line *l, const char *key, const char *v, int *first)
{
    if (!v || !*v)
        return;
    if (!*first)
        add_byte(l, ' ');
    *first = 0;
    add_safe(l, key);
    add_byte(l, '=');
    add_safe(l, v);
}

void out_audit_header(FILE *f)
{
    fprintf(f, "%-*s  %-*s  %-*s  %-*s  %-*s  IDS\n", W_SEQ, "SEQ", W_TIME, "TIME", W_WHO, "WHO",
            W_RPC, "RPC", W_STATUS, "STATUS");
}

void out_audit_entry(FILE *f, const Allot__V1__AuditEntry *e)
{
    struct line l;
    char seq[24], when[64], status[40];
    int first = 1;
    size_t start;

    l.len = 0;
    snprintf(seq, sizeof seq, "%" PRIu64, e->seq);
    utc_seconds(e->time, when, sizeof when);
    if (strcmp(cli_status_name((grpc_status_code)e->code), "UNKNOWN_CODE"))
        snprintf(status, sizeof status, "%s", cli_status_name((grpc_status_code)e->code));
    else
        snprintf(status, sizeof status, "code %d", (int)e->code);

    column(&l, seq, W_SEQ);
    column(&l, when, W_TIME);
    who_column(&l, e);
    column(&l, *e->rpc ? e->rpc : "-", W_RPC);
    start = l.len;
    add_text(&l, status);
    end_column(&l, start, W_STATUS);
    id(&l, "member", e->member_id, &first);
    id(&l, "invoice", e->invoice_id, &first);
    id(&l, "line", e->line_id, &first);
    id(&l, "usage", e->usage_id, &first);
    id(&l, "plan", e->plan_id, &first);
    id(&l, "service", e->service_code, &first);
    id(&l, "peer", e->peer, &first);
    while (l.len && l.buf[l.len - 1] == ' ')
        l.len--;
    fprintf(f, "%.*s\n", (int)l.len, l.buf);
}

/* ---- JSON ---------------------------------------------------------------- */

/* A JSON string of s, null for "". s is what the server recorded: when it
 * is not UTF-8 (jansson refuses it) its bytes outside printable ASCII
 * become \xNN as in the table. */
static json_t *text(const char *s)
{
    struct line l;
    json_t *v;

    if (!*s)
        return json_null();
    if ((v = json_string(s)))
        return v;
    l.len = 0;
    add_safe(&l, s);
    return json_stringn(l.buf, l.len);
}

json_t *out_json_audit_entry(const Allot__V1__AuditEntry *e)
{
    json_t *o = json_object();
    int bad = !o;

#define PUT(k, v)                                                                                  \
    do {                                                                                           \
        json_t *v_ = (v);                                                                          \
        if (!o || !v_ || json_object_set_new(o, (k), v_))                                          \
            bad = 1;                                                                               \
    } while (0)
    PUT("seq", json_integer((json_int_t)e->seq));
    PUT("time", text(e->time));
    PUT("principal", text(e->principal));
    PUT("role", text(e->role));
    PUT("rpc", text(e->rpc));
    PUT("code", json_integer(e->code));
    PUT("status", json_string(cli_status_name((grpc_status_code)e->code)));
    PUT("member_id", text(e->member_id));
    PUT("invoice_id", text(e->invoice_id));
    PUT("line_id", text(e->line_id));
    PUT("usage_id", text(e->usage_id));
    PUT("plan_id", text(e->plan_id));
    PUT("service_code", text(e->service_code));
    PUT("peer", text(e->peer));
#undef PUT
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
