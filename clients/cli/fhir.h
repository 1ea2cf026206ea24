/* fhir.h - allotments as a FHIR R4 CoverageEligibilityResponse.
 *
 * One insurance entry (the plan in force) with one item per rule:
 *   item.productOrService  the rule's service codes (system
 *                          FHIR_SERVICE_SYSTEM); R4's ces-1 allows a
 *                          category or a productOrService, not both, so the
 *                          rule key goes in item.name
 *   item.unit              benefit-unit individual, or family for
 *                          household pools
 *   item.term              benefit-term annual / day / lifetime where the
 *                          period maps to one, else text ("per 3 months")
 *   item.benefit[0]        type benefit-type "benefit"; allowed and used as
 *                          UnsignedInt (quantity), Money USD (amount) or
 *                          allowedString "unlimited"
 * FHIR R4 has no benefitPeriod on an item: each item carries its period
 * in the FHIR_PERIOD_EXT extension (valuePeriod), and
 * insurance.benefitPeriod is set when every rule shares one fixed period.
 * A FHIR Period's end is inclusive, so end is the day BEFORE the reset
 * date (member year 2025-03-15 .. 2026-03-14, resetting 2026-03-15); the
 * reset date itself is in item.description ("...; resets 2026-03-15").
 * Rolling windows have no fixed end: their valuePeriod has only the
 * window's start, and the description says when more becomes available.
 */
#ifndef ALLOTCTL_FHIR_H
#define ALLOTCTL_FHIR_H

#include <jansson.h>

#include "allot/v1/allot.pb-c.h"

#define FHIR_SERVICE_SYSTEM "urn:allot:service-code"
#define FHIR_PLAN_SYSTEM "urn:allot:plan"
#define FHIR_PERIOD_EXT "urn:allot:fhir:StructureDefinition:benefit-period"

/* The resource for r, created at `created` (a FHIR dateTime such as
 * "2025-09-02T10:00:00+02:00"). New reference, NULL when out of memory. */
json_t *fhir_eligibility_response(const Allot__V1__GetAllotmentsResponse *r, const char *created);

/* Flags for json_dumpf that print Money values exactly (15 significant
 * digits: every amount allotctl accepts). */
#define FHIR_JSON_FLAGS (JSON_INDENT(2) | JSON_REAL_PRECISION(15))

#endif
