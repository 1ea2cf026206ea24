/* store.c - the LMDB environment: open, schema version, transactions, map
 * growth. The other files of src/store read and write the databases
 * described here: codec.c (keys and records), catalog.c (services),
 * plans.c, members.c, and for the usage ledger ledger.c (entries, day
 * totals, history), invoices.c (invoices, usage records), events.c
 * (threshold events) and verify.c (allot_ledger_verify); audit.c keeps
 * the audit trail (allot/audit.h).
 *
 * ===================================================================
 * THE ON-DISK FORMAT (schema version 3)
 * ===================================================================
 *
 * 1. Files
 * --------
 * A data directory (created mode 0700 when missing) holds one LMDB
 * environment: data.mdb and lock.mdb, mode 0600. Everything allot keeps is in
 * named databases of that environment; the main (unnamed) database holds only
 * their names, as LMDB does it. More than one process may open the directory
 * (LMDB supports it), but allotd expects to be the only writer.
 *
 * 2. Keys
 * -------
 * LMDB orders keys by memcmp. A key is a sequence of components, each encoded
 * so that memcmp order is value order and a prefix of components names a
 * contiguous range of keys:
 *
 *   string   its bytes, then one 0x00. Strings never hold NUL. Since 0x00 is
 *            the smallest byte, every key that starts with string s lies in
 *            [s 00, s 01), and s's keys sort before those of any longer
 *            string that has s as a prefix ("a" 00 ... < "ab" 00 ...).
 *            Ids, codes and rule keys are at most ALLOT_ID_MAX (64) bytes.
 *   date     4 bytes big-endian of (uint32_t)d ^ 0x80000000: the sign bit
 *            flipped, so dates before 1970 (negative day numbers) sort
 *            before later ones and ALLOT_DATE_NONE (INT32_MAX) sorts last.
 *   seq      8 bytes big-endian unsigned.
 *   enum     1 byte (the enum's value; see allot/model.h).
 *
 * No key is longer than ALLOT__KEY_MAX (256) bytes, well under LMDB's 511.
 *
 * 3. Records
 * ----------
 * A value ("record") starts with a record-format byte, 0x01 for every record
 * of schema versions 1 to 3, followed by its fields in a fixed order:
 *
 *   u8       one byte
 *   uvar     unsigned LEB128 varint, 1-10 bytes, low 7 bits first
 *   svar     zigzag (0,-1,1,-2 -> 0,1,2,3) then uvar; dates are svar
 *   str      uvar byte count, then the bytes (no NUL, no terminator)
 *
 * Fields that are part of the key (a code, an id, effective_from) are not
 * repeated in the record. Optional fields are present only when a flags byte
 * or a preceding enum says so, so every value has exactly one encoding
 * (put_plan_version compares versions by their bytes). Fixed-width
 * little-endian integers are used only where a value is small and fixed
 * (META) or, later, updated in place (usage day totals).
 *
 * The decoders (codec.c) are the single definition of a valid record: they
 * refuse truncation, bytes left over, unknown formats, enums out of range,
 * strings with NUL or over their limit, and numbers beyond the limits of
 * allot/model.h, with ALLOT_ECORRUPT. Writers decode every record they
 * encode before writing it, so nothing a decoder refuses is ever stored, and
 * the engine may trust what it reads (no overflow, no stray enum).
 *
 * 4. Databases of schema version 1
 * --------------------------------
 *
 *   meta      key  "schema_version" 00
 *             val  u32 little-endian: the schema version (1)
 *
 *   services  key  code 00
 *             val  01 | str name | uvar cash_price
 *
 *   plans     key  plan id 00                          (plan header)
 *             val  01 | str name | uvar nversions
 *             key  plan id 00 | date effective_from    (one plan version)
 *             val  01 | uvar nrules | rule * nrules
 *
 *             rule = str key | uvar ncodes | str code * ncodes
 *                  | u8 limit | u8 flags (0x01 unlimited, 0x02 overage price)
 *                  | [uvar allowance]       unless unlimited
 *                  | u8 period kind
 *                  | [u8 month | u8 day]    PLAN_YEAR
 *                  | [uvar count]           ROLLING_DAYS, ROLLING_MONTHS
 *                  | u8 pool
 *                  | [uvar member_cap]      HOUSEHOLD
 *                  | [uvar overage_price]   flag 0x02
 *                  | u8 payer
 *                  | uvar nthresholds | uvar threshold * nthresholds
 *
 *   members   key  member id 00
 *             val  01 | svar anniversary (ALLOT_DATE_NONE when absent)
 *                  | str household_id | str sponsor_id | uvar nenrollments
 *                  | (str plan_id | svar start | svar end) * nenrollments
 *
 * Why plans look like this. Pricing asks "the version of plan p in force on
 * d" for every line, so each version is its own record keyed by (p,
 * effective_from): one MDB_SET_RANGE to (p, d) and at most one step back
 * find the greatest effective_from <= d, and only that record is decoded.
 * The header sorts just before the plan's versions (p 00 is a prefix of
 * p 00 date), so the step back lands on the header when d precedes every
 * version, which tells "plan exists, nothing in force" apart from "no such
 * plan" without a second lookup. Thresholds are stored resolved (the
 * defaults already filled in), as the engine sees them. Services and members
 * are read whole and replaced whole, so each is a single record.
 *
 * Invariants:
 *   - every plan version key has its plan's header; a header's nversions is
 *     the number of its version keys, 1..ALLOT_PLAN_VERSIONS_MAX (a reader
 *     that finds otherwise reports ALLOT_ECORRUPT);
 *   - a version, once stored, never changes (a different one at the same
 *     effective_from is refused with ALLOT_EEXIST), so a priced invoice can be
 *     explained later from the versions in the store;
 *   - a member's enrollments are ascending and do not overlap; only the last
 *     may be open (end ALLOT_DATE_NONE);
 *   - keys hold no empty ids.
 *
 * 5. Databases of schema version 2: the ledger
 * ---------------------------------------------
 * Version 2 adds the usage ledger (ledger.c, invoices.c, events.c; checked
 * by verify.c). Besides the formats of section 3 it uses
 *
 *   blob     uvar byte count, then the bytes (opaque to the store, at most
 *            ALLOT_RECORD_BYTES_MAX)
 *   i64le    8 bytes, little-endian two's complement
 *
 *   ledger      one row per entry, keyed by its number alone:
 *               key  seq
 *               val  01 | u8 flags (0x01 reversal, 0x02 reversed)
 *                    | u8 pool kind | str pool id | str rule key
 *                    | str member id ("" for a MEMBER pool: the pool id)
 *                    | svar date | svar amount | u8 source
 *                    | [uvar reverses]      reversal
 *                    | [uvar reversed_by]   reversed
 *                    | str invoice id | str line id | str usage id
 *   history     the member's live entries, for the allotments view:
 *               key  member id 00 | rule key 00 | date | seq
 *               val  (empty)
 *   usage_days  day totals, for the engine's usage queries:
 *               key  u8 pool kind | pool id 00 | rule key 00
 *                    | (member id or "") 00 | date
 *               val  i64le total (units or cents), always > 0
 *   invoices    key  invoice id 00
 *               val  01 | str member id | blob request | blob answer
 *                    | uvar nlines | line * nlines
 *               line = str line id | u8 flags (0x01 voided)
 *                    | uvar nentries | uvar seq * nentries
 *   usage       key  usage id 00
 *               val  01 | str member id | blob request | blob answer
 *                    | uvar entry seq (0: none) | u8 flags (0x01 voided)
 *   events      key  seq
 *               val  01 | the event's bytes (to the end of the value)
 *   meta        gains "entry_seq" 00 and "event_seq" 00: u64 little-endian,
 *               the next number to hand out (both start at 1).
 *
 * Why the ledger looks like this. Three questions are asked of it: the
 * engine's "how much did pool p use under rule key r in [from, to)" on every
 * priced line (microseconds matter), the view's "which entries of member m
 * under r lie in [from, to)", and a void's "take back entry n". Each has its
 * own key order: usage_days answers the first with one MDB_SET_RANGE to
 * prefix | date from and a step per day that has use, stopping at prefix |
 * date to, however long the pool's history (a LIFETIME sum scans the days
 * with use, not the days of the period); history answers the second the
 * same way; and keying entries by seq answers the third with one lookup.
 * That also makes the ledger a plain append log (MDB_APPEND) in commit
 * order, which verify reads front to back. (The layout reserved before
 * version 2 put pool | rule | member | date | seq in the entry's key: that
 * answers the second question for one pool without an index, but the third
 * only with an index from seq; as many indexes, a less useful main order.)
 * Member "" is the pool's total and sorts before every member, so the
 * pool's rows of a rule are contiguous; a household pool also keeps one row
 * per member (per-member caps); a MEMBER pool keeps only the pool's row,
 * its one member being the pool.
 * Totals are fixed-width because they are rewritten in place (MDB_CURRENT)
 * on every append and reversal. Should LIFETIME scans over years of daily
 * use ever show up in profiles, a usage_months rollup of the same key shape
 * (date = the month's first day) can sit beside usage_days.
 *
 * An entry is never deleted. A void appends a reversal (amount negated, the
 * rest copied, "reverses" naming the original) and marks the original
 * reversed ("reversed_by"), which is the only change an entry ever sees;
 * the original's amount comes out of the day totals, a row that returns to
 * 0 is deleted, and the original leaves the history index.
 *
 * Invoices and usage records hold what answers a retry byte for byte (the
 * canonical request, compared by the caller, and the stored answer), and
 * the entries each line (record) wrote, which is what a void reverses.
 * Records of a few hundred KiB are fine: LMDB keeps them on overflow pages.
 *
 * Events are numbered from a counter, not from the last key, so that a
 * number once committed is never reused even if old events are deleted: a
 * client resuming a stream at n must not be shown a different event under a
 * number it has seen. A number taken in an aborted (nested) transaction may
 * be taken again, since nothing that committed used it.
 *
 * Invariants (allot_ledger_verify checks every one):
 *   - entry numbers are below entry_seq; event numbers are 1..event_seq-1;
 *   - a live entry has amount 1..ALLOT_DRAW_AMOUNT_MAX; a reversal r of
 *     entry o (o < r) has the same draw with the amount negated, o is marked
 *     reversed_by r, and a reversal is never reversed;
 *   - each usage_days row equals the sum of the amounts of all entries
 *     (reversals included) with its pool, rule key, day and, unless "", its
 *     member; that sum is > 0, and no row exists where it would be 0;
 *   - history holds exactly the live entries (neither reversed nor
 *     reversals), keyed by their own member, rule key, date and seq;
 *   - every entry an invoice line or usage record names exists, is no
 *     reversal, carries that invoice and line id (or usage id), and is
 *     reversed exactly when its line or record is voided; line ids are
 *     unique within an invoice.
 *
 * 6. Databases of schema version 3: the audit trail
 * -------------------------------------------------
 * Version 3 adds one database (audit.c, allot/audit.h):
 *
 *   audit       one row per audit record, keyed by its number alone:
 *               key  seq
 *               val  01 | the record's bytes (to the end of the value;
 *                    1..ALLOT_AUDIT_BYTES_MAX). allotd stores an encoded
 *                    allot.v1.AuditEntry without its seq: who (a token id or
 *                    "jwt:" and a member id, never a credential), what (the
 *                    RPC, the ids it named, its status code) and when.
 *   meta        gains "audit_seq" 00: u64 little-endian, the next number
 *               to hand out (starts at 1).
 *
 * Why. The trail is read in order from a number on (ListAudit pages, an
 * exporter resuming where it stopped), so records are keyed by number and
 * appended with MDB_APPEND. A write's record is appended in the write's
 * own transaction: it exists exactly when the write committed. Numbers come
 * from a counter, as for events, so that one once committed is never reused:
 * a gap shows records were removed behind the store's back.
 *
 * Invariants:
 *   - every key is 8 bytes and below audit_seq; every value is 01 and 1 to
 *     ALLOT_AUDIT_BYTES_MAX bytes;
 *   - no record is ever changed or deleted: the store has no code that
 *     could.
 *
 * 7. Schema versions
 * ------------------
 * At open (schema_open below): an environment with no databases at all is
 * new and is stamped with ALLOT__SCHEMA_VERSION. One with a meta database
 * whose version is between ALLOT__SCHEMA_MIN and ALLOT__SCHEMA_VERSION is
 * accepted; upgrading an older one to the current version happens in that
 * same transaction, before anything else reads it. A newer version, a
 * version 0, an environment that holds databases but no meta, or a file that
 * is not LMDB at all is refused with ALLOT_EFORMAT and a message naming the
 * directory (and both versions). A new version is needed whenever a record
 * format, a key layout or an invariant changes, or databases are added.
 *
 *   1 -> 2   creates ledger, history, usage_days, invoices, usage and events
 *            (db_since below says which version brought each database) and
 *            sets the two counters of section 5, each to one past the last
 *            key of its database when it is not there yet, so an upgrade
 *            that is run again (a store stamped 1 by hand) keeps numbering
 *            where it was. A version 1 store has no usage, so there is
 *            nothing to index.
 *   2 -> 3   creates audit and sets the counter "audit_seq" the same way
 *            (one past the last key, unless it is there). Nothing that
 *            happened before the upgrade is in the trail.
 *
 * The databases a version has must exist when a store of that version is
 * opened (ALLOT_ECORRUPT otherwise); only those added after it are created.
 *
 * ===================================================================
 * DURABILITY, CONCURRENCY, GROWING THE MAP
 * ===================================================================
 *
 * Commits are durable (LMDB's default two fsyncs) unless opt->no_sync, which
 * only tests use. The environment is opened MDB_NOTLS, so a read transaction
 * is not tied to the thread that began it (it may end on another, but is used
 * by one thread at a time), and MDB_NORDAHEAD, because lookups are random.
 *
 * Writes are serialised by write_mu: one allot_store_write at a time runs
 * fn in one LMDB write transaction. allot_store_nested runs part of it in an
 * LMDB child transaction, so that a group commit can drop one failed request
 * and keep the others. When LMDB reports MDB_MAP_FULL (on a put, in a child,
 * or at commit) the transaction is aborted, the map doubled (up to
 * map_size_max), and fn run again from scratch. Only when the map is already
 * at map_size_max, or the larger map cannot be mapped, is ALLOT_EFULL
 * returned. The data file is sparse: a larger map costs address space, not
 * disk.
 *
 * mdb_env_set_mapsize may be called only while no transaction of this
 * process is open. The gate (struct allot__gate) enforces it: every
 * transaction, read or write, holds it shared from begin to end; a resize
 * waits until none is open and, while it waits, new transactions wait
 * behind it (so a steady stream of readers cannot starve it). It is a mutex
 * and a condition variable rather than a pthread rwlock because a read
 * transaction may end on another thread than the one that began it, and a
 * rwlock must be unlocked by the thread that locked it. Hence the rule
 * for callers: a thread that holds a transaction must not begin another
 * (including from inside allot_store_write's fn), or a resize would wait for
 * it forever. A long read transaction delays growth for its whole length.
 *
 * When another process has grown the map, mdb_txn_begin returns
 * MDB_MAP_RESIZED; the gate is then closed the same way and
 * mdb_env_set_mapsize(env, 0) adopts the new size.
 *
 * mdb_env_set_mapsize unmaps before it maps again; if the new map cannot be
 * made, the old size is tried again, and if even that fails the store is
 * marked dead and every later transaction is refused with ALLOT_EIO.
 */
#include "store_int.h"
#include "versions.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#define ALLOT__SCHEMA_VERSION 3u /* written to new stores */
#define ALLOT__SCHEMA_MIN 1u     /* oldest version this build reads */

#define MAP_SIZE_DEFAULT ((size_t)64 << 20)
#define MAP_SIZE_MAX_DEFAULT ((size_t)1 << 40)

/* How often a transaction begin is retried after MDB_MAP_RESIZED before the
 * store gives up (another process growing the map that often is a bug). */
#define RESIZED_RETRIES 16

static const char *const db_names[ALLOT__DB_COUNT] = {
    [ALLOT__DB_META] = "meta",
    [ALLOT__DB_SERVICES] = "services",
    [ALLOT__DB_PLANS] = "plans",
    [ALLOT__DB_MEMBERS] = "members",
    [ALLOT__DB_LEDGER] = "ledger",
    [ALLOT__DB_HISTORY] = "history",
    [ALLOT__DB_USAGE_DAYS] = "usage_days",
    [ALLOT__DB_INVOICES] = "invoices",
    [ALLOT__DB_USAGE] = "usage",
    [ALLOT__DB_EVENTS] = "events",
    [ALLOT__DB_AUDIT] = "audit",
};

/* The schema version that added each database. */
static const unsigned db_since[ALLOT__DB_COUNT] = {
    [ALLOT__DB_META] = 1,       [ALLOT__DB_SERVICES] = 1, [ALLOT__DB_PLANS] = 1,
    [ALLOT__DB_MEMBERS] = 1,    [ALLOT__DB_LEDGER] = 2,   [ALLOT__DB_HISTORY] = 2,
    [ALLOT__DB_USAGE_DAYS] = 2, [ALLOT__DB_INVOICES] = 2, [ALLOT__DB_USAGE] = 2,
    [ALLOT__DB_EVENTS] = 2,     [ALLOT__DB_AUDIT] = 3,
};

static const char meta_schema_key[] = "schema_version"; /* stored with its NUL */

/* ------------------------------------------------------------ error helpers */

int allot__mdb_err(struct allot_txn *t, int mrc, struct allot_status *st, const char *what)
{
    int code;
    switch (mrc) {
    case 0:
        return 0;
    case MDB_NOTFOUND:
        code = ALLOT_ENOTFOUND;
        break;
    case MDB_MAP_FULL:
        if (t)
            t->map_full = true;
        code = ALLOT_EFULL;
        break;
    case MDB_TXN_FULL:
    case ENOSPC:
    case EDQUOT:
        code = ALLOT_EFULL;
        break;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
        code = ALLOT_ECORRUPT;
        break;
    case MDB_INVALID:
    case MDB_VERSION_MISMATCH:
    case MDB_INCOMPATIBLE:
        code = ALLOT_EFORMAT;
        break;
    case ENOMEM:
        code = ALLOT_ENOMEM;
        break;
    default:
        code = ALLOT_EIO;
        break;
    }
    return allot_status_set(st, code, "%s: %s", what, mdb_strerror(mrc));
}

int allot__need_write(struct allot_txn *t, struct allot_status *st, const char *what)
{
    if (!t->write)
        return allot_status_set(st, ALLOT_EINVAL, "%s: needs a write transaction", what);
    return 0;
}

int allot__check_id(const char *id, const char *what, struct allot_status *st)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > ALLOT_ID_MAX)
        return allot_status_set(st, ALLOT_EINVAL, "%s: must be 1 to %d bytes", what, ALLOT_ID_MAX);
    return 0;
}

struct allot_arena *allot__scratch_arena(struct allot_txn *t)
{
    allot_arena_reset(&t->s->warena);
    return &t->s->warena;
}

int allot__seek_after(MDB_cursor *c, const char *after, MDB_val *k, MDB_val *v)
{
    /* Keys whose leading string is after are [after 00, after 01), so the
     * first key at or above after 01 is the first one past them. Stored
     * strings are at most ALLOT_ID_MAX bytes, so after can be cut to
     * ALLOT_ID_MAX + 1 bytes without changing which of them compare greater. */
    unsigned char b[ALLOT_ID_MAX + 2];
    size_t n = strlen(after);
    if (n == 0)
        return mdb_cursor_get(c, k, v, MDB_FIRST);
    if (n > ALLOT_ID_MAX + 1)
        n = ALLOT_ID_MAX + 1;
    memcpy(b, after, n);
    b[n] = 0x01;
    *k = allot__val(b, n + 1);
    return mdb_cursor_get(c, k, v, MDB_SET_RANGE);
}

int allot__refused(int rc, struct allot_status *st, const char *what)
{
    char why[ALLOT_STATUS_MSG_MAX];
    if (rc != ALLOT_ECORRUPT)
        return rc;
    if (!st)
        return ALLOT_EINVAL;
    memcpy(why, st->msg, sizeof why);
    why[sizeof why - 1] = '\0';
    return allot_status_set(st, ALLOT_EINVAL, "%s cannot be stored: %s", what, why);
}

int allot__cursor(struct allot_txn *t, enum allot__db db, MDB_cursor **out)
{
    if (!(t->cur_live & 1u << db)) {
        /* a reused read transaction renews the cursor it kept */
        int mrc = t->cur[db] ? mdb_cursor_renew(t->txn, t->cur[db])
                             : mdb_cursor_open(t->txn, t->s->dbi[db], &t->cur[db]);
        if (mrc) {
            if (t->cur[db])
                mdb_cursor_close(t->cur[db]);
            t->cur[db] = NULL;
            return allot__mdb_err(t, mrc, NULL, "cursor");
        }
        t->cur_live |= 1u << db;
    }
    *out = t->cur[db];
    return 0;
}

static void txn_close_cursors(struct allot_txn *t)
{
    int i;
    for (i = 0; i < ALLOT__DB_COUNT; i++) {
        if (t->cur[i])
            mdb_cursor_close(t->cur[i]);
        t->cur[i] = NULL;
    }
    t->cur_live = 0;
}

/* A read transaction that will not be reused, with its cursors. */
static void read_discard(struct allot_txn *t)
{
    txn_close_cursors(t);
    mdb_txn_abort(t->txn);
    free(t);
}

/* Aborts the idle read transactions (before the environment closes). */
static void drop_idle_reads(struct allot_store *s)
{
    while (s->nidle)
        read_discard(s->idle[--s->nidle]);
}

/* ------------------------------------------------------------------- gate */

static int gate_init(struct allot__gate *g)
{
    if (pthread_mutex_init(&g->mu, NULL))
        return -1;
    if (pthread_cond_init(&g->cv, NULL)) {
        pthread_mutex_destroy(&g->mu);
        return -1;
    }
    g->active = 0;
    g->waiting = 0;
    g->resizing = false;
    return 0;
}

static void gate_destroy(struct allot__gate *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

/* Before a transaction begins. */
static void gate_enter(struct allot__gate *g)
{
    pthread_mutex_lock(&g->mu);
    while (g->resizing || g->waiting)
        pthread_cond_wait(&g->cv, &g->mu);
    g->active++;
    pthread_mutex_unlock(&g->mu);
}

/* After a transaction ended (committed, aborted, or failed to begin). */
static void gate_leave(struct allot__gate *g)
{
    pthread_mutex_lock(&g->mu);
    if (--g->active == 0 && g->waiting)
        pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* Waits until no transaction is open and closes the gate. */
static void gate_close(struct allot__gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->waiting++;
    while (g->active || g->resizing)
        pthread_cond_wait(&g->cv, &g->mu);
    g->waiting--;
    g->resizing = true;
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(struct allot__gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->resizing = false;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

/* ---------------------------------------------------------------- the map */

static size_t env_map_size(MDB_env *env)
{
    MDB_envinfo info;
    if (mdb_env_info(env, &info))
        return 0;
    return info.me_mapsize;
}

static size_t round_up(size_t n, size_t unit)
{
    size_t r = n % unit;
    return r == 0 || n > SIZE_MAX - (unit - r) ? n : n + (unit - r);
}

/* Sets the map to size with the gate closed. On failure tries the old size
 * again; if that fails too the store is dead. */
static int map_set(struct allot_store *s, size_t size, struct allot_status *st)
{
    size_t old = s->map_size;
    int mrc = mdb_env_set_mapsize(s->env, size);
    if (mrc == 0) {
        s->map_size = env_map_size(s->env);
        return 0;
    }
    if (size != 0 && mdb_env_set_mapsize(s->env, old) == 0) {
        s->map_size = env_map_size(s->env);
        return allot_status_set(st, ALLOT_EFULL,
                                "store %s is full: cannot grow the map to %zu bytes: %s", s->path,
                                size, mdb_strerror(mrc));
    }
    s->dead = true;
    return allot_status_set(st, ALLOT_EIO, "store %s: cannot map the data file after a resize: %s",
                            s->path, mdb_strerror(mrc));
}

/* The map was full at size `seen`: double it, up to map_size_max. */
static int map_grow(struct allot_store *s, size_t seen, struct allot_status *st)
{
    int rc = 0;
    gate_close(&s->gate);
    if (s->dead) {
        rc = allot_status_set(st, ALLOT_EIO, "store %s is unusable", s->path);
    } else if (s->map_size > seen) {
        rc = 0; /* grown meanwhile (MDB_MAP_RESIZED) */
    } else if (s->map_size >= s->map_size_max) {
        rc = allot_status_set(st, ALLOT_EFULL,
                              "store %s is full: the map has reached its maximum of %zu bytes",
                              s->path, s->map_size_max);
    } else {
        size_t want = s->map_size > s->map_size_max / 2 ? s->map_size_max : s->map_size * 2;
        want = round_up(want, s->page_size);
        if (want > s->map_size_max)
            want = s->map_size_max;
        rc = map_set(s, want, st);
        if (rc == 0 && s->map_size <= seen)
            rc = allot_status_set(st, ALLOT_EFULL,
                                  "store %s is full: the map did not grow past %zu bytes", s->path,
                                  seen);
    }
    gate_open(&s->gate);
    return rc;
}

/* Another process grew the map: adopt its size. */
static int map_adopt(struct allot_store *s, struct allot_status *st)
{
    int rc;
    gate_close(&s->gate);
    rc = s->dead ? allot_status_set(st, ALLOT_EIO, "store %s is unusable", s->path)
                 : map_set(s, 0, st);
    gate_open(&s->gate);
    return rc;
}

/* Begins an LMDB transaction inside the gate, adopting a map another process
 * grew. On success the caller holds the gate until it ends the transaction. */
static int txn_begin(struct allot_store *s, unsigned flags, MDB_txn **out, struct allot_status *st)
{
    int tries, mrc;
    for (tries = 0; tries < RESIZED_RETRIES; tries++) {
        gate_enter(&s->gate);
        if (s->dead) {
            gate_leave(&s->gate);
            return allot_status_set(st, ALLOT_EIO, "store %s is unusable", s->path);
        }
        mrc = mdb_txn_begin(s->env, NULL, flags, out);
        if (mrc == 0)
            return 0;
        gate_leave(&s->gate);
        if (mrc != MDB_MAP_RESIZED)
            return allot__mdb_err(NULL, mrc, st, "begin transaction");
        if ((mrc = map_adopt(s, st)))
            return mrc;
    }
    return allot_status_set(st, ALLOT_EIO, "store %s: the map keeps being resized", s->path);
}

/* ----------------------------------------------------------------- schema */

static void u32_le(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

static int stamp_version(struct allot_store *s, MDB_txn *txn, struct allot_status *st)
{
    MDB_val k = allot__val(meta_schema_key, sizeof meta_schema_key), v;
    unsigned char buf[4];
    int mrc;

    u32_le(buf, ALLOT__SCHEMA_VERSION);
    v = allot__val(buf, sizeof buf);
    if ((mrc = mdb_put(txn, s->dbi[ALLOT__DB_META], &k, &v, 0)))
        return allot__mdb_err(NULL, mrc, st, "stamp the schema version");
    return 0;
}

/* Sets META counter name to one past the last key of database db (an 8-byte
 * big-endian seq), unless the counter exists. */
static int seq_counter_init(struct allot_store *s, MDB_txn *txn, const char *name,
                            enum allot__db db, struct allot_status *st)
{
    MDB_cursor *c = NULL;
    MDB_val k = allot__val(name, strlen(name) + 1), v;
    unsigned char buf[8];
    uint64_t next = 1;
    int i, mrc;

    mrc = mdb_get(txn, s->dbi[ALLOT__DB_META], &k, &v);
    if (mrc != MDB_NOTFOUND)
        return allot__mdb_err(NULL, mrc, st, "read a sequence counter");
    if ((mrc = mdb_cursor_open(txn, s->dbi[db], &c)))
        return allot__mdb_err(NULL, mrc, st, "open a cursor");
    mrc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    if (mrc == 0 && k.mv_size == 8) {
        next = 0;
        for (i = 0; i < 8; i++)
            next = next << 8 | ((const unsigned char *)k.mv_data)[i];
        next++;
    }
    mdb_cursor_close(c);
    if (mrc && mrc != MDB_NOTFOUND)
        return allot__mdb_err(NULL, mrc, st, "read the last sequence number");
    for (i = 0; i < 8; i++)
        buf[i] = (unsigned char)(next >> (8 * i));
    k = allot__val(name, strlen(name) + 1);
    v = allot__val(buf, sizeof buf);
    if ((mrc = mdb_put(txn, s->dbi[ALLOT__DB_META], &k, &v, 0)))
        return allot__mdb_err(NULL, mrc, st, "write a sequence counter");
    return 0;
}

/* What version 2 adds to a store of version 1 (or to a new one): the
 * sequence counters. Its databases were created by the caller. */
static int upgrade_to_2(struct allot_store *s, MDB_txn *txn, struct allot_status *st)
{
    int rc;
    if ((rc = seq_counter_init(s, txn, ALLOT__META_ENTRY_SEQ, ALLOT__DB_LEDGER, st)) ||
        (rc = seq_counter_init(s, txn, ALLOT__META_EVENT_SEQ, ALLOT__DB_EVENTS, st)))
        return rc;
    return 0;
}

/* What version 3 adds to a store of version 2 (or to a new one): the audit
 * counter. Its database was created by the caller. */
static int upgrade_to_3(struct allot_store *s, MDB_txn *txn, struct allot_status *st)
{
    return seq_counter_init(s, txn, ALLOT__META_AUDIT_SEQ, ALLOT__DB_AUDIT, st);
}

/* Opens the databases, stamping a new environment or checking the version of
 * an existing one and upgrading it (see "Schema versions" above). */
static int schema_open(struct allot_store *s, struct allot_status *st)
{
    MDB_txn *txn = NULL;
    MDB_dbi main_dbi;
    MDB_stat ms;
    MDB_val k = allot__val(meta_schema_key, sizeof meta_schema_key), v;
    unsigned char buf[4];
    uint32_t version, found;
    int i, mrc, rc = ALLOT_EIO;

    mrc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (mrc) {
        txn = NULL;
        rc = allot__mdb_err(NULL, mrc, st, "begin transaction");
        goto out;
    }
    if ((mrc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) || (mrc = mdb_stat(txn, main_dbi, &ms))) {
        rc = allot__mdb_err(NULL, mrc, st, "read the main database");
        goto out;
    }
    mrc = mdb_dbi_open(txn, db_names[ALLOT__DB_META], 0, &s->dbi[ALLOT__DB_META]);
    if (mrc == MDB_NOTFOUND && ms.ms_entries == 0) {
        /* A new environment: create every database and stamp the version. */
        for (i = 0; i < ALLOT__DB_COUNT; i++) {
            mrc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &s->dbi[i]);
            if (mrc) {
                rc = allot__mdb_err(NULL, mrc, st, "create database");
                goto out;
            }
        }
        if ((rc = upgrade_to_2(s, txn, st)) || (rc = upgrade_to_3(s, txn, st)) ||
            (rc = stamp_version(s, txn, st)))
            goto out;
        version = ALLOT__SCHEMA_VERSION;
    } else if (mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE) {
        rc = allot_status_set(st, ALLOT_EFORMAT,
                              "data directory %s holds an LMDB environment that is not an allot "
                              "store (no meta database)",
                              s->path);
        goto out;
    } else if (mrc) {
        rc = allot__mdb_err(NULL, mrc, st, "open the meta database");
        goto out;
    } else {
        mrc = mdb_get(txn, s->dbi[ALLOT__DB_META], &k, &v);
        if (mrc == MDB_NOTFOUND || (mrc == 0 && v.mv_size != 4)) {
            rc = allot_status_set(st, ALLOT_EFORMAT,
                                  "data directory %s has no readable schema version", s->path);
            goto out;
        } else if (mrc) {
            rc = allot__mdb_err(NULL, mrc, st, "read the schema version");
            goto out;
        }
        memcpy(buf, v.mv_data, 4);
        found = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                (uint32_t)buf[3] << 24;
        if (found > ALLOT__SCHEMA_VERSION) {
            rc = allot_status_set(st, ALLOT_EFORMAT,
                                  "data directory %s has schema version %lu; this allotd "
                                  "understands up to %u",
                                  s->path, (unsigned long)found, ALLOT__SCHEMA_VERSION);
            goto out;
        }
        if (found < ALLOT__SCHEMA_MIN) {
            rc = allot_status_set(st, ALLOT_EFORMAT,
                                  "data directory %s has schema version %lu; this allotd reads "
                                  "versions %u to %u",
                                  s->path, (unsigned long)found, ALLOT__SCHEMA_MIN,
                                  ALLOT__SCHEMA_VERSION);
            goto out;
        }
        /* The databases the found version has must be there; those added
         * since are created now, in this transaction. */
        for (i = 0; i < ALLOT__DB_COUNT; i++) {
            if (i == ALLOT__DB_META)
                continue;
            mrc = mdb_dbi_open(txn, db_names[i], db_since[i] > found ? MDB_CREATE : 0, &s->dbi[i]);
            if (mrc == MDB_NOTFOUND || mrc == MDB_INCOMPATIBLE) {
                rc = allot_status_set(st, ALLOT_ECORRUPT,
                                      "data directory %s: database \"%s\" is missing", s->path,
                                      db_names[i]);
                goto out;
            } else if (mrc) {
                rc = allot__mdb_err(NULL, mrc, st, "open database");
                goto out;
            }
        }
        /* Upgrades, oldest first, then the new stamp. */
        if (found < 2 && (rc = upgrade_to_2(s, txn, st)))
            goto out;
        if (found < 3 && (rc = upgrade_to_3(s, txn, st)))
            goto out;
        if (found < ALLOT__SCHEMA_VERSION && (rc = stamp_version(s, txn, st)))
            goto out;
        version = ALLOT__SCHEMA_VERSION;
    }
    s->schema_version = version;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc) {
        rc = allot__mdb_err(NULL, mrc, st, "commit the schema");
        goto out;
    }
    rc = 0;
out:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* ------------------------------------------------------- sequence counters */

int allot__meta_seq_get(struct allot_txn *t, const char *name, uint64_t *next)
{
    MDB_val k = allot__val(name, strlen(name) + 1), v;
    const unsigned char *p;
    uint64_t n = 0;
    int i, mrc;

    *next = 0;
    mrc = mdb_get(t->txn, t->s->dbi[ALLOT__DB_META], &k, &v);
    if (mrc == MDB_NOTFOUND || (mrc == 0 && v.mv_size != 8))
        return ALLOT_ECORRUPT;
    if (mrc)
        return allot__mdb_err(t, mrc, NULL, "read a sequence counter");
    p = v.mv_data;
    for (i = 7; i >= 0; i--)
        n = n << 8 | p[i];
    if (n == 0)
        return ALLOT_ECORRUPT;
    *next = n;
    return 0;
}

int allot__meta_seq_put(struct allot_txn *t, const char *name, uint64_t next)
{
    MDB_val k = allot__val(name, strlen(name) + 1), v;
    unsigned char buf[8];
    int i;

    for (i = 0; i < 8; i++)
        buf[i] = (unsigned char)(next >> (8 * i));
    v = allot__val(buf, sizeof buf);
    return allot__mdb_err(t, mdb_put(t->txn, t->s->dbi[ALLOT__DB_META], &k, &v, 0), NULL,
                          "write a sequence counter");
}

/* ------------------------------------------------------------ open, close */

/* Creates the data directory (not its parents) when missing. */
/* ALLOT_EFORMAT when data.mdb is shorter than the pages LMDB says it has. */
static int check_file_size(struct allot_store *s, struct allot_status *st)
{
    char f[4096];
    struct stat sb;
    MDB_envinfo info;
    MDB_stat ms;

    if (mdb_env_info(s->env, &info) || mdb_env_stat(s->env, &ms))
        return allot_status_set(st, ALLOT_EIO, "cannot read the state of %s", s->path);
    snprintf(f, sizeof f, "%s/data.mdb", s->path);
    if (stat(f, &sb) != 0)
        return allot_status_set(st, ALLOT_EIO, "cannot stat %s: %s", f, strerror(errno));
    if ((uint64_t)sb.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize)
        return allot_status_set(st, ALLOT_EFORMAT,
                                "%s is truncated: %lld bytes, but it records %llu pages of %u bytes "
                                "(an interrupted copy?)",
                                f, (long long)sb.st_size,
                                (unsigned long long)info.me_last_pgno + 1, ms.ms_psize);
    return 0;
}

static int make_dir(const char *path, struct allot_status *st)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return allot_status_set(st, ALLOT_EIO, "data directory %s: not a directory", path);
        return 0;
    }
    if (errno != ENOENT)
        return allot_status_set(st, ALLOT_EIO, "data directory %s: %s", path, strerror(errno));
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return allot_status_set(st, ALLOT_EIO, "cannot create data directory %s: %s", path,
                                strerror(errno));
    return 0;
}

int allot_store_open(struct allot_store **out, const struct allot_store_options *opt,
                     struct allot_status *st)
{
    struct allot_store *s = NULL;
    bool gate_ok = false, mu_ok = false;
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    long pg;
    int mrc, rc = ALLOT_ENOMEM;

    *out = NULL;
    allot_status_clear(st);
    if (!opt || !opt->path || !opt->path[0]) {
        rc = allot_status_set(st, ALLOT_EINVAL, "store: no data directory given");
        goto out;
    }
    s = calloc(1, sizeof *s);
    if (!s || !(s->path = strdup(opt->path))) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "store: out of memory");
        goto out;
    }
    allot__buf_init(&s->wbuf);
    allot__buf_init(&s->wbuf2);
    allot_arena_init(&s->warena);
    if (!(s->versions = allot__versions_new())) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "store: out of memory");
        goto out;
    }
    pg = sysconf(_SC_PAGESIZE);
    s->page_size = pg > 0 ? (size_t)pg : 4096;
    s->map_size_max = opt->map_size_max ? opt->map_size_max : MAP_SIZE_MAX_DEFAULT;
    s->map_size_max -= s->map_size_max % s->page_size;
    if (gate_init(&s->gate) != 0) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "store: cannot create locks");
        goto out;
    }
    gate_ok = true;
    if (pthread_mutex_init(&s->write_mu, NULL) != 0) {
        rc = allot_status_set(st, ALLOT_ENOMEM, "store: cannot create locks");
        goto out;
    }
    if (pthread_mutex_init(&s->idle_mu, NULL) != 0) {
        pthread_mutex_destroy(&s->write_mu);
        rc = allot_status_set(st, ALLOT_ENOMEM, "store: cannot create locks");
        goto out;
    }
    mu_ok = true;

    if (opt->must_exist) {
        char f[4096];
        struct stat sb;
        if (stat(s->path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            rc = allot_status_set(st, ALLOT_EFORMAT, "data directory %s is not a directory",
                                  s->path);
            goto out;
        }
        snprintf(f, sizeof f, "%s/data.mdb", s->path);
        if (stat(f, &sb) != 0) {
            rc = allot_status_set(st, ALLOT_ENOTFOUND, "data directory %s holds no store (%s: %s)",
                                  s->path, f, strerror(errno));
            goto out;
        }
    }
    if ((rc = make_dir(s->path, st)))
        goto out;
    if ((mrc = mdb_env_create(&s->env))) {
        s->env = NULL;
        rc = allot__mdb_err(NULL, mrc, st, "create the LMDB environment");
        goto out;
    }
    if ((mrc = mdb_env_set_maxdbs(s->env, ALLOT__MAXDBS)) ||
        (mrc = mdb_env_set_mapsize(
             s->env, round_up(opt->map_size ? opt->map_size : MAP_SIZE_DEFAULT, s->page_size)))) {
        rc = allot__mdb_err(NULL, mrc, st, "configure the LMDB environment");
        goto out;
    }
    if (opt->no_sync)
        flags |= MDB_NOSYNC;
    mrc = mdb_env_open(s->env, s->path, flags, 0600);
    if (mrc == MDB_INVALID || mrc == MDB_VERSION_MISMATCH) {
        rc = allot_status_set(st, ALLOT_EFORMAT,
                              "data directory %s does not hold an allot store: %s", s->path,
                              mdb_strerror(mrc));
        goto out;
    } else if (mrc) {
        rc = allot_status_set(st, mrc == ENOMEM ? ALLOT_ENOMEM : ALLOT_EIO,
                              "cannot open data directory %s: %s", s->path, mdb_strerror(mrc));
        goto out;
    }
    /* Adopt the size recorded in the file when it is larger than the one
     * asked for (the map grew in an earlier run). */
    if ((mrc = mdb_env_set_mapsize(s->env, 0))) {
        rc = allot__mdb_err(NULL, mrc, st, "read the map size");
        goto out;
    }
    s->map_size = env_map_size(s->env);
    if (s->map_size_max < s->map_size)
        s->map_size_max = s->map_size;
    /* LMDB trusts the page count recorded in the file; a truncated
     * data.mdb (an interrupted copy) would fault (SIGBUS) on first read. */
    if ((rc = check_file_size(s, st)))
        goto out;

    if ((rc = schema_open(s, st)))
        goto out;
    *out = s;
    s = NULL;
    rc = 0;
out:
    if (s) {
        drop_idle_reads(s);
        if (s->env)
            mdb_env_close(s->env);
        if (mu_ok) {
            pthread_mutex_destroy(&s->write_mu);
            pthread_mutex_destroy(&s->idle_mu);
        }
        if (gate_ok)
            gate_destroy(&s->gate);
        allot__versions_free(s->versions);
        free(s->path);
        free(s);
    }
    return rc;
}

void allot_store_close(struct allot_store *s)
{
    if (!s)
        return;
    drop_idle_reads(s);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->write_mu);
    pthread_mutex_destroy(&s->idle_mu);
    gate_destroy(&s->gate);
    allot__buf_release(&s->wbuf);
    allot__buf_release(&s->wbuf2);
    allot_arena_release(&s->warena);
    allot__versions_free(s->versions);
    free(s->path);
    free(s);
}

size_t allot_store_map_size(struct allot_store *s)
{
    size_t n;
    pthread_mutex_lock(&s->gate.mu);
    while (s->gate.resizing)
        pthread_cond_wait(&s->gate.cv, &s->gate.mu);
    n = s->map_size;
    pthread_mutex_unlock(&s->gate.mu);
    return n;
}

unsigned allot_store_schema_version(const struct allot_store *s)
{
    return s->schema_version;
}

/* ------------------------------------------------------------ transactions */

/* Read transactions are reused: allot_store_read_end resets one (LMDB keeps
 * its reader slot; its cursors stay allocated) and keeps up to
 * ALLOT__READS_IDLE_MAX of them; read_begin renews one on the snapshot of
 * now, and each cursor is renewed on first use. That saves a malloc and
 * an LMDB reader-table setup per transaction and one per cursor, some 4k
 * instructions of a read that takes 50k. A reset transaction holds nothing
 * of the map, so the gate is left only after the reset, and a resize may
 * happen while transactions sit idle (renew reads the new map's meta). */
int allot_store_read_begin(struct allot_store *s, struct allot_txn **out)
{
    struct allot_txn *t = NULL;
    int rc;

    *out = NULL;
    pthread_mutex_lock(&s->idle_mu);
    if (s->nidle)
        t = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->idle_mu);
    if (t) {
        gate_enter(&s->gate);
        if (!s->dead && mdb_txn_renew(t->txn) == 0) {
            t->cur_live = 0;
            *out = t;
            return 0;
        }
        gate_leave(&s->gate);
        read_discard(t); /* the slow way below says why */
    }
    t = calloc(1, sizeof *t);
    if (!t)
        return ALLOT_ENOMEM;
    t->s = s;
    if ((rc = txn_begin(s, MDB_RDONLY, &t->txn, NULL))) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

void allot_store_read_end(struct allot_txn *t)
{
    struct allot_store *s;
    if (!t)
        return;
    s = t->s;
    mdb_txn_reset(t->txn);
    pthread_mutex_lock(&s->idle_mu);
    if (s->nidle < ALLOT__READS_IDLE_MAX) {
        s->idle[s->nidle++] = t;
        t = NULL;
    }
    pthread_mutex_unlock(&s->idle_mu);
    if (t)
        read_discard(t);
    gate_leave(&s->gate);
}

int allot_store_write(struct allot_store *s, int (*fn)(struct allot_txn *t, void *arg), void *arg,
                      struct allot_status *st)
{
    struct allot_txn t;
    size_t seen;
    int rc, mrc;

    pthread_mutex_lock(&s->write_mu);
    for (;;) {
        allot_status_clear(st);
        memset(&t, 0, sizeof t);
        t.s = s;
        t.write = true;
        if ((rc = txn_begin(s, 0, &t.txn, st)))
            break;
        seen = s->map_size;
        rc = fn(&t, arg);
        txn_close_cursors(&t);
        if (t.map_full) {
            mdb_txn_abort(t.txn);
            gate_leave(&s->gate);
            if ((rc = map_grow(s, seen, st)))
                break;
            continue;
        }
        if (rc) {
            mdb_txn_abort(t.txn);
            gate_leave(&s->gate);
            if (st && st->code == 0)
                allot_status_set(st, rc, "%s", allot_strerror(rc));
            break;
        }
        mrc = mdb_txn_commit(t.txn);
        gate_leave(&s->gate);
        if (mrc == MDB_MAP_FULL) {
            if ((rc = map_grow(s, seen, st)))
                break;
            continue;
        }
        rc = allot__mdb_err(NULL, mrc, st, "commit");
        break;
    }
    pthread_mutex_unlock(&s->write_mu);
    return rc;
}

int allot_store_nested(struct allot_txn *t, int (*fn)(struct allot_txn *t, void *arg), void *arg)
{
    struct allot_txn child;
    int rc, mrc;

    if (!t->write)
        return ALLOT_EINVAL;
    if (t->map_full)
        return ALLOT_EFULL; /* the whole write is about to be rerun */
    memset(&child, 0, sizeof child);
    child.s = t->s;
    child.write = true;
    /* LMDB forbids using the parent's cursors while a child is open; they
     * are reopened on demand afterwards. */
    txn_close_cursors(t);
    if ((mrc = mdb_txn_begin(t->s->env, t->txn, 0, &child.txn)))
        return allot__mdb_err(t, mrc, NULL, "begin nested transaction");
    rc = fn(&child, arg);
    txn_close_cursors(&child);
    if (child.map_full) {
        mdb_txn_abort(child.txn);
        t->map_full = true;
        return ALLOT_EFULL;
    }
    if (rc) {
        mdb_txn_abort(child.txn);
        return rc;
    }
    return allot__mdb_err(t, mdb_txn_commit(child.txn), NULL, "commit nested transaction");
}

int allot_store_backup(struct allot_store *s, const char *dir, struct allot_status *st)
{
    char path[4096];
    struct stat sb;
    int mrc;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return allot_status_set(st, ALLOT_EIO, "backup: cannot create %s: %s", dir,
                                strerror(errno));
    if (snprintf(path, sizeof path, "%s/data.mdb", dir) >= (int)sizeof path)
        return allot_status_set(st, ALLOT_EINVAL, "backup: path too long");
    if (stat(path, &sb) == 0)
        return allot_status_set(st, ALLOT_EEXIST, "backup: %s already holds a store", dir);
    /* MDB_CP_COMPACT copies live pages only, renumbered, from one read
     * transaction: consistent, and smaller than the map it came from. It
     * opens its own read transaction, so it waits behind a map resize like
     * any reader (through the gate). */
    if (s->dead)
        return allot_status_set(st, ALLOT_EIO, "backup: the store is unusable");
    gate_enter(&s->gate);
    mrc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);
    gate_leave(&s->gate);
    if (mrc)
        return allot_status_set(st, ALLOT_EIO, "backup: copying to %s failed: %s", dir,
                                mdb_strerror(mrc));
    return 0;
}
