/* linespec.c - see linespec.h. */
#include "linespec.h"

#include <stdio.h>
#include <string.h>

#include "allot/date.h"

#include "money.h"

#define USAGE_HINT "write CODE@YYYY-MM-DD[xQTY][=PRICE], e.g. HOME_VISIT@2025-04-01"

int linespec_parse(const char *s, struct line_spec *out, char *err, size_t errlen)
{
    const char *at = strrchr(s, '@'), *p, *q;
    struct line_spec l;
    allot_date d;
    size_t n;

    memset(&l, 0, sizeof l);
    if (!at) {
        snprintf(err, errlen, "no '@' before the date: %s", USAGE_HINT);
        return -1;
    }
    n = (size_t)(at - s);
    if (n == 0) {
        snprintf(err, errlen, "no service code before '@': %s", USAGE_HINT);
        return -1;
    }
    if (n > LINESPEC_CODE_MAX) {
        snprintf(err, errlen, "service code longer than %d bytes", LINESPEC_CODE_MAX);
        return -1;
    }
    for (p = s; p < at; p++) {
        if (*p <= ' ' || *p > '~') {
            snprintf(err, errlen, "service code \"%.*s\": only printable ASCII, no spaces", (int)n,
                     s);
            return -1;
        }
    }
    memcpy(l.code, s, n);

    p = at + 1;
    if (allot_date_parse_n(p, strnlen(p, 10), &d) || strnlen(p, 10) < 10) {
        snprintf(err, errlen, "date \"%.10s\" after '@': want a real date YYYY-MM-DD", p);
        return -1;
    }
    memcpy(l.date, p, 10);
    p += 10;

    l.quantity = 1;
    if (*p == 'x' || *p == 'X') {
        int64_t qty = 0;
        for (q = p + 1; *q >= '0' && *q <= '9'; q++) {
            qty = qty * 10 + (*q - '0');
            if (qty > LINESPEC_QTY_MAX)
                break;
        }
        if (q == p + 1 || qty < 1 || qty > LINESPEC_QTY_MAX || (*q && *q != '=')) {
            q = strchr(p, '=');
            snprintf(err, errlen, "quantity \"%.*s\": must be 1-%d", q ? (int)(q - p - 1) : 20,
                     p + 1, LINESPEC_QTY_MAX);
            return -1;
        }
        l.quantity = qty;
        p = q;
    }
    if (*p == '=') {
        const char *why;
        if (money_parse(p + 1, &l.price_cents, &why)) {
            snprintf(err, errlen, "price \"%.32s\": %s", p + 1, why);
            return -1;
        }
        l.has_price = 1;
    } else if (*p) {
        snprintf(err, errlen, "unexpected \"%.32s\" after the date: %s", p, USAGE_HINT);
        return -1;
    }
    *out = l;
    return 0;
}
