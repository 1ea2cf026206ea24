/* reply.h - engine results -> allot.v1 replies and threshold events.
 *
 * Encoding only: every figure comes from the engine; nothing here decides a
 * price. Memory comes from the arena given.
 */
#ifndef ALLOT_SERVER_REPLY_H
#define ALLOT_SERVER_REPLY_H

#include "allot/engine.h"
#include "allot/ledger.h"

#include "allot/v1/allot.pb-c.h"

/* Builds a PriceInvoiceResponse line by line. */
struct reply_invoice {
    struct allot_arena *a;
    Allot__V1__PriceInvoiceResponse msg;
    size_t cap;
};

void reply_invoice_init(struct reply_invoice *ri, struct allot_arena *a, const char *invoice_id,
                        const char *member_id);
int reply_invoice_line(struct reply_invoice *ri, const struct allot_priced_line *pl, bool voided);
/* Fills the totals and encodes the response into arena bytes. */
int reply_invoice_pack(struct reply_invoice *ri, const uint8_t **out, size_t *n);

/* The stored answer of rec with its voided lines marked and the totals
 * recomputed without them (the bytes as stored when nothing is voided). */
int reply_invoice_replay(struct allot_arena *a, const struct allot_invoice_rec *rec,
                         const uint8_t **out, size_t *n);

/* A RuleUse for one matching rule of a line (or a usage record). */
Allot__V1__RuleUse *reply_rule_use(struct allot_arena *a, const struct allot_rule_use *u);

/* Appends one threshold event per threshold u crossed, with the seq the
 * ledger assigns. ids "" where they do not apply. */
int reply_threshold_events(struct allot_txn *t, struct allot_arena *a,
                           const struct allot_member *m, const struct allot_rule_use *u,
                           const char *invoice_id, const char *line_id, const char *usage_id);

/* "YYYY-MM-DD", or "" for ALLOT_DATE_NONE and for the open start of a
 * LIFETIME period. */
char *reply_period_start(struct allot_arena *a, const struct allot_rule *r, allot_date start);

/* The X12 271 EB06 time-period qualifier of a period kind ("" for none). */
const char *reply_x12_period(const struct allot_period *p);

#endif
