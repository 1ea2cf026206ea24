/* allot/ledger.h - durable usage: the ledger, its indexes, invoices, usage
 * records and threshold events. Part of the store (src/store); the same
 * transactions, errors and memory rules as allot/store.h apply. The on-disk
 * layout is in the essay at the top of src/store/store.c.
 *
 * The ledger is the truth: an append-only list of entries, each one draw of
 * usage (or its reversal) against one (pool, rule key, member, service date).
 * Everything else here is an index that can be rebuilt from it:
 *   - day totals per (pool, rule key, member or "", day), so the engine's sum
 *     and each_day over a date range cost one cursor range scan, independent
 *     of how much history the pool has;
 *   - per member and rule key, the member's live entries by date (the
 *     allotments view's history);
 * allot_ledger_verify recomputes the indexes from the entries and compares.
 * Entries are never deleted; a reversal is a new (negative) entry, and the
 * only change an entry ever sees is being marked reversed.
 *
 * Invoices and usage records keep what is needed to answer a retry byte for
 * byte (the canonical request and the stored answer, opaque bytes to the
 * store) and to void them (the draws each line recorded).
 *
 * Writes (append, reverse, put_*, void_*, next_event_seq) need a write
 * transaction (ALLOT_EINVAL otherwise); everything they do is undone with the
 * transaction (or nested transaction) when it aborts, sequence counters
 * included. None of these functions takes a struct allot_status except
 * verify: the errors they return are the codes listed, and the caller names
 * the request field.
 */
#ifndef ALLOT_LEDGER_H
#define ALLOT_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/engine.h"
#include "allot/store.h"

/* The largest amount one entry may draw: a whole line's value (quantity x
 * price) recorded on an unlimited amount rule. */
#define ALLOT_DRAW_AMOUNT_MAX ((int64_t)ALLOT_QUANTITY_MAX * ALLOT_MONEY_MAX)
/* Entries per invoice line: one per matching rule at most. */
#define ALLOT_LINE_ENTRIES_MAX ALLOT_VERSION_RULES_MAX
/* Bytes in a stored request, answer or event. */
#define ALLOT_RECORD_BYTES_MAX (64u << 20)

/* Values equal the proto's UsageSource. */
enum allot_source_kind {
    ALLOT_SOURCE_INVOICE = 1,
    ALLOT_SOURCE_PRIOR = 2,
    ALLOT_SOURCE_EXTERNAL = 3,
    ALLOT_SOURCE_ADJUSTMENT = 4,
};

/* One draw of usage. amount is in the rule's unit (units or cents),
 * 1..ALLOT_DRAW_AMOUNT_MAX. */
struct allot_draw {
    struct allot_pool_ref pool; /* kind and id (household id, or member id) */
    const char *rule_key;
    const char *member_id; /* whose use it is (inside a household pool); for a
                              MEMBER pool the pool id, or NULL for it */
    allot_date date;       /* service date, ALLOT_DATE_MIN..MAX */
    int64_t amount;
};

/* A ledger entry as stored. */
struct allot_entry {
    uint64_t seq;                  /* 1, 2, 3, ... in commit order */
    struct allot_draw draw;        /* amount < 0 for a reversal (void); member_id is
                                      never NULL */
    enum allot_source_kind source; /* a reversal keeps its original's */
    bool reversal;                 /* this entry cancels entry `reverses` */
    uint64_t reverses;
    bool reversed; /* cancelled by entry `reversed_by` */
    uint64_t reversed_by;
    const char *invoice_id; /* "" unless source INVOICE */
    const char *line_id;
    const char *usage_id; /* "" unless a usage record */
};

/* ---------------------------------------------------------------- entries */

/** Appends an entry for draw d and updates the indexes: the pool's day total
 * (member ""), the member's own day total when the pool is a household, and
 * the member's history. invoice_id, line_id and usage_id may be NULL or ""
 * (none), or ids of 1..ALLOT_ID_MAX bytes; a reversal copies them, and
 * allot_ledger_put_invoice / put_usage check that their entries carry them.
 * *seq (may be NULL) gets its number.
 * @return 0, or
 *   ALLOT_EINVAL    read transaction; an id empty or too long; a pool kind,
 *                   source or date out of range; amount outside
 *                   1..ALLOT_DRAW_AMOUNT_MAX; a MEMBER pool drawn for another
 *                   member than the pool's
 *   ALLOT_EPRECOND  a day total would overflow int64
 *   ALLOT_ECORRUPT  a sequence counter or a day total is unreadable
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_append(struct allot_txn *t, const struct allot_draw *d,
                        enum allot_source_kind source, const char *invoice_id, const char *line_id,
                        const char *usage_id, uint64_t *seq);

/** Appends a reversal of entry seq (amount negated, the rest copied), marks
 * entry seq reversed, takes its amount out of the day totals (deleting a
 * row that returns to 0) and removes it from the member's history.
 * @return 0, or
 *   ALLOT_ENOTFOUND  no entry seq
 *   ALLOT_EEXIST     entry seq is reversed already
 *   ALLOT_EINVAL     entry seq is itself a reversal; read transaction
 *   ALLOT_ECORRUPT   the entry or an index does not agree with it
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_reverse(struct allot_txn *t, uint64_t seq);

/** Entry seq, reversed or not, copied into a.
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_get_entry(struct allot_txn *t, uint64_t seq, struct allot_arena *a,
                           struct allot_entry *out);

/** The engine's usage queries (struct allot_source), on transaction t:
 * sum of day totals in [from, to), and each day with a nonzero total,
 * ascending. from may be ALLOT_DATE_MIN (or less), to ALLOT_DATE_NONE
 * (everything from `from` on); from >= to is an empty range. member_id NULL
 * means the whole pool; for a MEMBER pool, member_id equal to the pool id
 * means the same (any other member has no use in it). Reversed entries never
 * count. A sum beyond int64 saturates at INT64_MAX.
 *
 * Each is one cursor range scan (one seek, then one step per day with use)
 * and allocates nothing after the transaction's first usage query. each_day
 * stops early and returns fn's value when it is not 0; fn may read through t
 * (sum, each_day, getters) but must not write or nest on it.
 * @return 0, or fn's value, or ALLOT_EINVAL (NULL or too long ids, pool kind
 *   out of range), ALLOT_ECORRUPT (a day row that is not 8 bytes),
 *   ALLOT_EIO
 */
int allot_ledger_sum(struct allot_txn *t, const struct allot_pool_ref *pool, const char *rule_key,
                     const char *member_id, allot_date from, allot_date to, int64_t *out);
int allot_ledger_each_day(struct allot_txn *t, const struct allot_pool_ref *pool,
                          const char *rule_key, const char *member_id, allot_date from,
                          allot_date to, int (*fn)(void *arg, allot_date day, int64_t amount),
                          void *arg);

/** The member's live (not reversed) entries for rule_key dated [from, to),
 * by date then seq, into a new array from a (*out is never NULL on success).
 * Entries of every pool the member drew on under that key are included
 * (draw.pool tells them apart), also another household's when the member
 * moved.
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_history(struct allot_txn *t, const char *member_id, const char *rule_key,
                         allot_date from, allot_date to, struct allot_arena *a,
                         struct allot_entry **out, size_t *n);

/** One rule's question to allot_ledger_histories: the entries under
 * rule_key dated [from, to). The answer is written to entries (never NULL
 * on success) and n. */
struct allot_history_query {
    const char *rule_key;
    allot_date from, to;
    struct allot_entry *entries; /* out */
    size_t n;                    /* out */
};

/** allot_ledger_history for several rule keys at once, in one pass over
 * the member's rows of the history index: one B-tree descent for a whole
 * plan instead of one per rule (GetAllotments). Each query is answered as
 * allot_ledger_history would answer it; keys may repeat.
 * @return 0, or ALLOT_EINVAL (no member id, a key too long), ALLOT_ECORRUPT,
 *         ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_histories(struct allot_txn *t, const char *member_id,
                           struct allot_history_query *q, size_t nq, struct allot_arena *a);

/** Fills src so that the engine reads plan versions (allot_store_get_plan_
 * version_at, decoded into a) and usage (allot_ledger_sum, each_day) through
 * t. src->ctx is t itself and a is remembered in t: one binding per
 * transaction at a time (binding again changes the arena of every source
 * bound to t). Bind to the transaction the work runs in: inside
 * allot_store_nested's fn, to the nested one. src stays valid while t and a
 * do. Allocates nothing. */
void allot_ledger_source(struct allot_txn *t, struct allot_arena *a, struct allot_source *src);

/** Recomputes every index from the entries and compares, both ways (a row
 * missing and a row that should not be there): the day totals, the history
 * index, the pairing of reversals with what they reverse, the sequence
 * counters, and every entry an invoice or usage record names (it exists,
 * carries the record's ids, and is reversed exactly when its line or record
 * is voided). 0 when everything agrees; ALLOT_ECORRUPT with the first
 * difference in st otherwise. *nentries (may be NULL) gets the number of
 * entries checked. Reads every database once; memory grows with the number
 * of day rows (about 100 bytes each), released before it returns.
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_verify(struct allot_txn *t, uint64_t *nentries, struct allot_status *st);

/* --------------------------------------------------------------- invoices */

struct allot_invoice_line_rec {
    const char *line_id; /* 1..ALLOT_ID_MAX bytes, unique in the invoice */
    bool voided;
    uint64_t *entries; /* ledger entries this line wrote */
    uint32_t nentries; /* 0..ALLOT_LINE_ENTRIES_MAX */
};

struct allot_invoice_rec {
    const char *invoice_id;
    const char *member_id;
    const uint8_t *request; /* canonical request bytes: retries compare them */
    size_t request_len;
    const uint8_t *answer; /* the stored answer, returned to retries */
    size_t answer_len;
    struct allot_invoice_line_rec *lines;
    uint32_t nlines; /* 0..ALLOT_INVOICE_LINES_MAX */
};

/** Stores a new invoice. Every entry a line names must exist, not be a
 * reversal, and carry this invoice's id and that line's id.
 * @return 0, or
 *   ALLOT_EEXIST    the id is taken
 *   ALLOT_EINVAL    read transaction; an id empty or too long; too many
 *                   lines or entries, a duplicate line id, request or answer
 *                   over ALLOT_RECORD_BYTES_MAX; an entry that is missing or
 *                   belongs to another invoice or line
 *   ALLOT_ECORRUPT, ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_put_invoice(struct allot_txn *t, const struct allot_invoice_rec *r);

/** The invoice copied into a (request and answer included).
 * @return 0, or ALLOT_ENOTFOUND (also for an id that cannot be one),
 *   ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_get_invoice(struct allot_txn *t, const char *invoice_id, struct allot_arena *a,
                             struct allot_invoice_rec *out);

/** 0 when the invoice exists, ALLOT_ENOTFOUND when not (also for an id
 * that cannot be one); or ALLOT_EIO. Reads no record: for telling "no such
 * invoice" from "no such line" after allot_ledger_void_invoice returned
 * ALLOT_ENOTFOUND. */
int allot_ledger_invoice_exists(struct allot_txn *t, const char *invoice_id);

/** Voids line line_id ("" or NULL: every line) of the invoice: reverses each
 * entry of each line not voided yet, marks the line voided and rewrites the
 * record. *voided (may be NULL) gets an array from a of the ids of the lines
 * this call voided, in invoice order, and *nvoided (may be NULL) their
 * number; both are empty (0, and a non-NULL array) when everything asked for
 * was voided already. An entry found reversed already is left as it is.
 * @return 0 (also when everything was voided already), or
 *   ALLOT_ENOTFOUND  no such invoice, or no such line (nothing changes)
 *   ALLOT_EINVAL     read transaction
 *   ALLOT_ECORRUPT, ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_void_invoice(struct allot_txn *t, const char *invoice_id, const char *line_id,
                              struct allot_arena *a, const char ***voided, uint32_t *nvoided);

/* ----------------------------------------------------------- usage records */

struct allot_usage_rec {
    const char *usage_id;
    const char *member_id;
    const uint8_t *request; /* canonical request bytes */
    size_t request_len;
    const uint8_t *answer; /* the stored answer */
    size_t answer_len;
    uint64_t entry; /* its ledger entry; 0 when it drew nothing */
    bool voided;
};

/** Stores a new usage record. Its entry (unless 0) must exist, not be a
 * reversal, and carry this usage id.
 * @return 0, or ALLOT_EEXIST (the id is taken), ALLOT_EINVAL (as for
 *   put_invoice), ALLOT_ECORRUPT, ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_put_usage(struct allot_txn *t, const struct allot_usage_rec *r);

/** The usage record copied into a.
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_get_usage(struct allot_txn *t, const char *usage_id, struct allot_arena *a,
                           struct allot_usage_rec *out);

/** Reverses the record's entry and marks it voided; *voided (may be NULL) is
 * false when it was voided already (then nothing changes).
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_EINVAL (read transaction),
 *   ALLOT_ECORRUPT, ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_void_usage(struct allot_txn *t, const char *usage_id, bool *voided);

/* ----------------------------------------------------------------- events */

/** Hands out the next threshold event sequence number: 1, 2, 3, ... The
 * caller encodes it into the event and stores it with put_event. A number is
 * never handed out again once the transaction that took it commits, even if
 * no event was stored under it or events are deleted later; one taken in a
 * transaction that aborts may be handed out again (nothing used it).
 * @return 0, or ALLOT_EINVAL (read transaction), ALLOT_ECORRUPT (the
 *   counter), ALLOT_EFULL, ALLOT_EIO
 */
int allot_ledger_next_event_seq(struct allot_txn *t, uint64_t *seq);

/** Stores event bytes (opaque, 0..ALLOT_RECORD_BYTES_MAX) under seq, a
 * number next_event_seq handed out.
 * @return 0, or ALLOT_EEXIST (seq is stored already), ALLOT_EINVAL (seq 0 or
 *   not handed out yet, too many bytes, read transaction), ALLOT_ECORRUPT,
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_ledger_put_event(struct allot_txn *t, uint64_t seq, const uint8_t *event, size_t n);

struct allot_event_rec {
    uint64_t seq;
    const uint8_t *bytes;
    size_t n;
};

/** Up to limit events with seq >= from, ascending, copied into a new array
 * from a (*out is never NULL on success, even when *n is 0).
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM (then *n is 0)
 */
int allot_ledger_events(struct allot_txn *t, uint64_t from, size_t limit, struct allot_arena *a,
                        struct allot_event_rec **out, size_t *n);

/** The greatest event seq stored (0 when none).
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO
 */
int allot_ledger_last_event_seq(struct allot_txn *t, uint64_t *seq);

#endif
