/* period.c - the window of a period kind that contains a date.
 *
 * Every fixed kind is "an anchor repeated every k months": a year anchored on
 * (month, day), a month anchored on a day, a quarter anchored on Jan 1. The
 * anchor is placed in each year or month separately and clamped to that
 * month's last day, rather than stepped from one period to the next with
 * allot_date_add_months: stepping would lose the anchor after the first short
 * month (Jan 31 -> Feb 28 -> Mar 28), while placing it afresh gives Feb 28,
 * Mar 31, Apr 30 as a billing team expects, and brings a Feb 29 anniversary
 * back to Feb 29 in leap years.
 *
 * Rolling kinds have no fixed windows: for them the window "containing" d is
 * the one ending on d, and rolling.c asks the two questions that matter for
 * coverage (which windows contain d, and when does an entry leave them) using
 * allot__rolling_start and allot__rolling_leave below.
 */
#include "allot/engine.h"

#include "engine_int.h"

/* The year-long window anchored on (mon, day) that contains d. */
static void year_window(int mon, int day, allot_date d, struct allot_window *out)
{
    int y, m, dd;
    allot_date a;

    allot_date_to_ymd(d, &y, &m, &dd);
    a = allot_date_from_ymd_clamped(y, mon, day);
    if (d >= a) {
        out->start = a;
        out->end = allot_date_from_ymd_clamped(y + 1, mon, day);
    } else {
        out->start = allot_date_from_ymd_clamped(y - 1, mon, day);
        out->end = a;
    }
}

/* The month-long window anchored on day `day` that contains d. */
static void month_window(int day, allot_date d, struct allot_window *out)
{
    int y, m, dd, py, pm, ny, nm;
    allot_date a;

    allot_date_to_ymd(d, &y, &m, &dd);
    a = allot_date_from_ymd_clamped(y, m, day);
    py = m == 1 ? y - 1 : y;
    pm = m == 1 ? 12 : m - 1;
    ny = m == 12 ? y + 1 : y;
    nm = m == 12 ? 1 : m + 1;
    if (d >= a) {
        out->start = a;
        out->end = allot_date_from_ymd_clamped(ny, nm, day);
    } else {
        out->start = allot_date_from_ymd_clamped(py, pm, day);
        out->end = a;
    }
}

bool allot_period_valid(const struct allot_period *p)
{
    switch (p->kind) {
    case ALLOT_PERIOD_CALENDAR_YEAR:
    case ALLOT_PERIOD_MEMBER_YEAR:
    case ALLOT_PERIOD_CALENDAR_MONTH:
    case ALLOT_PERIOD_MEMBER_MONTH:
    case ALLOT_PERIOD_CALENDAR_QUARTER:
    case ALLOT_PERIOD_LIFETIME:
        return true;
    case ALLOT_PERIOD_PLAN_YEAR:
        /* Feb 29 is a valid anchor: it clamps to Feb 28 in common years */
        return p->month >= 1 && p->month <= 12 && p->day >= 1 &&
               p->day <= allot_days_in_month(2000, p->month);
    case ALLOT_PERIOD_ROLLING_DAYS:
        return p->count >= 1 && p->count <= ALLOT_ROLLING_DAYS_MAX;
    case ALLOT_PERIOD_ROLLING_MONTHS:
        return p->count >= 1 && p->count <= ALLOT_ROLLING_MONTHS_MAX;
    }
    return false;
}

bool allot_period_is_rolling(const struct allot_period *p)
{
    return p->kind == ALLOT_PERIOD_ROLLING_DAYS || p->kind == ALLOT_PERIOD_ROLLING_MONTHS;
}

bool allot_period_member_anchored(const struct allot_period *p)
{
    return p->kind == ALLOT_PERIOD_MEMBER_YEAR || p->kind == ALLOT_PERIOD_MEMBER_MONTH;
}

allot_date allot__rolling_start(const struct allot_period *p, allot_date e)
{
    if (p->kind == ALLOT_PERIOD_ROLLING_DAYS)
        return e - p->count + 1;
    return allot_date_add_months(e, -p->count) + 1;
}

allot_date allot__rolling_leave(const struct allot_period *p, allot_date u)
{
    allot_date f;

    if (p->kind == ALLOT_PERIOD_ROLLING_DAYS)
        return u + p->count;
    /* The window ending on e starts the day after e - n months, so u leaves
     * at the first e with e - n months >= u. That is u + n months, or the day
     * after it when u's day was clamped (Jan 31 + 1 month = Feb 28, and the
     * window ending Feb 28 still reaches back to Jan 29). The loop runs at
     * most once; it states the definition rather than the case analysis. */
    f = allot_date_add_months(u, p->count);
    while (allot_date_add_months(f, -p->count) < u)
        f++;
    return f;
}

int allot_period_window(const struct allot_period *p, allot_date anniversary, allot_date d,
                        struct allot_window *out)
{
    int ay = 0, am = 1, ad = 1;

    if (!allot_period_valid(p) || d < ALLOT_DATE_MIN || d > ALLOT_DATE_MAX)
        return ALLOT_EINVAL;
    if (allot_period_member_anchored(p)) {
        if (anniversary < ALLOT_DATE_MIN || anniversary > ALLOT_DATE_MAX)
            return ALLOT_EINVAL;
        allot_date_to_ymd(anniversary, &ay, &am, &ad);
    }
    switch (p->kind) {
    case ALLOT_PERIOD_CALENDAR_YEAR:
        year_window(1, 1, d, out);
        break;
    case ALLOT_PERIOD_MEMBER_YEAR:
        year_window(am, ad, d, out);
        break;
    case ALLOT_PERIOD_PLAN_YEAR:
        year_window(p->month, p->day, d, out);
        break;
    case ALLOT_PERIOD_CALENDAR_MONTH:
        month_window(1, d, out);
        break;
    case ALLOT_PERIOD_MEMBER_MONTH:
        month_window(ad, d, out);
        break;
    case ALLOT_PERIOD_CALENDAR_QUARTER: {
        int y, m, dd;
        allot_date_to_ymd(d, &y, &m, &dd);
        out->start = allot_date_from_ymd(y, (m - 1) / 3 * 3 + 1, 1);
        out->end = allot_date_add_months(out->start, 3);
        break;
    }
    case ALLOT_PERIOD_ROLLING_DAYS:
    case ALLOT_PERIOD_ROLLING_MONTHS:
        out->start = allot__rolling_start(p, d);
        out->end = d + 1;
        break;
    case ALLOT_PERIOD_LIFETIME:
        out->start = ALLOT_DATE_MIN;
        out->end = ALLOT_DATE_NONE;
        break;
    }
    return ALLOT_OK;
}
