/* dataset.h - the synthetic practice the benchmarks run against.
 *
 * Shared by the data generator (allot-gen), which writes it, and the load
 * generator (allot-load), which sends requests that make sense for it. Both
 * derive everything from a member's index with a hash, so no list of members
 * ever has to be kept or exchanged: "member 4711 of 100000" means the same
 * plan, household and history to both programs.
 *
 * The practice: nine services (office and home visits, labs, massage, two
 * physical-therapy codes, hearing-aid fittings, telehealth) and three plans
 * whose rules cover the kinds the engine knows (see dataset.c):
 *   family      4-member households: unlimited office visits, 2 home visits
 *               per MEMBER_YEAR, $500 of labs per CALENDAR_YEAR, 12 massages
 *               per ROLLING_DAYS(365), a household PT pool of 20 with a
 *               per-member cap of 10 and a 97112 sub-limit, 1 hearing-aid
 *               fitting per ROLLING_MONTHS(36). Two plan versions.
 *   individual  no household, smaller allotments, no hearing-aid rule.
 *   employer    sponsored 2-member households on a July PLAN_YEAR; overage
 *               paid by the sponsor; massage at a member price (allowance 0).
 *
 * Dates are fixed, not "today", so runs are comparable: history lies in the
 * year before DATASET_TODAY, and benchmark lines in its last 30 days.
 */
#ifndef BENCH_DATASET_H
#define BENCH_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "allot/model.h"

#define DATASET_TODAY_STR "2026-11-01"
#define DATASET_HISTORY_DAYS 365 /* history dated [today - 365, today - 1] */
#define DATASET_RECENT_DAYS 30   /* bench lines dated [today - 29, today] */

/* Bytes for any id the dataset makes, NUL included. */
#define DATASET_ID_LEN 24

struct dataset_service {
    const char *code;
    const char *name;
    int64_t price;   /* cents */
    unsigned weight; /* how often it appears on invoices, out of 100 */
};

extern const struct dataset_service dataset_services[];
extern const size_t dataset_nservices;

enum dataset_plan {
    DATASET_FAMILY,
    DATASET_INDIVIDUAL,
    DATASET_EMPLOYER,
};

/* Who member i is; everything follows from i alone. */
struct dataset_member {
    char id[DATASET_ID_LEN];
    char household[DATASET_ID_LEN]; /* "" for none */
    char sponsor[DATASET_ID_LEN];   /* "" for none */
    enum dataset_plan plan;
    allot_date start;      /* start of the current enrollment */
    allot_date prev_start; /* an earlier enrollment in "individual" that ended
                              the day before start, or ALLOT_DATE_NONE */
};

/* A 64-bit mix of x (splitmix64's finaliser): the dataset's only randomness. */
uint64_t dataset_hash(uint64_t x);

/* DATASET_TODAY_STR as a day number. */
allot_date dataset_today(void);

/* "m00004711": the id of member i. Writes DATASET_ID_LEN bytes at most. */
void dataset_member_id(uint32_t i, char out[DATASET_ID_LEN]);

/* Fills *m for member i. */
void dataset_member(uint32_t i, struct dataset_member *m);

/* A service drawn by weight from r (any 64-bit value). */
const struct dataset_service *dataset_pick_service(uint64_t r);

/* The three plans, indexed by enum dataset_plan, every version with its
 * thresholds resolved: ready for allot_store_put_plan_version and
 * allot_plan_version_at. Static data, built on the first call (not
 * thread-safe); *n gets 3. */
const struct allot_plan *dataset_plans(size_t *n);

#endif
