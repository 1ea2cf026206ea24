/* words.c - see words.h. The values are the proto's enum numbers. */
#include "words.h"

#include <stdio.h>
#include <string.h>

#include "allot/v1/allot.pb-c.h"

#define P(x) ALLOT__V1__PERIOD_KIND__PERIOD_KIND_##x
const struct word period_words[] = {
    {"calendar_year", P(CALENDAR_YEAR), "calendar year"},
    {"member_year", P(MEMBER_YEAR), "member year"},
    {"plan_year", P(PLAN_YEAR), "plan year"},
    {"calendar_month", P(CALENDAR_MONTH), "calendar month"},
    {"member_month", P(MEMBER_MONTH), "member month"},
    {"calendar_quarter", P(CALENDAR_QUARTER), "calendar quarter"},
    {"rolling_days", P(ROLLING_DAYS), "rolling days"},
    {"rolling_months", P(ROLLING_MONTHS), "rolling months"},
    {"lifetime", P(LIFETIME), "lifetime"},
    {NULL, 0, NULL},
};
#undef P

const struct word limit_words[] = {
    {"quantity", ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY, NULL},
    {"amount", ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT, NULL},
    {NULL, 0, NULL},
};

const struct word pool_words[] = {
    {"member", ALLOT__V1__POOL_KIND__POOL_KIND_MEMBER, NULL},
    {"household", ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD, NULL},
    {NULL, 0, NULL},
};

const struct word payer_words[] = {
    {"patient", ALLOT__V1__PAYER__PAYER_PATIENT, NULL},
    {"sponsor", ALLOT__V1__PAYER__PAYER_SPONSOR, NULL},
    {NULL, 0, NULL},
};

const struct word source_words[] = {
    {"invoice", ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_INVOICE, NULL},
    {"prior", ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR, NULL},
    {"external", ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_EXTERNAL, NULL},
    {"adjustment", ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_ADJUSTMENT, NULL},
    {NULL, 0, NULL},
};

#define R(x) ALLOT__V1__REASON__REASON_##x
const struct word reason_words[] = {
    {"covered", R(COVERED), "covered"},
    {"partly_covered", R(PARTLY_COVERED), "partly covered"},
    {"allotment_used_up", R(ALLOTMENT_USED_UP), "allotment used up"},
    {"not_in_plan", R(NOT_IN_PLAN), "not in plan"},
    {"no_active_enrollment", R(NO_ACTIVE_ENROLLMENT), "no active enrollment"},
    {"member_price", R(MEMBER_PRICE), "member price"},
    {NULL, 0, NULL},
};
#undef R

static int same_word(const char *canon, const char *s)
{
    for (; *canon && *s; canon++, s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c == '-' || c == ' ')
            c = '_';
        if (c != *canon)
            return 0;
    }
    return !*canon && !*s;
}

int words_lookup(const struct word tbl[], const char *s, int *value)
{
    for (; tbl->word; tbl++) {
        if (same_word(tbl->word, s)) {
            *value = tbl->value;
            return 0;
        }
    }
    return -1;
}

const char *words_name(const struct word tbl[], int value)
{
    for (; tbl->word; tbl++)
        if (tbl->value == value)
            return tbl->word;
    return NULL;
}

const char *words_text(const struct word tbl[], int value)
{
    for (; tbl->word; tbl++)
        if (tbl->value == value)
            return tbl->text ? tbl->text : tbl->word;
    return NULL;
}

char *words_list(const struct word tbl[], char *buf, size_t len)
{
    size_t off = 0;
    int i;

    buf[0] = '\0';
    for (i = 0; tbl[i].word && off < len; i++) {
        const char *sep = i == 0 ? "" : tbl[i + 1].word ? ", " : " or ";
        int n = snprintf(buf + off, len - off, "%s%s", sep, tbl[i].word);
        if (n < 0)
            break;
        off += (size_t)n;
    }
    return buf;
}
