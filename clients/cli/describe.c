/* describe.c - see describe.h. */
#include "describe.h"

#include <inttypes.h>
#include <stdio.h>

#include "money.h"
#include "words.h"

char *describe_period(const Allot__V1__Period *p, char buf[DESCRIBE_MAX])
{
    if (!p) {
        snprintf(buf, DESCRIBE_MAX, "no period");
        return buf;
    }
    switch (p->kind) {
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_PLAN_YEAR:
        snprintf(buf, DESCRIBE_MAX, "per plan year from %02d-%02d", (int)p->month, (int)p->day);
        break;
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS:
        snprintf(buf, DESCRIBE_MAX, "per %d day%s (rolling)", (int)p->count,
                 p->count == 1 ? "" : "s");
        break;
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_MONTHS:
        snprintf(buf, DESCRIBE_MAX, "per %d month%s (rolling)", (int)p->count,
                 p->count == 1 ? "" : "s");
        break;
    case ALLOT__V1__PERIOD_KIND__PERIOD_KIND_LIFETIME:
        snprintf(buf, DESCRIBE_MAX, "lifetime");
        break;
    default: {
        const char *t = words_text(period_words, p->kind);
        snprintf(buf, DESCRIBE_MAX, "per %s", t ? t : "unknown period");
        break;
    }
    }
    return buf;
}

char *describe_amount(Allot__V1__LimitKind limit, int64_t v, char buf[DESCRIBE_MAX])
{
    if (limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT) {
        char m[MONEY_BUFLEN];
        snprintf(buf, DESCRIBE_MAX, "%s", money_format_usd(v, m));
    } else {
        snprintf(buf, DESCRIBE_MAX, "%" PRId64, v);
    }
    return buf;
}

char *describe_left(Allot__V1__LimitKind limit, int unlimited, int64_t remaining, int64_t allowance,
                    char buf[DESCRIBE_MAX])
{
    char a[DESCRIBE_MAX], b[DESCRIBE_MAX];
    if (unlimited)
        snprintf(buf, DESCRIBE_MAX, "unlimited");
    else if (snprintf(buf, DESCRIBE_MAX, "%s of %s left", describe_amount(limit, remaining, a),
                      describe_amount(limit, allowance, b)) >= DESCRIBE_MAX)
        buf[DESCRIBE_MAX - 1] = '\0';
    return buf;
}
