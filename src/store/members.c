/* members.c - the members database: member id 00 -> member record.
 * Layout and invariants: store.c, "Databases of schema version 1". */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

int allot_store_put_member(struct allot_txn *t, const struct allot_member *m, bool *created,
                           struct allot_status *st)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot_member check;
    struct allot__key k;
    char what[ALLOT_ID_MAX + 16];
    MDB_val kv, v;
    int rc, mrc;

    if (created)
        *created = false;
    if ((rc = allot__need_write(t, st, "put member")) ||
        (rc = allot__check_id(m->id, "member.id", st)))
        return rc;
    snprintf(what, sizeof what, "member %s", m->id);
    allot__key_init(&k);
    allot__key_str(&k, m->id);
    kv = allot__val(k.b, k.n);

    allot__buf_clear(b);
    if (allot__member_encode(b, m))
        return allot_status_set(st, ALLOT_ENOMEM, "%s: out of memory", what);
    rc = allot__member_decode(b->p, b->len, m->id, k.n - 1, allot__scratch_arena(t), &check, st);
    if (rc)
        return allot__refused(rc, st, what);

    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_MEMBERS], &kv, &v);
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, st, "read member");
    v = allot__val(b->p, b->len);
    if ((rc = allot__mdb_err(t, mdb_put(t->txn, t->s->dbi[ALLOT__DB_MEMBERS], &kv, &v, 0), st,
                             "write member")))
        return rc;
    if (created)
        *created = mrc == MDB_NOTFOUND;
    return 0;
}

int allot_store_get_member(struct allot_txn *t, const char *member_id, struct allot_arena *a,
                           struct allot_member *out)
{
    struct allot__key k;
    MDB_val kv, v;
    int mrc;

    allot__key_init(&k);
    if (!member_id || !member_id[0] || allot__key_str(&k, member_id))
        return ALLOT_ENOTFOUND; /* cannot be a key */
    kv = allot__val(k.b, k.n);
    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_MEMBERS], &kv, &v);
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read member");
    return allot__member_decode(v.mv_data, v.mv_size, member_id, k.n - 1, a, out, NULL);
}
