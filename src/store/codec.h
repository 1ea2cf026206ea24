/* codec.h - keys and records of the store's on-disk format (internal).
 *
 * The byte layouts are described in the essay at the top of store.c; this
 * header is the code side of it. Nothing here touches LMDB: keys and records
 * are plain byte strings, so the decoders can be fed arbitrary bytes by the
 * unit tests.
 *
 * Decoders read exactly n bytes at p and never past them. Any record that is
 * truncated, has bytes left over, carries an unknown record-format byte, or
 * holds a value outside the limits of allot/model.h is ALLOT_ECORRUPT; an
 * arena allocation failure is ALLOT_ENOMEM. On failure *out is unspecified
 * and whatever was allocated stays in the arena (it is freed with it). When
 * st is not NULL a failure also leaves there a message naming the field
 * ("rules[2].period.count: 0 is out of range").
 * Strings are copied into the arena and NUL-terminated; a record string that
 * contains a NUL byte is corrupt.
 */
#ifndef ALLOT_STORE_CODEC_H
#define ALLOT_STORE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "allot/arena.h"
#include "allot/err.h"
#include "allot/ledger.h"
#include "allot/model.h"

/* The record-format byte every record of schema version 1 starts with. */
#define ALLOT__RECORD_V1 0x01

/* Longest key the store builds (LMDB's own limit is 511). The longest are
 * those of usage_days, 1 + 3 * (ALLOT_ID_MAX + 1) + 4 = 200 bytes. */
#define ALLOT__KEY_MAX 256

/* ------------------------------------------------------------------ keys */

struct allot__key {
    size_t n;
    unsigned char b[ALLOT__KEY_MAX];
};

static inline void allot__key_init(struct allot__key *k)
{
    k->n = 0;
}
/* Appends s and its terminating 0 byte. ALLOT_EINVAL when s is longer than
 * ALLOT_ID_MAX bytes (the key is then unchanged). */
int allot__key_str(struct allot__key *k, const char *s);
/* Appends d as 4 big-endian bytes with the sign bit flipped, so that keys
 * sort by date, dates before 1970 included. */
void allot__key_date(struct allot__key *k, allot_date d);
/* Appends v as 8 big-endian bytes. */
void allot__key_u64(struct allot__key *k, uint64_t v);
/* The date stored by allot__key_date at p (4 bytes). */
allot_date allot__key_get_date(const unsigned char *p);

/* The value stored by allot__key_u64 at p (8 bytes). */
uint64_t allot__key_get_u64(const unsigned char *p);

/* The length of the leading string component of the n-byte key at p (the
 * bytes before its 0 terminator), or -1 when the key holds no 0 byte. */
long allot__key_str_len(const unsigned char *p, size_t n);

/* --------------------------------------------------------------- buffers */

/* A growable byte buffer that records, rather than returns, running out of
 * memory: encoders append freely and check err once at the end. */
struct allot__buf {
    unsigned char *p;
    size_t len;
    size_t cap;
    int err; /* 0 or ALLOT_ENOMEM */
};

void allot__buf_init(struct allot__buf *b);
/* Empties b (keeps its memory) and clears err. */
void allot__buf_clear(struct allot__buf *b);
void allot__buf_release(struct allot__buf *b);

/* --------------------------------------------------------------- records */

/* Each encoder appends one record to b (which it does not clear first) and
 * returns 0 or ALLOT_ENOMEM. Encoders do not check limits: the store decodes
 * what it encoded before writing it, so a value the decoder would refuse is
 * never stored. Key fields (codes, ids, effective_from) are not repeated in
 * the record; decoders take them from the key. */
int allot__service_encode(struct allot__buf *b, const struct allot_service *svc);
int allot__service_decode(const void *p, size_t n, const char *code, size_t code_len,
                          struct allot_arena *a, struct allot_service *out,
                          struct allot_status *st);

/* The plan header: the plan's name and how many versions it has. */
int allot__plan_head_encode(struct allot__buf *b, const char *name, uint32_t nversions);
int allot__plan_head_decode(const void *p, size_t n, struct allot_arena *a, const char **name,
                            uint32_t *nversions, struct allot_status *st);

int allot__plan_version_encode(struct allot__buf *b, const struct allot_plan_version *v);
int allot__plan_version_decode(const void *p, size_t n, allot_date effective_from,
                               struct allot_arena *a, struct allot_plan_version *out,
                               struct allot_status *st);

/* Writes the enrollments in ascending start order (stable), whatever their
 * order in m. */
int allot__member_encode(struct allot__buf *b, const struct allot_member *m);
int allot__member_decode(const void *p, size_t n, const char *id, size_t id_len,
                         struct allot_arena *a, struct allot_member *out, struct allot_status *st);

/* The ledger's records (schema version 2). Entries take their seq from the
 * key; invoices and usage records their id. A MEMBER pool's entry stores no
 * member id (it is the pool id). */
int allot__entry_encode(struct allot__buf *b, const struct allot_entry *e);
int allot__entry_decode(const void *p, size_t n, uint64_t seq, struct allot_arena *a,
                        struct allot_entry *out, struct allot_status *st);

int allot__invoice_encode(struct allot__buf *b, const struct allot_invoice_rec *r);
int allot__invoice_decode(const void *p, size_t n, const char *id, size_t id_len,
                          struct allot_arena *a, struct allot_invoice_rec *out,
                          struct allot_status *st);

int allot__usage_encode(struct allot__buf *b, const struct allot_usage_rec *r);
int allot__usage_decode(const void *p, size_t n, const char *id, size_t id_len,
                        struct allot_arena *a, struct allot_usage_rec *out,
                        struct allot_status *st);

/* An event record is the format byte and the caller's bytes. decode points
 * *bytes into p (nothing is copied). */
int allot__event_encode(struct allot__buf *b, const uint8_t *bytes, size_t n);
int allot__event_decode(const void *p, size_t n, const uint8_t **bytes, size_t *len,
                        struct allot_status *st);

/* Day totals (usage_days values): int64 little-endian, 8 bytes. */
static inline void allot__i64_put(unsigned char b[8], int64_t v)
{
    uint64_t u = (uint64_t)v;
    int i;
    for (i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
}

static inline int64_t allot__i64_get(const unsigned char *p)
{
    uint64_t u = 0;
    int i;
    for (i = 7; i >= 0; i--)
        u = u << 8 | p[i];
    return (int64_t)u;
}

#endif
