/* allot/audit.h - the audit trail: an append-only log of who did what.
 *
 * Part of the store (src/store/audit.c); the layout is in the essay at the
 * top of src/store/store.c ("Databases of schema version 3"). A record is
 * opaque bytes (allotd stores an encoded allot.v1.AuditEntry without its
 * seq) numbered 1, 2, 3, ... in commit order. Appending in the transaction
 * of a write makes the record exist exactly when the write committed.
 *
 * There is deliberately no function that changes or deletes a record, and
 * numbers are never reused: a gap in the numbers or a record that differs
 * from a copy taken earlier (a backup) shows that the data file itself was
 * tampered with, which only someone with the server's file permissions can
 * do.
 *
 * Memory and errors follow allot/store.h: lists copy into the caller's
 * arena; functions return 0 or a negative allot_err and list those they can
 * return.
 */
#ifndef ALLOT_AUDIT_H
#define ALLOT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "allot/arena.h"
#include "allot/err.h"
#include "allot/store.h"

/* Bytes in one audit record (an AuditEntry is a few hundred at most). */
#define ALLOT_AUDIT_BYTES_MAX 4096

/** Appends one record (1..ALLOT_AUDIT_BYTES_MAX bytes) under the next
 * number of the audit counter, which it hands out; *seq (may be NULL) gets
 * that number. A number is never handed out again once the transaction
 * that took it commits; one taken in a transaction that aborts may be.
 *
 * @return 0, or
 *   ALLOT_EINVAL    n is 0 or too large, bytes is NULL, or t is a read
 *                   transaction
 *   ALLOT_ECORRUPT  the counter is missing or malformed, or a record is
 *                   stored at or above the number it handed out
 *   ALLOT_EFULL, ALLOT_EIO, ALLOT_ENOMEM
 */
int allot_store_audit_append(struct allot_txn *t, const uint8_t *bytes, size_t n, uint64_t *seq);

struct allot_audit_rec {
    uint64_t seq;
    const uint8_t *bytes; /* in the caller's arena */
    size_t n;
};

/** Up to limit records with seq >= from_seq (0 and 1 both mean the first),
 * ascending, copied into a new array from a (*out is never NULL on success,
 * even when *n is 0). *more is set when records follow the last one
 * returned.
 *
 * @return 0, or ALLOT_ECORRUPT (a key or record of the wrong shape),
 *   ALLOT_EIO, ALLOT_ENOMEM (then *n is 0)
 */
int allot_store_audit_list(struct allot_txn *t, uint64_t from_seq, size_t limit,
                           struct allot_arena *a, struct allot_audit_rec **out, size_t *n,
                           bool *more);

#endif
