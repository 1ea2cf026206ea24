/* allot/model.h - the domain objects: services, plans, rules, members.
 *
 * These are plain structs shared by the engine (which decides), the store
 * (which keeps them) and the server (which translates them to and from the
 * wire). They know nothing of protobuf or LMDB.
 *
 * Ownership: strings and arrays inside these structs point into a
 * struct allot_arena owned by whoever decoded or built the object; they live
 * until that arena is reset or released. Strings are NUL-terminated; an
 * absent optional string is "" (never NULL). Enum values equal the numbers of
 * the matching proto enums in proto/allot/v1/allot.proto.
 *
 * Limits below are checked by validation (allot_*_check in validate.h) before
 * anything is stored, so code that reads stored objects may rely on them.
 */
#ifndef ALLOT_MODEL_H
#define ALLOT_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "allot/date.h"

#define ALLOT_ID_MAX 64              /* bytes in an id, code or rule key */
#define ALLOT_NAME_MAX 200           /* bytes in a name or note */
#define ALLOT_RULE_CODES_MAX 64      /* service codes per rule */
#define ALLOT_VERSION_RULES_MAX 64   /* rules per plan version */
#define ALLOT_THRESHOLDS_MAX 16      /* threshold percents per rule */
#define ALLOT_THRESHOLD_PCT_MAX 1000 /* a threshold may exceed 100% */
#define ALLOT_ENROLLMENTS_MAX 64     /* enrollments per member */
#define ALLOT_PLAN_VERSIONS_MAX 1000 /* versions per plan */
#define ALLOT_INVOICE_LINES_MAX 200  /* lines per invoice */
#define ALLOT_QUANTITY_MAX 1000000   /* units in one line */
/* Prices, allowances and caps are at most $100M (in cents), so quantity x
 * price and any sum over an invoice fit comfortably in int64. */
#define ALLOT_MONEY_MAX INT64_C(10000000000)
/* Quantity allowances and caps: at most this many units. */
#define ALLOT_UNITS_MAX INT64_C(1000000000)
#define ALLOT_ROLLING_DAYS_MAX 36600
#define ALLOT_ROLLING_MONTHS_MAX 1200

/* A billable item with its cash fee-for-service price. */
struct allot_service {
    const char *code;
    const char *name;
    int64_t cash_price; /* cents, >= 0 */
};

enum allot_period_kind {
    ALLOT_PERIOD_CALENDAR_YEAR = 1,
    ALLOT_PERIOD_MEMBER_YEAR = 2,
    ALLOT_PERIOD_PLAN_YEAR = 3,
    ALLOT_PERIOD_CALENDAR_MONTH = 4,
    ALLOT_PERIOD_MEMBER_MONTH = 5,
    ALLOT_PERIOD_CALENDAR_QUARTER = 6,
    ALLOT_PERIOD_ROLLING_DAYS = 7,
    ALLOT_PERIOD_ROLLING_MONTHS = 8,
    ALLOT_PERIOD_LIFETIME = 9,
};

struct allot_period {
    enum allot_period_kind kind;
    int month; /* PLAN_YEAR anchor month 1-12, else 0 */
    int day;   /* PLAN_YEAR anchor day 1-31, else 0 */
    int count; /* ROLLING_DAYS days / ROLLING_MONTHS months, else 0 */
};

enum allot_limit {
    ALLOT_LIMIT_QUANTITY = 1, /* allowance counts units */
    ALLOT_LIMIT_AMOUNT = 2,   /* allowance counts cents */
};

enum allot_pool_kind {
    ALLOT_POOL_MEMBER = 1,
    ALLOT_POOL_HOUSEHOLD = 2,
};

enum allot_payer {
    ALLOT_PAYER_PATIENT = 1,
    ALLOT_PAYER_SPONSOR = 2,
};

/* One allotment. */
struct allot_rule {
    const char *key;
    const char **codes; /* ncodes distinct service codes */
    uint32_t ncodes;
    enum allot_limit limit;
    bool unlimited;      /* then allowance == 0 */
    int64_t allowance;   /* units or cents per period; 0 = member-price rule */
    struct allot_period period;
    enum allot_pool_kind pool;
    int64_t member_cap;  /* HOUSEHOLD only; 0 = no per-member cap */
    bool has_overage_price;
    int64_t overage_price; /* cents per billable unit, when has_overage_price */
    enum allot_payer payer;
    /* Resolved: the defaults {70, 80, 90, 100} are filled in when the rule
     * gave none; nthresholds == 0 means "no events". Strictly ascending. */
    uint16_t thresholds[ALLOT_THRESHOLDS_MAX];
    uint32_t nthresholds;
};

struct allot_plan_version {
    allot_date effective_from;
    struct allot_rule *rules; /* in plan order */
    uint32_t nrules;
};

struct allot_plan {
    const char *id;
    const char *name;
    struct allot_plan_version *versions; /* ascending effective_from */
    uint32_t nversions;
};

struct allot_enrollment {
    const char *plan_id;
    allot_date start; /* first covered day */
    allot_date end;   /* last covered day (inclusive), or ALLOT_DATE_NONE */
};

struct allot_member {
    const char *id;
    struct allot_enrollment *enrollments; /* ascending start, no overlaps */
    uint32_t nenrollments;
    allot_date anniversary; /* as given, or ALLOT_DATE_NONE */
    const char *household_id; /* "" for none */
    const char *sponsor_id;   /* "" for none */
};

/* The anniversary in use: the given one, else the first enrollment's start,
 * else ALLOT_DATE_NONE. */
allot_date allot_member_anniversary(const struct allot_member *m);

/* The enrollment covering date d (start <= d <= end), or NULL. */
const struct allot_enrollment *allot_member_enrollment_at(const struct allot_member *m,
                                                          allot_date d);

/* The version of plan p in force on d (greatest effective_from <= d), or
 * NULL when d is before the first version. */
const struct allot_plan_version *allot_plan_version_at(const struct allot_plan *p, allot_date d);

/* True when rule r lists service code `code`. */
bool allot_rule_has_code(const struct allot_rule *r, const char *code);

#endif
