/* allot/validate.h - what may be stored, and why not.
 *
 * Each check returns 0 or ALLOT_EINVAL and fills st with a message that
 * names the offending field by its path in the API request, using the proto
 * field names, e.g. "version.rules[1].period.month: must be 1-12, got 13".
 * `prefix` is the path of the object checked ("service", "version",
 * "member"). Checks are pure: cross-object facts (does the plan exist?) are
 * the caller's, inside the transaction that writes.
 */
#ifndef ALLOT_VALIDATE_H
#define ALLOT_VALIDATE_H

#include "allot/err.h"
#include "allot/model.h"

/* An id, code or rule key: 1-ALLOT_ID_MAX bytes of printable ASCII, no
 * spaces. */
int allot_check_id(const char *s, const char *field, struct allot_status *st);
/* Like allot_check_id, but "" is allowed (optional ids). */
int allot_check_opt_id(const char *s, const char *field, struct allot_status *st);
/* A name or note: at most ALLOT_NAME_MAX bytes of valid UTF-8 with no
 * control characters. "" is allowed. */
int allot_check_name(const char *s, const char *field, struct allot_status *st);

/* code, name, 0 <= cash_price <= ALLOT_MONEY_MAX. */
int allot_service_check(const struct allot_service *s, const char *prefix,
                        struct allot_status *st);

/* One rule:
 *   key: an id; service_codes: 1-64 distinct ids; limit: QUANTITY or AMOUNT;
 *   unlimited => allowance 0; otherwise allowance > 0, or 0 with an overage
 *   price (a member-price rule); allowance and caps within the unit's limit;
 *   period: a known kind with exactly its parameters (PLAN_YEAR month 1-12,
 *   day valid for the month in a leap year; ROLLING_* count in range);
 *   HOUSEHOLD pools may not use MEMBER_YEAR or MEMBER_MONTH;
 *   member_cap only on HOUSEHOLD pools, >= 0; overage_price only on QUANTITY
 *   rules, within money limits; payer known; thresholds 1-1000 strictly
 *   ascending, at most ALLOT_THRESHOLDS_MAX. */
int allot_rule_check(const struct allot_rule *r, const char *prefix, struct allot_status *st);

/* effective_from is a date; at most ALLOT_VERSION_RULES_MAX rules, each
 * valid, with distinct keys. */
int allot_plan_version_check(const struct allot_plan_version *v, const char *prefix,
                             struct allot_status *st);

/* id; at most ALLOT_ENROLLMENTS_MAX enrollments, each with a plan id,
 * start <= end, none overlapping another (in any order); optional ids for
 * household and sponsor. Enrollments need not be sorted: allot_member_sort
 * sorts them by start. */
int allot_member_check(const struct allot_member *m, const char *prefix,
                       struct allot_status *st);
/* Sorts m's enrollments by start (stable for equal starts). */
void allot_member_sort(struct allot_member *m);

#endif
