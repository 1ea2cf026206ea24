/* catalog.c - the services database: code 00 -> service record.
 * Layout and invariants: store.c, "Databases of schema version 1". */
#include "store_int.h"

#include <string.h>

int allot_store_put_service(struct allot_txn *t, const struct allot_service *svc, bool *created,
                            struct allot_status *st)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot_service check;
    struct allot__key k;
    MDB_val kv, v;
    int rc, mrc;

    if (created)
        *created = false;
    if ((rc = allot__need_write(t, st, "put service")) ||
        (rc = allot__check_id(svc->code, "service.code", st)))
        return rc;
    allot__key_init(&k);
    allot__key_str(&k, svc->code);
    kv = allot__val(k.b, k.n);

    allot__buf_clear(b);
    if (allot__service_encode(b, svc))
        return allot_status_set(st, ALLOT_ENOMEM, "put service: out of memory");
    rc = allot__service_decode(b->p, b->len, svc->code, strlen(svc->code), allot__scratch_arena(t),
                               &check, st);
    if (rc)
        return allot__refused(rc, st, "service");

    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_SERVICES], &kv, &v);
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, st, "read service");
    v = allot__val(b->p, b->len);
    if ((rc = allot__mdb_err(t, mdb_put(t->txn, t->s->dbi[ALLOT__DB_SERVICES], &kv, &v, 0), st,
                             "write service")))
        return rc;
    if (created)
        *created = mrc == MDB_NOTFOUND;
    return 0;
}

int allot_store_get_service(struct allot_txn *t, const char *code, struct allot_arena *a,
                            struct allot_service *out)
{
    struct allot__key k;
    MDB_val kv, v;
    int mrc;

    allot__key_init(&k);
    if (!code || !code[0] || allot__key_str(&k, code))
        return ALLOT_ENOTFOUND; /* cannot be a key */
    kv = allot__val(k.b, k.n);
    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_SERVICES], &kv, &v);
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read service");
    return allot__service_decode(v.mv_data, v.mv_size, code, k.n - 1, a, out, NULL);
}

int allot_store_list_services(struct allot_txn *t, const char *after, size_t limit,
                              struct allot_arena *a, struct allot_service **out, size_t *n,
                              bool *more)
{
    struct allot_service *arr;
    MDB_cursor *c;
    MDB_stat ms;
    MDB_val k, v;
    size_t cap, got = 0;
    long len;
    int rc, mrc;

    *out = NULL;
    *n = 0;
    *more = false;
    if ((rc = allot__cursor(t, ALLOT__DB_SERVICES, &c)))
        goto out;
    if ((mrc = mdb_stat(t->txn, t->s->dbi[ALLOT__DB_SERVICES], &ms))) {
        rc = allot__mdb_err(t, mrc, NULL, "list services");
        goto out;
    }
    /* Never more than the database holds, whatever limit says. */
    cap = limit < ms.ms_entries ? limit : ms.ms_entries;
    rc = ALLOT_ENOMEM;
    if (!(arr = allot_arena_alloc(a, (cap ? cap : 1) * sizeof *arr)))
        goto out;

    for (mrc = allot__seek_after(c, after ? after : "", &k, &v); mrc == 0;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (got == cap) {
            *more = true;
            break;
        }
        rc = ALLOT_ECORRUPT;
        len = allot__key_str_len(k.mv_data, k.mv_size);
        if (len < 1 || (size_t)len + 1 != k.mv_size)
            goto out;
        rc =
            allot__service_decode(v.mv_data, v.mv_size, k.mv_data, (size_t)len, a, &arr[got], NULL);
        if (rc)
            goto out;
        got++;
    }
    if (mrc && mrc != MDB_NOTFOUND) {
        rc = allot__mdb_err(t, mrc, NULL, "list services");
        goto out;
    }
    *out = arr;
    *n = got;
    rc = 0;
out:
    if (rc)
        *more = false;
    return rc;
}
