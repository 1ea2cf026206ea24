/* plans.c - the plans database: a header per plan and one record per version.
 *
 *   plan id 00                  -> 01 | str name | uvar nversions
 *   plan id 00 | date eff_from  -> 01 | uvar nrules | rule * nrules
 *
 * Layout, invariants and the reasons for them: store.c, "Databases of schema
 * version 1". A key of this database is told apart by its length: the
 * header's is strlen(id) + 1, a version's strlen(id) + 5.
 */
#include "store_int.h"
#include "versions.h"

#include <stdio.h>
#include <string.h>

#define DATE_KEY_LEN 4

static void head_key(struct allot__key *k, const char *id)
{
    allot__key_init(k);
    allot__key_str(k, id);
}

static void version_key(struct allot__key *k, const char *id, allot_date d)
{
    head_key(k, id);
    allot__key_date(k, d);
}

/* True when key k is a version key of the plan whose id is the idlen bytes
 * at id. */
static bool is_version_of(const MDB_val *k, const char *id, size_t idlen)
{
    return k->mv_size == idlen + 1 + DATE_KEY_LEN && !memcmp(k->mv_data, id, idlen) &&
           ((const unsigned char *)k->mv_data)[idlen] == 0;
}

static bool is_head_of(const MDB_val *k, const char *id, size_t idlen)
{
    return k->mv_size == idlen + 1 && !memcmp(k->mv_data, id, idlen) &&
           ((const unsigned char *)k->mv_data)[idlen] == 0;
}

/* Reads the plan whose header c is on (k, v) with all its versions into
 * *out. Leaves c on the key after the plan and sets *next to the LMDB result
 * of that last step (MDB_NOTFOUND at the end). */
static int read_plan(struct allot_txn *t, MDB_cursor *c, MDB_val *k, MDB_val *v,
                     struct allot_arena *a, struct allot_plan *out, int *next)
{
    const char *id = k->mv_data;
    size_t idlen = k->mv_size - 1;
    uint32_t nversions, i = 0;
    int rc, mrc;

    if ((rc = allot__plan_head_decode(v->mv_data, v->mv_size, a, &out->name, &nversions, NULL)))
        return rc;
    if (nversions == 0)
        return ALLOT_ECORRUPT;
    if (!(out->id = allot_arena_strndup(a, id, idlen)) ||
        !(out->versions = allot_arena_alloc(a, nversions * sizeof *out->versions)))
        return ALLOT_ENOMEM;
    id = out->id; /* k is about to move */
    for (mrc = mdb_cursor_get(c, k, v, MDB_NEXT); mrc == 0 && is_version_of(k, id, idlen);
         mrc = mdb_cursor_get(c, k, v, MDB_NEXT)) {
        if (i == nversions)
            return ALLOT_ECORRUPT;
        rc = allot__plan_version_decode(
            v->mv_data, v->mv_size,
            allot__key_get_date((const unsigned char *)k->mv_data + idlen + 1), a,
            &out->versions[i], NULL);
        if (rc)
            return rc;
        i++;
    }
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(t, mrc, NULL, "read plan");
    if (i != nversions)
        return ALLOT_ECORRUPT;
    out->nversions = nversions;
    *next = mrc;
    return 0;
}

int allot_store_put_plan_version(struct allot_txn *t, const char *plan_id, const char *name,
                                 const struct allot_plan_version *v, bool *created,
                                 struct allot_status *st)
{
    struct allot_store *s = t->s;
    MDB_dbi dbi = s->dbi[ALLOT__DB_PLANS];
    struct allot__buf *b = &s->wbuf, *b2 = &s->wbuf2;
    struct allot_arena *sa;
    struct allot_plan_version check;
    struct allot__key hk, vk;
    MDB_val hkv, vkv, val;
    const char *stored_name = "";
    uint32_t nversions = 0;
    char date[ALLOT_DATE_STRLEN], what[ALLOT_ID_MAX + 64];
    bool same;
    int rc, mrc;

    if (created)
        *created = false;
    if (!name)
        name = "";
    if ((rc = allot__need_write(t, st, "put plan version")) ||
        (rc = allot__check_id(plan_id, "plan.id", st)))
        return rc;
    if (v->effective_from < ALLOT_DATE_MIN || v->effective_from > ALLOT_DATE_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "plan %s: effective_from is not a date", plan_id);
    allot_date_format(v->effective_from, date);
    snprintf(what, sizeof what, "plan %s version %s", plan_id, date);
    head_key(&hk, plan_id);
    version_key(&vk, plan_id, v->effective_from);
    hkv = allot__val(hk.b, hk.n);
    vkv = allot__val(vk.b, vk.n);
    sa = allot__scratch_arena(t);

    /* The new version, encoded and checked. */
    allot__buf_clear(b);
    if (allot__plan_version_encode(b, v))
        return allot_status_set(st, ALLOT_ENOMEM, "%s: out of memory", what);
    if ((rc = allot__plan_version_decode(b->p, b->len, v->effective_from, sa, &check, st)))
        return allot__refused(rc, st, what);

    /* The header, when the plan exists. */
    mrc = mdb_get(t->txn, dbi, &hkv, &val);
    if (mrc == 0) {
        rc = allot__plan_head_decode(val.mv_data, val.mv_size, sa, &stored_name, &nversions, st);
        if (rc)
            return rc;
    } else if (mrc != MDB_NOTFOUND) {
        return allot__mdb_err(t, mrc, st, "read plan");
    }

    mrc = mdb_get(t->txn, dbi, &vkv, &val);
    if (mrc == 0) {
        /* A version at this date exists: the same one is a retry. The bytes
         * decide, since an encoding is canonical; a stored record of another
         * record format is compared after re-encoding it. */
        same = val.mv_size == b->len && !memcmp(val.mv_data, b->p, b->len);
        if (!same) {
            struct allot_plan_version old;
            if ((rc = allot__plan_version_decode(val.mv_data, val.mv_size, v->effective_from, sa,
                                                 &old, st)))
                return rc;
            allot__buf_clear(b2);
            if (allot__plan_version_encode(b2, &old))
                return allot_status_set(st, ALLOT_ENOMEM, "%s: out of memory", what);
            same = b2->len == b->len && !memcmp(b2->p, b->p, b->len);
        }
        if (!same)
            return allot_status_set(st, ALLOT_EEXIST,
                                    "plan %s already has a version effective %s with different "
                                    "rules",
                                    plan_id, date);
        if (!name[0] || !strcmp(name, stored_name))
            return 0;
        /* Same version, new name: only the header changes. */
    } else if (mrc == MDB_NOTFOUND) {
        if (nversions >= ALLOT_PLAN_VERSIONS_MAX)
            return allot_status_set(st, ALLOT_EPRECOND,
                                    "plan %s already has %d versions, the most a plan may have",
                                    plan_id, ALLOT_PLAN_VERSIONS_MAX);
        val = allot__val(b->p, b->len);
        if ((rc = allot__mdb_err(t, mdb_put(t->txn, dbi, &vkv, &val, 0), st, "write plan version")))
            return rc;
        nversions++;
        if (created)
            *created = true;
    } else {
        return allot__mdb_err(t, mrc, st, "read plan version");
    }

    allot__buf_clear(b2);
    if (allot__plan_head_encode(b2, name[0] ? name : stored_name, nversions))
        return allot_status_set(st, ALLOT_ENOMEM, "%s: out of memory", what);
    {
        const char *n2;
        uint32_t nv2;
        if ((rc = allot__plan_head_decode(b2->p, b2->len, sa, &n2, &nv2, st)))
            return allot__refused(rc, st, what);
    }
    val = allot__val(b2->p, b2->len);
    return allot__mdb_err(t, mdb_put(t->txn, dbi, &hkv, &val, 0), st, "write plan");
}

int allot_store_get_plan(struct allot_txn *t, const char *plan_id, struct allot_arena *a,
                         struct allot_plan *out)
{
    struct allot__key k;
    MDB_cursor *c;
    MDB_val kv, v;
    int rc, mrc, next;

    if (!plan_id || !plan_id[0] || strlen(plan_id) > ALLOT_ID_MAX)
        return ALLOT_ENOTFOUND;
    if ((rc = allot__cursor(t, ALLOT__DB_PLANS, &c)))
        return rc;
    head_key(&k, plan_id);
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_KEY)))
        return allot__mdb_err(t, mrc, NULL, "read plan");
    return read_plan(t, c, &kv, &v, a, out, &next);
}

int allot_store_get_plan_version_at(struct allot_txn *t, const char *plan_id, allot_date d,
                                    struct allot_arena *a, const struct allot_plan_version **out)
{
    struct allot_plan_version *pv;
    struct allot__key k;
    MDB_cursor *c;
    MDB_val kv, v;
    allot_date eff;
    size_t idlen;
    int rc, mrc;

    *out = NULL;
    if (!plan_id || !plan_id[0] || (idlen = strlen(plan_id)) > ALLOT_ID_MAX)
        return ALLOT_ENOTFOUND;
    if ((rc = allot__cursor(t, ALLOT__DB_PLANS, &c)))
        return rc;
    version_key(&k, plan_id, d);
    kv = allot__val(k.b, k.n);
    /* The first key >= (p, d); unless it is (p, d) itself, the key before it
     * is the greatest version <= d, or p's header when there is none. */
    mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    if (mrc == 0 && !(kv.mv_size == k.n && !memcmp(kv.mv_data, k.b, k.n)))
        mrc = mdb_cursor_get(c, &kv, &v, MDB_PREV);
    else if (mrc == MDB_NOTFOUND)
        mrc = mdb_cursor_get(c, &kv, &v, MDB_LAST);
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read plan version");
    if (is_head_of(&kv, plan_id, idlen))
        return 0; /* the plan exists; nothing in force on d */
    if (!is_version_of(&kv, plan_id, idlen))
        return ALLOT_ENOTFOUND;
    eff = allot__key_get_date((const unsigned char *)kv.mv_data + idlen + 1);
    rc = allot__versions_get(t->s->versions, plan_id, idlen, eff, v.mv_data, v.mv_size, out);
    if (rc != ALLOT__VERSIONS_FULL)
        return rc;
    if (!(pv = allot_arena_alloc(a, sizeof *pv)))
        return ALLOT_ENOMEM;
    if ((rc = allot__plan_version_decode(v.mv_data, v.mv_size, eff, a, pv, NULL)))
        return rc;
    *out = pv;
    return 0;
}

int allot_store_plan_exists(struct allot_txn *t, const char *plan_id)
{
    struct allot__key k;
    MDB_val kv, v;

    if (!plan_id || !plan_id[0] || strlen(plan_id) > ALLOT_ID_MAX)
        return ALLOT_ENOTFOUND;
    head_key(&k, plan_id);
    kv = allot__val(k.b, k.n);
    return allot__mdb_err(t, mdb_get(t->txn, t->s->dbi[ALLOT__DB_PLANS], &kv, &v), NULL,
                          "read plan");
}

int allot_store_list_plans(struct allot_txn *t, const char *after, size_t limit,
                           struct allot_arena *a, struct allot_plan **out, size_t *n, bool *more)
{
    struct allot_plan *arr;
    MDB_cursor *c;
    MDB_stat ms;
    MDB_val k, v;
    size_t cap, got = 0;
    long len;
    int rc, mrc;

    *out = NULL;
    *n = 0;
    *more = false;
    if ((rc = allot__cursor(t, ALLOT__DB_PLANS, &c)))
        goto out;
    if ((mrc = mdb_stat(t->txn, t->s->dbi[ALLOT__DB_PLANS], &ms))) {
        rc = allot__mdb_err(t, mrc, NULL, "list plans");
        goto out;
    }
    /* Entries count headers and versions, so this is a generous bound. */
    cap = limit < ms.ms_entries ? limit : ms.ms_entries;
    rc = ALLOT_ENOMEM;
    if (!(arr = allot_arena_alloc(a, (cap ? cap : 1) * sizeof *arr)))
        goto out;

    mrc = allot__seek_after(c, after ? after : "", &k, &v);
    while (mrc == 0) {
        if (got == cap) {
            *more = true;
            break;
        }
        rc = ALLOT_ECORRUPT; /* a plan must start with its header */
        len = allot__key_str_len(k.mv_data, k.mv_size);
        if (len < 1 || (size_t)len + 1 != k.mv_size)
            goto out;
        if ((rc = read_plan(t, c, &k, &v, a, &arr[got], &mrc)))
            goto out;
        got++;
    }
    if (mrc && mrc != MDB_NOTFOUND) {
        rc = allot__mdb_err(t, mrc, NULL, "list plans");
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
