/* fuzz_date.c - civil dates and period windows on arbitrary bytes.
 *
 * Input: the whole input is a candidate date string; when its first 10 bytes
 * parse, the rest gives a month count, a day offset and a period (kind,
 * parameters, anniversary) to check add_months, weekday and
 * allot_period_window against independent definitions. The first 4 bytes
 * are also read as a raw day number (any int32).
 */
#include <string.h>

#include "allot/date.h"
#include "allot/engine.h"
#include "allot/err.h"

#include "fuzz.h"

/* Tomohiko Sakamoto's weekday (0 = Sunday), an independent check. */
static int sakamoto(int y, int m, int d)
{
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
    if (m < 3)
        y -= 1;
    return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int dim(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static bool in_range(int64_t d)
{
    return d >= ALLOT_DATE_MIN && d <= ALLOT_DATE_MAX;
}

/* Any int32 but NONE: to_ymd and from_ymd are inverse; format gives "" or
 * a string that parses back when its year is one the service accepts. */
static void check_raw(allot_date x)
{
    char buf[ALLOT_DATE_STRLEN];
    allot_date back = 0;
    int y, m, d;

    if (x == ALLOT_DATE_NONE) {
        FUZZ_CHECK(allot_date_format(x, buf)[0] == '\0', "NONE formats as \"\"");
        FUZZ_CHECK(allot_date_add_months(x, 5) == ALLOT_DATE_NONE, "NONE + months");
        return;
    }
    allot_date_to_ymd(x, &y, &m, &d);
    FUZZ_CHECK(m >= 1 && m <= 12 && d >= 1 && d <= dim(y, m), "%d: %d-%d-%d", x, y, m, d);
    FUZZ_CHECK(allot_date_from_ymd(y, m, d) == x, "%d: from_ymd(to_ymd) differs", x);
    allot_date_format(x, buf);
    if (y < 0 || y > 9999) {
        FUZZ_CHECK(buf[0] == '\0', "%d formats as \"%s\"", x, buf);
    } else {
        FUZZ_CHECK(strlen(buf) == 10, "%d formats as \"%s\"", x, buf);
        if (y >= 1900)
            FUZZ_CHECK(allot_date_parse(buf, &back) == 0 && back == x, "%s does not parse back",
                       buf);
        else
            FUZZ_CHECK(allot_date_parse(buf, &back) == ALLOT_EINVAL, "%s parses", buf);
    }
    FUZZ_CHECK(allot_date_weekday(x) >= 0 && allot_date_weekday(x) <= 6, "weekday of %d", x);
    if (!in_range(x)) {
        struct allot_period p = {ALLOT_PERIOD_CALENDAR_YEAR, 0, 0, 0};
        struct allot_window w;
        FUZZ_CHECK(allot_period_window(&p, x, x, &w) == ALLOT_EINVAL, "window of %d", x);
    }
}

static void check_add_months(allot_date d, int y, int m, int dd, int32_t n)
{
    allot_date r = allot_date_add_months(d, n);
    int64_t total = (int64_t)y * 12 + (m - 1) + n;
    int64_t ey = total >= 0 ? total / 12 : -((-total + 11) / 12);
    int em = (int)(total - ey * 12) + 1;
    int ry, rm, rd;

    if (ey < 1900 || ey > 9999)
        return; /* defined, but not a date the service uses */
    allot_date_to_ymd(r, &ry, &rm, &rd);
    FUZZ_CHECK(ry == ey && rm == em && rd == (dd < dim(ry, rm) ? dd : dim(ry, rm)),
               "%04d-%02d-%02d + %d months = %04d-%02d-%02d", y, m, dd, (int)n, ry, rm, rd);
    /* strictly monotonic in n */
    if (n > INT32_MIN && ey * 12 + em - 1 > 1900 * 12)
        FUZZ_CHECK(allot_date_add_months(d, n - 1) < r, "add_months not monotonic at %d", n);
}

static bool period_valid_expect(const struct allot_period *p)
{
    switch (p->kind) {
    case ALLOT_PERIOD_PLAN_YEAR:
        return p->month >= 1 && p->month <= 12 && p->day >= 1 && p->day <= dim(2000, p->month);
    case ALLOT_PERIOD_ROLLING_DAYS:
        return p->count >= 1 && p->count <= ALLOT_ROLLING_DAYS_MAX;
    case ALLOT_PERIOD_ROLLING_MONTHS:
        return p->count >= 1 && p->count <= ALLOT_ROLLING_MONTHS_MAX;
    default:
        return p->kind >= ALLOT_PERIOD_CALENDAR_YEAR && p->kind <= ALLOT_PERIOD_LIFETIME;
    }
}

/* The window of a fixed kind: its start is the anchor of its month, its
 * length fits the kind, and its neighbours meet it without gap or overlap. */
static void check_fixed_window(const struct allot_period *p, allot_date anniv, allot_date d,
                               const struct allot_window *w)
{
    struct allot_window o;
    int sy, sm, sd, ay = 0, am = 0, ad = 0, len = (int)(w->end - w->start);

    allot_date_to_ymd(w->start, &sy, &sm, &sd);
    if (anniv != ALLOT_DATE_NONE && in_range(anniv))
        allot_date_to_ymd(anniv, &ay, &am, &ad);
    switch (p->kind) {
    case ALLOT_PERIOD_CALENDAR_YEAR:
        FUZZ_CHECK(sm == 1 && sd == 1 && len >= 365 && len <= 366, "calendar year %d", len);
        break;
    case ALLOT_PERIOD_MEMBER_YEAR:
    case ALLOT_PERIOD_PLAN_YEAR: {
        int mon = p->kind == ALLOT_PERIOD_PLAN_YEAR ? p->month : am;
        int day = p->kind == ALLOT_PERIOD_PLAN_YEAR ? p->day : ad;
        FUZZ_CHECK(sm == mon && sd == (day < dim(sy, mon) ? day : dim(sy, mon)) && len >= 365 &&
                       len <= 366,
                   "year window starts %d-%d-%d, %d days, anchor %d-%d", sy, sm, sd, len, mon, day);
        break;
    }
    case ALLOT_PERIOD_CALENDAR_MONTH:
    case ALLOT_PERIOD_MEMBER_MONTH: {
        int day = p->kind == ALLOT_PERIOD_CALENDAR_MONTH ? 1 : ad;
        FUZZ_CHECK(sd == (day < dim(sy, sm) ? day : dim(sy, sm)) && len >= 28 && len <= 31,
                   "month window starts %d-%d-%d, %d days, anchor day %d", sy, sm, sd, len, day);
        break;
    }
    case ALLOT_PERIOD_CALENDAR_QUARTER:
        FUZZ_CHECK((sm - 1) % 3 == 0 && sd == 1 && len >= 90 && len <= 92, "quarter %d-%d, %d", sm,
                   sd, len);
        break;
    default:
        FUZZ_CHECK(0, "not a fixed kind %d", (int)p->kind);
    }
    /* every day of the window has this window; the neighbours meet it */
    if (in_range(w->start)) {
        FUZZ_CHECK(allot_period_window(p, anniv, w->start, &o) == 0 && o.start == w->start &&
                       o.end == w->end,
                   "window of its own start differs");
    }
    if (in_range((int64_t)w->end - 1))
        FUZZ_CHECK(allot_period_window(p, anniv, w->end - 1, &o) == 0 && o.start == w->start &&
                       o.end == w->end,
                   "window of its last day differs");
    if (in_range(w->end))
        FUZZ_CHECK(allot_period_window(p, anniv, w->end, &o) == 0 && o.start == w->end,
                   "next window does not start at the end");
    if (in_range((int64_t)w->start - 1))
        FUZZ_CHECK(allot_period_window(p, anniv, w->start - 1, &o) == 0 && o.end == w->start,
                   "previous window does not end at the start");
    (void)d;
}

static void check_period(struct fuzz_reader *r, allot_date d)
{
    struct allot_period p = {0, 0, 0, 0};
    struct allot_window w;
    allot_date anniv;
    bool member_anchored, expect_ok;
    int rc;

    p.kind = (enum allot_period_kind)(1 + fuzz_pick(r, 10)); /* 10: one bad kind */
    if (p.kind == ALLOT_PERIOD_PLAN_YEAR) {
        p.month = (int)fuzz_pick(r, 13); /* 0: bad */
        p.day = (int)fuzz_pick(r, 33);
    } else if (p.kind == ALLOT_PERIOD_ROLLING_DAYS) {
        p.count = (int)(fuzz_u16(r) % (ALLOT_ROLLING_DAYS_MAX + 2));
    } else if (p.kind == ALLOT_PERIOD_ROLLING_MONTHS) {
        p.count = (int)(fuzz_u16(r) % (ALLOT_ROLLING_MONTHS_MAX + 2));
    }
    switch (fuzz_pick(r, 4)) {
    case 0:
        anniv = ALLOT_DATE_NONE;
        break;
    case 1:
        anniv = allot_date_from_ymd(2024, 2, 29);
        break;
    default:
        anniv = d + (int16_t)fuzz_u16(r);
        break;
    }
    member_anchored = p.kind == ALLOT_PERIOD_MEMBER_YEAR || p.kind == ALLOT_PERIOD_MEMBER_MONTH;
    expect_ok = period_valid_expect(&p) && (!member_anchored || in_range(anniv));
    FUZZ_CHECK(allot_period_valid(&p) == period_valid_expect(&p), "period_valid kind %d %d/%d/%d",
               (int)p.kind, p.month, p.day, p.count);
    rc = allot_period_window(&p, anniv, d, &w);
    FUZZ_CHECK(rc == (expect_ok ? 0 : ALLOT_EINVAL), "window rc %d for kind %d", rc, (int)p.kind);
    if (rc)
        return;
    FUZZ_CHECK(w.start <= d && d < w.end, "%d not in [%d, %d)", d, w.start, w.end);
    switch (p.kind) {
    case ALLOT_PERIOD_LIFETIME:
        FUZZ_CHECK(w.start == ALLOT_DATE_MIN && w.end == ALLOT_DATE_NONE, "lifetime window");
        break;
    case ALLOT_PERIOD_ROLLING_DAYS:
        FUZZ_CHECK(w.end == d + 1 && w.start == d - p.count + 1, "rolling days window");
        break;
    case ALLOT_PERIOD_ROLLING_MONTHS:
        FUZZ_CHECK(w.end == d + 1 && w.start == allot_date_add_months(d, -p.count) + 1,
                   "rolling months window");
        break;
    default:
        check_fixed_window(&p, anniv, d, &w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char buf[ALLOT_DATE_STRLEN], *s;
    struct fuzz_reader r;
    allot_date d = 0, d2 = 0;
    int rc, rc2, y, m, dd, w;

    /* arbitrary bytes: parse_n never reads past n; parse agrees with it on
     * the string up to the first NUL */
    rc = allot_date_parse_n((const char *)data, size, &d);
    if (!(s = malloc(size + 1)))
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    rc2 = allot_date_parse(s, &d2);
    FUZZ_CHECK(rc == 0 || rc == ALLOT_EINVAL, "parse_n rc %d", rc);
    if (strlen(s) == size)
        FUZZ_CHECK(rc == rc2 && (rc || d == d2), "parse and parse_n disagree");
    else
        FUZZ_CHECK(rc2 == allot_date_parse_n(s, strlen(s), &d), "parse and parse_n disagree");
    free(s);
    FUZZ_CHECK(allot_date_parse(NULL, &d) == ALLOT_EINVAL, "NULL parses");

    if (size >= 4) {
        int32_t x;
        memcpy(&x, data, 4);
        check_raw(x);
    }
    if (size < 10 || allot_date_parse_n((const char *)data, 10, &d) != 0)
        return 0;

    /* a date: format gives back exactly the bytes that parsed */
    FUZZ_CHECK(in_range(d), "parsed %d out of range", d);
    allot_date_format(d, buf);
    FUZZ_CHECK(memcmp(buf, data, 10) == 0 && buf[10] == '\0', "\"%.10s\" formats as \"%s\"",
               (const char *)data, buf);
    allot_date_to_ymd(d, &y, &m, &dd);
    FUZZ_CHECK(allot_date_valid(y, m, dd) && y >= 1900 && y <= 9999, "ymd %d-%d-%d", y, m, dd);
    FUZZ_CHECK(allot_days_in_month(y, m) == dim(y, m), "days in %d-%d", y, m);
    FUZZ_CHECK(allot_date_from_ymd_clamped(y, m, 31) == allot_date_from_ymd(y, m, dim(y, m)),
               "clamp %d-%d", y, m);
    if (y < 9999 || m < 12)
        FUZZ_CHECK(allot_date_from_ymd(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) -
                           allot_date_from_ymd(y, m, 1) ==
                       dim(y, m),
                   "month length %d-%d", y, m);
    w = allot_date_weekday(d);
    FUZZ_CHECK(w == (sakamoto(y, m, dd) + 6) % 7, "weekday of %s: %d", buf, w);
    FUZZ_CHECK(allot_date_weekday(d + 1) == (w + 1) % 7, "weekday after %s", buf);

    r.p = data + 10;
    r.n = size - 10;
    check_add_months(d, y, m, dd, 0);
    FUZZ_CHECK(allot_date_add_months(d, 0) == d, "%s + 0 months", buf);
    check_add_months(d, y, m, dd, (int32_t)fuzz_u32(&r));
    check_add_months(d, y, m, dd, (int16_t)fuzz_u16(&r));
    check_raw((allot_date)(uint32_t)((uint32_t)d + fuzz_u32(&r))); /* wraps */
    while (r.n)
        check_period(&r, d);
    return 0;
}

int fuzz_write_seeds(const char *dir)
{
    static const struct {
        const char *name, *date;
        int32_t months;
        int16_t months2;
        int32_t days;
        uint8_t period[8];
        size_t nperiod;
    } seeds[] = {
        /* anniversary Feb 29, member year; Jan 31 + 1 month */
        {"leap-member-year", "2024-02-29", 12, -1, 365, {1, 1}, 2},
        {"month-end", "2025-01-31", 1, 13, -31, {4, 0, 5, 2}, 4},
        {"plan-year-jul1", "2025-06-30", -6, 6, 1, {2, 7, 1, 0}, 4},
        {"rolling-365", "2026-05-09", 36, -36, 1, {6, 0x6d, 0x01, 0}, 4},
        {"rolling-months", "2025-03-31", -1, 1, 0, {7, 36, 0, 0}, 4},
        {"first-day", "1900-01-01", -1, 1, -1, {5, 0, 8, 0}, 4},
        {"last-day", "9999-12-31", 1, -1, 1, {0, 0, 3, 0}, 4},
        {"quarter", "2000-11-15", 1200, -1200, 146097, {5, 0, 5, 1}, 4},
    };
    static const char *bad[] = {
        "2025-02-29", "2025-13-01", "1899-12-31", "2025-1-01", "2025-01-01x", "20250101", ""};
    struct fuzz_buf fb;
    char name[64];
    size_t i;

    for (i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        fb.n = 0;
        fuzz_put_bytes(&fb, seeds[i].date, 10);
        fuzz_put32(&fb, (uint32_t)seeds[i].months);
        fuzz_put16(&fb, (uint16_t)seeds[i].months2);
        fuzz_put32(&fb, (uint32_t)seeds[i].days);
        fuzz_put_bytes(&fb, seeds[i].period, seeds[i].nperiod);
        if (fuzz_seed_write(dir, seeds[i].name, fb.b, fb.n))
            return -1;
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(name, sizeof name, "bad-%zu", i);
        if (fuzz_seed_write(dir, name, bad[i], strlen(bad[i])))
            return -1;
    }
    return 0;
}
