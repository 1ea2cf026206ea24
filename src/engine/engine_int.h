/* engine_int.h - what the engine's files share and nobody else sees.
 *
 * Usage is read from struct allot_source plus an in-invoice overlay: the
 * draws of the lines priced earlier in the same allot_price_lines call,
 * which the caller has not stored yet. Every usage question goes through
 * struct allot__usage so the two can never be added up differently in two
 * places.
 */
#ifndef ALLOT_ENGINE_INT_H
#define ALLOT_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "allot/engine.h"

/* ------------------------------------------------------------ arithmetic */

/* a + b for non-negative a and b, saturating at INT64_MAX: no real pool gets
 * near it (limits in model.h), but a store holding nonsense must not make
 * the engine overflow. */
static inline int64_t allot__sat_add(int64_t a, int64_t b)
{
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

static inline int64_t allot__min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static inline int64_t allot__max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* --------------------------------------------------------------- rolling */

/* First day of the rolling window that ends on (includes) e. */
allot_date allot__rolling_start(const struct allot_period *p, allot_date e);
/* First window end e whose window no longer contains day u: the windows
 * containing u are exactly those ending in [u, allot__rolling_leave(u)). */
allot_date allot__rolling_leave(const struct allot_period *p, allot_date u);

/* --------------------------------------------------------------- overlay */

struct allot__draw {
    allot_date day;
    int64_t amount;
};

/* The draws of one (pool, rule key) within one invoice. */
struct allot__ovl_group {
    enum allot_pool_kind kind;
    const char *pool_id;
    const char *key;
    struct allot__draw *draws;
    size_t n, cap;
};

/* All draws of the lines priced so far. Every draw is the invoice member's
 * own, so it counts both for the pool and for the member's own use. */
struct allot__overlay {
    struct allot__ovl_group *groups;
    size_t n, cap;
};

/* Records amount drawn on day. 0 or ALLOT_ENOMEM. */
int allot__overlay_add(struct allot__overlay *o, struct allot_arena *a,
                       const struct allot_pool_ref *pool, const char *key, allot_date day,
                       int64_t amount);

/* ----------------------------------------------------------------- usage */

struct allot__usage {
    const struct allot_source *src;
    const struct allot__overlay *ovl; /* NULL outside an invoice */
    struct allot_arena *arena;        /* what outlives the line: uses, overlay */
    struct allot_arena *scratch;      /* what dies with it: series; reset
                                         after every line */
};

/* Use recorded in [from, to), plus the overlay's. member_id as in
 * struct allot_source. */
int allot__usage_sum(const struct allot__usage *u, const struct allot_pool_ref *pool,
                     const char *key, const char *member_id, allot_date from, allot_date to,
                     int64_t *out);

/* A pool's usage by day from some first day onwards, prepared for rolling
 * window questions: s[i] is the use in the window ending on day[i], pre[]
 * are prefix sums (pre[0] = 0). */
struct allot__series {
    const struct allot_period *period;
    struct allot__draw *raw; /* as collected */
    size_t nraw, capraw;
    bool sorted;
    allot_date *day; /* distinct, ascending */
    int64_t *pre;    /* n + 1 */
    int64_t *s;      /* n */
    size_t n;
};

/* Loads the usage of (pool, key[, member]) dated from `from` on, with the
 * overlay's, and builds the series. */
int allot__series_load(const struct allot__usage *u, const struct allot_period *p,
                       const struct allot_pool_ref *pool, const char *key, const char *member_id,
                       allot_date from, struct allot__series *out);
/* Adds amount on day (this line's own draw) and rebuilds. */
int allot__series_add(struct allot__series *s, struct allot_arena *a, allot_date day,
                      int64_t amount);
/* The greatest use in any window that contains day x. */
int64_t allot__series_max(const struct allot__series *s, allot_date x);
/* The first day after d on which
 *     min(allowance - max_use_pool(x), cap - max_use_member(x))
 * is greater than on d (member is NULL when there is no cap), or
 * ALLOT_DATE_NONE when there is none. */
int allot__rolling_reset(const struct allot__series *pool, int64_t allowance,
                         const struct allot__series *member, int64_t cap, allot_date d,
                         struct allot_arena *a, allot_date *out);

#endif
