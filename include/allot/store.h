/* allot/store.h - durable catalog, plans and members in LMDB.
 *
 * The store is the only code that includes lmdb.h. Its on-disk format is
 * described at the top of src/store/store.c. Every getter copies out of LMDB
 * into caller-owned memory (an arena): LMDB memory dies with its transaction.
 *
 * Concurrency: any number of read transactions run at once, on snapshots, and
 * never wait for a writer. Writes go through allot_store_write, one at a time
 * (LMDB has one writer); it commits durably (fsync) before returning.
 *
 * Errors: every function returns 0 or a negative allot_err:
 *   ALLOT_ENOTFOUND  the key is absent
 *   ALLOT_EEXIST     a put conflicts with what is stored
 *   ALLOT_EFULL      the map could not grow (disk full, or max map size reached)
 *   ALLOT_EFORMAT    the data directory holds a newer or foreign format
 *   ALLOT_ECORRUPT   a stored record does not decode
 *   ALLOT_EIO        any other LMDB / system failure
 *   ALLOT_ENOMEM     an arena allocation failed
 * and fills st (when not NULL) with a message for a person.
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
    const char *path;        /* data directory; created (mode 0700) when absent */
    size_t map_size;         /* initial map size in bytes; 0 = 64 MiB */
    size_t map_size_max;     /* growth stops here; 0 = 1 TiB */
    bool no_sync;            /* tests only: skip fsync (MDB_NOSYNC) */
};

/* Opens (creating when needed) the store at opt->path. Refuses a data
 * directory whose schema version is newer than this build with ALLOT_EFORMAT
 * and a message naming both versions. */
int allot_store_open(struct allot_store **out, const struct allot_store_options *opt,
                     struct allot_status *st);
/* Closes the store. No transaction may be open. NULL is a no-op. */
void allot_store_close(struct allot_store *s);

/* Read snapshot. Cheap; never blocks on writers. End it with
 * allot_store_read_end; data copied out stays valid (it lives in arenas). */
int allot_store_read_begin(struct allot_store *s, struct allot_txn **out);
void allot_store_read_end(struct allot_txn *t);

/* Runs fn inside one write transaction and commits it durably. When fn
 * returns non-zero the transaction is aborted and that value returned:
 * nothing fn wrote remains. When the map is full the transaction is aborted,
 * the map grown, and fn called again from scratch (so fn must not keep
 * side effects outside the transaction, or must reset them on entry). */
int allot_store_write(struct allot_store *s, int (*fn)(struct allot_txn *t, void *arg), void *arg,
                      struct allot_status *st);

/* ---------------------------------------------------------------- catalog */

/* Creates or replaces the service with svc->code. *created tells which. */
int allot_store_put_service(struct allot_txn *t, const struct allot_service *svc, bool *created,
                            struct allot_status *st);
int allot_store_get_service(struct allot_txn *t, const char *code, struct allot_arena *a,
                            struct allot_service *out);
/* Up to limit services with code > after ("" = from the start), in code
 * order, into a new array allocated from a. *more is set when more follow. */
int allot_store_list_services(struct allot_txn *t, const char *after, size_t limit,
                              struct allot_arena *a, struct allot_service **out, size_t *n,
                              bool *more);

/* ------------------------------------------------------------------ plans */

/* Adds version v to plan plan_id (creating the plan). name replaces the
 * plan's name when not "". A version with the same effective_from that is
 * identical is a success with *created = false; a different one is
 * ALLOT_EEXIST. */
int allot_store_put_plan_version(struct allot_txn *t, const char *plan_id, const char *name,
                                 const struct allot_plan_version *v, bool *created,
                                 struct allot_status *st);
/* The plan with all its versions, ascending. ALLOT_ENOTFOUND when absent. */
int allot_store_get_plan(struct allot_txn *t, const char *plan_id, struct allot_arena *a,
                         struct allot_plan *out);
/* The version in force on d into *out (NULL when d precedes every version).
 * ALLOT_ENOTFOUND when the plan does not exist. Reads one version only. */
int allot_store_get_plan_version_at(struct allot_txn *t, const char *plan_id, allot_date d,
                                    struct allot_arena *a,
                                    const struct allot_plan_version **out);
/* 0 when the plan exists, ALLOT_ENOTFOUND otherwise. */
int allot_store_plan_exists(struct allot_txn *t, const char *plan_id);
/* Up to limit plans with id > after, each with all versions. */
int allot_store_list_plans(struct allot_txn *t, const char *after, size_t limit,
                           struct allot_arena *a, struct allot_plan **out, size_t *n, bool *more);

/* ---------------------------------------------------------------- members */

/* Creates or replaces member m as a whole. Does not check that plans exist
 * (the caller validates in the same transaction). */
int allot_store_put_member(struct allot_txn *t, const struct allot_member *m, bool *created,
                           struct allot_status *st);
int allot_store_get_member(struct allot_txn *t, const char *member_id, struct allot_arena *a,
                           struct allot_member *out);

#endif
