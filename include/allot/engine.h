/* allot/engine.h - periods, reset dates and line pricing.
 *
 * The engine is pure: no I/O, no gRPC, no LMDB. It reads recorded usage and
 * plan versions through struct allot_source (implemented by the store, or by
 * an in-memory table in tests) and returns priced lines plus the draws that
 * the caller records. ../shared/docs/domain.md is the specification; the
 * rules the engine applies are written down next to each function below,
 * including the ones the specification leaves open (marked "Decided:").
 *
 * Units. A quantity rule counts whole units, an amount rule counts cents.
 * "Use", "allowance", "remaining" and "drawn" are always in the rule's own
 * unit. All money is integer cents; there is no floating point anywhere.
 *
 * Thread safety: every function is reentrant; the engine keeps no state
 * between calls.
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
 * ROLLING_DAYS(n) containing d is [d - n + 1, d + 1); ROLLING_MONTHS(n) is
 * [(d - n months) + 1, d + 1), the subtraction clamped like
 * allot_date_add_months. */
struct allot_window {
    allot_date start;
    allot_date end;
};

/* The window of period p that contains date d:
 *
 *   CALENDAR_YEAR      [Jan 1, next Jan 1)
 *   MEMBER_YEAR        anchored on the anniversary's month and day
 *   PLAN_YEAR(m, d)    anchored on month m, day d
 *   CALENDAR_MONTH     [1st, next 1st)
 *   MEMBER_MONTH       anchored on the anniversary's day of month
 *   CALENDAR_QUARTER   [Jan 1 | Apr 1 | Jul 1 | Oct 1, + 3 months)
 *   ROLLING_*          the window ending on d (see struct allot_window)
 *   LIFETIME           [ALLOT_DATE_MIN, ALLOT_DATE_NONE)
 *
 * An anchor is placed in each year (or month) on its own and clamped to the
 * month's last day, so it never drifts: a Feb 29 anniversary starts member
 * years on 2025-02-28, 2026-02-28, 2027-02-28, 2028-02-29; a monthly anchor
 * of the 31st gives [Feb 28, Mar 31), [Mar 31, Apr 30), [Apr 30, May 31).
 * Anchored windows extend backwards before the anniversary the same way.
 *
 * anniversary (allot_member_anniversary) is read only by MEMBER_YEAR and
 * MEMBER_MONTH. Returns 0, or ALLOT_EINVAL when p is malformed
 * (allot_period_valid), d is outside ALLOT_DATE_MIN..MAX, or a
 * member-anchored kind gets anniversary == ALLOT_DATE_NONE. */
int allot_period_window(const struct allot_period *p, allot_date anniversary, allot_date d,
                        struct allot_window *out);

/* True when p is a known kind with exactly the parameters it needs in range
 * (PLAN_YEAR month 1-12 and a day that exists in that month in a leap year;
 * ROLLING_* count 1..ALLOT_ROLLING_*_MAX). Other kinds ignore month, day and
 * count. */
bool allot_period_valid(const struct allot_period *p);
/* ROLLING_DAYS or ROLLING_MONTHS. */
bool allot_period_is_rolling(const struct allot_period *p);
/* MEMBER_YEAR or MEMBER_MONTH (not allowed on household rules). */
bool allot_period_member_anchored(const struct allot_period *p);

/* ------------------------------------------------------------ usage source */

/* A pool: whose usage a rule counts. For MEMBER pools id is the member id; for
 * HOUSEHOLD pools it is the household id, or the member id when the member has
 * no household (a pool of one). The kind is part of the pool's identity: a
 * member's MEMBER pool and its household-of-one pool are different pools. */
struct allot_pool_ref {
    enum allot_pool_kind kind;
    const char *id;
};

/* What the engine reads. Every function returns 0 or a negative allot_err,
 * which the engine passes back unchanged. Usage is keyed by (pool, rule key);
 * when member_id is not NULL only that member's own entries in the pool count
 * (per-member caps on household pools). Voided entries never count. Amounts
 * are in the rule's unit; a negative total is read as 0.
 *
 * each_day is called only for rules with rolling periods; a source without it
 * (NULL) makes such rules fail with ALLOT_EUNIMPL. */
struct allot_source {
    void *ctx;
    /* The version of plan_id in force on d into *out (valid until the caller
     * of the engine releases ctx), *out = NULL when none is in force, and
     * ALLOT_ENOTFOUND when the plan does not exist. */
    int (*plan_version)(void *ctx, const char *plan_id, allot_date d,
                        const struct allot_plan_version **out);
    /* Sum of recorded amounts (units or cents) dated in [from, to). to may be
     * ALLOT_DATE_NONE (LIFETIME). */
    int (*sum)(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
               const char *member_id, allot_date from, allot_date to, int64_t *out);
    /* Calls fn(arg, day, amount) for each day in [from, to) with a nonzero
     * total, ascending; stops early and returns fn's value when it is not 0.
     * to may be ALLOT_DATE_NONE (everything from `from` on). */
    int (*each_day)(void *ctx, const struct allot_pool_ref *pool, const char *rule_key,
                    const char *member_id, allot_date from, allot_date to,
                    int (*fn)(void *arg, allot_date day, int64_t amount), void *arg);
};

/* ---------------------------------------------------------------- pricing */

enum allot_reason {
    ALLOT_REASON_COVERED = 1,        /* the whole line is covered */
    ALLOT_REASON_PARTLY_COVERED = 2, /* 0 < covered < the whole line */
    ALLOT_REASON_USED_UP = 3,        /* nothing covered: the binding
                                        allotment is exhausted (CARC 119) */
    ALLOT_REASON_NOT_IN_PLAN = 4,    /* no rule of the plan lists the code */
    ALLOT_REASON_NO_ENROLLMENT = 5,  /* no enrollment on the date, or its plan
                                        has no version in force yet */
    ALLOT_REASON_MEMBER_PRICE = 6,   /* binding rule has allowance 0: a
                                        member price, nothing is covered */
};

/* One invoice line, as the caller resolved it. */
struct allot_line {
    const char *line_id;
    const char *service_code;
    allot_date date;    /* the service date, ALLOT_DATE_MIN..MAX */
    int64_t quantity;   /* 1..ALLOT_QUANTITY_MAX */
    int64_t unit_price; /* cents, 0..ALLOT_MONEY_MAX: the line's price or the
                           service's cash price */
};

/* What one matching rule saw and drew for a line. */
struct allot_rule_use {
    const struct allot_rule *rule;
    struct allot_pool_ref pool;
    int64_t drawn;              /* units (quantity rule) or cents (amount rule) this
                                   line records against the rule; >= 0 */
    int64_t used_before;        /* the pool's use in the period before this line
                                   (rolling: in the fullest window containing the
                                   line's date) */
    int64_t used_after;         /* used_before + drawn */
    int64_t remaining;          /* after the line; for capped household rules the
                                   smaller of pool and member remaining; 0 if
                                   unlimited (check rule->unlimited) */
    struct allot_window period; /* of the line's date */
    allot_date reset;           /* ALLOT_DATE_NONE when there is none */
    /* Thresholds this draw crossed, ascending, measured on used_before and
     * used_after (fixed periods: the period; rolling: the fullest window
     * containing the line's date). */
    uint16_t crossed[ALLOT_THRESHOLDS_MAX];
    uint32_t ncrossed;
};

struct allot_priced_line {
    const struct allot_line *line;
    int64_t covered_quantity;  /* units wholly or partly covered */
    int64_t billable_quantity; /* units not covered at all; always
                                  covered + billable == quantity */
    int64_t covered_amount;    /* cents of line value covered */
    int64_t billable_unit_price;
    int64_t amount_due; /* cents, owed by payer */
    enum allot_payer payer;
    const char *payer_id; /* sponsor id, or member id */
    enum allot_reason reason;
    int binding;                 /* index into uses, or -1 when no rule matched */
    struct allot_rule_use *uses; /* every matching rule in plan order */
    uint32_t nuses;
    const char *plan_id;            /* NULL when not enrolled or no version in
                                       force */
    allot_date plan_effective_from; /* ALLOT_DATE_NONE when plan_id is NULL */
};

/* Prices n lines of one invoice for member m, in order; each line sees the
 * draws of the lines before it as well as what src reports. out must hold n
 * entries; everything they point to is allocated from arena (or borrowed from
 * lines, m and src). Working memory (rolling-window series) comes from a
 * private scratch arena reused from line to line and freed before returning.
 * Records nothing: the caller stores out[i].uses[j].drawn for every use with
 * drawn > 0, dated lines[i].date, against (uses[j].pool, uses[j].rule->key),
 * as member m's entry.
 *
 * Cost: per line, one plan_version call, and per matching rule one sum (two
 * under a member cap) for fixed periods, or one each_day from the start of
 * the line's window onwards (two under a cap) for rolling periods.
 *
 * The rules, in the order they are applied to a line dated d of quantity q
 * and unit price p (its value is q * p cents):
 *
 *  1. Enrollment: the one with start <= d <= end (end inclusive). None: the
 *     line is billed whole at p to the patient, NO_ENROLLMENT. The plan
 *     version in force is src->plan_version(plan, d) (greatest
 *     effective_from <= d); none (d before the first version): likewise
 *     NO_ENROLLMENT.
 *  2. Matching rules: those of that version listing the service code. None:
 *     billed whole at p to the patient, NOT_IN_PLAN.
 *  3. Use. Each matching rule counts the use of its pool (allot_rule_pool)
 *     under its key, so a new version or another plan keeping the key keeps
 *     the use, and a new key starts at 0. Fixed periods count ALL use
 *     recorded in the period containing d, also use dated after d: a late
 *     line draws on its own period, never on today's. Rolling periods: see 5.
 *     Use of the invoice's earlier lines is added to what src reports.
 *  4. Room. Unlimited rules have unlimited room. Otherwise room =
 *     max(allowance - use, 0); a household rule with member_cap > 0 also
 *     takes max(member_cap - the member's own use, 0), whichever is smaller.
 *     Prior use above the allowance leaves room 0, never less.
 *  5. Rolling windows hold their allowance in EVERY window: the use that
 *     counts for a line dated d is the greatest use of any window containing
 *     d (windows ending on d up to the last one still reaching back to d),
 *     so a back-dated line cannot push a later window over its allowance.
 *     The same holds for the member's own use under a cap.
 *  6. Nesting. A line must fit every matching rule at once. Each rule's room
 *     is valued in one measure: cents of line value when p > 0 (a quantity
 *     rule's room of k units is worth min(k, q) * p, an amount rule's room is
 *     worth min(room, q * p)), and units when p == 0 (where amount rules
 *     cannot limit a line worth nothing). The rule worth least is the
 *     BINDING rule; on a tie, the first in plan order (so a fully covered
 *     line binds to its first matching rule).
 *  7. Coverage follows the binding rule's worth w: covered_amount = w (cents;
 *     0 when p == 0) and covered_quantity = ceil(w / p) (w units when
 *     p == 0): a unit an amount rule covers in part counts as covered, and
 *     as used by the quantity rules. billable_quantity = q - covered_quantity.
 *  8. Price of the rest. If the binding rule is a quantity rule with an
 *     overage price: billable_unit_price = overage price and amount_due =
 *     billable_quantity * overage price. Otherwise billable_unit_price = p and
 *     amount_due = q * p - covered_amount (amount rules have no overage
 *     price; the uncovered part of a partly covered unit is billed too).
 *     Decided: the overage price applies to whole billable units only.
 *  9. Payer: the binding rule's payer; SPONSOR means the member's sponsor,
 *     and a member without a sponsor pays (PATIENT, payer_id = member id).
 *     Decided: a fully covered line still names the binding rule's payer,
 *     with amount_due 0.
 * 10. Reason: COVERED when w is the whole line, PARTLY_COVERED when less but
 *     more than 0; when nothing is covered MEMBER_PRICE if the binding rule
 *     has allowance 0, else USED_UP.
 * 11. Draws. Every matching rule draws what was covered in its own unit:
 *     covered_quantity for quantity rules, covered_amount for amount rules
 *     (unlimited rules too: their use is recorded). No rule draws more than
 *     its room.
 * 12. Per use: used_after = used_before + drawn; remaining = room - drawn;
 *     thresholds crossed (allot_thresholds_crossed on used_before and
 *     used_after); reset = the period's end for fixed periods (none for
 *     LIFETIME); for rolling rules the first date after d on which more could
 *     be covered than on d, counting this line's draw (the day the oldest use
 *     that limits it leaves every window containing that date), and none when
 *     nothing is used, nothing can ever be added (allowance 0) or the rule is
 *     unlimited. Decided: an unlimited fixed-period rule still reports its
 *     period's end. Decided: thresholds are measured on the pool (a
 *     household's total), never on one member's share under a cap. Decided:
 *     the period reported for a rolling rule is the window ending on d.
 *
 * Returns 0; ALLOT_EINVAL for a malformed line (quantity, price or date out
 * of range, no service code) or rule (a bad period); ALLOT_ENOMEM; or any
 * error from src (ALLOT_ENOTFOUND for an enrollment naming a plan that does
 * not exist; ALLOT_EUNIMPL for a rolling rule and no each_day). st, when not
 * NULL, names the line and rule. On error out is zeroed. */
int allot_price_lines(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_line *lines, size_t n, struct allot_arena *arena,
                      struct allot_priced_line *out, struct allot_status *st);

/* ---------------------------------------------------------- rule status */

/* A rule's state for member m as of date d (the allotments view). */
struct allot_rule_status {
    struct allot_pool_ref pool;
    int64_t used;         /* pool's use in the window containing d (rolling:
                             the fullest window containing d) */
    int64_t remaining;    /* what a line for m dated d could still take:
                             max(allowance - used, 0), and for a capped
                             household rule no more than
                             max(member_cap - member_used, 0); 0 when
                             unlimited */
    int64_t percent_used; /* floor(used * 100 / allowance), not capped at
                             100; 0 when unlimited or allowance 0 */
    int64_t member_used;  /* the member's own use: for MEMBER pools equal to
                             used, for household rules only m's entries (what
                             a portal may show of the household) */
    struct allot_window period;
    allot_date reset; /* as for struct allot_rule_use, from d; ALLOT_DATE_NONE
                         when there is none */
};

/* Fills out for rule r of the version in force for m on d, using the same
 * rules as allot_price_lines (as if pricing a line that draws nothing).
 * Allocates only temporarily. Returns 0, ALLOT_EINVAL (bad period, d out of
 * range, member-anchored period and no anniversary), ALLOT_ENOMEM or an
 * error from src. */
int allot_rule_status(const struct allot_source *src, const struct allot_member *m,
                      const struct allot_rule *r, allot_date d, struct allot_rule_status *out);

/* The pool rule r draws on for member m (see struct allot_pool_ref). */
struct allot_pool_ref allot_rule_pool(const struct allot_rule *r, const struct allot_member *m);

/* ------------------------------------------------------------- thresholds */

/* Writes into out (capacity ALLOT_THRESHOLDS_MAX) the thresholds t of r with
 * before*100 < t*allowance <= after*100, ascending; returns how many. None for
 * unlimited rules, allowance 0, or after <= before (voids fire nothing). */
uint32_t allot_thresholds_crossed(const struct allot_rule *r, int64_t before, int64_t after,
                                  uint16_t *out);

/* floor(used * 100 / allowance), not capped at 100 (150 for 3 of 2); 0 when
 * used <= 0 or allowance <= 0. Computed without overflow. */
int64_t allot_percent_used(int64_t used, int64_t allowance);

/* ---------------------------------------------------------- usage records */

/* The rule that usage recorded for member m under rule_key, dated d, counts
 * against (RecordUsage): rule_key in the plan of the enrollment active on d,
 * or, for usage before the member joined, of the first enrollment starting
 * after d; in that plan the version in force on d (or on the enrollment's
 * start, when d precedes it). *out points into what src returned.
 * Returns 0, or (with st) ALLOT_EPRECOND when the member has no enrollment
 * on or after d or the plan has no version in force, ALLOT_ENOTFOUND when
 * the version has no rule rule_key; or an error from src. */
int allot_usage_rule(const struct allot_source *src, const struct allot_member *m,
                     const char *rule_key, allot_date d, const struct allot_rule **out,
                     struct allot_status *st);

#endif
