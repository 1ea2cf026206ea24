/* ledger.c - the usage ledger: entries, day totals, the history index, and
 * the engine's view of them (struct allot_source).
 *
 *   ledger      seq                                          -> entry record
 *   usage_days  u8 kind | pool id 00 | rule 00 | member 00 | date -> i64 LE
 *   history     member id 00 | rule 00 | date | seq          -> (empty)
 *
 * Layouts, invariants and the reasons for them: store.c, "Databases of
 * schema version 2". In short: entries are keyed by their number alone, so
 * a reversal (which names an entry by number) is one lookup and verify is
 * one scan in commit order; the two indexes answer the range questions.
 * usage_days holds, per (pool, rule key, day), the pool's total under member
 * "" and, for household pools, each member's own total; history holds the
 * member's live entries. Every write below keeps the three in step within
 * the caller's transaction; allot_ledger_verify (verify.c) checks that they
 * are.
 *
 * sum and each_day are on the pricing path: keys are built on the stack, the
 * usage_days cursor is the transaction's (opened once), and nothing is
 * allocated.
 */
#include "store_int.h"

#include <string.h>

/* ------------------------------------------------------------------ keys */

int allot__ledger_seq_key(struct allot__key *k, uint64_t seq)
{
    allot__key_init(k);
    allot__key_u64(k, seq);
    return 0;
}

int allot__ledger_day_prefix(struct allot__key *k, enum allot_pool_kind kind, const char *pool_id,
                             const char *rule_key, const char *member)
{
    allot__key_init(k);
    k->b[k->n++] = (unsigned char)kind;
    if (allot__key_str(k, pool_id) || allot__key_str(k, rule_key) || allot__key_str(k, member))
        return ALLOT_EINVAL;
    return 0;
}

int allot__ledger_history_key(struct allot__key *k, const char *member_id, const char *rule_key,
                              allot_date date, uint64_t seq)
{
    allot__key_init(k);
    if (allot__key_str(k, member_id) || allot__key_str(k, rule_key))
        return ALLOT_EINVAL;
    allot__key_date(k, date);
    allot__key_u64(k, seq);
    return 0;
}

/* ---------------------------------------------------------------- checks */

static bool opt_id_ok(const char *id)
{
    return !id || strlen(id) <= ALLOT_ID_MAX;
}

static bool id_ok(const char *id)
{
    return allot__check_id(id, "", NULL) == 0;
}

/* The draw's member: the pool id for a MEMBER pool (member_id must be NULL
 * or equal to it), member_id for a household. NULL when d is not valid. */
static const char *draw_member(const struct allot_draw *d)
{
    if (!d->pool.id || !id_ok(d->pool.id) || !d->rule_key || !id_ok(d->rule_key))
        return NULL;
    if (d->pool.kind == ALLOT_POOL_MEMBER)
        return !d->member_id || !strcmp(d->member_id, d->pool.id) ? d->pool.id : NULL;
    if (d->pool.kind == ALLOT_POOL_HOUSEHOLD)
        return d->member_id && id_ok(d->member_id) ? d->member_id : NULL;
    return NULL;
}

/* ------------------------------------------------------------ day totals */

/* Adds delta to the usage_days row k, deleting it when it reaches 0. A row
 * is always > 0; one that would go below, or a reversal of a row that is
 * not there, means the index disagrees with the ledger. */
static int day_add(struct allot_txn *t, MDB_cursor *c, const struct allot__key *k, int64_t delta)
{
    MDB_val kv = allot__val(k->b, k->n), v;
    unsigned char buf[8];
    int64_t total = 0;
    int mrc;

    mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_KEY);
    if (mrc == 0) {
        if (v.mv_size != 8 || (total = allot__i64_get(v.mv_data)) <= 0)
            return ALLOT_ECORRUPT;
    } else if (mrc != MDB_NOTFOUND) {
        return allot__mdb_err(t, mrc, NULL, "read a day total");
    }
    if (__builtin_add_overflow(total, delta, &total))
        return ALLOT_EPRECOND;
    if (total < 0 || (mrc == MDB_NOTFOUND && delta < 0))
        return ALLOT_ECORRUPT;
    if (total == 0)
        return allot__mdb_err(t, mdb_cursor_del(c, 0), NULL, "delete a day total");
    allot__i64_put(buf, total);
    kv = allot__val(k->b, k->n);
    v = allot__val(buf, sizeof buf);
    return allot__mdb_err(t, mdb_cursor_put(c, &kv, &v, mrc == 0 ? MDB_CURRENT : 0), NULL,
                          "write a day total");
}

/* Adds delta to the day totals draw d touches: the pool's, and in a
 * household the member's own. The pool's row goes first: it is never
 * smaller than a member's, so when it cannot overflow neither can the
 * member's, and an ALLOT_EPRECOND leaves nothing written. */
static int days_add(struct allot_txn *t, const struct allot_draw *d, int64_t delta)
{
    struct allot__key k;
    MDB_cursor *c;
    int rc;

    if ((rc = allot__cursor(t, ALLOT__DB_USAGE_DAYS, &c)))
        return rc;
    if ((rc = allot__ledger_day_prefix(&k, d->pool.kind, d->pool.id, d->rule_key, "")))
        return rc;
    allot__key_date(&k, d->date);
    if ((rc = day_add(t, c, &k, delta)))
        return rc;
    if (d->pool.kind != ALLOT_POOL_HOUSEHOLD)
        return 0;
    if ((rc = allot__ledger_day_prefix(&k, d->pool.kind, d->pool.id, d->rule_key, d->member_id)))
        return rc;
    allot__key_date(&k, d->date);
    return day_add(t, c, &k, delta);
}

/* ---------------------------------------------------------------- entries */

/* Encodes e, decodes it back (into sa) and writes it under its seq. */
static int entry_write(struct allot_txn *t, const struct allot_entry *e, struct allot_arena *sa,
                       unsigned flags)
{
    struct allot__buf *b = &t->s->wbuf;
    struct allot_entry check;
    struct allot__key k;
    MDB_val kv, v;
    int rc, mrc;

    allot__buf_clear(b);
    if (allot__entry_encode(b, e))
        return ALLOT_ENOMEM;
    if ((rc = allot__entry_decode(b->p, b->len, e->seq, sa, &check, NULL)))
        return rc == ALLOT_ECORRUPT ? ALLOT_EINVAL : rc;
    allot__ledger_seq_key(&k, e->seq);
    kv = allot__val(k.b, k.n);
    v = allot__val(b->p, b->len);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_LEDGER], &kv, &v, flags);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_ECORRUPT; /* entry_seq is behind the ledger */
    return allot__mdb_err(t, mrc, NULL, "write a ledger entry");
}

static int history_put(struct allot_txn *t, const struct allot_entry *e)
{
    struct allot__key k;
    MDB_val kv, v = allot__val("", 0);
    int rc, mrc;

    if ((rc = allot__ledger_history_key(&k, e->draw.member_id, e->draw.rule_key, e->draw.date,
                                        e->seq)))
        return rc;
    kv = allot__val(k.b, k.n);
    mrc = mdb_put(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &kv, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST)
        return ALLOT_ECORRUPT;
    return allot__mdb_err(t, mrc, NULL, "write the history index");
}

static int history_del(struct allot_txn *t, const struct allot_entry *e)
{
    struct allot__key k;
    MDB_val kv;
    int rc, mrc;

    if ((rc = allot__ledger_history_key(&k, e->draw.member_id, e->draw.rule_key, e->draw.date,
                                        e->seq)))
        return rc;
    kv = allot__val(k.b, k.n);
    mrc = mdb_del(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &kv, NULL);
    if (mrc == MDB_NOTFOUND)
        return ALLOT_ECORRUPT;
    return allot__mdb_err(t, mrc, NULL, "delete from the history index");
}

int allot_ledger_append(struct allot_txn *t, const struct allot_draw *d,
                        enum allot_source_kind source, const char *invoice_id, const char *line_id,
                        const char *usage_id, uint64_t *seq)
{
    struct allot_entry e;
    uint64_t next;
    int rc;

    if (seq)
        *seq = 0;
    if ((rc = allot__need_write(t, NULL, "append")))
        return rc;
    memset(&e, 0, sizeof e);
    if (!d || !(e.draw.member_id = draw_member(d)) || d->date < ALLOT_DATE_MIN ||
        d->date > ALLOT_DATE_MAX || d->amount < 1 || d->amount > ALLOT_DRAW_AMOUNT_MAX ||
        source < ALLOT_SOURCE_INVOICE || source > ALLOT_SOURCE_ADJUSTMENT ||
        !opt_id_ok(invoice_id) || !opt_id_ok(line_id) || !opt_id_ok(usage_id))
        return ALLOT_EINVAL;
    if ((rc = allot__meta_seq_get(t, ALLOT__META_ENTRY_SEQ, &next)))
        return rc;
    e.seq = next;
    e.draw.pool = d->pool;
    e.draw.rule_key = d->rule_key;
    e.draw.date = d->date;
    e.draw.amount = d->amount;
    e.source = source;
    e.invoice_id = invoice_id ? invoice_id : "";
    e.line_id = line_id ? line_id : "";
    e.usage_id = usage_id ? usage_id : "";

    if ((rc = days_add(t, &e.draw, e.draw.amount)) || (rc = history_put(t, &e)) ||
        (rc = entry_write(t, &e, allot__scratch_arena(t), MDB_APPEND)) ||
        (rc = allot__meta_seq_put(t, ALLOT__META_ENTRY_SEQ, next + 1)))
        return rc;
    if (seq)
        *seq = next;
    return 0;
}

/* Entry seq, decoded into a. */
static int entry_get(struct allot_txn *t, uint64_t seq, struct allot_arena *a,
                     struct allot_entry *out)
{
    struct allot__key k;
    MDB_val kv, v;
    int mrc;

    memset(out, 0, sizeof *out);
    if (seq == 0)
        return ALLOT_ENOTFOUND;
    allot__ledger_seq_key(&k, seq);
    kv = allot__val(k.b, k.n);
    if ((mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_LEDGER], &kv, &v)))
        return allot__mdb_err(t, mrc, NULL, "read a ledger entry");
    return allot__entry_decode(v.mv_data, v.mv_size, seq, a, out, NULL);
}

int allot_ledger_get_entry(struct allot_txn *t, uint64_t seq, struct allot_arena *a,
                           struct allot_entry *out)
{
    return entry_get(t, seq, a, out);
}

int allot_ledger_reverse(struct allot_txn *t, uint64_t seq)
{
    struct allot_arena *sa;
    struct allot_entry o, r;
    uint64_t next;
    int rc;

    if ((rc = allot__need_write(t, NULL, "reverse")))
        return rc;
    sa = allot__scratch_arena(t);
    if ((rc = entry_get(t, seq, sa, &o)))
        return rc;
    if (o.reversal)
        return ALLOT_EINVAL;
    if (o.reversed)
        return ALLOT_EEXIST;
    if ((rc = allot__meta_seq_get(t, ALLOT__META_ENTRY_SEQ, &next)))
        return rc;
    if (next <= seq)
        return ALLOT_ECORRUPT;
    r = o;
    r.seq = next;
    r.draw.amount = -o.draw.amount;
    r.reversal = true;
    r.reverses = seq;
    o.reversed = true;
    o.reversed_by = next;

    if ((rc = days_add(t, &o.draw, r.draw.amount)) || (rc = history_del(t, &o)) ||
        (rc = entry_write(t, &r, sa, MDB_APPEND)) || (rc = entry_write(t, &o, sa, 0)) ||
        (rc = allot__meta_seq_put(t, ALLOT__META_ENTRY_SEQ, next + 1)))
        return rc;
    return 0;
}

/* ------------------------------------------------------- usage queries */

/* The usage_days prefix a query reads: the pool's row ("") unless a member
 * of a household pool is asked for. *none when no row can match (a MEMBER
 * pool asked for another member). */
static int query_prefix(struct allot__key *k, const struct allot_pool_ref *pool,
                        const char *rule_key, const char *member_id, bool *none)
{
    *none = false;
    if (!pool || !pool->id || !rule_key || (member_id && !member_id[0]))
        return ALLOT_EINVAL;
    if (pool->kind == ALLOT_POOL_MEMBER) {
        if (member_id && strcmp(member_id, pool->id))
            *none = true;
        member_id = NULL;
    } else if (pool->kind != ALLOT_POOL_HOUSEHOLD) {
        return ALLOT_EINVAL;
    }
    return allot__ledger_day_prefix(k, pool->kind, pool->id, rule_key, member_id ? member_id : "");
}

/* Positions c on the first row of prefix k (k->n == plen) dated >= from
 * and < to. 1 when there is one (*day, *amount), 0 when not, or an error. */
static int day_seek(struct allot_txn *t, MDB_cursor *c, struct allot__key *k, size_t plen,
                    allot_date from, allot_date to, MDB_cursor_op op, allot_date *day,
                    int64_t *amount)
{
    MDB_val kv, v;
    int mrc;

    if (op == MDB_SET_RANGE) {
        k->n = plen;
        allot__key_date(k, from);
        kv = allot__val(k->b, k->n);
    }
    mrc = mdb_cursor_get(c, &kv, &v, op);
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read day totals");
    if (kv.mv_size < plen + 4 || memcmp(kv.mv_data, k->b, plen))
        return 0;
    if (kv.mv_size != plen + 4 || v.mv_size != 8)
        return ALLOT_ECORRUPT;
    *day = allot__key_get_date((const unsigned char *)kv.mv_data + plen);
    if (*day >= to)
        return 0;
    if ((*amount = allot__i64_get(v.mv_data)) <= 0)
        return ALLOT_ECORRUPT;
    return 1;
}

int allot_ledger_sum(struct allot_txn *t, const struct allot_pool_ref *pool, const char *rule_key,
                     const char *member_id, allot_date from, allot_date to, int64_t *out)
{
    struct allot__key k;
    MDB_cursor *c;
    MDB_cursor_op op = MDB_SET_RANGE;
    allot_date day;
    int64_t amount, total = 0;
    size_t plen;
    bool none;
    int rc;

    *out = 0;
    if ((rc = query_prefix(&k, pool, rule_key, member_id, &none)))
        return rc;
    if (none || from >= to)
        return 0;
    if ((rc = allot__cursor(t, ALLOT__DB_USAGE_DAYS, &c)))
        return rc;
    plen = k.n;
    while ((rc = day_seek(t, c, &k, plen, from, to, op, &day, &amount)) == 1) {
        if (__builtin_add_overflow(total, amount, &total))
            total = INT64_MAX;
        op = MDB_NEXT;
    }
    if (rc)
        return rc;
    *out = total;
    return 0;
}

int allot_ledger_each_day(struct allot_txn *t, const struct allot_pool_ref *pool,
                          const char *rule_key, const char *member_id, allot_date from,
                          allot_date to, int (*fn)(void *arg, allot_date day, int64_t amount),
                          void *arg)
{
    struct allot__key k;
    MDB_cursor *c;
    MDB_val kv, v;
    allot_date day;
    int64_t amount;
    size_t plen;
    bool none;
    int rc;

    if ((rc = query_prefix(&k, pool, rule_key, member_id, &none)))
        return rc;
    if (none || from >= to)
        return 0;
    if ((rc = allot__cursor(t, ALLOT__DB_USAGE_DAYS, &c)))
        return rc;
    plen = k.n;
    rc = day_seek(t, c, &k, plen, from, to, MDB_SET_RANGE, &day, &amount);
    while (rc == 1) {
        if ((rc = fn(arg, day, amount)))
            return rc;
        /* fn may have read through t and moved the shared cursor: step on
         * from where it is when it is still on our row, else seek past it. */
        if (mdb_cursor_get(c, &kv, &v, MDB_GET_CURRENT) == 0 && kv.mv_size == plen + 4 &&
            !memcmp(kv.mv_data, k.b, plen) &&
            allot__key_get_date((const unsigned char *)kv.mv_data + plen) == day)
            rc = day_seek(t, c, &k, plen, from, to, MDB_NEXT, &day, &amount);
        else
            rc = day_seek(t, c, &k, plen, day + 1, to, MDB_SET_RANGE, &day, &amount);
    }
    return rc;
}

/* ---------------------------------------------------------------- history */

/* Per query of allot_ledger_histories: its key's length, and the count
 * of pass 0 (the room pass 1 has). */
struct query_len {
    size_t key, cap;
};

/* The first query at or after i that a row (rule, d) answers, or nq. */
static size_t query_match(const struct allot_history_query *q, const struct query_len *len,
                          size_t nq, size_t i, const unsigned char *rule, size_t rlen,
                          allot_date d)
{
    for (; i < nq; i++)
        if (len[i].key == rlen && !memcmp(q[i].rule_key, rule, rlen) && d >= q[i].from &&
            d < q[i].to)
            break;
    return i;
}

int allot_ledger_histories(struct allot_txn *t, const char *member_id,
                           struct allot_history_query *q, size_t nq, struct allot_arena *a)
{
    struct allot__key k;
    MDB_cursor *c;
    MDB_val kv, v;
    struct query_len *len;
    size_t i, plen;
    int pass, rc, mrc;

    allot__key_init(&k);
    if (!member_id || allot__key_str(&k, member_id))
        return ALLOT_EINVAL;
    if (!(len = allot_arena_alloc(a, (nq ? nq : 1) * sizeof *len)))
        return ALLOT_ENOMEM;
    for (i = 0; i < nq; i++) {
        if (!q[i].rule_key || (len[i].key = strlen(q[i].rule_key)) > ALLOT_ID_MAX)
            return ALLOT_EINVAL;
        q[i].entries = NULL;
        q[i].n = 0;
    }
    if ((rc = allot__cursor(t, ALLOT__DB_HISTORY, &c)))
        return rc;
    plen = k.n;
    /* Pass 0 counts, pass 1 copies: two short scans beat growing arrays in
     * an arena, which cannot free the old copies. The rows are the
     * member's whole history (every rule, every date), a few per visit. */
    for (pass = 0; pass < 2; pass++) {
        if (pass == 1)
            for (i = 0; i < nq; i++) {
                q[i].entries = allot_arena_alloc(a, (q[i].n ? q[i].n : 1) * sizeof *q[i].entries);
                if (!q[i].entries)
                    return ALLOT_ENOMEM;
                len[i].cap = q[i].n;
                q[i].n = 0;
            }
        kv = allot__val(k.b, plen);
        for (mrc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); mrc == 0;
             mrc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
            const unsigned char *p = kv.mv_data, *rule, *nul;
            allot_date d;
            if (kv.mv_size < plen || memcmp(p, k.b, plen))
                break;
            rule = p + plen;
            nul = memchr(rule, 0, kv.mv_size - plen);
            if (!nul || kv.mv_size - (size_t)(nul - p) != 1 + 12)
                return ALLOT_ECORRUPT;
            d = allot__key_get_date(nul + 1);
            for (i = 0; (i = query_match(q, len, nq, i, rule, (size_t)(nul - rule), d)) < nq;
                 i++) {
                struct allot_entry *e;
                if (pass == 0) {
                    q[i].n++;
                    continue;
                }
                if (q[i].n == len[i].cap)
                    return ALLOT_ECORRUPT; /* cannot happen within one snapshot */
                e = &q[i].entries[q[i].n];
                if ((rc = entry_get(t, allot__key_get_u64(nul + 1 + 4), a, e)))
                    return rc == ALLOT_ENOTFOUND ? ALLOT_ECORRUPT : rc;
                if (e->reversal || e->reversed || strcmp(e->draw.member_id, member_id) ||
                    strcmp(e->draw.rule_key, q[i].rule_key))
                    return ALLOT_ECORRUPT;
                q[i].n++;
            }
        }
        if (mrc && mrc != MDB_NOTFOUND)
            return allot__mdb_err(t, mrc, NULL, "read the history index");
    }
    return 0;
}

int allot_ledger_history(struct allot_txn *t, const char *member_id, const char *rule_key,
                         allot_date from, allot_date to, struct allot_arena *a,
                         struct allot_entry **out, size_t *n)
{
    struct allot_history_query q = {rule_key, from, to, NULL, 0};
    int rc = allot_ledger_histories(t, member_id, &q, 1, a);
    *out = rc ? NULL : q.entries;
    *n = rc ? 0 : q.n;
    return rc;
}

/* ----------------------------------------------------------- the source */

static int src_plan_version(void *ctx, const char *plan_id, allot_date d,
                            const struct allot_plan_version **out)
{
    struct allot_txn *t = ctx;
    return allot_store_get_plan_version_at(t, plan_id, d, t->src_arena, out);
}

static int src_sum(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
                   const char *member_id, allot_date from, allot_date to, int64_t *out)
{
    return allot_ledger_sum(ctx, pool, rule_key, member_id, from, to, out);
}

static int src_each_day(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
                        const char *member_id, allot_date from, allot_date to,
                        int (*fn)(void *arg, allot_date day, int64_t amount), void *arg)
{
    return allot_ledger_each_day(ctx, pool, rule_key, member_id, from, to, fn, arg);
}

void allot_ledger_source(struct allot_txn *t, struct allot_arena *a, struct allot_source *src)
{
    t->src_arena = a;
    src->ctx = t;
    src->plan_version = src_plan_version;
    src->sum = src_sum;
    src->each_day = src_each_day;
}
