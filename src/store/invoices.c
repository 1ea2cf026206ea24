/* invoices.c - invoices and usage records: what a retry is answered from and
 * what a void reverses.
 *
 *   invoices  invoice id 00 -> 01 | str member id | blob request | blob answer
 *                              | uvar nlines | line * nlines
 *             line = str line id | u8 flags (0x01 voided) | uvar nentries
 *                  | uvar entry seq * nentries
 *   usage     usage id 00   -> 01 | str member id | blob request | blob answer
 *                              | uvar entry seq (0: none) | u8 flags (0x01 voided)
 *
 * Layouts and invariants: store.c, "Databases of schema version 2". The
 * entries a record names are checked when it is stored (they exist, carry
 * its ids, and are reversed exactly when voided), so a void can trust them;
 * allot_ledger_verify checks the same over the whole store.
 */
#include "store_int.h"

#include <string.h>

static bool id_ok(const char *id)
{
    return allot__check_id(id, "", NULL) == 0;
}

/* The record key for id; false when id cannot be one. */
static bool rec_key(struct allot__key *k, const char *id)
{
    allot__key_init(k);
    return id && id[0] && allot__key_str(k, id) == 0;
}

/* Entry seq as a record with these ids may name it: it exists, is no
 * reversal, carries the ids, and is reversed exactly when voided. */
static int entry_fits(struct allot_txn *t, uint64_t seq, const char *invoice_id,
                      const char *line_id, const char *usage_id, bool voided)
{
    struct allot_entry e;
    int rc = allot_ledger_get_entry(t, seq, allot__scratch_arena(t), &e);
    if (rc == ALLOT_ENOTFOUND)
        return ALLOT_EINVAL;
    if (rc)
        return rc;
    if (e.reversal || e.reversed != voided || strcmp(e.invoice_id, invoice_id) ||
        strcmp(e.line_id, line_id) || strcmp(e.usage_id, usage_id))
        return ALLOT_EINVAL;
    return 0;
}

static bool blob_ok(const uint8_t *p, size_t n)
{
    return n <= ALLOT_RECORD_BYTES_MAX && (p || n == 0);
}

/* Takes back entry seq for a void. One reversed already is left so (the
 * goal is reached); one that is missing or a reversal means the record
 * disagrees with the ledger. */
static int entry_void(struct allot_txn *t, uint64_t seq)
{
    int rc = allot_ledger_reverse(t, seq);
    if (rc == ALLOT_EEXIST)
        return 0;
    if (rc == ALLOT_ENOTFOUND || rc == ALLOT_EINVAL)
        return ALLOT_ECORRUPT;
    return rc;
}

/* --------------------------------------------------------------- invoices */

/* Encodes r, decodes it back and writes it under k. */
static int invoice_write(struct allot_txn *t, const struct allot__key *k,
                         const struct allot_invoice_rec *r, unsigned flags)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot_invoice_rec check;
    MDB_val kv = allot__val(k->b, k->n), v;
    int rc, mrc;

    allot__buf_clear(b);
    if (allot__invoice_encode(b, r))
        return ALLOT_ENOMEM;
    if ((rc = allot__invoice_decode(b->p, b->len, (const char *)k->b, k->n - 1,
                                    allot__scratch_arena(t), &check, NULL)))
        return rc == ALLOT_ECORRUPT ? ALLOT_EINVAL : rc;
    v = allot__val(b->p, b->len);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_INVOICES], &kv, &v, flags);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_EEXIST;
    return allot__mdb_err(t, mrc, NULL, "write an invoice");
}

int allot_ledger_put_invoice(struct allot_txn *t, const struct allot_invoice_rec *r)
{
    struct allot__key k;
    MDB_val kv, v;
    uint32_t i, j;
    int rc, mrc;

    if ((rc = allot__need_write(t, NULL, "put invoice")))
        return rc;
    if (!r || !rec_key(&k, r->invoice_id) || !id_ok(r->member_id) ||
        !blob_ok(r->request, r->request_len) || !blob_ok(r->answer, r->answer_len) ||
        r->nlines > ALLOT_INVOICE_LINES_MAX || (r->nlines && !r->lines))
        return ALLOT_EINVAL;
    for (i = 0; i < r->nlines; i++) {
        const struct allot_invoice_line_rec *l = &r->lines[i];
        if (!id_ok(l->line_id) || l->nentries > ALLOT_LINE_ENTRIES_MAX ||
            (l->nentries && !l->entries))
            return ALLOT_EINVAL;
        for (j = 0; j < i; j++)
            if (!strcmp(r->lines[j].line_id, l->line_id))
                return ALLOT_EINVAL;
    }
    kv = allot__val(k.b, k.n);
    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_INVOICES], &kv, &v);
    if (mrc == 0)
        return ALLOT_EEXIST;
    if (mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, NULL, "read an invoice");
    for (i = 0; i < r->nlines; i++)
        for (j = 0; j < r->lines[i].nentries; j++)
            if ((rc = entry_fits(t, r->lines[i].entries[j], r->invoice_id, r->lines[i].line_id, "",
                                 r->lines[i].voided)))
                return rc;
    return invoice_write(t, &k, r, MDB_NOOVERWRITE);
}

int allot_ledger_get_invoice(struct allot_txn *t, const char *invoice_id, struct allot_arena *a,
                             struct allot_invoice_rec *out)
{
    struct allot__key k;
    MDB_val kv, v;
    int mrc;

    memset(out, 0, sizeof *out);
    if (!rec_key(&k, invoice_id))
        return ALLOT_ENOTFOUND;
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_INVOICES], &kv, &v)))
        return allot__mdb_err(t, mrc, NULL, "read an invoice");
    return allot__invoice_decode(v.mv_data, v.mv_size, invoice_id, k.n - 1, a, out, NULL);
}

int allot_ledger_invoice_exists(struct allot_txn *t, const char *invoice_id)
{
    struct allot__key k;
    MDB_val kv, v;

    if (!rec_key(&k, invoice_id))
        return ALLOT_ENOTFOUND;
    kv = allot__val(k.b, k.n);
    return allot__mdb_err(t, mdb_get(t->txn, t->s->dbi[ALLOT__DB_INVOICES], &kv, &v), NULL,
                          "read an invoice");
}

int allot_ledger_void_invoice(struct allot_txn *t, const char *invoice_id, const char *line_id,
                              struct allot_arena *a, const char ***voided, uint32_t *nvoided)
{
    struct allot_arena pa; /* the record: it may be large, and is not the caller's */
    struct allot_invoice_rec rec;
    struct allot__key k;
    const char **ids = NULL;
    MDB_val kv, v;
    uint32_t i, j, n = 0;
    bool all = !line_id || !line_id[0];
    int rc, mrc;

    if (voided)
        *voided = NULL;
    if (nvoided)
        *nvoided = 0;
    if ((rc = allot__need_write(t, NULL, "void invoice")))
        return rc;
    if (!rec_key(&k, invoice_id))
        return ALLOT_ENOTFOUND;
    allot_arena_init(&pa);
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_INVOICES], &kv, &v))) {
        rc = allot__mdb_err(t, mrc, NULL, "read an invoice");
        goto out;
    }
    if ((rc = allot__invoice_decode(v.mv_data, v.mv_size, invoice_id, k.n - 1, &pa, &rec, NULL)))
        goto out;
    for (i = 0; !all && i < rec.nlines && strcmp(rec.lines[i].line_id, line_id); i++)
        ;
    rc = ALLOT_ENOTFOUND;
    if (!all && i == rec.nlines)
        goto out;
    rc = ALLOT_ENOMEM;
    if (voided && !(ids = allot_arena_alloc(a, (rec.nlines ? rec.nlines : 1) * sizeof *ids)))
        goto out;
    for (i = 0; i < rec.nlines; i++) {
        struct allot_invoice_line_rec *l = &rec.lines[i];
        if (l->voided || (!all && strcmp(l->line_id, line_id)))
            continue;
        for (j = 0; j < l->nentries; j++)
            if ((rc = entry_void(t, l->entries[j])))
                goto out;
        l->voided = true;
        rc = ALLOT_ENOMEM;
        if (ids && !(ids[n] = allot_arena_strdup(a, l->line_id)))
            goto out;
        n++;
    }
    if (n && (rc = invoice_write(t, &k, &rec, 0)))
        goto out;
    if (voided)
        *voided = ids;
    if (nvoided)
        *nvoided = n;
    rc = 0;
out:
    allot_arena_release(&pa);
    return rc;
}

/* ----------------------------------------------------------- usage records */

static int usage_write(struct allot_txn *t, const struct allot__key *k,
                       const struct allot_usage_rec *r, unsigned flags)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot_usage_rec check;
    MDB_val kv = allot__val(k->b, k->n), v;
    int rc, mrc;

    allot__buf_clear(b);
    if (allot__usage_encode(b, r))
        return ALLOT_ENOMEM;
    if ((rc = allot__usage_decode(b->p, b->len, (const char *)k->b, k->n - 1,
                                  allot__scratch_arena(t), &check, NULL)))
        return rc == ALLOT_ECORRUPT ? ALLOT_EINVAL : rc;
    v = allot__val(b->p, b->len);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_USAGE], &kv, &v, flags);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_EEXIST;
    return allot__mdb_err(t, mrc, NULL, "write a usage record");
}

int allot_ledger_put_usage(struct allot_txn *t, const struct allot_usage_rec *r)
{
    struct allot__key k;
    MDB_val kv, v;
    int rc, mrc;

    if ((rc = allot__need_write(t, NULL, "put usage")))
        return rc;
    if (!r || !rec_key(&k, r->usage_id) || !id_ok(r->member_id) ||
        !blob_ok(r->request, r->request_len) || !blob_ok(r->answer, r->answer_len))
        return ALLOT_EINVAL;
    kv = allot__val(k.b, k.n);
    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_USAGE], &kv, &v);
    if (mrc == 0)
        return ALLOT_EEXIST;
    if (mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, NULL, "read a usage record");
    if (r->entry && (rc = entry_fits(t, r->entry, "", "", r->usage_id, r->voided)))
        return rc;
    return usage_write(t, &k, r, MDB_NOOVERWRITE);
}

int allot_ledger_get_usage(struct allot_txn *t, const char *usage_id, struct allot_arena *a,
                           struct allot_usage_rec *out)
{
    struct allot__key k;
    MDB_val kv, v;
    int mrc;

    memset(out, 0, sizeof *out);
    if (!rec_key(&k, usage_id))
        return ALLOT_ENOTFOUND;
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_USAGE], &kv, &v)))
        return allot__mdb_err(t, mrc, NULL, "read a usage record");
    return allot__usage_decode(v.mv_data, v.mv_size, usage_id, k.n - 1, a, out, NULL);
}

int allot_ledger_void_usage(struct allot_txn *t, const char *usage_id, bool *voided)
{
    struct allot_arena pa;
    struct allot_usage_rec rec;
    struct allot__key k;
    MDB_val kv, v;
    int rc, mrc;

    if (voided)
        *voided = false;
    if ((rc = allot__need_write(t, NULL, "void usage")))
        return rc;
    if (!rec_key(&k, usage_id))
        return ALLOT_ENOTFOUND;
    allot_arena_init(&pa);
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_USAGE], &kv, &v))) {
        rc = allot__mdb_err(t, mrc, NULL, "read a usage record");
        goto out;
    }
    if ((rc = allot__usage_decode(v.mv_data, v.mv_size, usage_id, k.n - 1, &pa, &rec, NULL)) ||
        rec.voided)
        goto out;
    if (rec.entry && (rc = entry_void(t, rec.entry)))
        goto out;
    rec.voided = true;
    if ((rc = usage_write(t, &k, &rec, 0)))
        goto out;
    if (voided)
        *voided = true;
out:
    allot_arena_release(&pa);
    return rc;
}
