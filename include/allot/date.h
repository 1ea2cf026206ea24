/* allot/date.h - civil dates as day numbers.
 *
 * A civil date is an int32 count of days since 1970-01-01 (proleptic
 * Gregorian), so comparisons and day arithmetic are integer operations.
 * Dates the service accepts lie in years 1900-9999 (ALLOT_DATE_MIN..MAX).
 * There are no times and no time zones anywhere in the engine.
 *
 * Day arithmetic is plain integer arithmetic: d + 7 is a week later, b - a
 * is the number of days from a to b. Every function here is pure, does not
 * allocate and cannot fail unless it says so.
 */
#ifndef ALLOT_DATE_H
#define ALLOT_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int32_t allot_date;

/* "No date": an open enrollment end, an absent anniversary, no reset date.
 * Compares greater than every real date. */
#define ALLOT_DATE_NONE INT32_MAX

#define ALLOT_DATE_MIN (-25567) /* 1900-01-01 */
#define ALLOT_DATE_MAX 2932896  /* 9999-12-31 */

/* Length of "YYYY-MM-DD" plus the terminating NUL. */
#define ALLOT_DATE_STRLEN 11

/* Day number of y-m-d. The arguments must form a valid date (see
 * allot_date_valid); the result for other input is unspecified. */
allot_date allot_date_from_ymd(int y, int m, int d);
/* y-m-d with d clamped to the month's last day (2025-02-31 -> 2025-02-28):
 * how an anchor day that a month lacks is placed. y and m must be valid,
 * d >= 1. */
allot_date allot_date_from_ymd_clamped(int y, int m, int d);
/* Splits a day number into year, month (1-12), day (1-31). Exact for every
 * int32 except ALLOT_DATE_NONE, which is not a date. */
void allot_date_to_ymd(allot_date date, int *y, int *m, int *d);
/* True when y-m-d is a real date in years 1900-9999. */
bool allot_date_valid(int y, int m, int d);
/* True for Gregorian leap years (2000 yes, 1900 and 2100 no). */
bool allot_is_leap(int y);
/* Days in month m (1-12) of year y; 0 when m is out of range. */
int allot_days_in_month(int y, int m);

/* Parses exactly "YYYY-MM-DD" (10 chars, digits and dashes, a real date in
 * years 1900-9999) from the NUL-terminated s. Returns 0 and sets *out, or
 * ALLOT_EINVAL and leaves *out untouched. */
int allot_date_parse(const char *s, allot_date *out);
/* Parses n bytes (no NUL needed). Same rules as allot_date_parse. */
int allot_date_parse_n(const char *s, size_t n, allot_date *out);
/* Writes "YYYY-MM-DD" and a NUL into buf (ALLOT_DATE_STRLEN bytes).
 * ALLOT_DATE_NONE, and any date outside years 0-9999, is written as "".
 * Returns buf. */
char *allot_date_format(allot_date date, char buf[ALLOT_DATE_STRLEN]);

/* date plus n months, the day clamped to the target month's last day
 * (Jan 31 + 1 month = Feb 28 or 29; Feb 29 - 12 months = Feb 28). n may be
 * negative. Not invertible: Jan 31 + 1 - 1 month is Jan 28 or 29.
 * ALLOT_DATE_NONE stays ALLOT_DATE_NONE. */
allot_date allot_date_add_months(allot_date date, int n);
/* 0 = Monday ... 6 = Sunday. */
int allot_date_weekday(allot_date date);

#endif
