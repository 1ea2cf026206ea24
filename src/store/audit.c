/* audit.c - the audit trail: seq (8 bytes big-endian) -> 01 | bytes.
 *
 * Numbers come from the META counter "audit_seq" (like events), so a number
 * once committed is never handed out again. Records are only ever appended
 * (MDB_APPEND: the counter is above every stored key, and LMDB refuses a key
 * that is not above the last one, which would show a counter gone back).
 * Nothing here updates or deletes a record; see allot/audit.h.
 */
#include "allot/audit.h"

#include <string.h>

#include "store_int.h"

int allot_store_audit_append(struct allot_txn *t, const uint8_t *bytes, size_t n, uint64_t *seq)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot__key k;
    uint64_t next;
    MDB_val kv, v;
    int rc, mrc;

    if (seq)
        *seq = 0;
    if ((rc = allot__need_write(t, NULL, "audit append")))
        return rc;
    if (!bytes || n == 0 || n > ALLOT_AUDIT_BYTES_MAX)
        return ALLOT_EINVAL;
    if ((rc = allot__meta_seq_get(t, ALLOT__META_AUDIT_SEQ, &next)))
        return rc;
    allot__buf_clear(b);
    if (allot__event_encode(b, bytes, n)) /* the same shape: 01 | bytes */
        return ALLOT_ENOMEM;
    allot__key_init(&k);
    allot__key_u64(&k, next);
    kv = allot__val(k.b, k.n);
    v = allot__val(b->p, b->len);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_AUDIT], &kv, &v, MDB_APPEND);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_ECORRUPT; /* a record at or above the counter */
    if ((rc = allot__mdb_err(t, mrc, NULL, "append an audit record")))
        return rc;
    if ((rc = allot__meta_seq_put(t, ALLOT__META_AUDIT_SEQ, next + 1)))
        return rc;
    if (seq)
        *seq = next;
    return 0;
}

int allot_store_audit_list(struct allot_txn *t, uint64_t from_seq, size_t limit,
                           struct allot_arena *a, struct allot_audit_rec **out, size_t *n,
                           bool *more)
{
    struct allot_audit_rec *arr;
    struct allot__key k;
    MDB_cursor *c;
    MDB_val kv, v;
    size_t got = 0;
    int rc, mrc;

    *out = NULL;
    *n = 0;
    *more = false;
    if ((rc = allot__cursor(t, ALLOT__DB_AUDIT, &c)))
        return rc;
    if (!(arr = allot_arena_alloc(a, (limit ? limit : 1) * sizeof *arr)))
        return ALLOT_ENOMEM;
    allot__key_init(&k);
    allot__key_u64(&k, from_seq);
    kv = allot__val(k.b, k.n);
    for (mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        struct allot_audit_rec *r = &arr[got];
        const uint8_t *bytes;
        uint8_t *copy;
        if (got == limit) {
            *more = true;
            break;
        }
        if (kv.mv_size != 8)
            return ALLOT_ECORRUPT;
        if ((rc = allot__event_decode(v.mv_data, v.mv_size, &bytes, &r->n, NULL)))
            return rc;
        if (r->n == 0 || r->n > ALLOT_AUDIT_BYTES_MAX)
            return ALLOT_ECORRUPT;
        r->seq = allot__key_get_u64(kv.mv_data);
        if (!(copy = allot_arena_alloc(a, r->n)))
            return ALLOT_ENOMEM;
        memcpy(copy, bytes, r->n);
        r->bytes = copy;
        got++;
    }
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, NULL, "read the audit trail");
    *out = arr;
    *n = got;
    return 0;
}
