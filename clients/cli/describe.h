/* describe.h - short phrases for people, shared by tables and FHIR text. */
#ifndef ALLOTCTL_DESCRIBE_H
#define ALLOTCTL_DESCRIBE_H

#include <stddef.h>
#include <stdint.h>

#include "allot/v1/allot.pb-c.h"

#define DESCRIBE_MAX 128

/* "per member year", "per plan year from 07-01", "per 365 days (rolling)",
 * "per 36 months (rolling)", "lifetime". Returns buf. */
char *describe_period(const Allot__V1__Period *p, char buf[DESCRIBE_MAX]);
/* A value in a rule's unit: "2" for quantity rules, "$500.00" for amount
 * rules. Returns buf. */
char *describe_amount(Allot__V1__LimitKind limit, int64_t v, char buf[DESCRIBE_MAX]);
/* "1 of 2 left", "$350.00 of $500.00 left", "unlimited". Returns buf. */
char *describe_left(Allot__V1__LimitKind limit, int unlimited, int64_t remaining, int64_t allowance,
                    char buf[DESCRIBE_MAX]);

#endif
