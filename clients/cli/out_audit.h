/* out_audit.h - audit trail entries as text and as JSON (allotctl audit).
 *
 * Text: one line per entry, in fixed-width columns so that pages printed
 * as they arrive (audit --follow) line up:
 *
 *   SEQ     TIME                  WHO                   RPC              STATUS             IDS
 *   12      2025-05-20T14:03:07Z  front-desk (billing)  PriceInvoice     OK                 ...
 *   ... member=m-1 invoice=inv-1 peer=ipv4:10.0.0.7:51234   (on the same line)
 *
 * TIME is UTC, to the second (the JSON keeps the server's microseconds).
 * IDS lists only the ids the request named, then the caller's address.
 * Bytes outside printable ASCII (and blanks) in what the server recorded
 * are shown as \xNN: a refused request's ids are whatever the caller
 * sent, and must not reach a terminal as control sequences.
 *
 * JSON: one object per entry, keys as the proto's, "" as null, the status
 * both as "code" (the number) and "status" (its name).
 */
#ifndef ALLOTCTL_OUT_AUDIT_H
#define ALLOTCTL_OUT_AUDIT_H

#include <stdio.h>

#include <jansson.h>

#include "allot/v1/allot.pb-c.h"

void out_audit_header(FILE *f);
void out_audit_entry(FILE *f, const Allot__V1__AuditEntry *e);
/* A new reference, NULL when memory is exhausted. */
json_t *out_json_audit_entry(const Allot__V1__AuditEntry *e);

#endif
