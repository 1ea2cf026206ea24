/* events.c - threshold events: seq (8 bytes big-endian) -> 01 | bytes.
 *
 * The bytes are the caller's (an encoded ThresholdEvent); the store only
 * orders them. Numbers come from the META counter "event_seq" rather than
 * from the last key, so that a number once committed is never handed out
 * again even if events are trimmed later: a client resuming from seq n must
 * never be shown a different event under a number it has seen.
 */
#include "store_int.h"

#include <string.h>

int allot_ledger_next_event_seq(struct allot_txn *t, uint64_t *seq)
{
    uint64_t next;
    int rc;

    *seq = 0;
    if ((rc = allot__need_write(t, NULL, "next event seq")) ||
        (rc = allot__meta_seq_get(t, ALLOT__META_EVENT_SEQ, &next)) ||
        (rc = allot__meta_seq_put(t, ALLOT__META_EVENT_SEQ, next + 1)))
        return rc;
    *seq = next;
    return 0;
}

int allot_ledger_put_event(struct allot_txn *t, uint64_t seq, const uint8_t *event, size_t n)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot__key k;
    const uint8_t *bytes;
    uint64_t next;
    size_t len;
    MDB_val kv, v;
    int rc, mrc;

    if ((rc = allot__need_write(t, NULL, "put event")))
        return rc;
    if (seq == 0 || n > ALLOT_RECORD_BYTES_MAX || (n && !event))
        return ALLOT_EINVAL;
    if ((rc = allot__meta_seq_get(t, ALLOT__META_EVENT_SEQ, &next)))
        return rc;
    if (seq >= next)
        return ALLOT_EINVAL; /* not handed out */
    allot__buf_clear(b);
    if (allot__event_encode(b, event, n))
        return ALLOT_ENOMEM;
    if ((rc = allot__event_decode(b->p, b->len, &bytes, &len, NULL)))
        return rc == ALLOT_ECORRUPT ? ALLOT_EINVAL : rc;
    allot__key_init(&k);
    allot__key_u64(&k, seq);
    kv = allot__val(k.b, k.n);
    v = allot__val(b->p, b->len);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_EVENTS], &kv, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_EEXIST;
    return allot__mdb_err(t, mrc, NULL, "write an event");
}

int allot_ledger_events(struct allot_txn *t, uint64_t from, size_t limit, struct allot_arena *a,
                        struct allot_event_rec **out, size_t *n)
{
    struct allot_event_rec *arr;
    struct allot__key k;
    MDB_cursor *c;
    MDB_stat ms;
    MDB_val kv, v;
    size_t cap, got = 0;
    int rc, mrc;

    *out = NULL;
    *n = 0;
    if ((rc = allot__cursor(t, ALLOT__DB_EVENTS, &c)))
        return rc;
    if ((mrc = mdb_stat(t->txn, t->s->dbi[ALLOT__DB_EVENTS], &ms)))
        return allot__mdb_err(t, mrc, NULL, "read events");
    cap = limit < ms.ms_entries ? limit : ms.ms_entries;
    if (!(arr = allot_arena_alloc(a, (cap ? cap : 1) * sizeof *arr)))
        return ALLOT_ENOMEM;
    allot__key_init(&k);
    allot__key_u64(&k, from);
    kv = allot__val(k.b, k.n);
    for (mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); mrc == 0 && got < cap;
         mrc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        struct allot_event_rec *e = &arr[got];
        const uint8_t *bytes;
        uint8_t *copy;
        if (kv.mv_size != 8)
            return ALLOT_ECORRUPT;
        if ((rc = allot__event_decode(v.mv_data, v.mv_size, &bytes, &e->n, NULL)))
            return rc;
        e->seq = allot__key_get_u64(kv.mv_data);
        if (!(copy = allot_arena_alloc(a, e->n)))
            return ALLOT_ENOMEM;
        if (e->n)
            memcpy(copy, bytes, e->n);
        e->bytes = copy;
        got++;
    }
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, NULL, "read events");
    *out = arr;
    *n = got;
    return 0;
}

int allot_ledger_last_event_seq(struct allot_txn *t, uint64_t *seq)
{
    MDB_cursor *c;
    MDB_val kv, v;
    int rc, mrc;

    *seq = 0;
    if ((rc = allot__cursor(t, ALLOT__DB_EVENTS, &c)))
        return rc;
    mrc = mdb_cursor_get(c, &kv, &v, MDB_LAST);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read events");
    if (kv.mv_size != 8)
        return ALLOT_ECORRUPT;
    *seq = allot__key_get_u64(kv.mv_data);
    return 0;
}
