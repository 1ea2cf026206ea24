/* audit.h - the audit trail as the server writes and reads it.
 *
 * One record per call of a method flagged METHOD_AUDIT (every write, and
 * the reads of one member's data) and per call refused with
 * PERMISSION_DENIED: who (the principal's id and role, never a
 * credential), what (the method, the ids its request named, the status
 * code, the peer address) and when (UTC). Records are allot.v1.AuditEntry
 * messages without their seq, which the store assigns (allot/audit.h).
 *
 * Where they are written (server.c):
 *   - a call the writer applies: in the group transaction, right after its
 *     nested transaction, so the record commits exactly when the write
 *     does (and records a rejected write's status too);
 *   - any other call (reads, and writes refused before the writer): queued
 *     in memory when answered; the writer appends the queue in its next
 *     group transaction, at the latest AUDIT_FLUSH_MS after the oldest
 *     record was queued, and at shutdown. A read never waits for a disk
 *     commit. If AUDIT_QUEUE_MAX records are waiting (the store cannot be
 *     written), audited reads are refused with UNAVAILABLE: no read goes
 *     unrecorded.
 */
#ifndef ALLOT_SERVER_AUDIT_H
#define ALLOT_SERVER_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "allot/audit.h"

#include "server.h"

#define AUDIT_FLUSH_MS 100
#define AUDIT_QUEUE_MAX 100000

/* The longest string field kept in a record (ids are at most 64; a peer
 * address is cut here). */
#define AUDIT_FIELD_MAX 128

/** Encodes the record of call c, answered with allot error code (0 for OK),
 * into buf (cap bytes, at least ALLOT_AUDIT_BYTES_MAX). The time is now.
 * @return the length, or 0 when it does not fit (cannot happen with
 *   ALLOT_AUDIT_BYTES_MAX: every field is bounded)
 */
size_t audit_encode(const struct call *c, int code, uint8_t *buf, size_t cap);

/** The request's "member_id" field (a top-level string field of that
 * name), or NULL when its message type has none. */
const char *audit_request_member(const ProtobufCMessage *req);

#endif
