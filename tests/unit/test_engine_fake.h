/* test_engine_fake.h - an in-memory struct allot_source and rule builders
 * for the engine tests. Not a model of the store's performance: every query
 * scans the whole table. */
#ifndef TEST_ENGINE_FAKE_H
#define TEST_ENGINE_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "allot/engine.h"

struct fake_entry {
    enum allot_pool_kind kind;
    char pool[ALLOT_ID_MAX + 1];
    char key[ALLOT_ID_MAX + 1];
    char member[ALLOT_ID_MAX + 1];
    allot_date day;
    int64_t amount;
};

struct fake {
    struct fake_entry *e;
    size_t n, cap;
    const struct allot_plan *plans;
    size_t nplans;
    int fail; /* when not 0, sum and each_day return it */
    size_t sum_calls, each_day_calls;
};

void fake_init(struct fake *f, const struct allot_plan *plans, size_t nplans);
void fake_release(struct fake *f);
/* The source reading f. */
struct allot_source fake_source(struct fake *f);
/* One usage entry (prior usage, another member's visit...). */
void fake_add(struct fake *f, enum allot_pool_kind kind, const char *pool, const char *key,
              const char *member, allot_date day, int64_t amount);
/* Records every draw of n priced lines for member m, as the store would. */
void fake_record(struct fake *f, const struct allot_member *m, const struct allot_priced_line *out,
                 size_t n);

/* A date from "YYYY-MM-DD" (fails the test when malformed). */
allot_date D(const char *s);
/* A formatted date in one of 8 rotating static buffers. */
const char *F(allot_date d);

/* A quantity rule: MEMBER pool, patient pays, default thresholds. codes is a
 * NULL-terminated list. */
struct allot_rule rule_qty(const char *key, const char **codes, int64_t allowance,
                           enum allot_period_kind kind);
/* An amount rule (allowance in cents), otherwise like rule_qty. */
struct allot_rule rule_amt(const char *key, const char **codes, int64_t allowance,
                           enum allot_period_kind kind);

/* ------------------------------------------------------------ worlds */

#define WORLD_PLANS 4
#define WORLD_VERSIONS 8
#define WORLD_LINES 64

/* Plans, an arena and a fake source: everything a pricing test needs. */
struct world {
    struct fake f;
    struct allot_source src;
    struct allot_arena a;
    struct allot_plan plans[WORLD_PLANS];
    size_t nplans;
    struct allot_plan_version versions[WORLD_VERSIONS];
    size_t nversions;
    struct allot_line lines[WORLD_LINES]; /* ring, for price1 */
    size_t nlines;
    struct allot_status st;
};

void world_init(struct world *w);
void world_release(struct world *w);
/* Adds plan id with one version from `eff` holding rules[0..n). Rules are
 * borrowed. */
void world_plan(struct world *w, const char *id, const char *eff, struct allot_rule *rules,
                uint32_t n);
/* Adds a later version to the plan added last. */
void world_version(struct world *w, const char *eff, struct allot_rule *rules, uint32_t n);

/* A member with one open enrollment in plan from start; anniv may be NULL
 * (then the enrollment start is used). */
void member_init(struct allot_member *m, struct allot_enrollment *en, const char *id,
                 const char *plan, const char *start, const char *anniv);

struct allot_line mkline(const char *code, const char *date, int64_t q, int64_t price);

/* Prices lines as one invoice, expects success, records the draws. */
void price_rec(struct world *w, const struct allot_member *m, const struct allot_line *lines,
               size_t n, struct allot_priced_line *out);
/* One line priced as its own invoice and recorded. */
struct allot_priced_line price1(struct world *w, const struct allot_member *m, const char *code,
                                const char *date, int64_t q, int64_t price);
/* The same without recording (a preview). */
struct allot_priced_line preview1(struct world *w, const struct allot_member *m, const char *code,
                                  const char *date, int64_t q, int64_t price);
/* The binding use of a priced line (fails the test when none). */
const struct allot_rule_use *binding(const struct allot_priced_line *pl);
/* allot_rule_status, expecting success. */
struct allot_rule_status status(struct world *w, const struct allot_member *m,
                                const struct allot_rule *r, const char *date);

#endif
