/* allot/engine.h - periods, reset dates and line pricing.
 *
 * The engine is pure: no I/O, no gRPC, no LMDB. It reads recorded usage and
 * plan versions through struct allot_source (implemented by the store, or by
 * an in-memory table in tests) and returns priced lines plus the draws that
 * the caller records. ../shared/docs/domain.md is the specification; the
 * rules the engine applies are written down next to each function below.
 */
#ifndef ALLOT_ENGINE_H
#define ALLOT_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/arena.h"
#include "allot/date.h"
#include "allot/err.h"
#include "allot/model.h"

/* ---------------------------------------------------------------- periods */

/* A window [start, end). For LIFETIME start is ALLOT_DATE_MIN and end is
 * ALLOT_DATE_NONE. For rolling kinds it is the window ending on the date:
 * ROLLING_DAYS(n) containing d is [d - n + 1, d + 1). */
struct allot_window {
    allot_date start;
    allot_date end;
};

/* The window of period p that contains date d. anniversary anchors
 * MEMBER_YEAR and MEMBER_MONTH (allot_member_anniversary); it is ignored by
 * other kinds. Anchors that do not exist in a month clamp to its last day.
 * Returns 0, or ALLOT_EINVAL for a member-anchored kind with anniversary ==
 * ALLOT_DATE_NONE or a malformed period. */
int allot_period_window(const struct allot_period *p, allot_date anniversary, allot_date d,
                        struct allot_window *out);

/* ------------------------------------------------------------ usage source */

/* A pool: whose usage a rule counts. For MEMBER pools id is the member id; for
 * HOUSEHOLD pools it is the household id, or the member id when the member has
 * no household (a pool of one). */
struct allot_pool_ref {
    enum allot_pool_kind kind;
    const char *id;
};

/* What the engine reads. Every function returns 0 or a negative allot_err,
 * which the engine passes back unchanged. Usage is keyed by (pool, rule key);
 * when member_id is not NULL only that member's own entries in the pool count
 * (per-member caps on household pools). Voided entries never count. */
struct allot_source {
    void *ctx;
    /* The version of plan_id in force on d into *out (valid until the caller
     * of the engine releases ctx), *out = NULL when none is in force, and
     * ALLOT_ENOTFOUND when the plan does not exist. */
    int (*plan_version)(void *ctx, const char *plan_id, allot_date d,
                        const struct allot_plan_version **out);
    /* Sum of recorded amounts (units or cents) dated in [from, to). */
    int (*sum)(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
               const char *member_id, allot_date from, allot_date to, int64_t *out);
    /* Calls fn(arg, day, amount) for each day in [from, to) with a nonzero
     * total, ascending; stops early and returns fn's value when it is not 0. */
    int (*each_day)(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
                    const char *member_id, allot_date from, allot_date to,
                    int (*fn)(void *arg, allot_date day, int64_t amount), void *arg);
};

/* ---------------------------------------------------------------- pricing */

enum allot_reason {
    ALLOT_REASON_COVERED = 1,
    ALLOT_REASON_PARTLY_COVERED = 2,
    ALLOT_REASON_USED_UP = 3,
    ALLOT_REASON_NOT_IN_PLAN = 4,
    ALLOT_REASON_NO_ENROLLMENT = 5,
    ALLOT_REASON_MEMBER_PRICE = 6,
};

/* One invoice line, as the caller resolved it. */
struct allot_line {
    const char *line_id;
    const char *service_code;
    allot_date date;
    int64_t quantity;   /* 1..ALLOT_QUANTITY_MAX */
    int64_t unit_price; /* cents: the line's price or the service's cash price */
};

/* What one matching rule saw and drew for a line. */
struct allot_rule_use {
    const struct allot_rule *rule;
    struct allot_pool_ref pool;
    int64_t drawn;      /* units or cents this line records against the rule */
    int64_t used_before; /* the pool's use in the period before this line */
    int64_t used_after;
    int64_t remaining;  /* after the line; for capped household rules the
                           smaller of pool and member remaining; 0 if unlimited */
    struct allot_window period; /* of the line's date */
    allot_date reset;   /* ALLOT_DATE_NONE when there is none */
    /* Thresholds this draw crossed, ascending (fixed periods: in the period;
     * rolling: in the window ending on the line's date). */
    uint16_t crossed[ALLOT_THRESHOLDS_MAX];
    uint32_t ncrossed;
};

struct allot_priced_line {
    const struct allot_line *line;
    int64_t covered_quantity;   /* units wholly or partly covered */
    int64_t billable_quantity;  /* units not wholly covered */
    int64_t covered_amount;     /* cents */
    int64_t billable_unit_price;
    int64_t amount_due;         /* cents */
    enum allot_payer payer;
    const char *payer_id;       /* sponsor id, or member id */
    enum allot_reason reason;
    int binding;                /* index into uses, or -1 when no rule matched */
    struct allot_rule_use *uses; /* every matching rule in plan order */
    uint32_t nuses;
    const char *plan_id;        /* NULL when not enrolled */
    allot_date plan_effective_from;
};

/* Prices n lines of one invoice for member m, in order; each line sees the
 * draws of the lines before it as well as what src reports. out must hold n
 * entries; everything they point to is allocated from arena (or borrowed from
 * lines, m and src). Records nothing: the caller stores out[i].uses[j].drawn
 * for every use with drawn > 0. Returns 0 or an error from src / ALLOT_ENOMEM
 * (st, when not NULL, explains). */
int allot_price_lines(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_line *lines, size_t n, struct allot_arena *arena,
                      struct allot_priced_line *out, struct allot_status *st);

/* ---------------------------------------------------------- rule status */

/* A rule's state for member m as of date d (the allotments view). */
struct allot_rule_status {
    struct allot_pool_ref pool;
    int64_t used;        /* pool's use in the window containing d */
    int64_t remaining;   /* max(allowance - used, 0); 0 when unlimited */
    int64_t percent_used; /* floor(used * 100 / allowance); 0 when unlimited
                             or allowance 0 */
    int64_t member_used; /* household rules: the member's own use */
    struct allot_window period;
    allot_date reset;    /* ALLOT_DATE_NONE when there is none */
};

int allot_rule_status(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_rule *r, allot_date d, struct allot_rule_status *out);

/* The pool rule r draws on for member m. */
struct allot_pool_ref allot_rule_pool(const struct allot_rule *r, const struct allot_member *m);

/* ------------------------------------------------------------- thresholds */

/* Writes into out (capacity ALLOT_THRESHOLDS_MAX) the thresholds t of r with
 * before*100 < t*allowance <= after*100, ascending; returns how many. None for
 * unlimited rules, allowance 0, or after <= before. */
uint32_t allot_thresholds_crossed(const struct allot_rule *r, int64_t before, int64_t after,
                                  uint16_t *out);

#endif
