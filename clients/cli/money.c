/* money.c - see money.h. */
#include "money.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INT_DIGITS 13

int money_parse(const char *s, int64_t *cents, const char **why)
{
    int64_t whole = 0, frac = 0;
    int ndig = 0, nfrac = 0;
    const char *p = s;

    if (!s || !*s) {
        *why = "empty amount";
        return -1;
    }
    if (*p == '$')
        p++;
    if (*p == '-' || *p == '+') {
        *why = "an amount cannot be negative or signed";
        return -1;
    }
    for (; *p >= '0' && *p <= '9'; p++) {
        if (ndig == MAX_INT_DIGITS) {
            *why = "amount too large (at most 9999999999999.99)";
            return -1;
        }
        /* Leading zeros do not count against the digit limit. */
        if (ndig || *p != '0')
            ndig++;
        whole = whole * 10 + (*p - '0');
    }
    if (p == s || (p == s + 1 && *s == '$')) {
        *why = "not an amount (write dollars like 150.00)";
        return -1;
    }
    if (*p == '.') {
        p++;
        for (; *p >= '0' && *p <= '9'; p++) {
            if (++nfrac > 2) {
                *why = "more than 2 decimals (amounts are whole cents)";
                return -1;
            }
            frac = frac * 10 + (*p - '0');
        }
        if (nfrac == 0) {
            *why = "not an amount (write dollars like 150.00)";
            return -1;
        }
        if (nfrac == 1)
            frac *= 10;
    }
    if (*p) {
        *why = "not an amount (write dollars like 150.00)";
        return -1;
    }
    *cents = whole * 100 + frac;
    return 0;
}

int money_from_real(double v, int64_t *cents, const char **why)
{
    char buf[64];
    int d;

    if (!(v >= 0)) { /* also NaN */
        *why = "an amount cannot be negative";
        return -1;
    }
    if (v > 100000000000.0) {
        *why = "amount too large for a JSON number (write it as a string, e.g. \"150.00\")";
        return -1;
    }
    /* The literal the file held was parsed to the nearest double. If some
     * 0-2 decimal rendering of v parses back to v, that rendering is the
     * literal's value (below 1e11 doubles are far closer together than
     * 0.001, so no 3-decimal literal can land on the same double). */
    for (d = 0; d <= 2; d++) {
        snprintf(buf, sizeof buf, "%.*f", d, v);
        if (strtod(buf, NULL) == v)
            return money_parse(buf, cents, why);
    }
    *why = "more than 2 decimals (amounts are whole cents)";
    return -1;
}

int money_from_dollars(int64_t dollars, int64_t *cents, const char **why)
{
    if (dollars < 0) {
        *why = "an amount cannot be negative";
        return -1;
    }
    if (dollars > MONEY_MAX_CENTS / 100) {
        *why = "amount too large (at most 9999999999999.99)";
        return -1;
    }
    *cents = dollars * 100;
    return 0;
}

static char *format(int64_t cents, const char *sym, char *buf)
{
    /* Negate in unsigned arithmetic: INT64_MIN has no positive twin. */
    uint64_t u = cents < 0 ? 0 - (uint64_t)cents : (uint64_t)cents;
    snprintf(buf, MONEY_BUFLEN, "%s%s%" PRIu64 ".%02u", cents < 0 ? "-" : "", sym, u / 100,
             (unsigned)(u % 100));
    return buf;
}

char *money_format(int64_t cents, char buf[MONEY_BUFLEN])
{
    return format(cents, "", buf);
}

char *money_format_usd(int64_t cents, char buf[MONEY_BUFLEN])
{
    return format(cents, "$", buf);
}
