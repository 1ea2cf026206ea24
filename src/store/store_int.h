/* store_int.h - what the store's source files share (internal).
 *
 * struct allot_store and struct allot_txn, the list of databases, and the
 * helpers that turn LMDB results into allot errors. Only src/store includes
 * this file (and the store's unit tests).
 */
#ifndef ALLOT_STORE_INT_H
#define ALLOT_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdbool.h>

#include "allot/store.h"
#include "codec.h"

/* The databases, in the order they are opened: those of schema version 1,
 * then those each later version added (store.c, "Databases"). */
enum allot__db {
    ALLOT__DB_META,
    ALLOT__DB_SERVICES,
    ALLOT__DB_PLANS,
    ALLOT__DB_MEMBERS,
    /* schema version 2: the ledger and what hangs off it */
    ALLOT__DB_LEDGER,
    ALLOT__DB_HISTORY,
    ALLOT__DB_USAGE_DAYS,
    ALLOT__DB_INVOICES,
    ALLOT__DB_USAGE,
    ALLOT__DB_EVENTS,
    /* schema version 3: the audit trail (audit.c) */
    ALLOT__DB_AUDIT,
    ALLOT__DB_COUNT
};

/* META keys of the sequence counters (stored with their NUL); each value is
 * the next number to hand out, u64 little-endian. */
#define ALLOT__META_ENTRY_SEQ "entry_seq"
#define ALLOT__META_EVENT_SEQ "event_seq"
#define ALLOT__META_AUDIT_SEQ "audit_seq"

/* Room for the databases later schema versions add (see the essay). */
#define ALLOT__MAXDBS 32

/* Keeps mdb_env_set_mapsize away from open transactions (see "Durability,
 * concurrency, growing the map" in store.c). Not a pthread rwlock: a read transaction may end on
 * another thread than the one that began it (MDB_NOTLS), and unlocking a
 * rwlock from a thread that does not hold it is undefined. */
struct allot__gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned active;  /* open transactions */
    unsigned waiting; /* resizers waiting for active to drain */
    bool resizing;
};

#define ALLOT__READS_IDLE_MAX 8

struct allot_store {
    MDB_env *env;
    MDB_dbi dbi[ALLOT__DB_COUNT];
    char *path;
    unsigned schema_version; /* as found on disk (after any upgrade) */
    size_t map_size;         /* current; changes only while the gate is closed */
    size_t map_size_max;
    size_t page_size;
    bool dead; /* a failed resize left no usable map */
    struct allot__gate gate;
    /* One writer at a time; guards everything below. */
    pthread_mutex_t write_mu;
    struct allot__buf wbuf;    /* encodings of the record being written */
    struct allot__buf wbuf2;   /* a second one, for comparisons */
    struct allot_arena warena; /* scratch for decode checks of written records */
    /* Decoded plan versions, shared by every thread (versions.c). */
    struct allot__versions *versions;
    /* Ended read transactions, reset with their cursors, for the next
     * allot_store_read_begin to renew (no malloc, no cursor opens). */
    pthread_mutex_t idle_mu;
    struct allot_txn *idle[ALLOT__READS_IDLE_MAX];
    unsigned nidle;
};

struct allot_txn {
    struct allot_store *s;
    MDB_txn *txn;
    MDB_cursor *cur[ALLOT__DB_COUNT]; /* opened on first use */
    unsigned cur_live;                /* bit db: cur[db] belongs to this txn */
    bool write;
    bool map_full; /* an operation hit MDB_MAP_FULL: grow and rerun */
    /* allot_ledger_source: the arena plan versions are decoded into. */
    struct allot_arena *src_arena;
};

/* A cursor on database db, opened on first use and closed with the
 * transaction. 0 or an allot error. */
int allot__cursor(struct allot_txn *t, enum allot__db db, MDB_cursor **out);

/* Maps an LMDB (or errno) result to an allot error and, when st is not NULL,
 * writes "<what>: <reason>" to it. MDB_MAP_FULL also marks t so that
 * allot_store_write grows the map and reruns. */
int allot__mdb_err(struct allot_txn *t, int mrc, struct allot_status *st, const char *what);

/* ALLOT_EINVAL unless t is a write transaction. */
int allot__need_write(struct allot_txn *t, struct allot_status *st, const char *what);

/* Checks that id (a service code, plan id or member id) can be a key:
 * 1..ALLOT_ID_MAX bytes. what names it in the message. */
int allot__check_id(const char *id, const char *what, struct allot_status *st);

/* The writer's scratch arena, reset: writers decode what they encoded into it
 * before storing it, so that nothing the decoders refuse is ever written. */
struct allot_arena *allot__scratch_arena(struct allot_txn *t);

/* Positions c on the first key whose leading string is greater than after
 * ("" = the first key). Returns an LMDB result (MDB_NOTFOUND past the end). */
int allot__seek_after(MDB_cursor *c, const char *after, MDB_val *k, MDB_val *v);

/* A record the store just encoded failed its decode check (rc, message in
 * st): report it as ALLOT_EINVAL "<what> cannot be stored: <reason>". Other
 * codes pass through. */
int allot__refused(int rc, struct allot_status *st, const char *what);

/* Reads META counter name (ALLOT__META_*) into *next: the next number to
 * hand out. A missing or malformed counter is ALLOT_ECORRUPT. */
int allot__meta_seq_get(struct allot_txn *t, const char *name, uint64_t *next);
/* Writes META counter name. */
int allot__meta_seq_put(struct allot_txn *t, const char *name, uint64_t next);

/* Keys of the ledger's databases (layouts: store.c, "Databases of schema
 * version 2"). ALLOT_EINVAL when an id is too long to be a key. */
int allot__ledger_seq_key(struct allot__key *k, uint64_t seq);
/* u8 kind | pool id 00 | rule key 00 | member 00 ("" = the pool's row); the
 * caller appends the date. */
int allot__ledger_day_prefix(struct allot__key *k, enum allot_pool_kind kind, const char *pool_id,
                             const char *rule_key, const char *member);
int allot__ledger_history_key(struct allot__key *k, const char *member_id, const char *rule_key,
                              allot_date date, uint64_t seq);

static inline MDB_val allot__val(const void *p, size_t n)
{
    MDB_val v;
    v.mv_data = (void *)p;
    v.mv_size = n;
    return v;
}

#endif
