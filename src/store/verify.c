/* verify.c - allot_ledger_verify: the ledger's indexes and records, checked
 * against the entries.
 *
 * The entries are the truth. One scan of the ledger, in seq order, checks
 * each entry on its own (it decodes; its number is below the counter), its
 * pairing with its reversal (each names the other, with the same draw and
 * opposite amounts), and that a live entry has its history key; it also
 * collects what every entry adds to usage_days. Those contributions are then
 * sorted in key order and summed, and walked beside the usage_days database,
 * so a row missing, a row too many and a wrong total are all found, the
 * first in key order reported. The history index is walked too (each row
 * names a live entry with its member, rule and date), which with the check
 * from the entries' side finds rows missing and rows too many without
 * holding the index in memory. Invoices and usage records are then read
 * once each; events only have their keys and the counter checked.
 *
 * Memory: the day contributions, one or two per entry (a key of up to 200
 * bytes and a total), merged before the walk; freed on return.
 */
#include "store_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct contrib {
    const unsigned char *key;
    size_t n;
    int64_t amount;
};

struct verify {
    struct allot_txn *t;
    struct allot_status *st;
    struct allot_arena keys; /* contribution keys */
    struct allot_arena a;    /* one record at a time */
    struct allot_arena a2;   /* the entry a record names */
    struct contrib *c;
    size_t n, cap;
    uint64_t entry_next, event_next;
};

static int differ(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int differ(struct verify *v, const char *fmt, ...)
{
    va_list ap;
    if (v->st) {
        va_start(ap, fmt);
        vsnprintf(v->st->msg, sizeof v->st->msg, fmt, ap);
        va_end(ap);
        v->st->code = ALLOT_ECORRUPT;
    }
    return ALLOT_ECORRUPT;
}

static int failed(struct verify *v, int rc, const char *what)
{
    if (rc == ALLOT_ECORRUPT)
        return differ(v, "%s does not decode", what);
    return allot_status_set(v->st, rc, "verify: %s: %s", what, allot_strerror(rc));
}

/* "household h / rule r / member m / 2025-01-02" for a usage_days key. */
static const char *day_name(const unsigned char *p, size_t n, char *buf, size_t cap)
{
    const char *s[3];
    size_t off = 1;
    char date[ALLOT_DATE_STRLEN];
    int i;

    if (n < 1 + 3 + 4)
        return "(a short key)";
    for (i = 0; i < 3; i++) {
        long len = allot__key_str_len(p + off, n - off);
        if (len < 0)
            return "(a malformed key)";
        s[i] = (const char *)p + off;
        off += (size_t)len + 1;
    }
    if (n - off != 4)
        return "(a malformed key)";
    allot_date_format(allot__key_get_date(p + off), date);
    snprintf(buf, cap, "%s %s / rule %s / %s%s / %s",
             p[0] == ALLOT_POOL_HOUSEHOLD ? "household" : "member", s[0], s[1],
             s[2][0] ? "member " : "pool total", s[2], date);
    return buf;
}

static int contrib_add(struct verify *v, const struct allot_draw *d, const char *member)
{
    struct allot__key k;
    unsigned char *key;

    if (allot__ledger_day_prefix(&k, d->pool.kind, d->pool.id, d->rule_key, member))
        return differ(v, "an entry holds an id that cannot be a key");
    allot__key_date(&k, d->date);
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        struct contrib *c = realloc(v->c, cap * sizeof *c);
        if (!c)
            return allot_status_set(v->st, ALLOT_ENOMEM, "verify: out of memory");
        v->c = c;
        v->cap = cap;
    }
    if (!(key = allot_arena_alloc(&v->keys, k.n)))
        return allot_status_set(v->st, ALLOT_ENOMEM, "verify: out of memory");
    memcpy(key, k.b, k.n);
    v->c[v->n].key = key;
    v->c[v->n].n = k.n;
    v->c[v->n].amount = d->amount;
    v->n++;
    return 0;
}

static int key_cmp(const unsigned char *a, size_t an, const unsigned char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

static int contrib_cmp(const void *x, const void *y)
{
    const struct contrib *a = x, *b = y;
    return key_cmp(a->key, a->n, b->key, b->n);
}

/* The same draw, as a reversal and its original must have. */
static bool same_draw(const struct allot_entry *a, const struct allot_entry *b)
{
    return a->draw.pool.kind == b->draw.pool.kind && !strcmp(a->draw.pool.id, b->draw.pool.id) &&
           !strcmp(a->draw.rule_key, b->draw.rule_key) &&
           !strcmp(a->draw.member_id, b->draw.member_id) && a->draw.date == b->draw.date &&
           a->draw.amount == -b->draw.amount && a->source == b->source &&
           !strcmp(a->invoice_id, b->invoice_id) && !strcmp(a->line_id, b->line_id) &&
           !strcmp(a->usage_id, b->usage_id);
}

/* ------------------------------------------------------------- entries */

static int check_entry(struct verify *v, const struct allot_entry *e)
{
    struct allot_txn *t = v->t;
    struct allot_entry o;
    struct allot__key k;
    MDB_val kv, val;
    unsigned long long seq = e->seq;
    int rc, mrc;

    if (e->seq >= v->entry_next)
        return differ(v, "ledger: entry %llu is not below the entry_seq counter %llu", seq,
                      (unsigned long long)v->entry_next);
    allot_arena_reset(&v->a2);
    if (e->reversal) {
        rc = allot_ledger_get_entry(t, e->reverses, &v->a2, &o);
        if (rc == ALLOT_ENOTFOUND)
            return differ(v, "ledger: entry %llu reverses entry %llu, which is missing", seq,
                          (unsigned long long)e->reverses);
        if (rc)
            return failed(v, rc, "a ledger entry");
        if (!o.reversed || o.reversed_by != e->seq || !same_draw(e, &o))
            return differ(v, "ledger: entry %llu reverses entry %llu, which does not match it", seq,
                          (unsigned long long)e->reverses);
    } else if (e->reversed) {
        rc = allot_ledger_get_entry(t, e->reversed_by, &v->a2, &o);
        if (rc == ALLOT_ENOTFOUND)
            return differ(v, "ledger: entry %llu is reversed by entry %llu, which is missing", seq,
                          (unsigned long long)e->reversed_by);
        if (rc)
            return failed(v, rc, "a ledger entry");
        if (!o.reversal || o.reverses != e->seq)
            return differ(v,
                          "ledger: entry %llu is reversed by entry %llu, which does not "
                          "reverse it",
                          seq, (unsigned long long)e->reversed_by);
    } else {
        if (allot__ledger_history_key(&k, e->draw.member_id, e->draw.rule_key, e->draw.date,
                                      e->seq))
            return differ(v, "ledger: entry %llu holds an id that cannot be a key", seq);
        kv = allot__val(k.b, k.n);
        mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_HISTORY], &kv, &val);
        if (mrc == MDB_NOTFOUND)
            return differ(v, "history: live entry %llu (member %s, rule %s) is missing", seq,
                          e->draw.member_id, e->draw.rule_key);
        if (mrc)
            return failed(v, allot__mdb_err(t, mrc, NULL, "history"), "the history index");
    }
    if ((rc = contrib_add(v, &e->draw, "")))
        return rc;
    if (e->draw.pool.kind == ALLOT_POOL_HOUSEHOLD &&
        (rc = contrib_add(v, &e->draw, e->draw.member_id)))
        return rc;
    return 0;
}

static int scan_entries(struct verify *v, uint64_t *count)
{
    struct allot_txn *t = v->t;
    struct allot_status why;
    struct allot_entry e;
    MDB_cursor *c;
    MDB_val kv, val;
    int rc, mrc;

    *count = 0;
    if ((rc = allot__cursor(t, ALLOT__DB_LEDGER, &c)))
        return failed(v, rc, "the ledger");
    for (mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        uint64_t seq;
        if (kv.mv_size != 8)
            return differ(v, "ledger: a key of %zu bytes", kv.mv_size);
        seq = allot__key_get_u64(kv.mv_data);
        allot_arena_reset(&v->a);
        if ((rc = allot__entry_decode(val.mv_data, val.mv_size, seq, &v->a, &e, &why)) &&
            rc != ALLOT_ECORRUPT)
            return failed(v, rc, "a ledger entry");
        if (rc)
            return differ(v, "ledger: entry %llu does not decode: %s", (unsigned long long)seq,
                          why.msg);
        if ((rc = check_entry(v, &e)))
            return rc;
        (*count)++;
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "ledger"), "the ledger");
    return 0;
}

/* ------------------------------------------------------------- day totals */

static int check_days(struct verify *v)
{
    struct allot_txn *t = v->t;
    MDB_cursor *c;
    MDB_val kv, val;
    size_t i = 0, j, m = 0;
    char name[300];
    int cmp, rc, mrc;

    /* Sort, then fold equal keys into one total; drop totals of 0 (every
     * entry of the day reversed): such rows must not be stored. */
    if (v->n)
        qsort(v->c, v->n, sizeof *v->c, contrib_cmp);
    while (i < v->n) {
        int64_t sum = 0;
        for (j = i; j < v->n && !contrib_cmp(&v->c[i], &v->c[j]); j++)
            if (__builtin_add_overflow(sum, v->c[j].amount, &sum))
                return differ(v, "usage_days: the entries of %s overflow int64",
                              day_name(v->c[i].key, v->c[i].n, name, sizeof name));
        if (sum < 0)
            return differ(v, "ledger: the entries of %s add up to %lld",
                          day_name(v->c[i].key, v->c[i].n, name, sizeof name), (long long)sum);
        if (sum) {
            v->c[m] = v->c[i];
            v->c[m++].amount = sum;
        }
        i = j;
    }
    v->n = m;

    if ((rc = allot__cursor(t, ALLOT__DB_USAGE_DAYS, &c)))
        return failed(v, rc, "usage_days");
    i = 0;
    mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST);
    while (mrc == 0 || i < v->n) {
        if (mrc == 0 && i < v->n)
            cmp = key_cmp(v->c[i].key, v->c[i].n, kv.mv_data, kv.mv_size);
        else
            cmp = mrc == 0 ? 1 : -1;
        if (cmp < 0)
            return differ(v, "usage_days: the row for %s is missing (the entries add up to %lld)",
                          day_name(v->c[i].key, v->c[i].n, name, sizeof name),
                          (long long)v->c[i].amount);
        if (val.mv_size != 8)
            return differ(v, "usage_days: the row for %s is %zu bytes",
                          day_name(kv.mv_data, kv.mv_size, name, sizeof name), val.mv_size);
        if (cmp > 0)
            return differ(v, "usage_days: the row for %s (total %lld) has no entries",
                          day_name(kv.mv_data, kv.mv_size, name, sizeof name),
                          (long long)allot__i64_get(val.mv_data));
        if (allot__i64_get(val.mv_data) != v->c[i].amount)
            return differ(v, "usage_days: the row for %s holds %lld; the entries add up to %lld",
                          day_name(kv.mv_data, kv.mv_size, name, sizeof name),
                          (long long)allot__i64_get(val.mv_data), (long long)v->c[i].amount);
        i++;
        mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT);
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "usage_days"), "usage_days");
    return 0;
}

/* ---------------------------------------------------------------- history */

static int check_history(struct verify *v)
{
    struct allot_txn *t = v->t;
    struct allot_entry e;
    MDB_cursor *c;
    MDB_val kv, val;
    int rc, mrc;

    if ((rc = allot__cursor(t, ALLOT__DB_HISTORY, &c)))
        return failed(v, rc, "the history index");
    for (mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        const unsigned char *p = kv.mv_data;
        long mlen = allot__key_str_len(p, kv.mv_size), rlen = -1;
        unsigned long long seq;
        if (mlen > 0)
            rlen = allot__key_str_len(p + mlen + 1, kv.mv_size - (size_t)mlen - 1);
        if (rlen < 1 || kv.mv_size != (size_t)mlen + 1 + (size_t)rlen + 1 + 12 || val.mv_size)
            return differ(v, "history: a malformed row (%zu-byte key, %zu-byte value)", kv.mv_size,
                          val.mv_size);
        seq = allot__key_get_u64(p + kv.mv_size - 8);
        allot_arena_reset(&v->a);
        rc = allot_ledger_get_entry(t, seq, &v->a, &e);
        if (rc == ALLOT_ENOTFOUND)
            return differ(v, "history: member %.*s has a row for entry %llu, which is missing",
                          (int)mlen, (const char *)p, seq);
        if (rc)
            return failed(v, rc, "a ledger entry");
        if (e.reversal || e.reversed)
            return differ(v, "history: member %.*s has a row for entry %llu, which is %s",
                          (int)mlen, (const char *)p, seq, e.reversal ? "a reversal" : "reversed");
        if (strlen(e.draw.member_id) != (size_t)mlen || memcmp(e.draw.member_id, p, (size_t)mlen) ||
            strlen(e.draw.rule_key) != (size_t)rlen ||
            memcmp(e.draw.rule_key, p + mlen + 1, (size_t)rlen) ||
            allot__key_get_date(p + kv.mv_size - 12) != e.draw.date)
            return differ(v,
                          "history: the row for entry %llu does not match its member, rule "
                          "and date",
                          seq);
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "history"), "the history index");
    return 0;
}

/* ------------------------------------------------------ invoices, usage */

/* Entry seq as record `what` names it. */
static int check_ref(struct verify *v, const char *what, uint64_t seq, const char *invoice_id,
                     const char *line_id, const char *usage_id, bool voided)
{
    struct allot_entry e;
    int rc;

    allot_arena_reset(&v->a2);
    rc = allot_ledger_get_entry(v->t, seq, &v->a2, &e);
    if (rc == ALLOT_ENOTFOUND)
        return differ(v, "%s names entry %llu, which is missing", what, (unsigned long long)seq);
    if (rc)
        return failed(v, rc, "a ledger entry");
    if (e.reversal || strcmp(e.invoice_id, invoice_id) || strcmp(e.line_id, line_id) ||
        strcmp(e.usage_id, usage_id))
        return differ(v, "%s names entry %llu, which belongs to another record", what,
                      (unsigned long long)seq);
    if (e.reversed != voided)
        return differ(v, "%s is %svoided but entry %llu is %sreversed", what, voided ? "" : "not ",
                      (unsigned long long)seq, e.reversed ? "" : "not ");
    return 0;
}

static int check_invoices(struct verify *v)
{
    struct allot_txn *t = v->t;
    struct allot_invoice_rec r;
    struct allot_status why;
    MDB_cursor *c;
    MDB_val kv, val;
    char what[2 * ALLOT_ID_MAX + 32];
    uint32_t i, j;
    int rc, mrc;

    if ((rc = allot__cursor(t, ALLOT__DB_INVOICES, &c)))
        return failed(v, rc, "invoices");
    for (mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        long len = allot__key_str_len(kv.mv_data, kv.mv_size);
        if (len < 1 || (size_t)len + 1 != kv.mv_size)
            return differ(v, "invoices: a malformed key");
        allot_arena_reset(&v->a);
        rc = allot__invoice_decode(val.mv_data, val.mv_size, kv.mv_data, (size_t)len, &v->a, &r,
                                   &why);
        if (rc && rc != ALLOT_ECORRUPT)
            return failed(v, rc, "an invoice");
        if (rc)
            return differ(v, "invoice %.*s does not decode: %s", (int)len, (const char *)kv.mv_data,
                          why.msg);
        for (i = 0; i < r.nlines; i++) {
            snprintf(what, sizeof what, "invoice %s line %s", r.invoice_id, r.lines[i].line_id);
            for (j = 0; j < r.lines[i].nentries; j++)
                if ((rc = check_ref(v, what, r.lines[i].entries[j], r.invoice_id,
                                    r.lines[i].line_id, "", r.lines[i].voided)))
                    return rc;
        }
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "invoices"), "invoices");
    return 0;
}

static int check_usage(struct verify *v)
{
    struct allot_txn *t = v->t;
    struct allot_usage_rec r;
    struct allot_status why;
    MDB_cursor *c;
    MDB_val kv, val;
    char what[ALLOT_ID_MAX + 32];
    int rc, mrc;

    if ((rc = allot__cursor(t, ALLOT__DB_USAGE, &c)))
        return failed(v, rc, "usage records");
    for (mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        long len = allot__key_str_len(kv.mv_data, kv.mv_size);
        if (len < 1 || (size_t)len + 1 != kv.mv_size)
            return differ(v, "usage: a malformed key");
        allot_arena_reset(&v->a);
        rc =
            allot__usage_decode(val.mv_data, val.mv_size, kv.mv_data, (size_t)len, &v->a, &r, &why);
        if (rc && rc != ALLOT_ECORRUPT)
            return failed(v, rc, "a usage record");
        if (rc)
            return differ(v, "usage record %.*s does not decode: %s", (int)len,
                          (const char *)kv.mv_data, why.msg);
        snprintf(what, sizeof what, "usage record %s", r.usage_id);
        if (r.entry && (rc = check_ref(v, what, r.entry, "", "", r.usage_id, r.voided)))
            return rc;
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "usage"), "usage records");
    return 0;
}

static int check_events(struct verify *v)
{
    struct allot_txn *t = v->t;
    const uint8_t *bytes;
    size_t len;
    MDB_cursor *c;
    MDB_val kv, val;
    int rc, mrc;

    if ((rc = allot__cursor(t, ALLOT__DB_EVENTS, &c)))
        return failed(v, rc, "events");
    for (mrc = mdb_cursor_get(c, &kv, &val, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        uint64_t seq;
        if (kv.mv_size != 8)
            return differ(v, "events: a key of %zu bytes", kv.mv_size);
        seq = allot__key_get_u64(kv.mv_data);
        if (seq == 0 || seq >= v->event_next)
            return differ(v, "events: event %llu is not between 1 and the event_seq counter %llu",
                          (unsigned long long)seq, (unsigned long long)v->event_next);
        if (allot__event_decode(val.mv_data, val.mv_size, &bytes, &len, NULL))
            return differ(v, "events: event %llu does not decode", (unsigned long long)seq);
    }
    if (mrc != MDB_NOTFOUND)
        return failed(v, allot__mdb_err(t, mrc, NULL, "events"), "events");
    return 0;
}

int allot_ledger_verify(struct allot_txn *t, uint64_t *nentries, struct allot_status *st)
{
    struct verify v;
    uint64_t count = 0;
    int rc;

    if (nentries)
        *nentries = 0;
    memset(&v, 0, sizeof v);
    v.t = t;
    v.st = st;
    allot_arena_init(&v.keys);
    allot_arena_init(&v.a);
    allot_arena_init(&v.a2);
    if ((rc = allot__meta_seq_get(t, ALLOT__META_ENTRY_SEQ, &v.entry_next)) ||
        (rc = allot__meta_seq_get(t, ALLOT__META_EVENT_SEQ, &v.event_next))) {
        rc = rc == ALLOT_ECORRUPT ? differ(&v, "meta: a sequence counter is missing or malformed")
                                  : failed(&v, rc, "meta");
        goto out;
    }
    if ((rc = scan_entries(&v, &count)) || (rc = check_days(&v)) || (rc = check_history(&v)) ||
        (rc = check_invoices(&v)) || (rc = check_usage(&v)) || (rc = check_events(&v)))
        goto out;
    if (nentries)
        *nentries = count;
out:
    free(v.c);
    allot_arena_release(&v.keys);
    allot_arena_release(&v.a);
    allot_arena_release(&v.a2);
    return rc;
}
