/* fuzz_price.c - allot_price_lines against the in-memory fake source.
 *
 * Input: a small structured decoder (struct fuzz_reader) turns the bytes
 * into one or two plans of one to three versions of up to six rules (every
 * kind, allowance, period incl. rolling, household pools with caps, overage
 * prices, payers, thresholds), a member (enrollments, anniversary,
 * household, sponsor), usage already recorded (also by another member of
 * the household), and up to 20 lines cut into invoices. Values stay within
 * the limits of allot/model.h; the plans and the member must pass
 * validation, as anything stored has.
 *
 * Each invoice is priced as one call (each line sees the lines before it)
 * and every priced line is checked against the rules of allot/engine.h,
 * then recorded into the fake, so later lines and invoices see it. Unless
 * the usage holds negative amounts (a store holding nonsense), each line is
 * also checked against brute force over the fake's entries (which then hold
 * exactly the lines before it): the use counted before the line, the room,
 * the use after it, and for rolling windows the reset date; and the last
 * line of an invoice is priced again alone, which must give the same
 * answer as within the invoice. Finally the allotments view
 * (allot_rule_status) and allot_usage_rule are checked on every line's
 * date. Optional trailing bytes make one invoice fail first (a failing
 * source, no each_day, a malformed line): see try_fault.
 *
 * FUZZ_PRICE_DUMP=1 in the environment prints each decoded world (to check
 * what a seed or a crashing input means).
 */
#include <inttypes.h>
#include <string.h>

#include "allot/engine.h"
#include "allot/validate.h"

#include "fuzz.h"
#include "test_engine_fake.h"

#define NPLANS 2
#define NVERSIONS 3
#define NRULES 6
#define NCODES 4
#define NKEYS 8
#define NENROLL 4
#define NUSAGE 24
#define NLINES 20
#define BASE 19723 /* 2024-01-01 */
/* Dates are generated around a base: 2024-01-01, or near either end of
 * the dates the service accepts, clamped to them. */
#define BASE_LOW (ALLOT_DATE_MIN + 700)
#define BASE_HIGH (ALLOT_DATE_MAX - 900)
#define NO_LIMIT INT64_MAX

static const char *const code_names[NCODES + 1] = {"A", "B", "C", "D", "Z"}; /* Z: no rule */
static const char *const key_names[NKEYS] = {"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"};
static const char *const plan_names[NPLANS + 1] = {"p0", "p1", "p-unknown"};
static const char *const pool_names[3] = {"m1", "h1", "m2"};

struct fworld {
    allot_date base;
    struct allot_plan plans[NPLANS];
    size_t nplans;
    struct allot_plan_version versions[NPLANS][NVERSIONS];
    struct allot_rule rules[NPLANS][NVERSIONS][NRULES];
    const char *codes[NPLANS][NVERSIONS][NRULES][NCODES];
    struct allot_enrollment en[NENROLL];
    struct allot_member m;
    bool unknown_plan; /* an enrollment names a plan that does not exist */
    bool negative;     /* some recorded usage is negative */
    struct allot_line lines[NLINES];
    char line_ids[NLINES][8];
    bool ends_invoice[NLINES];
    size_t nlines;
};

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

/* ------------------------------------------------------------ decoding */

static allot_date clamp_date(int64_t d)
{
    return (allot_date)(d < ALLOT_DATE_MIN   ? ALLOT_DATE_MIN
                        : d > ALLOT_DATE_MAX ? ALLOT_DATE_MAX
                                             : d);
}

static void decode_rule(struct fuzz_reader *r, struct allot_rule *rule, const char **codes,
                        unsigned *keys_used)
{
    static const uint16_t defaults[] = {70, 80, 90, 100};
    static const int rolling_days[] = {1, 2, 7, 30, 90, 365, 366, 730, ALLOT_ROLLING_DAYS_MAX};
    static const int rolling_months[] = {1, 2, 3, 12, 36, ALLOT_ROLLING_MONTHS_MAX};
    unsigned k = fuzz_pick(r, NKEYS), mask, flags, i, sel;
    bool amount, has_over;
    int64_t max;

    memset(rule, 0, sizeof *rule);
    while (*keys_used & (1u << k)) /* keys are distinct within a version */
        k = (k + 1) % NKEYS;
    *keys_used |= 1u << k;
    rule->key = key_names[k];
    mask = 1 + fuzz_pick(r, 15);
    for (i = 0; i < NCODES; i++)
        if (mask & (1u << i))
            codes[rule->ncodes++] = code_names[i];
    rule->codes = codes;
    amount = fuzz_pick(r, 2);
    rule->limit = amount ? ALLOT_LIMIT_AMOUNT : ALLOT_LIMIT_QUANTITY;
    max = amount ? ALLOT_MONEY_MAX : ALLOT_UNITS_MAX;
    flags = fuzz_u8(r);
    rule->unlimited = (flags & 0x0f) == 0;
    rule->pool = flags & 0x10 ? ALLOT_POOL_HOUSEHOLD : ALLOT_POOL_MEMBER;
    rule->payer = flags & 0x20 ? ALLOT_PAYER_SPONSOR : ALLOT_PAYER_PATIENT;
    has_over = !amount && (flags & 0x40);

    sel = fuzz_pick(r, 16);
    if (rule->unlimited)
        rule->allowance = 0;
    else if (!amount)
        rule->allowance = sel < 12    ? sel
                          : sel == 12 ? 20
                          : sel == 13 ? 100
                          : sel == 14 ? 1 + fuzz_u32(r) % ALLOT_UNITS_MAX
                                      : ALLOT_UNITS_MAX;
    else
        rule->allowance = sel < 10    ? sel * 5000
                          : sel == 10 ? 1
                          : sel == 11 ? 50000
                          : sel == 12 ? 99
                          : sel == 13 ? 1 + fuzz_u32(r)
                          : sel == 14 ? ALLOT_MONEY_MAX
                                      : 150;
    if (!rule->unlimited && rule->allowance == 0) {
        if (amount)
            rule->allowance = 1; /* amount rules take no overage price */
        else
            has_over = true; /* a member-price rule */
    }

    rule->period.kind = (enum allot_period_kind)(1 + fuzz_pick(r, 9));
    if (rule->period.kind == ALLOT_PERIOD_PLAN_YEAR) {
        rule->period.month = 1 + (int)fuzz_pick(r, 12);
        rule->period.day =
            1 + (int)fuzz_pick(r, (unsigned)allot_days_in_month(2000, rule->period.month));
    } else if (rule->period.kind == ALLOT_PERIOD_ROLLING_DAYS) {
        sel = fuzz_pick(r, 10);
        rule->period.count =
            sel < 9 ? rolling_days[sel] : 1 + (int)(fuzz_u16(r) % ALLOT_ROLLING_DAYS_MAX);
    } else if (rule->period.kind == ALLOT_PERIOD_ROLLING_MONTHS) {
        sel = fuzz_pick(r, 7);
        rule->period.count =
            sel < 6 ? rolling_months[sel] : 1 + (int)(fuzz_u16(r) % ALLOT_ROLLING_MONTHS_MAX);
    }
    if (rule->pool == ALLOT_POOL_HOUSEHOLD) {
        /* household members have different anniversaries */
        if (rule->period.kind == ALLOT_PERIOD_MEMBER_YEAR)
            rule->period.kind = ALLOT_PERIOD_CALENDAR_YEAR;
        if (rule->period.kind == ALLOT_PERIOD_MEMBER_MONTH)
            rule->period.kind = ALLOT_PERIOD_CALENDAR_MONTH;
        switch (fuzz_pick(r, 4)) {
        case 0:
            break;
        case 1:
            rule->member_cap = (1 + fuzz_pick(r, 5)) * (amount ? 1000 : 1);
            break;
        case 2:
            rule->member_cap = rule->allowance / 2;
            break;
        default:
            rule->member_cap = min64(rule->allowance + 1, max);
            break;
        }
    }
    if (has_over) {
        static const int64_t prices[] = {0, 500, 9000, 15000, ALLOT_MONEY_MAX};
        sel = fuzz_pick(r, 6);
        rule->has_overage_price = true;
        rule->overage_price = sel < 5 ? prices[sel] : fuzz_u32(r);
    }
    switch (fuzz_pick(r, 4)) {
    case 0:
    case 1:
        memcpy(rule->thresholds, defaults, sizeof defaults);
        rule->nthresholds = 4;
        break;
    case 2:
        break; /* no events */
    default: {
        unsigned n = fuzz_pick(r, ALLOT_THRESHOLDS_MAX + 1), t = 0;
        for (i = 0; i < n; i++) {
            t += 1 + fuzz_pick(r, 200);
            if (t > ALLOT_THRESHOLD_PCT_MAX)
                break;
            rule->thresholds[rule->nthresholds++] = (uint16_t)t;
        }
    }
    }
}

static void decode(struct fuzz_reader *r, struct fworld *w)
{
    struct allot_status st;
    unsigned flags, i, j, k;
    allot_date d;

    memset(w, 0, sizeof *w);
    switch (fuzz_pick(r, 16)) {
    case 0:
        w->base = BASE_LOW;
        break;
    case 1:
        w->base = BASE_HIGH;
        break;
    default:
        w->base = BASE;
    }
    w->nplans = 1 + fuzz_pick(r, NPLANS);
    for (i = 0; i < w->nplans; i++) {
        struct allot_plan *p = &w->plans[i];
        p->id = plan_names[i];
        p->name = plan_names[i];
        p->versions = w->versions[i];
        p->nversions = 1 + fuzz_pick(r, NVERSIONS);
        d = clamp_date(w->base - 500 + (int64_t)(fuzz_u16(r) % 700));
        for (j = 0; j < p->nversions; j++) {
            struct allot_plan_version *v = &w->versions[i][j];
            unsigned keys = 0;
            if (j) /* past the end: versions of the same date are refused */
                d = clamp_date(d + 1 + (int64_t)(fuzz_u16(r) % 400));
            if (j && d == w->versions[i][j - 1].effective_from) {
                p->nversions = j;
                break;
            }
            v->effective_from = d;
            v->rules = w->rules[i][j];
            v->nrules = fuzz_pick(r, NRULES + 1);
            for (k = 0; k < v->nrules; k++)
                decode_rule(r, &v->rules[k], w->codes[i][j][k], &keys);
            FUZZ_CHECK(allot_plan_version_check(v, "version", &st) == 0, "decoder: %s", st.msg);
        }
    }

    flags = fuzz_u8(r);
    w->m.id = "m1";
    w->m.household_id = flags & 1 ? "h1" : "";
    w->m.sponsor_id = flags & 2 ? "s1" : "";
    switch ((flags >> 2) & 3) {
    case 0:
        w->m.anniversary = ALLOT_DATE_NONE;
        break;
    case 1:
        w->m.anniversary = allot_date_from_ymd(2024, 2, 29);
        break;
    case 2:
        w->m.anniversary = allot_date_from_ymd(2023, 1, 31);
        break;
    default:
        w->m.anniversary = clamp_date(w->base - 800 + (int64_t)(fuzz_u16(r) % 1600));
        break;
    }
    w->negative = (flags & 0x70) == 0x70;
    w->m.enrollments = w->en;
    w->m.nenrollments = fuzz_pick(r, NENROLL + 1);
    d = clamp_date(w->base - 600 + (int64_t)(fuzz_u16(r) % 400));
    for (i = 0; i < w->m.nenrollments; i++) {
        struct allot_enrollment *e = &w->en[i];
        unsigned p = fuzz_pick(r, 16), gap;
        e->plan_id = plan_names[p == 15 ? NPLANS : p % w->nplans];
        w->unknown_plan |= p == 15;
        e->start = d;
        if (i + 1 == w->m.nenrollments && fuzz_pick(r, 2))
            e->end = ALLOT_DATE_NONE;
        else
            e->end = clamp_date(d + (int64_t)(fuzz_u16(r) % 500));
        gap = fuzz_pick(r, 60);
        if (e->end == ALLOT_DATE_NONE || e->end == ALLOT_DATE_MAX) {
            w->m.nenrollments = i + 1; /* no room for another */
            break;
        }
        d = clamp_date(e->end + 1 + (int64_t)gap);
    }
    /* stored order is by start, but the engine must not rely on it */
    if (w->m.nenrollments > 1 && fuzz_pick(r, 2)) {
        struct allot_enrollment t = w->en[0];
        w->en[0] = w->en[w->m.nenrollments - 1];
        w->en[w->m.nenrollments - 1] = t;
    }
    FUZZ_CHECK(allot_member_check(&w->m, "member", &st) == 0, "decoder: %s", st.msg);
}

/* Usage recorded before the invoices: the member's, the household's and
 * another household member's, under any key. */
static void decode_usage(struct fuzz_reader *r, struct fworld *w, struct fake *f)
{
    unsigned n = fuzz_pick(r, NUSAGE + 1), i;

    for (i = 0; i < n; i++) {
        enum allot_pool_kind kind = fuzz_pick(r, 2) ? ALLOT_POOL_HOUSEHOLD : ALLOT_POOL_MEMBER;
        const char *pool = pool_names[fuzz_pick(r, 3)];
        const char *key = key_names[fuzz_pick(r, NKEYS)];
        const char *member = fuzz_pick(r, 4) ? "m1" : "m2";
        allot_date day = clamp_date(w->base - 700 + (int64_t)(fuzz_u16(r) % 1800));
        unsigned sel = fuzz_pick(r, 8);
        int64_t amount = sel < 4    ? 1 + sel
                         : sel == 4 ? 100 * (1 + fuzz_pick(r, 100))
                         : sel == 5 ? 5000 * (1 + fuzz_pick(r, 10))
                         : sel == 6 ? fuzz_u32(r)
                                    : ALLOT_MONEY_MAX;
        if (w->negative && fuzz_pick(r, 4) == 0)
            amount = -amount;
        fake_add(f, kind, pool, key, member, day, amount);
    }
}

static void decode_lines(struct fuzz_reader *r, struct fworld *w)
{
    static const int64_t prices[] = {0, 100, 15000, 9999, 12345, ALLOT_MONEY_MAX};
    unsigned i, sel;

    w->nlines = 1 + fuzz_pick(r, NLINES);
    for (i = 0; i < w->nlines; i++) {
        struct allot_line *l = &w->lines[i];
        snprintf(w->line_ids[i], sizeof w->line_ids[i], "L%u", i + 1);
        l->line_id = w->line_ids[i];
        l->service_code = code_names[fuzz_pick(r, NCODES + 1)];
        l->date = clamp_date(w->base - 400 + (int64_t)(fuzz_u16(r) % 1200));
        sel = fuzz_pick(r, 8);
        l->quantity = sel < 4    ? 1
                      : sel == 4 ? 2
                      : sel == 5 ? 3 + fuzz_pick(r, 10)
                      : sel == 6 ? 1 + fuzz_u32(r) % ALLOT_QUANTITY_MAX
                                 : ALLOT_QUANTITY_MAX;
        sel = fuzz_pick(r, 8);
        l->unit_price = sel < 6 ? prices[sel] : sel == 6 ? 1 + fuzz_pick(r, 255) : fuzz_u32(r);
        w->ends_invoice[i] = fuzz_pick(r, 4) == 0 || i + 1 == w->nlines;
    }
}

static void dump(const struct fworld *w, const struct fake *f)
{
    char b1[ALLOT_DATE_STRLEN], b2[ALLOT_DATE_STRLEN];
    size_t i, j, k, c;

    for (i = 0; i < w->nplans; i++)
        for (j = 0; j < w->plans[i].nversions; j++) {
            const struct allot_plan_version *v = &w->plans[i].versions[j];
            fprintf(stderr, "plan %s from %s\n", w->plans[i].id,
                    allot_date_format(v->effective_from, b1));
            for (k = 0; k < v->nrules; k++) {
                const struct allot_rule *r = &v->rules[k];
                fprintf(stderr, "  rule %s codes", r->key);
                for (c = 0; c < r->ncodes; c++)
                    fprintf(stderr, " %s", r->codes[c]);
                fprintf(stderr,
                        " %s %s%" PRId64 " period %d(%d/%d/%d) pool %d cap %" PRId64
                        " overage %s%" PRId64 " payer %d thresholds %u\n",
                        r->limit == ALLOT_LIMIT_AMOUNT ? "amount" : "qty",
                        r->unlimited ? "unlimited " : "", r->allowance, (int)r->period.kind,
                        r->period.month, r->period.day, r->period.count, (int)r->pool,
                        r->member_cap, r->has_overage_price ? "" : "-", r->overage_price,
                        (int)r->payer, r->nthresholds);
            }
        }
    fprintf(stderr, "member household \"%s\" sponsor \"%s\" anniversary %s\n", w->m.household_id,
            w->m.sponsor_id, allot_date_format(w->m.anniversary, b1));
    for (i = 0; i < w->m.nenrollments; i++)
        fprintf(stderr, "  enrollment %s %s..%s\n", w->en[i].plan_id,
                allot_date_format(w->en[i].start, b1), allot_date_format(w->en[i].end, b2));
    for (i = 0; i < f->n; i++)
        fprintf(stderr, "usage %d/%s %s by %s on %s: %" PRId64 "\n", (int)f->e[i].kind,
                f->e[i].pool, f->e[i].key, f->e[i].member, allot_date_format(f->e[i].day, b1),
                f->e[i].amount);
    for (i = 0; i < w->nlines; i++)
        fprintf(stderr, "line %s %s on %s q %" PRId64 " p %" PRId64 "%s\n", w->lines[i].line_id,
                w->lines[i].service_code, allot_date_format(w->lines[i].date, b1),
                w->lines[i].quantity, w->lines[i].unit_price,
                w->ends_invoice[i] ? " | end of invoice" : "");
}

/* ------------------------------------------------------------ brute force */

/* The fake's entries of one pool and rule key (and member, unless NULL). */
struct entries {
    allot_date day[NUSAGE + NLINES + 1];
    int64_t amount[NUSAGE + NLINES + 1];
    size_t n;
};

static void select_entries(const struct fake *f, const struct allot_pool_ref *pool, const char *key,
                           const char *member, struct entries *out)
{
    size_t i;
    out->n = 0;
    for (i = 0; i < f->n; i++) {
        const struct fake_entry *e = &f->e[i];
        if (e->kind != pool->kind || strcmp(e->pool, pool->id) || strcmp(e->key, key) ||
            (member && strcmp(e->member, member)))
            continue;
        FUZZ_CHECK(out->n < NUSAGE + NLINES + 1, "too many entries");
        out->day[out->n] = e->day;
        out->amount[out->n++] = e->amount;
    }
}

static int64_t sum_in(const struct entries *es, allot_date from, allot_date to)
{
    int64_t s = 0;
    size_t i;
    for (i = 0; i < es->n; i++)
        if (es->day[i] >= from && es->day[i] < to)
            s += es->amount[i];
    return s;
}

/* First day of the rolling window ending on e, from the definition in
 * allot/engine.h. */
static allot_date rolling_start(const struct allot_period *p, allot_date e)
{
    if (p->kind == ALLOT_PERIOD_ROLLING_DAYS)
        return e - p->count + 1;
    return allot_date_add_months(e, -p->count) + 1;
}

/* The greatest use of any rolling window containing d: the use of a window
 * changes only when its end reaches a usage day or its start passes one, so
 * the greatest is that of the window ending on d or on a usage day after d
 * whose window still reaches back to d. */
static int64_t max_window(const struct entries *es, const struct allot_period *p, allot_date d)
{
    int64_t m = sum_in(es, rolling_start(p, d), d + 1);
    size_t i;
    for (i = 0; i < es->n; i++)
        if (es->day[i] > d && rolling_start(p, es->day[i]) <= d)
            m = max64(m, sum_in(es, rolling_start(p, es->day[i]), es->day[i] + 1));
    return m;
}

/* The use that counts for a line dated d under rule r. */
static int64_t counted(const struct entries *es, const struct allot_rule *r,
                       const struct allot_rule_use *u, allot_date d)
{
    if (allot_period_is_rolling(&r->period))
        return max_window(es, &r->period, d);
    return sum_in(es, u->period.start, u->period.end);
}

static int64_t room_under(int64_t limit, int64_t used)
{
    return limit - min64(used, limit);
}

static bool capped(const struct allot_rule *r)
{
    return !r->unlimited && r->pool == ALLOT_POOL_HOUSEHOLD && r->member_cap > 0;
}

/* What a rolling rule could cover on x, by brute force. */
static int64_t capacity(const struct allot_rule *r, const struct entries *pool,
                        const struct entries *own, allot_date x)
{
    int64_t c = room_under(r->allowance, max_window(pool, &r->period, x));
    if (capped(r))
        c = min64(c, room_under(r->member_cap, max_window(own, &r->period, x)));
    return c;
}

/* ------------------------------------------------------------ checks */

static const struct allot_plan *find_plan(const struct fworld *w, const char *id)
{
    size_t i;
    for (i = 0; i < w->nplans; i++)
        if (!strcmp(w->plans[i].id, id))
            return &w->plans[i];
    return NULL;
}

/* The rules of allot/engine.h that one priced line keeps on its own. */
static void check_line(const struct fworld *w, const struct allot_priced_line *pl)
{
    const struct allot_line *l = pl->line;
    const struct allot_member *m = &w->m;
    const int64_t q = l->quantity, p = l->unit_price, full = p > 0 ? q * p : q;
    const int64_t covered = p > 0 ? pl->covered_amount : pl->covered_quantity;
    const struct allot_enrollment *en = allot_member_enrollment_at(m, l->date);
    const struct allot_plan *plan = en ? find_plan(w, en->plan_id) : NULL;
    const struct allot_plan_version *v = plan ? allot_plan_version_at(plan, l->date) : NULL;
    const struct allot_rule *b;
    int64_t max_price = p, worth[NRULES];
    uint32_t i, j, n = 0;

    FUZZ_CHECK(pl->covered_quantity >= 0 && pl->billable_quantity >= 0 &&
                   pl->covered_quantity + pl->billable_quantity == q,
               "%s: covered %" PRId64 " + billable %" PRId64 " != %" PRId64, l->line_id,
               pl->covered_quantity, pl->billable_quantity, q);
    FUZZ_CHECK(pl->covered_amount >= 0 && pl->covered_amount <= q * p, "%s: covered amount",
               l->line_id);
    if (p > 0)
        FUZZ_CHECK(pl->covered_quantity == (pl->covered_amount + p - 1) / p,
                   "%s: covered quantity is not ceil(covered amount / price)", l->line_id);
    else
        FUZZ_CHECK(pl->covered_amount == 0, "%s: free line covers money", l->line_id);
    for (i = 0; i < pl->nuses; i++)
        if (pl->uses[i].rule->has_overage_price)
            max_price = max64(max_price, pl->uses[i].rule->overage_price);
    FUZZ_CHECK(pl->amount_due >= 0 && pl->amount_due <= q * max_price,
               "%s: amount due %" PRId64 " for %" PRId64 " x %" PRId64, l->line_id, pl->amount_due,
               q, max_price);
    if (pl->reason == ALLOT_REASON_COVERED)
        FUZZ_CHECK(pl->amount_due == 0 && pl->billable_quantity == 0, "%s: covered, but due",
                   l->line_id);

    /* which rules apply, found without the engine */
    if (!v) {
        FUZZ_CHECK(pl->reason == ALLOT_REASON_NO_ENROLLMENT && !pl->plan_id &&
                       pl->plan_effective_from == ALLOT_DATE_NONE,
                   "%s: reason %d, expected NO_ENROLLMENT", l->line_id, (int)pl->reason);
    } else {
        FUZZ_CHECK(pl->plan_id && !strcmp(pl->plan_id, en->plan_id) &&
                       pl->plan_effective_from == v->effective_from,
                   "%s: plan", l->line_id);
        for (i = 0; i < v->nrules; i++)
            if (allot_rule_has_code(&v->rules[i], l->service_code)) {
                FUZZ_CHECK(n < pl->nuses && pl->uses[n].rule == &v->rules[i],
                           "%s: use %u is not rule %s", l->line_id, n, v->rules[i].key);
                n++;
            }
        FUZZ_CHECK(n == pl->nuses, "%s: %u uses, %u matching rules", l->line_id, pl->nuses, n);
        if (!n)
            FUZZ_CHECK(pl->reason == ALLOT_REASON_NOT_IN_PLAN,
                       "%s: reason %d, expected "
                       "NOT_IN_PLAN",
                       l->line_id, (int)pl->reason);
    }
    if (pl->nuses == 0) {
        FUZZ_CHECK(pl->binding == -1 && pl->covered_quantity == 0 && pl->amount_due == q * p &&
                       pl->billable_unit_price == p && pl->payer == ALLOT_PAYER_PATIENT &&
                       !strcmp(pl->payer_id, m->id),
                   "%s: a line no rule touches is billed whole to the patient", l->line_id);
        return;
    }

    FUZZ_CHECK(pl->binding >= 0 && (uint32_t)pl->binding < pl->nuses, "%s: binding %d", l->line_id,
               pl->binding);
    b = pl->uses[pl->binding].rule;
    /* reason */
    if (covered == full)
        FUZZ_CHECK(pl->reason == ALLOT_REASON_COVERED, "%s: reason %d, expected COVERED",
                   l->line_id, (int)pl->reason);
    else if (covered > 0)
        FUZZ_CHECK(pl->reason == ALLOT_REASON_PARTLY_COVERED, "%s: reason %d, expected PARTLY",
                   l->line_id, (int)pl->reason);
    else
        FUZZ_CHECK(pl->reason == (!b->unlimited && b->allowance == 0 ? ALLOT_REASON_MEMBER_PRICE
                                                                     : ALLOT_REASON_USED_UP),
                   "%s: reason %d with nothing covered", l->line_id, (int)pl->reason);
    /* price of the rest */
    if (!b->unlimited && b->limit == ALLOT_LIMIT_QUANTITY && b->has_overage_price)
        FUZZ_CHECK(pl->billable_unit_price == b->overage_price &&
                       pl->amount_due == pl->billable_quantity * b->overage_price,
                   "%s: overage", l->line_id);
    else
        FUZZ_CHECK(pl->billable_unit_price == p && pl->amount_due == q * p - pl->covered_amount,
                   "%s: rest at the line's price", l->line_id);
    /* payer */
    if (b->payer == ALLOT_PAYER_SPONSOR && m->sponsor_id[0])
        FUZZ_CHECK(pl->payer == ALLOT_PAYER_SPONSOR && !strcmp(pl->payer_id, m->sponsor_id),
                   "%s: sponsor pays", l->line_id);
    else
        FUZZ_CHECK(pl->payer == ALLOT_PAYER_PATIENT && !strcmp(pl->payer_id, m->id),
                   "%s: patient pays", l->line_id);

    for (j = 0; j < pl->nuses; j++) {
        const struct allot_rule_use *u = &pl->uses[j];
        const struct allot_rule *r = u->rule;
        struct allot_pool_ref pool = allot_rule_pool(r, m);
        int64_t drawn = r->limit == ALLOT_LIMIT_AMOUNT ? pl->covered_amount : pl->covered_quantity;
        int64_t room = u->remaining + u->drawn;
        uint32_t k, nc = 0;

        FUZZ_CHECK(u->pool.kind == pool.kind && !strcmp(u->pool.id, pool.id), "%s/%s: pool",
                   l->line_id, r->key);
        FUZZ_CHECK(u->drawn == drawn && drawn >= 0, "%s/%s: drawn %" PRId64 ", covered %" PRId64,
                   l->line_id, r->key, u->drawn, drawn);
        FUZZ_CHECK(u->used_before >= 0 && u->used_after == u->used_before + u->drawn,
                   "%s/%s: used %" PRId64 " -> %" PRId64, l->line_id, r->key, u->used_before,
                   u->used_after);
        FUZZ_CHECK(u->period.start <= l->date && l->date < u->period.end, "%s/%s: period",
                   l->line_id, r->key);
        if (allot_period_is_rolling(&r->period)) {
            FUZZ_CHECK(u->period.end == l->date + 1 &&
                           u->period.start == rolling_start(&r->period, l->date),
                       "%s/%s: rolling period", l->line_id, r->key);
            FUZZ_CHECK(u->reset == ALLOT_DATE_NONE || u->reset > l->date, "%s/%s: reset",
                       l->line_id, r->key);
            if (r->unlimited || r->allowance == 0)
                FUZZ_CHECK(u->reset == ALLOT_DATE_NONE,
                           "%s/%s: reset of a rule that cannot "
                           "grow",
                           l->line_id, r->key);
        } else {
            FUZZ_CHECK(u->reset == u->period.end, "%s/%s: reset is the period's end", l->line_id,
                       r->key);
        }
        if (r->unlimited) {
            FUZZ_CHECK(u->remaining == 0 && u->ncrossed == 0, "%s/%s: unlimited", l->line_id,
                       r->key);
            worth[j] = full;
            continue;
        }
        /* no rule draws more than its room; the room follows the use */
        FUZZ_CHECK(u->remaining >= 0, "%s/%s: remaining %" PRId64, l->line_id, r->key,
                   u->remaining);
        if (capped(r))
            FUZZ_CHECK(room <= room_under(r->allowance, u->used_before), "%s/%s: capped room",
                       l->line_id, r->key);
        else
            FUZZ_CHECK(room == room_under(r->allowance, u->used_before),
                       "%s/%s: room %" PRId64 ", allowance %" PRId64 " used %" PRId64, l->line_id,
                       r->key, room, r->allowance, u->used_before);
        FUZZ_CHECK(u->used_after <= max64(r->allowance, u->used_before),
                   "%s/%s: pushed over the allowance", l->line_id, r->key);
        /* thresholds: ascending, and exactly those crossed */
        for (k = 0; k < r->nthresholds; k++) {
            __int128 t = (__int128)r->thresholds[k] * r->allowance;
            if (r->allowance > 0 && (__int128)u->used_before * 100 < t &&
                t <= (__int128)u->used_after * 100) {
                FUZZ_CHECK(nc < u->ncrossed && u->crossed[nc] == r->thresholds[k],
                           "%s/%s: threshold %u not reported", l->line_id, r->key,
                           (unsigned)r->thresholds[k]);
                nc++;
            }
        }
        FUZZ_CHECK(nc == u->ncrossed, "%s/%s: %u thresholds reported, %u crossed", l->line_id,
                   r->key, u->ncrossed, nc);
        worth[j] = r->limit == ALLOT_LIMIT_AMOUNT ? (p > 0 ? min64(room, full) : full)
                                                  : min64(room, q) * (p > 0 ? p : 1);
    }
    /* the binding rule is worth least, the first of equals; it decides */
    FUZZ_CHECK(worth[pl->binding] == covered,
               "%s: binding rule worth %" PRId64 ", covered %" PRId64, l->line_id,
               worth[pl->binding], covered);
    for (j = 0; j < pl->nuses; j++)
        FUZZ_CHECK((int)j < pl->binding ? worth[j] > covered : worth[j] >= covered,
                   "%s: rule %u worth %" PRId64 " against binding %d worth %" PRId64, l->line_id, j,
                   worth[j], pl->binding, covered);
}

static void check_same(const struct allot_priced_line *a, const struct allot_priced_line *b)
{
    const char *id = a->line->line_id;
    uint32_t j;

    FUZZ_CHECK(a->covered_quantity == b->covered_quantity &&
                   a->billable_quantity == b->billable_quantity &&
                   a->covered_amount == b->covered_amount &&
                   a->billable_unit_price == b->billable_unit_price &&
                   a->amount_due == b->amount_due && a->payer == b->payer &&
                   !strcmp(a->payer_id, b->payer_id) && a->reason == b->reason &&
                   a->binding == b->binding && a->nuses == b->nuses,
               "%s: priced in an invoice and alone after recording differ: covered %" PRId64
               "/%" PRId64 " due %" PRId64 "/%" PRId64 " reason %d/%d",
               id, a->covered_quantity, b->covered_quantity, a->amount_due, b->amount_due,
               (int)a->reason, (int)b->reason);
    for (j = 0; j < a->nuses; j++) {
        const struct allot_rule_use *x = &a->uses[j], *y = &b->uses[j];
        FUZZ_CHECK(x->rule == y->rule && x->drawn == y->drawn && x->used_before == y->used_before &&
                       x->used_after == y->used_after && x->remaining == y->remaining &&
                       x->period.start == y->period.start && x->period.end == y->period.end &&
                       x->reset == y->reset && x->ncrossed == y->ncrossed &&
                       !memcmp(x->crossed, y->crossed, x->ncrossed * sizeof x->crossed[0]),
                   "%s/%s: in an invoice and alone differ: used %" PRId64 "/%" PRId64
                   " remaining %" PRId64 "/%" PRId64 " reset %d/%d",
                   id, x->rule->key, x->used_before, y->used_before, x->remaining, y->remaining,
                   x->reset, y->reset);
    }
}

/* What a priced line counted before it (the fake holds what came before)... */
static void check_before(const struct fworld *w, const struct fake *f,
                         const struct allot_priced_line *pl)
{
    struct entries pool, own;
    uint32_t j;

    for (j = 0; j < pl->nuses; j++) {
        const struct allot_rule_use *u = &pl->uses[j];
        const struct allot_rule *r = u->rule;
        int64_t used, room;
        select_entries(f, &u->pool, r->key, NULL, &pool);
        used = counted(&pool, r, u, pl->line->date);
        FUZZ_CHECK(u->used_before == used, "%s/%s: used before %" PRId64 ", brute force %" PRId64,
                   pl->line->line_id, r->key, u->used_before, used);
        if (r->unlimited)
            continue;
        room = room_under(r->allowance, used);
        if (capped(r)) {
            select_entries(f, &u->pool, r->key, w->m.id, &own);
            room = min64(room, room_under(r->member_cap, counted(&own, r, u, pl->line->date)));
        }
        FUZZ_CHECK(u->remaining + u->drawn == room, "%s/%s: room %" PRId64 ", brute force %" PRId64,
                   pl->line->line_id, r->key, u->remaining + u->drawn, room);
    }
}

/* ... and after it was recorded (fake = with it): the use after it, and the
 * reset date of rolling rules: the first day after the line's on which more
 * could be covered than on that day. */
static void check_after(const struct fworld *w, const struct fake *f,
                        const struct allot_priced_line *pl)
{
    const allot_date d = pl->line->date;
    struct entries pool, own;
    uint32_t j;

    for (j = 0; j < pl->nuses; j++) {
        const struct allot_rule_use *u = &pl->uses[j];
        const struct allot_rule *r = u->rule;
        int64_t used, now, top;
        allot_date x;

        select_entries(f, &u->pool, r->key, NULL, &pool);
        used = counted(&pool, r, u, d);
        FUZZ_CHECK(u->used_after == used, "%s/%s: used after %" PRId64 ", brute force %" PRId64,
                   pl->line->line_id, r->key, u->used_after, used);
        if (!allot_period_is_rolling(&r->period) || r->unlimited || r->allowance == 0)
            continue;
        select_entries(f, &u->pool, r->key, w->m.id, &own);
        now = capacity(r, &pool, &own, d);
        top = capped(r) ? min64(r->allowance, r->member_cap) : r->allowance;
        if (u->reset == ALLOT_DATE_NONE) {
            FUZZ_CHECK(now == top,
                       "%s/%s: no reset date, but only %" PRId64 " of %" PRId64 " can be covered",
                       pl->line->line_id, r->key, now, top);
            continue;
        }
        FUZZ_CHECK(capacity(r, &pool, &own, u->reset) > now,
                   "%s/%s: nothing more can be covered on the reset date", pl->line->line_id,
                   r->key);
        if (u->reset - d <= 400)
            for (x = d + 1; x < u->reset; x++)
                FUZZ_CHECK(capacity(r, &pool, &own, x) <= now,
                           "%s/%s: more can be covered before the reset date", pl->line->line_id,
                           r->key);
    }
}

/* RecordUsage's rule: the plan of the enrollment on d, else of the first
 * one after d; its version in force on d, or on that enrollment's start.
 * Asked of the member as stored (enrollments sorted). */
static void check_usage_rule(const struct fworld *w, const struct allot_source *src,
                             const char *key, allot_date d)
{
    struct allot_enrollment en[NENROLL];
    const struct allot_enrollment *e = NULL;
    const struct allot_plan_version *v = NULL;
    const struct allot_rule *found, *want = NULL;
    const struct allot_plan *plan;
    struct allot_member m = w->m;
    struct allot_status st;
    uint32_t i;
    int rc;

    memcpy(en, w->en, sizeof en);
    m.enrollments = en;
    allot_member_sort(&m);
    for (i = 0; i < m.nenrollments; i++)
        if (en[i].start <= d && d <= en[i].end)
            e = &en[i];
    if (!e)
        for (i = 0; i < m.nenrollments; i++)
            if (en[i].start > d && (!e || en[i].start < e->start))
                e = &en[i];
    rc = allot_usage_rule(src, &m, key, d, &found, &st);
    if (!e) {
        FUZZ_CHECK(rc == ALLOT_EPRECOND, "usage_rule %s: rc %d, no enrollment", key, rc);
        return;
    }
    if (!(plan = find_plan(w, e->plan_id))) {
        FUZZ_CHECK(rc == ALLOT_ENOTFOUND, "usage_rule %s: rc %d, unknown plan", key, rc);
        return;
    }
    v = allot_plan_version_at(plan, d >= e->start ? d : e->start);
    for (i = 0; v && i < v->nrules; i++)
        if (!strcmp(v->rules[i].key, key))
            want = &v->rules[i];
    FUZZ_CHECK(rc == (!v      ? ALLOT_EPRECOND
                      : !want ? ALLOT_ENOTFOUND
                              : 0),
               "usage_rule %s: rc %d", key, rc);
    if (want)
        FUZZ_CHECK(found == want, "usage_rule %s: another rule", key);
}

/* The allotments view and RecordUsage's rule lookup on a line's date. */
static void check_views(const struct fworld *w, const struct allot_source *src,
                        const struct fake *f, allot_date d)
{
    const struct allot_enrollment *en = allot_member_enrollment_at(&w->m, d);
    const struct allot_plan *plan = en ? find_plan(w, en->plan_id) : NULL;
    const struct allot_plan_version *v = plan ? allot_plan_version_at(plan, d) : NULL;
    struct entries pool;
    uint32_t i;
    int rc;

    for (i = 0; i < NKEYS; i += 3)
        check_usage_rule(w, src, key_names[i], d);
    if (!v)
        return;
    for (i = 0; i < v->nrules; i++) {
        const struct allot_rule *r = &v->rules[i];
        struct allot_rule_status s;
        int64_t room;

        rc = allot_rule_status(src, &w->m, r, d, &s);
        FUZZ_CHECK(rc == 0, "rule_status %s rc %d", r->key, rc);
        FUZZ_CHECK(s.used >= 0 && s.member_used >= 0 && s.remaining >= 0 && s.period.start <= d &&
                       d < s.period.end,
                   "rule_status %s", r->key);
        if (r->pool == ALLOT_POOL_MEMBER)
            FUZZ_CHECK(s.member_used == s.used, "rule_status %s: member used", r->key);
        else if (!w->negative)
            FUZZ_CHECK(s.member_used <= s.used,
                       "rule_status %s: member used %" PRId64 " > used %" PRId64, r->key,
                       s.member_used, s.used);
        if (allot_period_is_rolling(&r->period))
            FUZZ_CHECK(s.reset == ALLOT_DATE_NONE || s.reset > d, "rule_status %s: reset", r->key);
        else
            FUZZ_CHECK(s.reset == s.period.end, "rule_status %s: reset", r->key);
        if (r->unlimited) {
            FUZZ_CHECK(s.remaining == 0 && s.percent_used == 0, "rule_status %s", r->key);
            continue;
        }
        room = room_under(r->allowance, s.used);
        if (capped(r))
            room = min64(room, room_under(r->member_cap, s.member_used));
        FUZZ_CHECK(s.remaining == room, "rule_status %s: remaining %" PRId64 ", room %" PRId64,
                   r->key, s.remaining, room);
        FUZZ_CHECK(r->allowance == 0
                       ? s.percent_used == 0
                       : s.percent_used == (int64_t)((__int128)s.used * 100 / r->allowance),
                   "rule_status %s: percent %" PRId64, r->key, s.percent_used);
        if (!w->negative) {
            struct allot_rule_use u;
            memset(&u, 0, sizeof u);
            u.period = s.period;
            select_entries(f, &s.pool, r->key, NULL, &pool);
            FUZZ_CHECK(s.used == counted(&pool, r, &u, d), "rule_status %s: used %" PRId64, r->key,
                       s.used);
        }
    }
}

/* ------------------------------------------------------------ faults */

/* A source that fails its n-th call (counting from 0) with ALLOT_EIO. */
struct faulty {
    const struct allot_source *in;
    int left;
};

static int faulty_plan_version(void *ctx, const char *plan_id, allot_date d,
                               const struct allot_plan_version **out)
{
    struct faulty *f = ctx;
    if (f->left-- == 0)
        return ALLOT_EIO;
    return f->in->plan_version(f->in->ctx, plan_id, d, out);
}

static int faulty_sum(void *ctx, const struct allot_pool_ref *pool, const char *key,
                      const char *member_id, allot_date from, allot_date to, int64_t *out)
{
    struct faulty *f = ctx;
    if (f->left-- == 0)
        return ALLOT_EIO;
    return f->in->sum(f->in->ctx, pool, key, member_id, from, to, out);
}

static int faulty_each_day(void *ctx, const struct allot_pool_ref *pool, const char *key,
                           const char *member_id, allot_date from, allot_date to,
                           int (*fn)(void *arg, allot_date day, int64_t amount), void *arg)
{
    struct faulty *f = ctx;
    if (f->left-- == 0)
        return ALLOT_EIO;
    return f->in->each_day(f->in->ctx, pool, key, member_id, from, to, fn, arg);
}

/* Read after the lines (so inputs without it mean "no fault"): once, price
 * the invoice that holds line k with a failing source, a source without
 * each_day, or line k made malformed. The call must fail cleanly - the
 * error reported, the output zeroed, nothing leaked - or succeed when the
 * fault was never reached. */
static void try_fault(struct fuzz_reader *r, const struct fworld *w, const struct allot_source *src)
{
    unsigned mode = fuzz_pick(r, 8), k = fuzz_pick(r, NLINES), arg = fuzz_u8(r);
    struct allot_priced_line out[NLINES];
    struct allot_line lines[NLINES];
    struct faulty fy = {src, (int)arg};
    struct allot_source s2 = *src;
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot_status st;
    size_t s, e, i;
    int rc, want;

    if (mode < 5 || k >= w->nlines)
        return;
    for (s = k; s > 0 && !w->ends_invoice[s - 1]; s--)
        ;
    for (e = k + 1; !w->ends_invoice[e - 1]; e++)
        ;
    memcpy(lines, &w->lines[s], (e - s) * sizeof *lines);
    if (mode == 5) {
        s2.ctx = &fy;
        s2.plan_version = faulty_plan_version;
        s2.sum = faulty_sum;
        s2.each_day = faulty_each_day;
        want = ALLOT_EIO;
    } else if (mode == 6) {
        s2.each_day = NULL;
        want = ALLOT_EUNIMPL;
    } else {
        struct allot_line *l = &lines[k - s];
        switch (arg % 6) {
        case 0:
            l->quantity = 0;
            break;
        case 1:
            l->quantity = ALLOT_QUANTITY_MAX + 1;
            break;
        case 2:
            l->unit_price = arg & 0x80 ? -1 : ALLOT_MONEY_MAX + 1;
            break;
        case 3:
            l->date = arg & 0x80 ? ALLOT_DATE_MIN - 1 : ALLOT_DATE_NONE;
            break;
        case 4:
            l->date = ALLOT_DATE_MAX + 1;
            break;
        default:
            l->service_code = NULL;
        }
        want = ALLOT_EINVAL;
    }
    rc = allot_price_lines(&s2, &w->m, lines, e - s, &a, out, &st);
    if (mode == 7)
        FUZZ_CHECK(rc == ALLOT_EINVAL, "malformed line: rc %d", rc);
    else
        FUZZ_CHECK(rc == 0 || rc == want || (rc == ALLOT_ENOTFOUND && w->unknown_plan),
                   "fault %u: rc %d", mode, rc);
    FUZZ_CHECK(st.code == rc && (rc == 0) == (st.msg[0] == '\0'), "fault %u: status %d \"%s\"",
               mode, st.code, st.msg);
    if (rc)
        for (i = 0; i < e - s; i++)
            FUZZ_CHECK(out[i].line == NULL && out[i].nuses == 0 && out[i].uses == NULL,
                       "fault %u: output not zeroed", mode);
    allot_arena_release(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_reader rd = {data, size};
    struct allot_priced_line batch[NLINES], one;
    struct allot_arena a = ALLOT_ARENA_INIT;
    struct allot_status st;
    struct allot_source src;
    struct fworld *w;
    struct fake f;
    size_t s, e, i;
    int rc;

    if (!(w = malloc(sizeof *w)))
        abort();
    decode(&rd, w);
    fake_init(&f, w->plans, w->nplans);
    src = fake_source(&f);
    decode_usage(&rd, w, &f);
    decode_lines(&rd, w);
    if (getenv("FUZZ_PRICE_DUMP"))
        dump(w, &f);
    try_fault(&rd, w, &src);

    for (s = 0; s < w->nlines; s = e) {
        for (e = s + 1; !w->ends_invoice[e - 1]; e++)
            ;
        rc = allot_price_lines(&src, &w->m, &w->lines[s], e - s, &a, batch, &st);
        if (rc) {
            FUZZ_CHECK(rc == ALLOT_ENOTFOUND && w->unknown_plan && st.code == rc,
                       "price_lines rc %d: %s", rc, st.msg);
            for (i = 0; i < e - s; i++)
                FUZZ_CHECK(batch[i].line == NULL && batch[i].nuses == 0, "output not zeroed");
            continue;
        }
        for (i = s; i < e; i++) {
            const struct allot_priced_line *pl = &batch[i - s];
            check_line(w, pl);
            if (w->negative) {
                fake_record(&f, &w->m, pl, 1);
                continue;
            }
            /* the fake now holds the lines before this one */
            check_before(w, &f, pl);
            if (i + 1 == e && e - s > 1) {
                /* priced alone once the lines before it are recorded, the
                 * last line gets what the invoice gave it */
                rc = allot_price_lines(&src, &w->m, &w->lines[i], 1, &a, &one, &st);
                FUZZ_CHECK(rc == 0, "price_lines alone rc %d: %s", rc, st.msg);
                check_same(pl, &one);
            }
            fake_record(&f, &w->m, pl, 1);
            check_after(w, &f, pl);
        }
        allot_arena_reset(&a);
    }
    for (i = 0; i < w->nlines; i++)
        check_views(w, &src, &f, w->lines[i].date);

    allot_arena_release(&a);
    fake_release(&f);
    free(w);
    return 0;
}

/* ------------------------------------------------------------ seeds */

/* Seeds are written in the decoder's order; FUZZ_PRICE_DUMP=1 shows what
 * one decodes to. The first byte picks the base date (2: 2024-01-01);
 * offsets: plan versions from base - 500, enrollments from base - 600, usage
 * from base - 700, lines from base - 400. */
enum { CODE_A = 1, CODE_B = 2, CODE_C = 4, CODE_D = 8 };
enum { F_LIMITED = 0x01, F_HOUSEHOLD = 0x10, F_SPONSOR = 0x20, F_OVERAGE = 0x40 };
enum {
    K_CAL_YEAR,
    K_MEMBER_YEAR,
    K_PLAN_YEAR,
    K_CAL_MONTH,
    K_MEMBER_MONTH,
    K_QUARTER,
    K_ROLLING_DAYS,
    K_ROLLING_MONTHS,
    K_LIFETIME
};

static void put_line(struct fuzz_buf *b, unsigned code, int day_from_base, unsigned qsel,
                     unsigned psel, bool end)
{
    fuzz_put(b, code);
    fuzz_put16(b, (unsigned)(400 + day_from_base));
    fuzz_put(b, qsel);
    if (qsel == 5)
        fuzz_put(b, 4); /* 7 units */
    else if (qsel == 6)
        fuzz_put32(b, 999);
    fuzz_put(b, psel);
    if (psel == 6)
        fuzz_put(b, 49); /* 50 cents */
    else if (psel == 7)
        fuzz_put32(b, 123456789);
    fuzz_put(b, end ? 0 : 1);
}

int fuzz_write_seeds(const char *dir)
{
    struct fuzz_buf b;
    int rc = 0, i;

    /* home visits: 2 per member year, overage $150 to the sponsor;
     * anniversary 2023-01-31; one visit already used */
    b.n = 0;
    fuzz_put(&b, 2);                                                  /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);              /* 1 plan, 1 version */
    fuzz_put(&b, 1);                                                  /* 1 rule */
    fuzz_put(&b, 0), fuzz_put(&b, CODE_A - 1), fuzz_put(&b, 0);       /* k0: A, quantity */
    fuzz_put(&b, F_LIMITED | F_OVERAGE | F_SPONSOR), fuzz_put(&b, 2); /* allowance 2 */
    fuzz_put(&b, K_MEMBER_YEAR), fuzz_put(&b, 3), fuzz_put(&b, 0);    /* $150, default thresholds */
    fuzz_put(&b, 0x0a), fuzz_put(&b, 1), fuzz_put16(&b, 100);         /* sponsor, anniversary */
    fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put(&b, 0);                /* p0, open */
    fuzz_put(&b, 1);                                                  /* 1 usage entry */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1);
    fuzz_put16(&b, 730), fuzz_put(&b, 0);
    fuzz_put(&b, 3); /* 4 lines */
    put_line(&b, 0, 90, 0, 2, false);
    put_line(&b, 0, 150, 4, 2, true);
    put_line(&b, 0, 200, 0, 2, false);
    put_line(&b, 0, 420, 0, 0, true);
    rc |= fuzz_seed_write(dir, "home-visits", b.b, b.n);
    fuzz_put(&b, 5), fuzz_put(&b, 1), fuzz_put(&b, 2); /* the source fails its 3rd call */
    rc |= fuzz_seed_write(dir, "home-visits-source-fails", b.b, b.n);

    /* physical therapy: A or B 20 per calendar year, B alone 10 per plan
     * year from July 1 with thresholds 50/80/130; 20 lines */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);
    fuzz_put(&b, 2);
    fuzz_put(&b, 0), fuzz_put(&b, (CODE_A | CODE_B) - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 12), fuzz_put(&b, K_CAL_YEAR), fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put(&b, CODE_B - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 10), fuzz_put(&b, K_PLAN_YEAR), fuzz_put(&b, 6),
        fuzz_put(&b, 0);
    fuzz_put(&b, 3), fuzz_put(&b, 3), fuzz_put(&b, 49), fuzz_put(&b, 29), fuzz_put(&b, 49);
    fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put16(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1),
        fuzz_put(&b, 0);
    fuzz_put(&b, 0); /* no usage */
    fuzz_put(&b, 19);
    for (i = 0; i < 20; i++)
        put_line(&b, i % 3 == 0 ? 0 : 1, 400 + 7 * i, i == 5 ? 5 : 0, i % 4 == 0 ? 0 : 2,
                 i % 6 == 5);
    rc |= fuzz_seed_write(dir, "pt-nested-limits", b.b, b.n);
    fuzz_put(&b, 7), fuzz_put(&b, 7), fuzz_put(&b, 4); /* line 8 dated after 9999 */
    rc |= fuzz_seed_write(dir, "pt-nested-limits-bad-line", b.b, b.n);

    /* a household: C once per rolling 365 days with a member cap of 1, C
     * or D $500 per rolling 12 months capped at half; the other household
     * member used both; overage to the sponsor */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);
    fuzz_put(&b, 2);
    fuzz_put(&b, 2), fuzz_put(&b, CODE_C - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED | F_HOUSEHOLD | F_SPONSOR), fuzz_put(&b, 1);
    fuzz_put(&b, K_ROLLING_DAYS), fuzz_put(&b, 5), fuzz_put(&b, 1), fuzz_put(&b, 0),
        fuzz_put(&b, 0);
    fuzz_put(&b, 3), fuzz_put(&b, (CODE_C | CODE_D) - 1), fuzz_put(&b, 1);
    fuzz_put(&b, F_LIMITED | F_HOUSEHOLD), fuzz_put(&b, 11);
    fuzz_put(&b, K_ROLLING_MONTHS), fuzz_put(&b, 3), fuzz_put(&b, 2), fuzz_put(&b, 0);
    fuzz_put(&b, 0x03), fuzz_put(&b, 1), fuzz_put16(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1),
        fuzz_put(&b, 0);
    fuzz_put(&b, 3);
    fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put(&b, 2), fuzz_put(&b, 0), fuzz_put16(&b, 700 + 100),
        fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put(&b, 3), fuzz_put(&b, 0), fuzz_put16(&b, 700 + 120),
        fuzz_put(&b, 5), fuzz_put(&b, 3);
    fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put(&b, 3), fuzz_put(&b, 1), fuzz_put16(&b, 700 + 300),
        fuzz_put(&b, 4), fuzz_put(&b, 60);
    fuzz_put(&b, 7);
    put_line(&b, 2, 150, 0, 2, true);
    put_line(&b, 2, 465, 0, 2, false);
    put_line(&b, 2, 466, 0, 2, true);
    put_line(&b, 3, 200, 4, 2, false);
    put_line(&b, 3, 90, 5, 4, true);
    put_line(&b, 2, 30, 0, 2, true);
    put_line(&b, 3, 700, 6, 1, true);
    put_line(&b, 2, 800, 0, 0, true);
    rc |= fuzz_seed_write(dir, "household-rolling", b.b, b.n);
    b.b[0] = 1; /* the same near 9999-12-31 and near 1900-01-01 */
    rc |= fuzz_seed_write(dir, "household-rolling-9999", b.b, b.n);
    b.b[0] = 0;
    rc |= fuzz_seed_write(dir, "household-rolling-1900", b.b, b.n);
    fuzz_put(&b, 6), fuzz_put(&b, 1), fuzz_put(&b, 0); /* no each_day */
    rc |= fuzz_seed_write(dir, "household-rolling-no-each-day", b.b, b.n);

    /* two plans of two versions, a member moving between them, keys kept
     * across versions; amounts, quarters, months, lifetime */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 1);
    fuzz_put(&b, 1), fuzz_put16(&b, 100);
    fuzz_put(&b, 2);
    fuzz_put(&b, 0), fuzz_put(&b, (CODE_A | CODE_B | CODE_C) - 1), fuzz_put(&b, 1);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 4), fuzz_put(&b, K_QUARTER), fuzz_put(&b, 2);
    fuzz_put(&b, 1), fuzz_put(&b, CODE_A - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 3), fuzz_put(&b, K_LIFETIME), fuzz_put(&b, 0);
    fuzz_put16(&b, 200), fuzz_put(&b, 2);
    fuzz_put(&b, 0), fuzz_put(&b, (CODE_A | CODE_B | CODE_C) - 1), fuzz_put(&b, 1);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 11), fuzz_put(&b, K_CAL_MONTH), fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put(&b, CODE_A - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED | F_OVERAGE), fuzz_put(&b, 5), fuzz_put(&b, K_LIFETIME), fuzz_put(&b, 1),
        fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put16(&b, 300);
    fuzz_put(&b, 1);
    fuzz_put(&b, 2), fuzz_put(&b, CODE_D - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 2), fuzz_put(&b, K_MEMBER_MONTH), fuzz_put(&b, 0);
    fuzz_put16(&b, 365), fuzz_put(&b, 1);
    fuzz_put(&b, 2), fuzz_put(&b, (CODE_C | CODE_D) - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 4), fuzz_put(&b, K_MEMBER_YEAR), fuzz_put(&b, 0);
    fuzz_put(&b, 0x04), fuzz_put(&b, 3), fuzz_put16(&b, 0); /* anniversary Feb 29, 3 enrollments */
    fuzz_put(&b, 0), fuzz_put16(&b, 300), fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put16(&b, 200), fuzz_put(&b, 10);
    fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put(&b, 0);
    fuzz_put(&b, 1); /* unsorted */
    fuzz_put(&b, 2);
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put16(&b, 600),
        fuzz_put(&b, 5), fuzz_put(&b, 0);
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put16(&b, 650),
        fuzz_put(&b, 1);
    fuzz_put(&b, 11);
    for (i = 0; i < 12; i++)
        put_line(&b, (unsigned)i % 5, 60 * i, i % 8, i % 8, i % 3 == 2);
    rc |= fuzz_seed_write(dir, "plans-versions", b.b, b.n);

    /* the extremes: allowances, prices and quantities at their limits, a
     * member-price rule, an unlimited amount rule, many thresholds */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);
    fuzz_put(&b, 3);
    fuzz_put(&b, 0), fuzz_put(&b, 14), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 15), fuzz_put(&b, K_ROLLING_MONTHS), fuzz_put(&b, 5),
        fuzz_put(&b, 3), fuzz_put(&b, 16);
    for (i = 0; i < 16; i++)
        fuzz_put(&b, 60);
    fuzz_put(&b, 1), fuzz_put(&b, 14), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED | F_OVERAGE), fuzz_put(&b, 0), fuzz_put(&b, K_CAL_YEAR), fuzz_put(&b, 4),
        fuzz_put(&b, 0);
    fuzz_put(&b, 2), fuzz_put(&b, 14), fuzz_put(&b, 1);
    fuzz_put(&b, 0x00), fuzz_put(&b, 0), fuzz_put(&b, K_ROLLING_DAYS), fuzz_put(&b, 8),
        fuzz_put(&b, 2);
    fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put16(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1),
        fuzz_put(&b, 0);
    fuzz_put(&b, 1);
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put16(&b, 900),
        fuzz_put(&b, 7);
    fuzz_put(&b, 5);
    for (i = 0; i < 6; i++)
        put_line(&b, (unsigned)i % 4, 100 + 30 * i, 7, i % 2 ? 5 : 0, i == 2);
    rc |= fuzz_seed_write(dir, "extremes", b.b, b.n);

    /* an enrollment in a plan that does not exist: that invoice fails,
     * the next one is priced */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);
    fuzz_put(&b, 1);
    fuzz_put(&b, 0), fuzz_put(&b, CODE_A - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED), fuzz_put(&b, 1), fuzz_put(&b, K_CAL_YEAR), fuzz_put(&b, 0);
    fuzz_put(&b, 0), fuzz_put(&b, 2), fuzz_put16(&b, 0);
    fuzz_put(&b, 15), fuzz_put16(&b, 400), fuzz_put(&b, 0);
    fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put(&b, 0), fuzz_put(&b, 0);
    fuzz_put(&b, 0);
    fuzz_put(&b, 2);
    put_line(&b, 0, 0, 0, 2, true);
    put_line(&b, 0, -365, 0, 2, true);
    put_line(&b, 0, 501, 0, 2, true);
    rc |= fuzz_seed_write(dir, "unknown-plan", b.b, b.n);

    /* usage the store should never hold: negative amounts */
    b.n = 0;
    fuzz_put(&b, 2); /* base 2024-01-01 */
    fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 0);
    fuzz_put(&b, 1);
    fuzz_put(&b, 0), fuzz_put(&b, CODE_A - 1), fuzz_put(&b, 0);
    fuzz_put(&b, F_LIMITED | F_HOUSEHOLD), fuzz_put(&b, 3), fuzz_put(&b, K_ROLLING_DAYS),
        fuzz_put(&b, 3), fuzz_put(&b, 2), fuzz_put(&b, 0);
    fuzz_put(&b, 0x71), fuzz_put(&b, 1), fuzz_put16(&b, 0), fuzz_put(&b, 0), fuzz_put(&b, 1),
        fuzz_put(&b, 0);
    fuzz_put(&b, 2);
    fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put(&b, 0), fuzz_put(&b, 1), fuzz_put16(&b, 750),
        fuzz_put(&b, 2), fuzz_put(&b, 0);
    fuzz_put(&b, 1), fuzz_put(&b, 1), fuzz_put(&b, 0), fuzz_put(&b, 0), fuzz_put16(&b, 760),
        fuzz_put(&b, 3), fuzz_put(&b, 1);
    fuzz_put(&b, 2);
    put_line(&b, 0, 55, 4, 2, false);
    put_line(&b, 0, 60, 0, 2, true);
    put_line(&b, 0, 50, 5, 0, true);
    rc |= fuzz_seed_write(dir, "negative-usage", b.b, b.n);
    return rc ? -1 : 0;
}
