/* pricing.c - PriceInvoice, PreviewInvoice, VoidInvoice.
 *
 * The engine decides what each line costs; this file only gathers its
 * inputs (member, catalog prices, a usage source on the right transaction),
 * turns its answer into the reply, and asks the ledger to record it.
 *
 * Idempotency. An invoice is recorded with its canonical request (the
 * request re-encoded by protobuf-c with every line id filled in: one byte
 * string per content) and the exact reply bytes. A retry whose canonical
 * request is equal gets those bytes back (voided lines marked); any other
 * content under the same id is ALREADY_EXISTS. The invoice id is written in
 * the same transaction as its usage, so a write that fails leaves no trace.
 *
 * Retries are answered from a read snapshot in the poller when the invoice
 * is already there, without queueing behind the writer; otherwise the writer
 * checks again inside its transaction (two first attempts racing are
 * serialised there).
 */
#include <stdio.h>
#include <string.h>

#include "allot/engine.h"
#include "allot/ledger.h"
#include "allot/validate.h"

#include "codec.h"
#include "handlers.h"
#include "reply.h"
#include "server.h"

struct invoice {
    Allot__V1__PriceInvoiceRequest *req; /* line ids filled in */
    const uint8_t *canon;                /* canonical request bytes */
    size_t canon_len;
    struct allot_line *lines;
};

/* An id field of lines[i], checked with its plain name first and named
 * "lines[i].name" only when it fails, since formatting the path was most
 * of what validating a line cost. */
static int check_line_id(const char *s, size_t i, const char *name, struct allot_status *st)
{
    char f[64];
    if (!allot_check_id(s, name, st))
        return 0;
    snprintf(f, sizeof f, "lines[%zu].%s", i, name);
    return allot_check_id(s, f, st);
}

/* Validates req, fills default line ids, and encodes the canonical form. */
static enum handler_result invoice_parse(struct call *c, const ProtobufCMessage *msg,
                                         bool need_id, struct invoice **out)
{
    Allot__V1__PriceInvoiceRequest *req = (void *)msg; /* ours: it lives in c->arena */
    struct allot_status st;
    struct invoice *inv;
    char f[64];
    size_t i, j;

    *out = NULL;
    if (need_id ? allot_check_id(req->invoice_id, "invoice_id", &st)
                : allot_check_opt_id(req->invoice_id, "invoice_id", &st))
        return call_fail_status(c, &st);
    if (allot_check_id(req->member_id, "member_id", &st))
        return call_fail_status(c, &st);
    if (req->n_lines == 0 || req->n_lines > ALLOT_INVOICE_LINES_MAX)
        return call_fail(c, ALLOT_EINVAL, "lines: an invoice has 1-%d lines, got %zu",
                         ALLOT_INVOICE_LINES_MAX, req->n_lines);
    if (!(inv = allot_arena_alloc(&c->arena, sizeof *inv)) ||
        !(inv->lines = allot_arena_alloc(&c->arena, sizeof *inv->lines * req->n_lines)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    for (i = 0; i < req->n_lines; i++) {
        Allot__V1__InvoiceLine *l = req->lines[i];
        struct allot_line *ml = &inv->lines[i];
        if (!l->line_id[0]) {
            snprintf(f, sizeof f, "%zu", i + 1);
            if (!(l->line_id = allot_arena_strdup(&c->arena, f)))
                return call_fail(c, ALLOT_ENOMEM, "out of memory");
        }
        if (check_line_id(l->line_id, i, "line_id", &st))
            return call_fail_status(c, &st);
        for (j = 0; j < i; j++)
            if (!strcmp(l->line_id, req->lines[j]->line_id))
                return call_fail(c, ALLOT_EINVAL,
                                 "lines[%zu].line_id: \"%s\" is already the id of lines[%zu]", i,
                                 l->line_id, j);
        if (check_line_id(l->service_code, i, "service_code", &st))
            return call_fail_status(c, &st);
        if (codec_date_in(l->service_date, "service_date", 0, &ml->date, &st)) {
            snprintf(f, sizeof f, "lines[%zu].service_date", i);
            codec_date_in(l->service_date, f, 0, &ml->date, &st);
            return call_fail_status(c, &st);
        }
        if (l->quantity < 1 || l->quantity > ALLOT_QUANTITY_MAX)
            return call_fail(c, ALLOT_EINVAL, "lines[%zu].quantity: must be 1-%d, got %lld", i,
                             ALLOT_QUANTITY_MAX, (long long)l->quantity);
        if (l->unit_price && (l->unit_price->cents < 0 || l->unit_price->cents > ALLOT_MONEY_MAX))
            return call_fail(c, ALLOT_EINVAL, "lines[%zu].unit_price.cents: must be 0-%lld, got %lld",
                             i, (long long)ALLOT_MONEY_MAX, (long long)l->unit_price->cents);
        ml->line_id = l->line_id;
        ml->service_code = l->service_code;
        ml->quantity = l->quantity;
        ml->unit_price = l->unit_price ? l->unit_price->cents : -1; /* resolved later */
    }
    inv->req = req;
    if (!(inv->canon = codec_pack_bytes(&req->base, &c->arena, &inv->canon_len)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    *out = inv;
    return HANDLER_REPLY;
}

/* Prices inv on transaction t. When commit is set, records the usage, the
 * threshold events and the invoice. The reply's bytes go to *answer. */
static int invoice_price(struct allot_txn *t, struct call *c, struct invoice *inv, bool commit,
                         const uint8_t **answer, size_t *answer_len)
{
    Allot__V1__PriceInvoiceRequest *req = inv->req;
    size_t n = req->n_lines, i, j;
    struct allot_priced_line *priced;
    struct allot_invoice_rec rec;
    struct allot_member m;
    struct allot_source src;
    struct reply_invoice ri;
    int rc;

    if ((rc = handler_member(t, c, req->member_id, &m)))
        return rc;
    for (i = 0; i < n; i++) {
        struct allot_service svc;
        if (inv->lines[i].unit_price >= 0)
            continue;
        for (j = 0; j < i; j++)
            if (!strcmp(inv->lines[j].service_code, inv->lines[i].service_code) &&
                !req->lines[j]->unit_price)
                break;
        if (j < i) {
            inv->lines[i].unit_price = inv->lines[j].unit_price;
            continue;
        }
        rc = allot_store_get_service(t, inv->lines[i].service_code, &c->arena, &svc);
        if (rc == ALLOT_ENOTFOUND)
            return allot_status_set(&c->status, rc,
                                    "lines[%zu].service_code: service \"%s\" not found", i,
                                    inv->lines[i].service_code);
        if (rc)
            return rc;
        inv->lines[i].unit_price = svc.cash_price;
    }

    if (!(priced = allot_arena_alloc(&c->arena, sizeof *priced * n)))
        return ALLOT_ENOMEM;
    allot_ledger_source(t, &c->arena, &src);
    if ((rc = allot_price_lines(&src, &m, inv->lines, n, &c->arena, priced, &c->status)))
        return rc;

    memset(&rec, 0, sizeof rec);
    if (commit) {
        rec.invoice_id = req->invoice_id;
        rec.member_id = req->member_id;
        rec.request = inv->canon;
        rec.request_len = inv->canon_len;
        rec.nlines = (uint32_t)n;
        if (!(rec.lines = allot_arena_alloc(&c->arena, sizeof *rec.lines * n)))
            return ALLOT_ENOMEM;
        for (i = 0; i < n; i++) {
            struct allot_invoice_line_rec *lr = &rec.lines[i];
            lr->line_id = inv->lines[i].line_id;
            lr->entries = allot_arena_alloc(&c->arena, sizeof *lr->entries * (priced[i].nuses + 1));
            if (!lr->entries)
                return ALLOT_ENOMEM;
            for (j = 0; j < priced[i].nuses; j++) {
                const struct allot_rule_use *u = &priced[i].uses[j];
                struct allot_draw d;
                if (u->drawn <= 0)
                    continue;
                d.pool = u->pool;
                d.rule_key = u->rule->key;
                d.member_id = m.id;
                d.date = inv->lines[i].date;
                d.amount = u->drawn;
                rc = allot_ledger_append(t, &d, ALLOT_SOURCE_INVOICE, req->invoice_id,
                                         lr->line_id, "", &lr->entries[lr->nentries]);
                if (rc)
                    return rc;
                lr->nentries++;
                rc = reply_threshold_events(t, &c->arena, &m, u, req->invoice_id, lr->line_id,
                                            "");
                if (rc)
                    return rc;
            }
        }
    }

    reply_invoice_init(&ri, &c->arena, req->invoice_id, req->member_id);
    for (i = 0; i < n; i++)
        if ((rc = reply_invoice_line(&ri, &priced[i], false)))
            return rc;
    if ((rc = reply_invoice_pack(&ri, answer, answer_len)))
        return rc;
    if (commit) {
        rec.answer = *answer;
        rec.answer_len = *answer_len;
        if ((rc = allot_ledger_put_invoice(t, &rec)))
            return rc;
    }
    return 0;
}

/* The stored answer of rec, with voided lines marked and totals without
 * them; or ALLOT_EEXIST when inv is other content under the same id. */
static int invoice_replay(struct call *c, const struct invoice *inv,
                          const struct allot_invoice_rec *rec)
{
    if (rec->request_len != inv->canon_len || memcmp(rec->request, inv->canon, inv->canon_len))
        return allot_status_set(&c->status, ALLOT_EEXIST,
                                "invoice_id: invoice \"%s\" was already priced with other "
                                "content (member or lines); use a new invoice id",
                                inv->req->invoice_id);
    return reply_invoice_replay(&c->arena, rec, &c->reply_bytes, &c->reply_len);
}

static int price_apply(struct allot_txn *t, struct call *c)
{
    struct invoice *inv = c->write_arg;
    struct allot_invoice_rec rec;
    const uint8_t *answer;
    size_t len;
    int rc;

    rc = allot_ledger_get_invoice(t, inv->req->invoice_id, &c->arena, &rec);
    if (rc == 0) {
        if ((rc = invoice_replay(c, inv, &rec)))
            return rc;
        call_trailer(c, "allot-replayed", "true");
        return 0;
    }
    if (rc != ALLOT_ENOTFOUND)
        return rc;
    if ((rc = invoice_price(t, c, inv, true, &answer, &len)))
        return rc;
    call_reply_bytes(c, answer, len);
    return 0;
}

/* PriceInvoice(invoice_id, member_id, lines) -> PriceInvoiceResponse
 * Prices every line in order (each sees the lines before it), records the
 * usage, threshold events and the invoice in one durable transaction, and
 * answers after the commit. A retry with the same content gets the stored
 * answer (trailer allot-replayed: true) and records nothing; other content
 * under the same id is ALREADY_EXISTS. NOT_FOUND for an unknown member or
 * service; INVALID_ARGUMENT names the bad field. */
enum handler_result handle_price_invoice(struct call *c, const ProtobufCMessage *msg)
{
    struct invoice *inv;
    struct allot_invoice_rec rec;
    struct allot_txn *t;
    int rc;

    invoice_parse(c, msg, true, &inv);
    if (!inv)
        return HANDLER_REPLY;
    /* fast path for retries: a snapshot read, no queue */
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = allot_ledger_get_invoice(t, inv->req->invoice_id, &c->arena, &rec);
    allot_store_read_end(t);
    if (rc == 0) {
        if (!invoice_replay(c, inv, &rec))
            call_trailer(c, "allot-replayed", "true");
        return HANDLER_REPLY;
    }
    if (rc != ALLOT_ENOTFOUND)
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    c->write_arg = inv;
    return server_write(c, price_apply);
}

/* PreviewInvoice(member_id, lines) -> PriceInvoiceResponse
 * The answer PriceInvoice would give now, from a snapshot; records nothing.
 * The invoice id is optional and only echoed. */
enum handler_result handle_preview_invoice(struct call *c, const ProtobufCMessage *msg)
{
    struct invoice *inv;
    struct allot_txn *t;
    const uint8_t *answer;
    size_t len;
    int rc;

    invoice_parse(c, msg, false, &inv);
    if (!inv)
        return HANDLER_REPLY;
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = invoice_price(t, c, inv, false, &answer, &len);
    allot_store_read_end(t);
    if (rc)
        return c->status.code ? HANDLER_REPLY : call_fail(c, rc, "%s", allot_strerror(rc));
    return call_reply_bytes(c, answer, len);
}

/* ------------------------------------------------------------------- voids */

static int void_apply(struct allot_txn *t, struct call *c)
{
    const Allot__V1__VoidInvoiceRequest *req = c->write_arg;
    Allot__V1__VoidInvoiceResponse *r;
    const char **ids = NULL;
    uint32_t n = 0;
    int rc;

    rc = allot_ledger_void_invoice(t, req->invoice_id, req->line_id, &c->arena, &ids, &n);
    if (rc == ALLOT_ENOTFOUND) {
        struct allot_invoice_rec rec;
        if (allot_ledger_get_invoice(t, req->invoice_id, &c->arena, &rec) == ALLOT_ENOTFOUND)
            return allot_status_set(&c->status, rc, "invoice_id: invoice \"%s\" not found",
                                    req->invoice_id);
        return allot_status_set(&c->status, rc, "line_id: invoice \"%s\" has no line \"%s\"",
                                req->invoice_id, req->line_id);
    }
    if (rc)
        return rc;
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return ALLOT_ENOMEM;
    allot__v1__void_invoice_response__init(r);
    r->invoice_id = req->invoice_id;
    r->n_voided_line_ids = n;
    r->voided_line_ids = (char **)ids;
    c->reply = &r->base;
    return 0;
}

/* VoidInvoice(invoice_id, line_id) -> {invoice_id, voided_line_ids}
 * Restores the usage of the whole invoice (line_id "") or one line. Voiding
 * again succeeds and voids nothing. Later invoices are not repriced, and
 * voids fire no threshold events. NOT_FOUND for an unknown invoice or line. */
enum handler_result handle_void_invoice(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__VoidInvoiceRequest *req = (const void *)msg;
    struct allot_status st;

    if (allot_check_id(req->invoice_id, "invoice_id", &st) ||
        allot_check_opt_id(req->line_id, "line_id", &st))
        return call_fail_status(c, &st);
    c->write_arg = (void *)req;
    return server_write(c, void_apply);
}
