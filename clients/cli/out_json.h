/* out_json.h - responses as JSON for scripts (--json).
 *
 * Stable keys, proto field names. Conventions:
 *   * money: NAME_cents (integer) and NAME (dollars string "150.00");
 *   * values in a rule's unit (allowance, used, remaining, drawn,
 *     member_cap, member_used, history amounts): an integer count of units
 *     for quantity rules; for amount rules a dollars string, with the cents
 *     under NAME_cents (as in the input files, so `plan get --json` output
 *     can be put back);
 *   * dates "YYYY-MM-DD", null when the proto has "" (no reset date);
 *   * enums as lowercase words ("member_year", "allotment_used_up"), with
 *     reason_text in words for people.
 * Each function returns a new reference (NULL when memory is exhausted).
 */
#ifndef ALLOTCTL_OUT_JSON_H
#define ALLOTCTL_OUT_JSON_H

#include <stdio.h>

#include <jansson.h>

#include "allot/v1/allot.pb-c.h"

json_t *out_json_service(const Allot__V1__Service *s);
json_t *out_json_services(Allot__V1__Service *const *s, size_t n);
json_t *out_json_plan(const Allot__V1__Plan *p);
json_t *out_json_plans(Allot__V1__Plan *const *p, size_t n);
json_t *out_json_member(const Allot__V1__Member *m);
json_t *out_json_priced(const Allot__V1__PriceInvoiceResponse *r, int preview);
json_t *out_json_void(const Allot__V1__VoidInvoiceResponse *r);
json_t *out_json_rule_use(const Allot__V1__RuleUse *u);
json_t *out_json_allotments(const Allot__V1__GetAllotmentsResponse *r);
json_t *out_json_event(const Allot__V1__ThresholdEvent *e);

/* Prints v (indented, keys in insertion order, or on one line when
 * compact) and a newline, then drops the reference. Returns 0, or -1 when
 * v is NULL or printing failed. */
int out_json_print(FILE *f, json_t *v, int compact);

#endif
