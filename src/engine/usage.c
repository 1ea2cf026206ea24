/* usage.c - how much a pool has used: fixed periods and rolling windows.
 *
 * A fixed period is one question to the source (a sum over [start, end)) plus
 * the in-invoice overlay. A rolling window needs more, because the domain
 * says a rolling allowance holds in EVERY window: a line dated d may take
 * only what leaves each window containing d within the allowance, so a
 * back-dated line cannot push a later window over. The windows containing d
 * are those ending on e in [d, leave(d)); the use of the window ending on e
 * only grows when e reaches a day with usage, so the fullest of them ends on
 * d itself or on a usage day after d. A series therefore holds the daily use
 * from the first day of d's window onwards (one each_day call), its prefix
 * sums, and the use s[i] of the window ending on each usage day.
 *
 * The reset date of a rolling rule is the first day after d on which more
 * could be covered than on d. Capacity on x is allowance minus the fullest
 * window containing x, which can only rise when a window loses an entry,
 * i.e. on a day leave(u) for some usage day u. Those candidates ascend with
 * u, and so do the windows to inspect for each, so one sweep with a monotone
 * deque answers all of them in O(n) after the O(n log n) build.
 */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* --------------------------------------------------------------- overlay */

static bool group_is(const struct allot__ovl_group *g, const struct allot_pool_ref *pool,
                     const char *key)
{
    return g->kind == pool->kind && strcmp(g->pool_id, pool->id) == 0 && strcmp(g->key, key) == 0;
}

static const struct allot__ovl_group *
overlay_find(const struct allot__overlay *o, const struct allot_pool_ref *pool, const char *key)
{
    size_t i;

    if (!o)
        return NULL;
    for (i = 0; i < o->n; i++)
        if (group_is(&o->groups[i], pool, key))
            return &o->groups[i];
    return NULL;
}

/* Makes room for one more element in an arena array by doubling. The old
 * block stays in the arena until it is reset: at most as much again. */
static void *grow(struct allot_arena *a, void *old, size_t n, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 8;
    void *p;

    if (n < *cap)
        return old;
    p = allot_arena_alloc(a, ncap * size);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, old, n * size);
    *cap = ncap;
    return p;
}

int allot__overlay_add(struct allot__overlay *o, struct allot_arena *a,
                       const struct allot_pool_ref *pool, const char *key, allot_date day,
                       int64_t amount)
{
    struct allot__ovl_group *g = (struct allot__ovl_group *)overlay_find(o, pool, key);

    if (!g) {
        struct allot__ovl_group *groups = grow(a, o->groups, o->n, &o->cap, sizeof *groups);
        if (!groups)
            return ALLOT_ENOMEM;
        o->groups = groups;
        g = &o->groups[o->n++];
        memset(g, 0, sizeof *g);
        g->kind = pool->kind;
        g->pool_id = pool->id;
        g->key = key;
    }
    g->draws = grow(a, g->draws, g->n, &g->cap, sizeof *g->draws);
    if (!g->draws)
        return ALLOT_ENOMEM;
    g->draws[g->n].day = day;
    g->draws[g->n].amount = amount;
    g->n++;
    return ALLOT_OK;
}

int allot__usage_sum(const struct allot__usage *u, const struct allot_pool_ref *pool,
                     const char *key, const char *member_id, allot_date from, allot_date to,
                     int64_t *out)
{
    const struct allot__ovl_group *g;
    int64_t sum = 0;
    size_t i;
    int rc;

    rc = u->src->sum(u->src->ctx, pool, key, member_id, from, to, &sum);
    if (rc)
        return rc;
    /* a void can never take a pool below nothing */
    sum = allot__max64(sum, 0);
    g = overlay_find(u->ovl, pool, key);
    for (i = 0; g && i < g->n; i++)
        if (g->draws[i].day >= from && g->draws[i].day < to)
            sum = allot__sat_add(sum, g->draws[i].amount);
    *out = sum;
    return ALLOT_OK;
}

/* ---------------------------------------------------------------- series */

struct collect {
    struct allot__series *s;
    struct allot_arena *a;
};

static int series_push(struct allot__series *s, struct allot_arena *a, allot_date day,
                       int64_t amount)
{
    s->raw = grow(a, s->raw, s->nraw, &s->capraw, sizeof *s->raw);
    if (!s->raw)
        return ALLOT_ENOMEM;
    if (s->nraw && s->raw[s->nraw - 1].day > day)
        s->sorted = false;
    s->raw[s->nraw].day = day;
    s->raw[s->nraw].amount = amount;
    s->nraw++;
    return ALLOT_OK;
}

static int collect_day(void *arg, allot_date day, int64_t amount)
{
    struct collect *c = arg;
    return series_push(c->s, c->a, day, amount);
}

static int draw_cmp(const void *a, const void *b)
{
    allot_date x = ((const struct allot__draw *)a)->day, y = ((const struct allot__draw *)b)->day;
    return (x > y) - (x < y);
}

/* Index of the first day >= x (lower) or > x (upper). */
static size_t lower(const struct allot__series *s, allot_date x)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->day[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t upper(const struct allot__series *s, allot_date x)
{
    return x == ALLOT_DATE_NONE ? s->n : lower(s, x + 1);
}

/* Use between day indexes [lo, hi). A saturated prefix cannot be
 * subtracted: report saturation, the safe side (less coverage). */
static int64_t range_sum(const struct allot__series *s, size_t lo, size_t hi)
{
    if (s->pre[hi] == INT64_MAX)
        return INT64_MAX;
    return s->pre[hi] - s->pre[lo];
}

static int series_build(struct allot__series *s, struct allot_arena *a)
{
    size_t i, j, lo;

    if (!s->sorted)
        qsort(s->raw, s->nraw, sizeof *s->raw, draw_cmp);
    s->sorted = true;
    s->day = allot_arena_alloc(a, (s->nraw + 1) * sizeof *s->day);
    s->pre = allot_arena_alloc(a, (s->nraw + 1) * sizeof *s->pre);
    s->s = allot_arena_alloc(a, (s->nraw + 1) * sizeof *s->s);
    if (!s->day || !s->pre || !s->s)
        return ALLOT_ENOMEM;
    s->pre[0] = 0;
    for (i = 0, j = 0; i < s->nraw; i++) {
        int64_t amt = allot__max64(s->raw[i].amount, 0);
        if (j && s->day[j - 1] == s->raw[i].day) {
            s->pre[j] = allot__sat_add(s->pre[j], amt);
            continue;
        }
        s->day[j] = s->raw[i].day;
        s->pre[j + 1] = allot__sat_add(s->pre[j], amt);
        j++;
    }
    s->n = j;
    /* window starts ascend with their ends: one pointer suffices */
    for (i = 0, lo = 0; i < s->n; i++) {
        allot_date start = allot__rolling_start(s->period, s->day[i]);
        while (s->day[lo] < start)
            lo++;
        s->s[i] = range_sum(s, lo, i + 1);
    }
    return ALLOT_OK;
}

int allot__series_load(const struct allot__usage *u, const struct allot_period *p,
                       const struct allot_pool_ref *pool, const char *key, const char *member_id,
                       allot_date from, struct allot__series *out)
{
    struct collect c = {out, u->scratch};
    const struct allot__ovl_group *g;
    size_t i;
    int rc;

    memset(out, 0, sizeof *out);
    out->period = p;
    out->sorted = true;
    if (!u->src->each_day)
        return ALLOT_EUNIMPL;
    rc =
        u->src->each_day(u->src->ctx, pool, key, member_id, from, ALLOT_DATE_NONE, collect_day, &c);
    if (rc)
        return rc;
    g = overlay_find(u->ovl, pool, key);
    for (i = 0; g && i < g->n; i++)
        if (g->draws[i].day >= from) {
            rc = series_push(out, u->scratch, g->draws[i].day, g->draws[i].amount);
            if (rc)
                return rc;
        }
    return series_build(out, u->scratch);
}

int allot__series_add(struct allot__series *s, struct allot_arena *a, allot_date day,
                      int64_t amount)
{
    int rc = series_push(s, a, day, amount);
    return rc ? rc : series_build(s, a);
}

/* Use in the window ending on e. */
static int64_t window_use(const struct allot__series *s, allot_date e)
{
    return range_sum(s, lower(s, allot__rolling_start(s->period, e)), upper(s, e));
}

int64_t allot__series_max(const struct allot__series *s, allot_date x)
{
    allot_date leave = allot__rolling_leave(s->period, x);
    int64_t m = window_use(s, x);
    size_t i;

    for (i = upper(s, x); i < s->n && s->day[i] < leave; i++)
        m = allot__max64(m, s->s[i]);
    return m;
}

/* ------------------------------------------------------------- reset */

/* allot__series_max for ascending x: the windows ending on usage days in
 * (x, leave(x)) slide right as x grows, so a deque of indexes with falling
 * s[] keeps their maximum at its head. */
struct sweep {
    const struct allot__series *s;
    size_t *dq;
    size_t head, tail, next;
};

static int sweep_init(struct sweep *w, const struct allot__series *s, struct allot_arena *a)
{
    memset(w, 0, sizeof *w);
    w->s = s;
    w->dq = allot_arena_alloc(a, (s->n + 1) * sizeof *w->dq);
    return w->dq ? ALLOT_OK : ALLOT_ENOMEM;
}

static int64_t sweep_max(struct sweep *w, allot_date x)
{
    const struct allot__series *s = w->s;
    allot_date leave = allot__rolling_leave(s->period, x);
    int64_t m = window_use(s, x);

    while (w->next < s->n && s->day[w->next] < leave) {
        while (w->tail > w->head && s->s[w->dq[w->tail - 1]] <= s->s[w->next])
            w->tail--;
        w->dq[w->tail++] = w->next++;
    }
    while (w->head < w->tail && s->day[w->dq[w->head]] <= x)
        w->head++;
    if (w->head < w->tail)
        m = allot__max64(m, s->s[w->dq[w->head]]);
    return m;
}

static int64_t capacity(struct sweep *pool, int64_t allowance, struct sweep *member, int64_t cap,
                        allot_date x)
{
    int64_t c = allot__max64(allowance - allot__min64(sweep_max(pool, x), allowance), 0);
    if (member)
        c = allot__min64(c, allot__max64(cap - allot__min64(sweep_max(member, x), cap), 0));
    return c;
}

/* Next candidate day after `after` among leave(day[i]) of one series,
 * advancing *i; ALLOT_DATE_NONE when exhausted. */
static allot_date next_leave(const struct allot__series *s, size_t *i, allot_date after)
{
    while (*i < s->n) {
        allot_date l = allot__rolling_leave(s->period, s->day[*i]);
        if (l > after)
            return l;
        (*i)++;
    }
    return ALLOT_DATE_NONE;
}

int allot__rolling_reset(const struct allot__series *pool, int64_t allowance,
                         const struct allot__series *member, int64_t cap, allot_date d,
                         struct allot_arena *a, allot_date *out)
{
    struct sweep wp, wm;
    size_t ip = 0, im = 0;
    allot_date x = d;
    int64_t now;
    int rc;

    *out = ALLOT_DATE_NONE;
    rc = sweep_init(&wp, pool, a);
    if (!rc && member)
        rc = sweep_init(&wm, member, a);
    if (rc)
        return rc;
    now = capacity(&wp, allowance, member ? &wm : NULL, cap, d);
    for (;;) {
        allot_date lp = next_leave(pool, &ip, x);
        allot_date lm = member ? next_leave(member, &im, x) : ALLOT_DATE_NONE;
        x = lp < lm ? lp : lm;
        if (x == ALLOT_DATE_NONE)
            return ALLOT_OK;
        if (capacity(&wp, allowance, member ? &wm : NULL, cap, x) > now) {
            *out = x;
            return ALLOT_OK;
        }
    }
}
