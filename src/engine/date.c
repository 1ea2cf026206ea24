/* date.c - civil dates as day numbers; see allot/date.h.
 *
 * The conversions are Howard Hinnant's days_from_civil / civil_from_days
 * ("chrono-Compatible Low-Level Date Algorithms"): the year is shifted to
 * start in March so that the leap day is the last day of the shifted year,
 * and the 400-year era makes the arithmetic exact for any int32 day number
 * without loops, tables, mktime or time zones.
 */
#include "allot/date.h"

#include <stdint.h>
#include <string.h>

#include "allot/err.h"

allot_date allot_date_from_ymd(int y, int m, int d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                                  /* [0, 399] */
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return (allot_date)(era * 146097 + doe - 719468);
}

void allot_date_to_ymd(allot_date date, int *y, int *m, int *d)
{
    int64_t z = (int64_t)date + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

bool allot_is_leap(int y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int allot_days_in_month(int y, int m)
{
    static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && allot_is_leap(y) ? 29 : days[m - 1];
}

bool allot_date_valid(int y, int m, int d)
{
    return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= allot_days_in_month(y, m);
}

allot_date allot_date_from_ymd_clamped(int y, int m, int d)
{
    int last = allot_days_in_month(y, m);
    return allot_date_from_ymd(y, m, d > last ? last : d);
}

/* Two digits at s as a number, or -1 when either is not a digit. */
static int digits2(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

int allot_date_parse_n(const char *s, size_t n, allot_date *out)
{
    int hi, lo, m, d;

    if (!s || n != 10 || s[4] != '-' || s[7] != '-')
        return ALLOT_EINVAL;
    hi = digits2(s);
    lo = digits2(s + 2);
    m = digits2(s + 5);
    d = digits2(s + 8);
    if (hi < 0 || lo < 0 || m < 0 || d < 0 || !allot_date_valid(hi * 100 + lo, m, d))
        return ALLOT_EINVAL;
    *out = allot_date_from_ymd(hi * 100 + lo, m, d);
    return ALLOT_OK;
}

int allot_date_parse(const char *s, allot_date *out)
{
    /* strnlen bounds the scan: a long string is rejected after 11 bytes. */
    if (!s)
        return ALLOT_EINVAL;
    return allot_date_parse_n(s, strnlen(s, ALLOT_DATE_STRLEN), out);
}

char *allot_date_format(allot_date date, char buf[ALLOT_DATE_STRLEN])
{
    int y, m, d;

    buf[0] = '\0';
    if (date == ALLOT_DATE_NONE)
        return buf;
    allot_date_to_ymd(date, &y, &m, &d);
    /* Four digits cannot say other years; "" is safer than a wrong date. */
    if (y < 0 || y > 9999)
        return buf;
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    return buf;
}

allot_date allot_date_add_months(allot_date date, int n)
{
    int y, m, d;
    int64_t months, ny, nm;

    if (date == ALLOT_DATE_NONE)
        return ALLOT_DATE_NONE;
    allot_date_to_ymd(date, &y, &m, &d);
    months = (int64_t)y * 12 + (m - 1) + n;
    /* Floor division, so negative month counts land in the right year. */
    ny = months >= 0 ? months / 12 : -((-months + 11) / 12);
    nm = months - ny * 12 + 1;
    return allot_date_from_ymd_clamped((int)ny, (int)nm, d);
}

int allot_date_weekday(allot_date date)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int64_t w = ((int64_t)date + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}
