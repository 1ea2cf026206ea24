/* allot/store.h - durable catalog, plans and members in LMDB.
 *
 * The store is the only code that includes lmdb.h. Its on-disk format (every
 * database, key and record layout, and the invariants) is described at the
 * top of src/store/store.c.
 *
 * Memory: every getter copies out of LMDB into an arena the caller owns
 * (strings NUL-terminated, arrays and nested objects included); what it
 * returns lives until that arena is reset or released, independent of the
 * transaction. A getter that fails may have allocated from the arena; that
 * memory is freed with the arena.
 *
 * Transactions: any number of read transactions run at once, on snapshots,
 * and never wait for a writer. Writes go through allot_store_write, one at a
 * time (LMDB has one writer); it commits durably (fsync) before returning.
 * A read transaction may be ended on another thread than the one that began
 * it, but is used by one thread at a time.
 *
 * The one rule: a thread that holds a transaction must not begin another
 * (no allot_store_read_begin inside allot_store_write's fn, no
 * allot_store_write while holding a read transaction). When the map must
 * grow, new transactions wait until every open one has ended; a thread
 * waiting on itself would wait forever.
 *
 * Errors: every function returns 0 or a negative allot_err; each lists those
 * it can return. Across the store they mean:
 *   ALLOT_EINVAL     an argument the store cannot keep (an empty or too long
 *                    id, a value beyond the limits of allot/model.h), or a
 *                    write on a read transaction
 *   ALLOT_ENOTFOUND  the key is absent
 *   ALLOT_EEXIST     a put conflicts with what is stored
 *   ALLOT_EPRECOND   a put would break a limit of what is stored
 *   ALLOT_EFULL      the map could not grow (disk full, or map_size_max)
 *   ALLOT_EFORMAT    the data directory holds a newer or foreign format
 *   ALLOT_ECORRUPT   a stored record does not decode
 *   ALLOT_EIO        any other LMDB or system failure
 *   ALLOT_ENOMEM     memory (an arena, or the store's own) ran out
 * Functions that take a struct allot_status fill it (when not NULL) with a
 * message for a person on failure, and leave it alone on success.
 */
#ifndef ALLOT_STORE_H
#define ALLOT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/arena.h"
#include "allot/err.h"
#include "allot/model.h"

struct allot_store;
struct allot_txn;

struct allot_store_options {
    const char *path;    /* data directory; created (mode 0700) when absent,
                            its parent must exist */
    size_t map_size;     /* initial map size in bytes; 0 = 64 MiB. A map
                            that grew in an earlier run keeps its size. */
    size_t map_size_max; /* growth stops here; 0 = 1 TiB */
    bool no_sync;        /* tests only: skip fsync (MDB_NOSYNC) */
    bool must_exist;     /* refuse (ALLOT_ENOTFOUND) a directory without a
                            store instead of creating one (verify, backup) */
};

/* ------------------------------------------------------------- lifecycle */

/** Opens (creating when needed) the store at opt->path.
 *
 * A new data directory is stamped with the current schema version. An
 * existing one is accepted when its schema version is one this build reads,
 * and refused otherwise.
 *
 * @param[out] out  the store, or NULL on failure
 * @param[in]  opt  options; opt->path is required
 * @param[out] st   on failure, a message naming the directory
 * @return 0, or
 *   ALLOT_EINVAL   no path given
 *   ALLOT_EFORMAT  a newer schema version ("data directory ./var/allot has
 *                  schema version 7; this allotd understands up to 1"), an
 *                  LMDB environment that is not an allot store, or a file
 *                  that is not LMDB
 *   ALLOT_ECORRUPT a database of this schema version is missing
 *   ALLOT_EIO      the directory cannot be created, read or locked
 *   ALLOT_EFULL    no room to stamp a new store
 *   ALLOT_ENOMEM
 */
int allot_store_open(struct allot_store **out, const struct allot_store_options *opt,
                     struct allot_status *st);

/** Closes the store. No transaction may be open. NULL is a no-op. */
void allot_store_close(struct allot_store *s);

/** The current size of the map in bytes (it grows as the data does). */
size_t allot_store_map_size(struct allot_store *s);

/** The schema version of the open data directory. */
unsigned allot_store_schema_version(const struct allot_store *s);

/* ---------------------------------------------------------- transactions */

/** Begins a read snapshot. Cheap; never waits for writers (only, briefly,
 * for the map to grow). End it with allot_store_read_end; data copied out
 * stays valid (it lives in arenas).
 *
 * @param[out] out the transaction, or NULL on failure
 * @return 0, or ALLOT_EIO (for instance when LMDB's reader table is full),
 *   ALLOT_ENOMEM
 */
int allot_store_read_begin(struct allot_store *s, struct allot_txn **out);

/** Ends a read transaction. NULL is a no-op. */
void allot_store_read_end(struct allot_txn *t);

/** Runs fn inside one write transaction and commits it durably.
 *
 * When fn returns non-zero the transaction is aborted and that value
 * returned: nothing fn wrote remains. When the map fills up (during fn, in a
 * nested transaction, or at commit) the transaction is aborted, the map
 * doubled, and fn called again from scratch, whatever fn returned; so fn
 * must not keep side effects outside the transaction, or must reset them on
 * entry. st is cleared before each run; when fn fails without having filled
 * st (fn can reach it through arg), st gets allot_strerror of its code.
 *
 * @return 0, fn's non-zero result, or
 *   ALLOT_EFULL   the map is at map_size_max, or cannot be mapped larger, or
 *                 the disk is full
 *   ALLOT_EIO     LMDB failed to begin or commit
 */
int allot_store_write(struct allot_store *s, int (*fn)(struct allot_txn *t, void *arg), void *arg,
                      struct allot_status *st);

/** Runs fn in a transaction nested in the write transaction t (for group
 * commit: each request of a group in its own nested transaction, one durable
 * commit for all). When fn returns non-zero, what it wrote is discarded and t
 * goes on as before. When the map fills up, ALLOT_EFULL is returned and t is
 * marked so that allot_store_write grows the map and reruns its fn.
 *
 * @return 0, fn's non-zero result, or
 *   ALLOT_EINVAL  t is a read transaction
 *   ALLOT_EFULL   the map is full (the whole write will be rerun)
 *   ALLOT_EIO     LMDB failed to begin or commit the nested transaction
 */
int allot_store_nested(struct allot_txn *t, int (*fn)(struct allot_txn *t, void *arg), void *arg);

/** Writes a consistent, compacted copy of the store into directory dir
 * (created mode 0700 when missing; it must not already hold a data.mdb).
 * Safe while the store serves: the copy is one read snapshot, and writers go
 * on meanwhile. The copy is a complete data directory: start allotd on it
 * to restore.
 * @return 0, or ALLOT_EEXIST (dir already holds a store), ALLOT_EIO (with
 *   the reason in st)
 */
int allot_store_backup(struct allot_store *s, const char *dir, struct allot_status *st);

/* ---------------------------------------------------------------- catalog */

/** Creates or replaces the service with svc->code.
 *
 * @param[out] created  (may be NULL) true when the code was new
 * @return 0, or ALLOT_EINVAL (code empty or over ALLOT_ID_MAX bytes, name
 *   over ALLOT_NAME_MAX, price outside 0..ALLOT_MONEY_MAX, read transaction),
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_put_service(struct allot_txn *t, const struct allot_service *svc, bool *created,
                            struct allot_status *st);

/** The service with this code, copied into a.
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_get_service(struct allot_txn *t, const char *code, struct allot_arena *a,
                            struct allot_service *out);

/** Up to limit services with code > after ("" or NULL = from the start), in
 * code (byte) order, into a new array allocated from a (*out is never NULL
 * on success, even when *n is 0). *more is set when more follow; the next
 * page starts after the last code returned.
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM (then *n is 0)
 */
int allot_store_list_services(struct allot_txn *t, const char *after, size_t limit,
                              struct allot_arena *a, struct allot_service **out, size_t *n,
                              bool *more);

/* ------------------------------------------------------------------ plans */

/** Adds version v to plan plan_id, creating the plan.
 *
 * name replaces the plan's name when not "" (or NULL); a new plan given ""
 * is named "". A version with the same effective_from that is identical (the
 * same rules in the same order, field for field) is a success with
 * *created = false (the name is still applied); a different one is refused.
 * Versions are stored as given: callers resolve default thresholds first.
 *
 * @param[out] created  (may be NULL) true when the version was added
 * @return 0, or
 *   ALLOT_EEXIST    "plan p already has a version effective 2025-01-01 with
 *                   different rules"
 *   ALLOT_EPRECOND  the plan already has ALLOT_PLAN_VERSIONS_MAX versions
 *   ALLOT_EINVAL    plan_id empty or too long, name too long, effective_from
 *                   not a date, a rule beyond the limits of allot/model.h,
 *                   a read transaction
 *   ALLOT_ECORRUPT, ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_put_plan_version(struct allot_txn *t, const char *plan_id, const char *name,
                                 const struct allot_plan_version *v, bool *created,
                                 struct allot_status *st);

/** The plan with all its versions, ascending by effective_from, copied
 * into a.
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_get_plan(struct allot_txn *t, const char *plan_id, struct allot_arena *a,
                         struct allot_plan *out);

/** The version in force on d (the greatest effective_from <= d) into *out;
 * *out = NULL when d precedes every version. Reads that one version only
 * (one cursor seek and at most one step). Versions never change once
 * stored, so the store keeps each one it decodes and hands the same
 * read-only copy to every reader that reads the same record: *out stays
 * valid until the store is closed (a is used only if the store already
 * keeps as many versions as it will).
 * @return 0, or ALLOT_ENOTFOUND (no such plan; *out = NULL), ALLOT_ECORRUPT,
 *   ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_get_plan_version_at(struct allot_txn *t, const char *plan_id, allot_date d,
                                    struct allot_arena *a, const struct allot_plan_version **out);

/** 0 when the plan exists, ALLOT_ENOTFOUND when not; or ALLOT_EIO. */
int allot_store_plan_exists(struct allot_txn *t, const char *plan_id);

/** Up to limit plans with id > after ("" or NULL = from the start), each with
 * all its versions, like allot_store_list_services.
 * @return 0, or ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM (then *n is 0)
 */
int allot_store_list_plans(struct allot_txn *t, const char *after, size_t limit,
                           struct allot_arena *a, struct allot_plan **out, size_t *n, bool *more);

/* ---------------------------------------------------------------- members */

/** Creates or replaces member m as a whole. Enrollments are stored in
 * ascending start order whatever their order in m (m is not changed). Does
 * not check that plans exist (the caller validates in the same transaction).
 *
 * @param[out] created  (may be NULL) true when the id was new
 * @return 0, or ALLOT_EINVAL (id empty or too long, more than
 *   ALLOT_ENROLLMENTS_MAX enrollments, an enrollment ending before it starts
 *   or overlapping another, a date out of range, a read transaction),
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_put_member(struct allot_txn *t, const struct allot_member *m, bool *created,
                           struct allot_status *st);

/** The member with this id, copied into a.
 * @return 0, or ALLOT_ENOTFOUND, ALLOT_ECORRUPT, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_get_member(struct allot_txn *t, const char *member_id, struct allot_arena *a,
                           struct allot_member *out);

#endif
