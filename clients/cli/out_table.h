/* out_table.h - responses as text for people (the default output).
 *
 * Money in dollars ("$150.00"), reasons in words ("allotment used up"),
 * what is left as "1 of 2 left", and reset dates. Scripts should use
 * --json (out_json.h): this layout may change.
 */
#ifndef ALLOTCTL_OUT_TABLE_H
#define ALLOTCTL_OUT_TABLE_H

#include <stdio.h>

#include "allot/v1/allot.pb-c.h"

void out_table_services(FILE *f, Allot__V1__Service *const *s, size_t n);
void out_table_service_put(FILE *f, const Allot__V1__PutServiceResponse *r);
void out_table_plan(FILE *f, const Allot__V1__Plan *p);
void out_table_plans(FILE *f, Allot__V1__Plan *const *p, size_t n);
void out_table_plan_put(FILE *f, const Allot__V1__PutPlanResponse *r, const char *effective_from);
void out_table_member(FILE *f, const Allot__V1__Member *m);
void out_table_member_put(FILE *f, const Allot__V1__PutMemberResponse *r);
/* preview: say that nothing was recorded. */
void out_table_priced(FILE *f, const Allot__V1__PriceInvoiceResponse *r, int preview);
void out_table_void(FILE *f, const Allot__V1__VoidInvoiceResponse *r, const char *line_id);
void out_table_usage_recorded(FILE *f, const Allot__V1__RecordUsageResponse *r);
void out_table_usage_voided(FILE *f, const Allot__V1__VoidUsageResponse *r);
void out_table_allotments(FILE *f, const Allot__V1__GetAllotmentsResponse *r);
void out_table_event(FILE *f, const Allot__V1__ThresholdEvent *e);

#endif
