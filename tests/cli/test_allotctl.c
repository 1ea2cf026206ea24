/* test_allotctl.c - the parts of allotctl that need no server: money,
 * line specs, enum words, JSON files -> messages, status mapping, tables,
 * JSON and FHIR output, audit entries, TLS files and tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <sys/stat.h>

#include "allot/arena.h"

#include "creds.h"
#include "fhir.h"
#include "json_in.h"
#include "linespec.h"
#include "money.h"
#include "out_audit.h"
#include "out_json.h"
#include "out_table.h"
#include "status.h"
#include "table.h"
#include "words.h"

/* ---- helpers ------------------------------------------------------------ */

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("test JSON does not parse: %s: %s", e.text, text);
    return v;
}

/* Captures what fn writes to a FILE. Caller frees. */
static char *capture_begin(FILE **f, char **buf, size_t *len)
{
    *f = open_memstream(buf, len);
    assert_non_null(*f);
    return *buf;
}

static char *capture_end(FILE *f, char **buf)
{
    fclose(f);
    return *buf;
}

#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        if (!strstr((hay), (needle)))                                                              \
            fail_msg("\"%s\" not found in:\n%s", (needle), (hay));                                 \
    } while (0)

/* ---- money -------------------------------------------------------------- */

static void money_parses_dollars_to_cents(void **state)
{
    static const struct {
        const char *in;
        int64_t cents;
    } ok[] = {
        {"150", 15000},     {"150.5", 15050},
        {"150.05", 15005},  {"0.01", 1},
        {"$150.00", 15000}, {"0", 0},
        {"007.10", 710},    {"9999999999999.99", 999999999999999},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t c = -1;
        const char *why = NULL;
        if (money_parse(ok[i].in, &c, &why))
            fail_msg("\"%s\" refused: %s", ok[i].in, why);
        assert_int_equal(c, ok[i].cents);
    }
}

static void money_refuses_bad_amounts(void **state)
{
    static const char *const bad[] = {
        "1.234",
        "-1",
        "abc",
        "",
        "150.",
        ".5",
        "1e3",
        " 1",
        "1,000",
        "+5",
        "$",
        "$-1",
        "1.2.3",
        "0x10",
        "10000000000000", /* 14 digits */
        "99999999999999999999",
        "1.",
        "1. 5",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t c = 12345;
        const char *why = NULL;
        if (money_parse(bad[i], &c, &why) == 0)
            fail_msg("\"%s\" accepted as %lld", bad[i], (long long)c);
        assert_non_null(why);
        assert_int_equal(c, 12345); /* untouched */
    }
    {
        int64_t c;
        const char *why;
        assert_int_equal(money_parse("1.234", &c, &why), -1);
        assert_contains(why, "more than 2 decimals");
        assert_int_equal(money_parse("-1", &c, &why), -1);
        assert_contains(why, "negative");
        assert_int_equal(money_parse("10000000000000", &c, &why), -1);
        assert_contains(why, "too large");
    }
}

static void money_from_json_numbers_is_exact(void **state)
{
    int64_t c;
    const char *why;
    (void)state;
    assert_int_equal(money_from_real(150.5, &c, &why), 0);
    assert_int_equal(c, 15050);
    assert_int_equal(money_from_real(150.05, &c, &why), 0);
    assert_int_equal(c, 15005);
    assert_int_equal(money_from_real(0.07, &c, &why), 0);
    assert_int_equal(c, 7);
    assert_int_equal(money_from_real(0.1 + 0.2, &c, &why), -1); /* 0.30000000000000004 */
    assert_int_equal(money_from_real(1.005, &c, &why), -1);
    assert_int_equal(money_from_real(1.234, &c, &why), -1);
    assert_contains(why, "decimals");
    assert_int_equal(money_from_real(-1.0, &c, &why), -1);
    assert_int_equal(money_from_real(1e12, &c, &why), -1);
    assert_contains(why, "string");
    assert_int_equal(money_from_real(99999999999.99, &c, &why), 0);
    assert_int_equal(c, INT64_C(9999999999999));
    assert_int_equal(money_from_dollars(150, &c, &why), 0);
    assert_int_equal(c, 15000);
    assert_int_equal(money_from_dollars(-1, &c, &why), -1);
    assert_int_equal(money_from_dollars(INT64_C(10000000000000), &c, &why), -1);
}

static void money_formats_two_decimals(void **state)
{
    char b[MONEY_BUFLEN];
    (void)state;
    assert_string_equal(money_format(15000, b), "150.00");
    assert_string_equal(money_format(5, b), "0.05");
    assert_string_equal(money_format(-5, b), "-0.05");
    assert_string_equal(money_format_usd(15005, b), "$150.05");
    assert_string_equal(money_format_usd(-150, b), "-$1.50");
    assert_string_equal(money_format(INT64_MIN, b), "-92233720368547758.08");
}

/* ---- line specs --------------------------------------------------------- */

static void linespec_parses_code_date_qty_price(void **state)
{
    struct line_spec l;
    char err[200];
    (void)state;
    assert_int_equal(linespec_parse("HOME_VISIT@2025-04-01", &l, err, sizeof err), 0);
    assert_string_equal(l.code, "HOME_VISIT");
    assert_string_equal(l.date, "2025-04-01");
    assert_int_equal(l.quantity, 1);
    assert_int_equal(l.has_price, 0);

    assert_int_equal(linespec_parse("97110@2025-03-02x3=120.00", &l, err, sizeof err), 0);
    assert_string_equal(l.code, "97110");
    assert_int_equal(l.quantity, 3);
    assert_int_equal(l.has_price, 1);
    assert_int_equal(l.price_cents, 12000);

    assert_int_equal(linespec_parse("LAB@2024-02-29=85.5", &l, err, sizeof err), 0);
    assert_int_equal(l.quantity, 1);
    assert_int_equal(l.price_cents, 8550);

    /* The last '@' separates: a code may contain one. */
    assert_int_equal(linespec_parse("A@B@2025-01-01x1000000", &l, err, sizeof err), 0);
    assert_string_equal(l.code, "A@B");
    assert_int_equal(l.quantity, 1000000);
}

static void linespec_refuses_with_reasons(void **state)
{
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"HOME_VISIT", "no '@'"},
        {"@2025-01-01", "no service code"},
        {"X@2025-02-30", "date"},
        {"X@2025-1-01", "date"},
        {"X@2025-01-01x0", "quantity"},
        {"X@2025-01-01x", "quantity"},
        {"X@2025-01-01x1000001", "quantity"},
        {"X@2025-01-01x-1", "quantity"},
        {"X@2025-01-01=1.234", "more than 2 decimals"},
        {"X@2025-01-01=", "price"},
        {"X@2025-01-01junk", "unexpected"},
        {"X Y@2025-01-01", "printable"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@2025-01-01",
         "longer than 64"},
    };
    struct line_spec l;
    char err[200];
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        if (linespec_parse(bad[i].in, &l, err, sizeof err) == 0)
            fail_msg("\"%s\" accepted", bad[i].in);
        if (!strstr(err, bad[i].why))
            fail_msg("\"%s\": reason \"%s\" does not mention \"%s\"", bad[i].in, err, bad[i].why);
    }
}

/* ---- words -------------------------------------------------------------- */

static void words_map_both_ways(void **state)
{
    char list[200];
    int v = -1;
    (void)state;
    assert_int_equal(words_lookup(period_words, "member_year", &v), 0);
    assert_int_equal(v, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_MEMBER_YEAR);
    assert_int_equal(words_lookup(period_words, "Rolling-Days", &v), 0);
    assert_int_equal(v, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS);
    assert_int_equal(words_lookup(period_words, "CALENDAR YEAR", &v), 0);
    assert_int_equal(v, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_CALENDAR_YEAR);
    assert_int_equal(words_lookup(period_words, "yearly", &v), -1);
    assert_int_equal(words_lookup(period_words, "member_yea", &v), -1);
    assert_int_equal(words_lookup(period_words, "", &v), -1);
    assert_int_equal(words_lookup(limit_words, "amount", &v), 0);
    assert_int_equal(v, ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT);
    assert_int_equal(words_lookup(pool_words, "household", &v), 0);
    assert_int_equal(v, ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD);
    assert_int_equal(words_lookup(payer_words, "sponsor", &v), 0);
    assert_int_equal(v, ALLOT__V1__PAYER__PAYER_SPONSOR);
    assert_int_equal(words_lookup(source_words, "external", &v), 0);
    assert_int_equal(v, ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_EXTERNAL);

    assert_string_equal(words_name(reason_words, ALLOT__V1__REASON__REASON_ALLOTMENT_USED_UP),
                        "allotment_used_up");
    assert_string_equal(words_text(reason_words, ALLOT__V1__REASON__REASON_ALLOTMENT_USED_UP),
                        "allotment used up");
    assert_string_equal(words_text(limit_words, ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY),
                        "quantity");
    assert_null(words_name(reason_words, 0));
    assert_string_equal(words_list(limit_words, list, sizeof list), "quantity or amount");
    assert_string_equal(words_list(pool_words, list, sizeof list), "member or household");
    assert_contains(words_list(period_words, list, sizeof list), "calendar_year, member_year,");
}

/* ---- JSON files -> messages --------------------------------------------- */

static const char family_plan[] =
    "{\"id\": \"family\", \"name\": \"Family Membership\", \"version\": {"
    " \"effective_from\": \"2024-01-01\", \"rules\": ["
    "  {\"key\": \"home-visits\", \"service_codes\": [\"HOME_VISIT\"], \"limit\": \"quantity\","
    "   \"allowance\": 2, \"period\": \"member_year\"},"
    "  {\"key\": \"pt\", \"service_codes\": [\"97110\", \"97112\"], \"limit\": \"quantity\","
    "   \"allowance\": 20, \"period\": {\"kind\": \"rolling_days\", \"count\": 365},"
    "   \"overage_price\": 90.5, \"overage_payer\": \"sponsor\", \"thresholds\": []},"
    "  {\"key\": \"labs\", \"service_codes\": [\"LAB_PANEL\"], \"limit\": \"amount\","
    "   \"allowance\": \"500.00\", \"period\": {\"kind\": \"plan_year\", \"month\": 7,"
    "   \"day\": 1}, \"pool\": \"household\", \"member_cap_cents\": 25000,"
    "   \"thresholds\": [80, 100]},"
    "  {\"key\": \"office\", \"service_codes\": [\"OFFICE_VISIT\"], \"limit\": \"quantity\","
    "   \"allowance\": \"unlimited\", \"period\": \"lifetime\"}"
    "]}}";

static void plan_file_maps_to_put_plan(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__PutPlanRequest **reqs;
    const Allot__V1__Rule *r;
    char err[JSON_IN_ERR_MAX];
    json_t *root = parse(family_plan);
    size_t n = 0;
    (void)state;

    if (json_in_plans(root, "family.json", &a, &reqs, &n, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(n, 1);
    assert_string_equal(reqs[0]->plan_id, "family");
    assert_string_equal(reqs[0]->name, "Family Membership");
    assert_string_equal(reqs[0]->version->effective_from, "2024-01-01");
    assert_int_equal(reqs[0]->version->n_rules, 4);

    r = reqs[0]->version->rules[0];
    assert_string_equal(r->key, "home-visits");
    assert_int_equal(r->n_service_codes, 1);
    assert_int_equal(r->limit, ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY);
    assert_int_equal(r->allowance, 2);
    assert_int_equal(r->period->kind, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_MEMBER_YEAR);
    assert_null(r->thresholds); /* absent: the default */
    assert_null(r->overage_price);

    r = reqs[0]->version->rules[1];
    assert_int_equal(r->period->kind, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS);
    assert_int_equal(r->period->count, 365);
    assert_non_null(r->overage_price);
    assert_int_equal(r->overage_price->cents, 9050);
    assert_int_equal(r->overage_payer, ALLOT__V1__PAYER__PAYER_SPONSOR);
    assert_non_null(r->thresholds); /* present and empty: no events */
    assert_int_equal(r->thresholds->n_percents, 0);

    r = reqs[0]->version->rules[2];
    assert_int_equal(r->limit, ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT);
    assert_int_equal(r->allowance, 50000); /* dollars -> cents */
    assert_int_equal(r->member_cap, 25000);
    assert_int_equal(r->pool, ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD);
    assert_int_equal(r->period->kind, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_PLAN_YEAR);
    assert_int_equal(r->period->month, 7);
    assert_int_equal(r->period->day, 1);
    assert_int_equal(r->thresholds->n_percents, 2);
    assert_int_equal(r->thresholds->percents[1], 100);

    r = reqs[0]->version->rules[3];
    assert_true(r->unlimited);
    assert_int_equal(r->allowance, 0);
    assert_int_equal(r->period->kind, ALLOT__V1__PERIOD_KIND__PERIOD_KIND_LIFETIME);

    json_decref(root);
    allot_arena_release(&a);
}

static void plan_file_with_versions_gives_one_request_each(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__PutPlanRequest **reqs;
    char err[JSON_IN_ERR_MAX];
    json_t *root = parse("[{\"id\": \"p\", \"versions\": ["
                         " {\"effective_from\": \"2024-01-01\", \"rules\": []},"
                         " {\"effective_from\": \"2025-01-01\"}]},"
                         " {\"id\": \"q\", \"version\": {\"effective_from\": \"2024-06-01\"}}]");
    size_t n = 0;
    (void)state;
    if (json_in_plans(root, "p.json", &a, &reqs, &n, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(n, 3);
    assert_string_equal(reqs[0]->plan_id, "p");
    assert_string_equal(reqs[1]->version->effective_from, "2025-01-01");
    assert_int_equal(reqs[1]->version->n_rules, 0);
    assert_string_equal(reqs[2]->plan_id, "q");
    json_decref(root);
    allot_arena_release(&a);
}

/* Each bad file must fail with a message naming the file and the field. */
static void plan_file_errors_name_file_and_field(void **state)
{
    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": [{}, "
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"amount\", \"allowance\": "
         "\"1.234\", \"period\": \"lifetime\"}]}}",
         "p.json: version.rules[0].key: required"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"amount\", \"allowance\": "
         "\"1.234\", \"period\": \"lifetime\"}]}}",
         "p.json: version.rules[0].allowance: \"1.234\": more than 2 decimals"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"amount\", \"allowance\": "
         "1.234, \"period\": \"lifetime\"}]}}",
         "p.json: version.rules[0].allowance: more than 2 decimals"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"allowance\": 2, \"period\": "
         "\"lifetime\"}]}}",
         "version.rules[0].limit: required"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"quantity\", \"allowance\": 2,"
         " \"period\": \"yearly\"}]}}",
         "version.rules[0].period.kind: want one of calendar_year, member_year"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"quantity\", \"allowance\": 2,"
         " \"period\": {\"kind\": \"rolling_days\", \"count\": 0}}]}}",
         "version.rules[0].period.count: must be 1-36600, got 0"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"quantity\", \"allowence\": 2,"
         " \"period\": \"lifetime\"}]}}",
         "version.rules[0]: unknown field \"allowence\""},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"quantity\", "
         "\"period\": \"lifetime\"}]}}",
         "version.rules[0].allowance: required"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"quantity\", \"allowance\": 2,"
         " \"allowance_cents\": 2, \"period\": \"lifetime\"}]}}",
         "version.rules[0].allowance_cents: only amount rules count cents"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": [\"A\"], \"limit\": \"amount\", \"allowance\": "
         "\"5.00\", \"allowance_cents\": 501, \"period\": \"lifetime\"}]}}",
         "version.rules[0].allowance_cents: 501 cents disagrees with allowance ($5.00)"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": ["
         "{\"key\": \"a\", \"service_codes\": \"A\", \"limit\": \"quantity\", \"allowance\": 2,"
         " \"period\": \"lifetime\"}]}}",
         "version.rules[0].service_codes: want a list [...], got a string"},
        {"{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-13-01\"}}",
         "p.json: version.effective_from: \"2024-13-01\" is not a date"},
        {"{\"id\": \"p\"}", "p.json: version: required"},
        {"{\"name\": \"x\", \"version\": {\"effective_from\": \"2024-01-01\"}}",
         "p.json: id: required"},
        {"[{\"id\": \"p\", \"version\": {\"effective_from\": \"2024-01-01\"}}, {\"id\": 7}]",
         "p.json: [1].id: want a string, got a whole number"},
        {"{\"id\": \"p\", \"versions\": [{\"effective_from\": \"2024-01-01\"}, "
         "{\"effective_from\": \"x\"}]}",
         "p.json: versions[1].effective_from: \"x\" is not a date"},
        {"\"just a string\"", "p.json: want an object {...} or a list [...], got a string"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct allot_arena a = ALLOT_ARENA_INIT;
        Allot__V1__PutPlanRequest **reqs = NULL;
        char err[JSON_IN_ERR_MAX] = "";
        json_t *root = parse(bad[i].json);
        size_t n = 0;
        if (json_in_plans(root, "p.json", &a, &reqs, &n, err, sizeof err) == 0)
            fail_msg("case %zu accepted: %s", i, bad[i].json);
        if (!strstr(err, bad[i].msg))
            fail_msg("case %zu: \"%s\" does not contain \"%s\"", i, err, bad[i].msg);
        json_decref(root);
        allot_arena_release(&a);
    }
}

static void service_file_maps_and_names_errors(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__Service **s;
    char err[JSON_IN_ERR_MAX];
    json_t *root = parse("[{\"code\": \"HOME_VISIT\", \"name\": \"Home visit\", \"cash_price\": "
                         "\"150.00\"}, {\"code\": \"LAB\", \"cash_price\": 85.5},"
                         " {\"code\": \"X\", \"cash_price_cents\": 1}, {\"code\": \"Y\", "
                         "\"cash_price\": 7}]");
    size_t n = 0;
    (void)state;
    if (json_in_services(root, "s.json", &a, &s, &n, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(n, 4);
    assert_int_equal(s[0]->cash_price_cents, 15000);
    assert_string_equal(s[0]->name, "Home visit");
    assert_int_equal(s[1]->cash_price_cents, 8550);
    assert_string_equal(s[1]->name, "");
    assert_int_equal(s[2]->cash_price_cents, 1);
    assert_int_equal(s[3]->cash_price_cents, 700);
    json_decref(root);

    root = parse("{\"services\": [{\"code\": \"A\", \"cash_price\": \"1.00\"}, {\"code\": \"B\", "
                 "\"cash_price\": \"-1\"}]}");
    assert_int_equal(json_in_services(root, "s.json", &a, &s, &n, err, sizeof err), -1);
    assert_contains(err, "s.json: services[1].cash_price: \"-1\": an amount cannot be negative");
    json_decref(root);

    root = parse("{\"code\": \"A\"}");
    assert_int_equal(json_in_services(root, "s.json", &a, &s, &n, err, sizeof err), -1);
    assert_contains(err, "s.json: cash_price: required");
    json_decref(root);

    root = parse("{\"code\": \"A\", \"cash_price\": \"abc\"}");
    assert_int_equal(json_in_services(root, "s.json", &a, &s, &n, err, sizeof err), -1);
    assert_contains(err, "s.json: cash_price: \"abc\": not an amount");
    json_decref(root);

    root = parse("{\"code\": \"A\", \"cash_price\": \"99999999999999999\"}");
    assert_int_equal(json_in_services(root, "s.json", &a, &s, &n, err, sizeof err), -1);
    assert_contains(err, "too large");
    json_decref(root);
    allot_arena_release(&a);
}

static void member_file_maps_and_names_errors(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__Member **m;
    char err[JSON_IN_ERR_MAX];
    json_t *root = parse("{\"id\": \"m-1\", \"anniversary\": \"2024-03-15\", \"household_id\": "
                         "\"h-1\", \"enrollments\": [{\"plan_id\": \"family\", \"start\": "
                         "\"2024-03-15\"}, {\"plan_id\": \"basic\", \"start\": \"2023-01-01\", "
                         "\"end\": \"2023-12-31\"}], \"effective_anniversary\": \"2024-03-15\"}");
    size_t n = 0;
    (void)state;
    if (json_in_members(root, "m.json", &a, &m, &n, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(n, 1);
    assert_string_equal(m[0]->id, "m-1");
    assert_string_equal(m[0]->household_id, "h-1");
    assert_string_equal(m[0]->sponsor_id, "");
    assert_int_equal(m[0]->n_enrollments, 2);
    assert_string_equal(m[0]->enrollments[0]->end, "");
    assert_string_equal(m[0]->enrollments[1]->end, "2023-12-31");
    json_decref(root);

    root = parse("[{\"id\": \"m-1\"}, {\"id\": \"m-2\", \"enrollments\": [{\"plan_id\": \"f\", "
                 "\"start\": \"2024-02-30\"}]}]");
    assert_int_equal(json_in_members(root, "m.json", &a, &m, &n, err, sizeof err), -1);
    assert_contains(err, "m.json: [1].enrollments[0].start: \"2024-02-30\" is not a date");
    json_decref(root);

    root = parse("{\"id\": \"m-1\", \"name\": \"Jane Doe\"}");
    assert_int_equal(json_in_members(root, "m.json", &a, &m, &n, err, sizeof err), -1);
    assert_contains(err, "m.json: unknown field \"name\"");
    json_decref(root);
    allot_arena_release(&a);
}

static void invoice_file_and_linespecs_build_a_request(void **state)
{
    struct allot_arena a = ALLOT_ARENA_INIT;
    Allot__V1__PriceInvoiceRequest req;
    char err[JSON_IN_ERR_MAX];
    json_t *root = parse("{\"invoice_id\": \"inv-1\", \"member_id\": \"m-1\", \"lines\": ["
                         "{\"line_id\": \"a\", \"service_code\": \"HOME_VISIT\", "
                         "\"service_date\": \"2025-04-01\"},"
                         "{\"service_code\": \"97110\", \"service_date\": \"2025-03-02\", "
                         "\"quantity\": 3, \"unit_price\": \"120.00\"},"
                         "\"LAB@2025-01-02x2=10\"]}");
    (void)state;
    allot__v1__price_invoice_request__init(&req);
    if (json_in_invoice(root, "i.json", &a, &req, err, sizeof err))
        fail_msg("%s", err);
    assert_int_equal(json_in_add_linespec(&req, "HOME_VISIT@2025-09-01", &a, err, sizeof err), 0);
    assert_string_equal(req.invoice_id, "inv-1");
    assert_string_equal(req.member_id, "m-1");
    assert_int_equal(req.n_lines, 4);
    assert_string_equal(req.lines[0]->line_id, "a");
    assert_int_equal(req.lines[0]->quantity, 1);
    assert_null(req.lines[0]->unit_price);
    assert_int_equal(req.lines[1]->quantity, 3);
    assert_int_equal(req.lines[1]->unit_price->cents, 12000);
    assert_string_equal(req.lines[2]->service_code, "LAB");
    assert_int_equal(req.lines[2]->unit_price->cents, 1000);
    assert_string_equal(req.lines[3]->service_date, "2025-09-01");
    json_decref(root);

    assert_int_equal(json_in_add_linespec(&req, "HOME_VISIT@2025-09-31", &a, err, sizeof err), -1);
    assert_contains(err, "HOME_VISIT@2025-09-31: date");

    root = parse("{\"lines\": [{\"service_code\": \"A\", \"service_date\": \"2025-01-01\", "
                 "\"quantity\": 0}]}");
    assert_int_equal(json_in_invoice(root, "i.json", &a, &req, err, sizeof err), -1);
    assert_contains(err, "i.json: lines[0].quantity: must be 1-1000000, got 0");
    json_decref(root);

    root = parse("{\"lines\": [\"A@2025-01-01\", \"nope\"]}");
    assert_int_equal(json_in_invoice(root, "i.json", &a, &req, err, sizeof err), -1);
    assert_contains(err, "i.json: lines[1]: \"nope\": no '@'");
    json_decref(root);

    root = parse("{\"member_id\": \"m\"}");
    assert_int_equal(json_in_invoice(root, "i.json", &a, &req, err, sizeof err), -1);
    assert_contains(err, "i.json: lines: required");
    json_decref(root);
    allot_arena_release(&a);
}

static void json_load_reports_line_and_column(void **state)
{
    char path[] = "/tmp/allotctl-test-XXXXXX";
    char err[JSON_IN_ERR_MAX];
    json_t *root = NULL;
    FILE *f;
    int fd;
    (void)state;
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fputs("{\n  \"id\": \"x\",\n  \"name\" \"y\"\n}\n", f);
    fclose(f);
    assert_int_equal(json_in_load(path, &root, err, sizeof err), -1);
    assert_contains(err, path);
    assert_contains(err, ":3:");
    unlink(path);
    assert_int_equal(json_in_load(path, &root, err, sizeof err), -1);
    assert_contains(err, "unable to open");
}

/* ---- status -> exit codes and messages ---------------------------------- */

static void status_maps_to_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_OK), 0);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_INVALID_ARGUMENT), 1);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_NOT_FOUND), 1);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_ALREADY_EXISTS), 1);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_FAILED_PRECONDITION), 1);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_UNAVAILABLE), 3);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_DEADLINE_EXCEEDED), 4);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_INTERNAL), 5);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_DATA_LOSS), 5);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_RESOURCE_EXHAUSTED), 5);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_UNIMPLEMENTED), 5);
    assert_string_equal(cli_status_name(GRPC_STATUS_NOT_FOUND), "NOT_FOUND");
    assert_string_equal(cli_status_name((grpc_status_code)99), "UNKNOWN_CODE");
}

static void status_messages_read_well(void **state)
{
    static const struct cli_status_ctx h1 = {"h:1", 10, 0, 0, NULL};
    static const struct cli_status_ctx h1_short = {"h:1", 2.5, 0, 0, NULL};
    char b[512];
    (void)state;
    assert_string_equal(cli_status_message(GRPC_STATUS_NOT_FOUND,
                                           "member_id: member \"m-42\" not found", &h1, b,
                                           sizeof b),
                        "member \"m-42\" not found");
    assert_string_equal(cli_status_message(GRPC_STATUS_NOT_FOUND,
                                           "lines[2].service_code: service \"X\" not found", &h1, b,
                                           sizeof b),
                        "service \"X\" not found");
    /* Invalid arguments keep the field: it says what to fix. */
    assert_string_equal(cli_status_message(GRPC_STATUS_INVALID_ARGUMENT,
                                           "version.rules[1].allowance: must be > 0", &h1, b,
                                           sizeof b),
                        "version.rules[1].allowance: must be > 0");
    assert_string_equal(
        cli_status_message(GRPC_STATUS_NOT_FOUND, "no prefix here", &h1, b, sizeof b),
        "no prefix here");
    assert_string_equal(cli_status_message(GRPC_STATUS_UNAVAILABLE, "", &h1, b, sizeof b),
                        "cannot reach allotd at h:1");
    assert_string_equal(
        cli_status_message(GRPC_STATUS_UNAVAILABLE, "Connection refused", &h1, b, sizeof b),
        "cannot reach allotd at h:1 (Connection refused)");
    assert_string_equal(cli_status_message(GRPC_STATUS_DEADLINE_EXCEEDED, "Deadline Exceeded",
                                           &h1_short, b, sizeof b),
                        "no answer from allotd at h:1 within 2.5 s (see --timeout)");
    assert_string_equal(cli_status_message(GRPC_STATUS_INTERNAL, "", &h1, b, sizeof b),
                        "INTERNAL from allotd at h:1");
}

static void auth_failures_have_their_own_exit_codes(void **state)
{
    (void)state;
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_UNAUTHENTICATED), 6);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_PERMISSION_DENIED), 7);
    assert_int_equal(CLI_EXIT_UNAUTHENTICATED, 6);
    assert_int_equal(CLI_EXIT_PERMISSION_DENIED, 7);
    /* The other refusals stay 1. */
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_ABORTED), 1);
    assert_int_equal(cli_exit_for_status(GRPC_STATUS_OUT_OF_RANGE), 1);
}

static void auth_and_tls_messages_say_what_to_do(void **state)
{
    static const struct cli_status_ctx plain = {"h:1", 10, 0, 0, NULL};
    static const struct cli_status_ctx tokened = {"h:1", 10, 1, 0, "--token-file /t"};
    static const struct cli_status_ctx mtls = {"h:1", 10, 1, 1, "ALLOT_TOKEN"};
    char b[1024];
    (void)state;

    cli_status_message(GRPC_STATUS_UNAUTHENTICATED, "missing credentials: send metadata", &plain, b,
                       sizeof b);
    assert_contains(b, "allotd at h:1 wants a token (missing credentials: send metadata)");
    assert_contains(b, "--token-file FILE");
    assert_contains(b, "ALLOT_TOKEN_FILE");
    cli_status_message(GRPC_STATUS_UNAUTHENTICATED, "invalid credentials: unknown token", &tokened,
                       b, sizeof b);
    assert_string_equal(b, "allotd at h:1 did not accept the token from --token-file /t "
                           "(invalid credentials: unknown token)");

    cli_status_message(GRPC_STATUS_PERMISSION_DENIED,
                       "permission denied: role billing may not call PutPlan", &tokened, b,
                       sizeof b);
    assert_contains(b, "permission denied: role billing may not call PutPlan (");
    assert_contains(b, "another role");
    cli_status_message(GRPC_STATUS_PERMISSION_DENIED, "", &tokened, b, sizeof b);
    assert_contains(b, "permission denied");

    /* A handshake that fails: what to check, depending on what was given. */
    cli_status_message(GRPC_STATUS_UNAVAILABLE, "Ssl handshake failed", &tokened, b, sizeof b);
    assert_contains(b, "cannot reach allotd at h:1 over TLS (Ssl handshake failed)");
    assert_contains(b, "--tls-ca");
    assert_contains(b, "--tls-name");
    assert_contains(b, "requires a client certificate (--tls-cert, --tls-key)");
    cli_status_message(GRPC_STATUS_UNAVAILABLE, "Socket closed", &mtls, b, sizeof b);
    assert_contains(b, "trusts the CA of --tls-cert");
    /* Plaintext to a TLS port: the socket is closed on us. */
    cli_status_message(GRPC_STATUS_UNAVAILABLE, "ipv4:1.2.3.4:5: Socket closed", &plain, b,
                       sizeof b);
    assert_contains(b, "if it uses TLS, give --tls-ca FILE");
    cli_status_message(GRPC_STATUS_UNAVAILABLE, "Connection refused", &plain, b, sizeof b);
    assert_null(strstr(b, "TLS"));
}

/* ---- credentials: flags, environment, files ------------------------------ */

static const char *const *fake_env;

static const char *fake_getenv(const char *name)
{
    const char *const *e;
    for (e = fake_env; e && *e; e += 2)
        if (!strcmp(e[0], name))
            return e[1];
    return NULL;
}

/* Files made by temp_file, in one temporary directory, removed by
 * temp_cleanup. */
static char temp_dir[64];
static char temp_names[16][32];
static int temp_n;

/* Writes text to NAME (a plain name) in the temporary directory with
 * mode; its path goes to path. */
static void temp_file(char *path, size_t len, const char *name, const char *text, mode_t mode)
{
    FILE *f;
    if (!temp_dir[0]) {
        snprintf(temp_dir, sizeof temp_dir, "/tmp/allotctl-test-XXXXXX");
        assert_non_null(mkdtemp(temp_dir));
    }
    assert_true(temp_n < 16);
    snprintf(temp_names[temp_n++], sizeof temp_names[0], "%s", name);
    snprintf(path, len, "%s/%s", temp_dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(chmod(path, mode), 0);
}

static int temp_cleanup(void **state)
{
    char path[128];
    (void)state;
    while (temp_n > 0) {
        snprintf(path, sizeof path, "%s/%s", temp_dir, temp_names[--temp_n]);
        unlink(path);
    }
    if (temp_dir[0])
        rmdir(temp_dir);
    temp_dir[0] = '\0';
    return 0;
}

static void creds_flags_win_over_the_environment(void **state)
{
    static const char *const env[] = {
        "ALLOT_TLS_CA", "/env/ca.pem", "ALLOT_TLS_CLIENT_CERT", "", "ALLOT_TOKEN", "from-env", NULL};
    static const char *const both[] = {"ALLOT_TOKEN", "t", "ALLOT_TOKEN_FILE", "/f", NULL};
    struct creds_opts o;
    char err[512];
    (void)state;

    memset(&o, 0, sizeof o);
    fake_env = env;
    o.tls_ca.value = "/flag/ca.pem";
    o.tls_ca.from = "--tls-ca";
    assert_int_equal(creds_from_env(&o, fake_getenv, err, sizeof err), 0);
    assert_string_equal(o.tls_ca.value, "/flag/ca.pem");
    assert_null(o.tls_cert.value); /* empty counts as unset */
    assert_string_equal(o.token.value, "from-env");
    assert_string_equal(o.token.from, "ALLOT_TOKEN");

    /* Both token variables: ambiguous, unless --token-file decides. */
    memset(&o, 0, sizeof o);
    fake_env = both;
    assert_int_equal(creds_from_env(&o, fake_getenv, err, sizeof err), -1);
    assert_contains(err, "ALLOT_TOKEN and ALLOT_TOKEN_FILE are both set");
    memset(&o, 0, sizeof o);
    o.token_file.value = "/flag/token";
    o.token_file.from = "--token-file";
    assert_int_equal(creds_from_env(&o, fake_getenv, err, sizeof err), 0);
    assert_string_equal(o.token_file.value, "/flag/token");
    assert_null(o.token.value);
    fake_env = NULL;
}

static void creds_read_token_files(void **state)
{
    char path[256], err[512], *warned = NULL;
    size_t wlen = 0;
    struct creds_opts o;
    struct creds c;
    FILE *warn;
    (void)state;

    /* A trailing line break is dropped; a private file draws no warning. */
    temp_file(path, sizeof path, "token", "abc.DEF-123_x\r\n", 0600);
    memset(&o, 0, sizeof o);
    o.token_file.value = path;
    o.token_file.from = "--token-file";
    warn = open_memstream(&warned, &wlen);
    assert_int_equal(creds_load(&o, &c, warn, err, sizeof err), 0);
    fclose(warn);
    assert_string_equal(c.token, "abc.DEF-123_x");
    assert_null(c.ca_pem);
    assert_contains(c.token_from, "--token-file ");
    assert_string_equal(warned, "");
    free(warned);
    creds_free(&c);
    assert_null(c.token);

    /* One that others may read: still used, with a warning. */
    assert_int_equal(chmod(path, 0644), 0);
    warned = NULL;
    warn = open_memstream(&warned, &wlen);
    assert_int_equal(creds_load(&o, &c, warn, err, sizeof err), 0);
    fclose(warn);
    assert_contains(warned, "may be read by group or others (chmod 600");
    assert_null(strstr(warned, "abc.DEF")); /* never the token */
    free(warned);
    creds_free(&c);

    /* Refused: empty, two words, two lines; the message never shows it. */
    temp_file(path, sizeof path, "empty", "\n", 0600);
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "the token is empty");
    temp_file(path, sizeof path, "spaced", "secret words\n", 0600);
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "one line of printable ASCII");
    assert_null(strstr(err, "secret"));
    temp_file(path, sizeof path, "lines", "secret\nmore\n", 0600);
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "a line break");
    assert_null(strstr(err, "secret"));
}

static void creds_check_tls_files(void **state)
{
    char ca[256], cert[256], key[256], err[512];
    struct creds_opts o;
    struct creds c;
    (void)state;

    temp_file(ca, sizeof ca, "ca.pem", "-----BEGIN CERTIFICATE-----\nAA==\n", 0644);
    temp_file(cert, sizeof cert, "c.pem", "-----BEGIN CERTIFICATE-----\nBB==\n", 0644);
    temp_file(key, sizeof key, "c.key", "-----BEGIN PRIVATE KEY-----\nCC==\n", 0600);

    memset(&o, 0, sizeof o);
    o.tls_cert = (struct creds_setting){cert, "--tls-cert"};
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "--tls-cert needs --tls-ca");
    o.tls_cert.value = NULL;
    o.tls_name = (struct creds_setting){"allot.example", "--tls-name"};
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "--tls-name needs --tls-ca");

    o.tls_ca = (struct creds_setting){ca, "ALLOT_TLS_CA"};
    o.tls_cert = (struct creds_setting){cert, "--tls-cert"};
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "--tls-cert needs --tls-key");

    o.tls_key = (struct creds_setting){key, "ALLOT_TLS_CLIENT_KEY"};
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), 0);
    assert_contains(c.ca_pem, "AA==");
    assert_contains(c.cert_pem, "BB==");
    assert_contains(c.key_pem, "CC==");
    assert_string_equal(c.tls_name, "allot.example");
    assert_null(c.token);
    creds_free(&c);

    /* Not PEM, or not there: named by where the setting came from. */
    temp_file(ca, sizeof ca, "notpem", "hello\n", 0644);
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "ALLOT_TLS_CA ");
    assert_contains(err, "not a PEM file");
    o.tls_ca.value = "/nonexistent/ca.pem";
    assert_int_equal(creds_load(&o, &c, stderr, err, sizeof err), -1);
    assert_contains(err, "ALLOT_TLS_CA /nonexistent/ca.pem: cannot open it");
}

static void creds_know_local_targets(void **state)
{
    (void)state;
    assert_true(creds_target_is_local("127.0.0.1:50051"));
    assert_true(creds_target_is_local("127.1.2.3:1"));
    assert_true(creds_target_is_local("localhost:50051"));
    assert_true(creds_target_is_local("LOCALHOST:1"));
    assert_true(creds_target_is_local("[::1]:50051"));
    assert_true(creds_target_is_local("unix:/run/allot.sock"));
    assert_true(creds_target_is_local("dns:///localhost:50051"));
    assert_true(creds_target_is_local("ipv4:127.0.0.1:50051"));
    assert_false(creds_target_is_local("10.0.0.7:50051"));
    assert_false(creds_target_is_local("allot.example.org:50051"));
    assert_false(creds_target_is_local("127.example.org:50051"));
    assert_false(creds_target_is_local("localhost.evil.org:1"));
    assert_false(creds_target_is_local("[2001:db8::1]:50051"));
    assert_false(creds_target_is_local("dns:///allot.example.org:443"));
}

/* ---- audit entries --------------------------------------------------------- */

static void audit_entry_reads_as_one_line(void **state)
{
    Allot__V1__AuditEntry e = ALLOT__V1__AUDIT_ENTRY__INIT;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;

    e.seq = 12;
    e.time = "2025-05-20T14:03:07.123456Z";
    e.principal = "front-desk";
    e.role = "billing";
    e.rpc = "PriceInvoice";
    e.code = GRPC_STATUS_OK;
    e.member_id = "m-1";
    e.invoice_id = "inv-1";
    e.peer = "ipv4:10.0.0.7:51234";

    capture_begin(&f, &buf, &len);
    out_audit_header(f);
    out_audit_entry(f, &e);
    /* Denied, with an id the caller made up to hide in a terminal. */
    e.seq = 13;
    e.principal = "jwt:m-1";
    e.role = "portal";
    e.rpc = "GetAllotments";
    e.code = GRPC_STATUS_PERMISSION_DENIED;
    e.member_id = "m-2\x1b[2J";
    e.invoice_id = "";
    e.peer = "";
    out_audit_entry(f, &e);
    /* No authentication on the server. */
    e.seq = 14;
    e.principal = "anonymous";
    e.role = "";
    e.code = 99;
    e.member_id = "";
    out_audit_entry(f, &e);
    capture_end(f, &buf);

    assert_string_equal(
        buf,
        "SEQ     TIME                  WHO                   RPC              STATUS             "
        "  IDS\n"
        "12      2025-05-20T14:03:07Z  front-desk (billing)  PriceInvoice     OK                 "
        "  member=m-1 invoice=inv-1 peer=ipv4:10.0.0.7:51234\n"
        "13      2025-05-20T14:03:07Z  jwt:m-1 (portal)      GetAllotments    PERMISSION_DENIED  "
        "  member=m-2\\x1b[2J\n"
        "14      2025-05-20T14:03:07Z  anonymous             GetAllotments    code 99\n");
    free(buf);
}

static void audit_entry_json_has_every_field(void **state)
{
    Allot__V1__AuditEntry e = ALLOT__V1__AUDIT_ENTRY__INIT;
    json_t *j, *want;
    (void)state;

    e.seq = 7;
    e.time = "2025-05-20T14:03:07.123456Z";
    e.principal = "ops";
    e.role = "admin";
    e.rpc = "PutPlan";
    e.code = GRPC_STATUS_INVALID_ARGUMENT;
    e.plan_id = "family";
    e.peer = "ipv4:127.0.0.1:1";
    j = out_json_audit_entry(&e);
    want = parse("{\"seq\": 7, \"time\": \"2025-05-20T14:03:07.123456Z\", \"principal\": \"ops\","
                 " \"role\": \"admin\", \"rpc\": \"PutPlan\", \"code\": 3,"
                 " \"status\": \"INVALID_ARGUMENT\", \"member_id\": null, \"invoice_id\": null,"
                 " \"line_id\": null, \"usage_id\": null, \"plan_id\": \"family\","
                 " \"service_code\": null, \"peer\": \"ipv4:127.0.0.1:1\"}");
    assert_true(json_equal(j, want));
    json_decref(j);
    json_decref(want);

    /* Not UTF-8 (jansson would refuse it): escaped rather than lost. */
    e.member_id = "m-\xff";
    e.role = "";
    j = out_json_audit_entry(&e);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "member_id")), "m-\\xff");
    assert_true(json_is_null(json_object_get(j, "role")));
    json_decref(j);
}

/* ---- threshold events ---------------------------------------------------- */

/* An amount rule's event is in dollars (and NAME_cents in JSON); a quantity
 * rule's, and one stored before events named their limit, in units. */
static void threshold_event_is_in_the_rules_unit(void **state)
{
    Allot__V1__ThresholdEvent e = ALLOT__V1__THRESHOLD_EVENT__INIT;
    char *buf = NULL;
    size_t len = 0;
    json_t *j, *want;
    FILE *f;
    (void)state;

    e.seq = 3;
    e.member_id = "m-1";
    e.household_id = "h-1";
    e.rule_key = "labs";
    e.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    e.percent = 80;
    e.allowance = 50000;
    e.used = 40050;
    e.remaining = 9950;
    e.reset_date = "2026-01-01";
    e.invoice_id = "inv-7";
    e.line_id = "1";
    capture_begin(&f, &buf, &len);
    out_table_event(f, &e);
    e.rule_key = "visits";
    e.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    e.allowance = 10;
    e.used = 8;
    e.remaining = 2;
    out_table_event(f, &e);
    capture_end(f, &buf);
    assert_string_equal(buf, "#3  member m-1 (household h-1)  labs reached 80%: used $400.50 of "
                             "$500.00, $99.50 left, resets 2026-01-01  (invoice inv-7 line 1)\n"
                             "#3  member m-1 (household h-1)  visits reached 80%: used 8 of 10, "
                             "2 left, resets 2026-01-01  (invoice inv-7 line 1)\n");
    free(buf);

    e.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    e.allowance = 50000;
    e.used = 40050;
    e.remaining = 9950;
    j = out_json_event(&e);
    want = parse("{\"seq\": 3, \"member_id\": \"m-1\", \"household_id\": \"h-1\","
                 " \"rule_key\": \"visits\", \"percent\": 80, \"limit\": \"amount\","
                 " \"allowance_cents\": 50000, \"allowance\": \"500.00\", \"used_cents\": 40050,"
                 " \"used\": \"400.50\", \"remaining_cents\": 9950, \"remaining\": \"99.50\","
                 " \"period_start\": null, \"reset_date\": \"2026-01-01\", \"invoice_id\": \"inv-7\","
                 " \"line_id\": \"1\", \"usage_id\": null}");
    assert_true(json_equal(j, want));
    json_decref(j);
    json_decref(want);

    e.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_UNSPECIFIED; /* stored before the field */
    j = out_json_event(&e);
    assert_true(json_is_null(json_object_get(j, "limit")));
    assert_int_equal(json_integer_value(json_object_get(j, "used")), 40050);
    assert_null(json_object_get(j, "used_cents"));
    json_decref(j);
}

/* ---- tables ------------------------------------------------------------- */

static void table_aligns_columns_without_trailing_blanks(void **state)
{
    struct table t;
    FILE *f;
    char *buf = NULL;
    size_t len = 0;
    (void)state;
    table_init(&t, 3);
    table_row(&t);
    table_cell(&t, "A");
    table_cell(&t, "BBBB");
    table_cell(&t, "C");
    table_row(&t);
    table_cell(&t, "long €");
    table_cell(&t, "x");
    table_cell(&t, "%s", "");
    capture_begin(&f, &buf, &len);
    table_print(&t, f, "> ");
    capture_end(f, &buf);
    /* "€" is one column wide: UTF-8 counts characters. */
    assert_string_equal(buf, "> A       BBBB  C\n> long €  x\n");
    free(buf);
    table_release(&t);
}

/* A priced invoice like the README's: two covered, one billed. */
static Allot__V1__RuleUse use_home = ALLOT__V1__RULE_USE__INIT;
static Allot__V1__RuleUse *uses[1] = {&use_home};
static Allot__V1__AmountDue due_patient = ALLOT__V1__AMOUNT_DUE__INIT;
static Allot__V1__AmountDue *dues[1] = {&due_patient};
static Allot__V1__PricedLine line1 = ALLOT__V1__PRICED_LINE__INIT;
static Allot__V1__PricedLine line3 = ALLOT__V1__PRICED_LINE__INIT;
static Allot__V1__PricedLine *lines[2] = {&line1, &line3};

static void priced_fixture(Allot__V1__PriceInvoiceResponse *r)
{
    use_home.rule_key = "home-visits";
    use_home.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    use_home.allowance = 2;
    due_patient.payer = ALLOT__V1__PAYER__PAYER_PATIENT;
    due_patient.payer_id = "m-1";
    due_patient.amount_cents = 15000;

    line1.line_id = "1";
    line1.service_code = "HOME_VISIT";
    line1.service_date = "2025-04-01";
    line1.quantity = 1;
    line1.covered_quantity = 1;
    line1.unit_price_cents = 15000;
    line1.covered_amount_cents = 15000;
    line1.billable_unit_price_cents = 15000;
    line1.reason = ALLOT__V1__REASON__REASON_COVERED;
    line1.rule_key = "home-visits";
    line1.remaining = 1;
    line1.period_start = "2025-03-15";
    line1.reset_date = "2026-03-15";
    line1.n_rules = 1;
    line1.rules = uses;
    line1.plan_id = "family";
    line1.plan_effective_from = "2024-01-01";

    line3 = line1;
    line3.line_id = "3";
    line3.service_date = "2025-09-01";
    line3.covered_quantity = 0;
    line3.billable_quantity = 1;
    line3.covered_amount_cents = 0;
    line3.amount_due_cents = 15000;
    line3.n_due = 1;
    line3.due = dues;
    line3.reason = ALLOT__V1__REASON__REASON_ALLOTMENT_USED_UP;
    line3.remaining = 0;
    line3.carc = "119";

    allot__v1__price_invoice_response__init(r);
    r->invoice_id = "inv-1";
    r->member_id = "m-1";
    r->n_lines = 2;
    r->lines = lines;
    r->total_due_cents = 15000;
    r->n_totals = 1;
    r->totals = dues;
}

static void priced_table_reads_in_dollars_and_words(void **state)
{
    Allot__V1__PriceInvoiceResponse r;
    FILE *f;
    char *buf = NULL;
    size_t len = 0;
    (void)state;
    priced_fixture(&r);
    capture_begin(&f, &buf, &len);
    out_table_priced(f, &r, 0);
    capture_end(f, &buf);
    assert_contains(buf, "Invoice inv-1 for member m-1, plan family (version from 2024-01-01)");
    assert_contains(buf, "1 of 2 left (home-visits)");
    assert_contains(buf, "0 of 2 left (home-visits)");
    assert_contains(buf, "allotment used up");
    assert_contains(buf, "1 x $150.00");
    assert_contains(buf, "patient m-1");
    assert_contains(buf, "2026-03-15");
    assert_contains(buf, "Total due: $150.00 (patient m-1 $150.00)");
    free(buf);
}

static void priced_json_has_cents_and_dollars(void **state)
{
    Allot__V1__PriceInvoiceResponse r;
    json_t *j, *l;
    (void)state;
    priced_fixture(&r);
    j = out_json_priced(&r, 1);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "preview")));
    assert_int_equal(json_integer_value(json_object_get(j, "total_due_cents")), 15000);
    assert_string_equal(json_string_value(json_object_get(j, "total_due")), "150.00");
    l = json_array_get(json_object_get(j, "lines"), 1);
    assert_string_equal(json_string_value(json_object_get(l, "reason")), "allotment_used_up");
    assert_string_equal(json_string_value(json_object_get(l, "reason_text")), "allotment used up");
    assert_string_equal(json_string_value(json_object_get(l, "amount_due")), "150.00");
    assert_int_equal(json_integer_value(json_object_get(l, "amount_due_cents")), 15000);
    assert_string_equal(json_string_value(json_object_get(l, "reset_date")), "2026-03-15");
    assert_string_equal(json_string_value(json_object_get(l, "carc")), "119");
    assert_int_equal(json_integer_value(json_object_get(l, "remaining")), 0);
    l = json_array_get(json_object_get(j, "lines"), 0);
    assert_true(json_is_null(json_object_get(l, "carc")));
    assert_int_equal(json_array_size(json_object_get(l, "due")), 0);
    json_decref(j);
}

/* ---- allotments: table and FHIR ----------------------------------------- */

static Allot__V1__Period per_member_year = ALLOT__V1__PERIOD__INIT;
static Allot__V1__Period per_calendar_year = ALLOT__V1__PERIOD__INIT;
static Allot__V1__Period per_rolling = ALLOT__V1__PERIOD__INIT;
static Allot__V1__UsageEntry h1 = ALLOT__V1__USAGE_ENTRY__INIT;
static Allot__V1__UsageEntry h2 = ALLOT__V1__USAGE_ENTRY__INIT;
static Allot__V1__UsageEntry *hist[2] = {&h1, &h2};
static char *home_codes[1] = {"HOME_VISIT"};
static char *lab_codes[2] = {"LAB_PANEL", "LAB_EXTRA"};
static char *pt_codes[1] = {"97110"};
static Allot__V1__Allotment al_home = ALLOT__V1__ALLOTMENT__INIT;
static Allot__V1__Allotment al_labs = ALLOT__V1__ALLOTMENT__INIT;
static Allot__V1__Allotment al_pt = ALLOT__V1__ALLOTMENT__INIT;
static Allot__V1__Allotment *als[3] = {&al_home, &al_labs, &al_pt};

static void allotments_fixture(Allot__V1__GetAllotmentsResponse *r)
{
    per_member_year.kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_MEMBER_YEAR;
    per_calendar_year.kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_CALENDAR_YEAR;
    per_rolling.kind = ALLOT__V1__PERIOD_KIND__PERIOD_KIND_ROLLING_DAYS;
    per_rolling.count = 365;
    h1.service_date = "2025-04-01";
    h1.source = ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_INVOICE;
    h1.invoice_id = "inv-1";
    h1.line_id = "1";
    h1.amount = 1;
    h2 = h1;
    h2.service_date = "2025-06-01";
    h2.line_id = "2";

    al_home.rule_key = "home-visits";
    al_home.n_service_codes = 1;
    al_home.service_codes = home_codes;
    al_home.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    al_home.pool = ALLOT__V1__POOL_KIND__POOL_KIND_MEMBER;
    al_home.period = &per_member_year;
    al_home.allowance = 2;
    al_home.used = 2;
    al_home.remaining = 0;
    al_home.percent_used = 100;
    al_home.period_start = "2025-03-15";
    al_home.reset_date = "2026-03-15";
    al_home.n_history = 2;
    al_home.history = hist;
    al_home.x12_time_period = "22";

    al_labs.rule_key = "labs";
    al_labs.n_service_codes = 2;
    al_labs.service_codes = lab_codes;
    al_labs.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    al_labs.pool = ALLOT__V1__POOL_KIND__POOL_KIND_HOUSEHOLD;
    al_labs.period = &per_calendar_year;
    al_labs.allowance = 50000;
    al_labs.used = 15005;
    al_labs.remaining = 25000; /* the member's cap binds: min(349.95, 250.00) */
    al_labs.member_cap = 25000;
    al_labs.period_start = "2025-01-01";
    al_labs.reset_date = "2026-01-01";
    al_labs.x12_time_period = "23";

    al_pt.rule_key = "pt";
    al_pt.n_service_codes = 1;
    al_pt.service_codes = pt_codes;
    al_pt.limit = ALLOT__V1__LIMIT_KIND__LIMIT_KIND_QUANTITY;
    al_pt.period = &per_rolling;
    al_pt.allowance = 1;
    al_pt.used = 1;
    al_pt.period_start = "2024-09-03";
    al_pt.reset_date = "2025-10-01";

    allot__v1__get_allotments_response__init(r);
    r->member_id = "m-1";
    r->as_of = "2025-09-02";
    r->plan_id = "family";
    r->plan_effective_from = "2024-01-01";
    r->n_allotments = 3;
    r->allotments = als;
}

static void allotments_table_says_left_used_and_reset(void **state)
{
    Allot__V1__GetAllotmentsResponse r;
    FILE *f;
    char *buf = NULL;
    size_t len = 0;
    (void)state;
    allotments_fixture(&r);
    capture_begin(&f, &buf, &len);
    out_table_allotments(f, &r);
    capture_end(f, &buf);
    assert_contains(buf, "Member m-1 as of 2025-09-02: plan family");
    assert_contains(buf, "home-visits  0 of 2 left");
    assert_contains(buf, "used 2025-04-01 (inv-1), 2025-06-01 (inv-1)");
    assert_contains(buf, "resets 2026-03-15");
    assert_contains(buf, "$349.95 of $500.00 left"); /* the household's pool */
    assert_contains(buf, "household (member cap $250.00: $250.00 left)");
    assert_contains(buf, "used $150.05 by the household");
    assert_contains(buf, "per 365 days (rolling)");
    free(buf);

    r.plan_id = "";
    r.n_allotments = 0;
    capture_begin(&f, &buf, &len);
    out_table_allotments(f, &r);
    capture_end(f, &buf);
    assert_contains(buf, "no plan in force");
    free(buf);
}

static const char *coding_code(json_t *cc, const char *system)
{
    json_t *c = json_array_get(json_object_get(cc, "coding"), 0);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "system")), system);
    return json_string_value(json_object_get(c, "code"));
}

static void fhir_response_has_r4_shape(void **state)
{
    Allot__V1__GetAllotmentsResponse r;
    json_t *res, *ins, *items, *it, *b, *ext, *m;
    char *text;
    (void)state;
    allotments_fixture(&r);
    res = fhir_eligibility_response(&r, "2025-09-02T10:00:00+00:00");
    assert_non_null(res);

    /* Required elements of CoverageEligibilityResponse (R4). */
    assert_string_equal(json_string_value(json_object_get(res, "resourceType")),
                        "CoverageEligibilityResponse");
    assert_string_equal(json_string_value(json_object_get(res, "status")), "active");
    assert_string_equal(json_string_value(json_array_get(json_object_get(res, "purpose"), 0)),
                        "benefits");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(res, "patient"), "reference")),
        "Patient/m-1");
    assert_string_equal(json_string_value(json_object_get(res, "created")),
                        "2025-09-02T10:00:00+00:00");
    assert_non_null(json_object_get(json_object_get(res, "request"), "display"));
    assert_string_equal(json_string_value(json_object_get(res, "outcome")), "complete");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(res, "insurer"), "display")), "allot");
    assert_string_equal(json_string_value(json_object_get(res, "servicedDate")), "2025-09-02");

    ins = json_array_get(json_object_get(res, "insurance"), 0);
    assert_non_null(json_object_get(ins, "coverage"));
    assert_true(json_is_true(json_object_get(ins, "inforce")));
    /* Periods differ between rules: no insurance-wide benefitPeriod. */
    assert_null(json_object_get(ins, "benefitPeriod"));
    items = json_object_get(ins, "item");
    assert_int_equal(json_array_size(items), 3);

    /* Quantity, member pool, member year. */
    it = json_array_get(items, 0);
    assert_null(json_object_get(it, "category")); /* ces-1: not with productOrService */
    assert_string_equal(coding_code(json_object_get(it, "productOrService"), FHIR_SERVICE_SYSTEM),
                        "HOME_VISIT");
    assert_string_equal(json_string_value(json_object_get(it, "name")), "home-visits");
    assert_contains(json_string_value(json_object_get(it, "description")), "resets 2026-03-15");
    assert_string_equal(coding_code(json_object_get(it, "unit"),
                                    "http://terminology.hl7.org/CodeSystem/benefit-unit"),
                        "individual");
    assert_string_equal(coding_code(json_object_get(it, "term"),
                                    "http://terminology.hl7.org/CodeSystem/benefit-term"),
                        "annual");
    b = json_array_get(json_object_get(it, "benefit"), 0);
    assert_string_equal(coding_code(json_object_get(b, "type"),
                                    "http://terminology.hl7.org/CodeSystem/benefit-type"),
                        "benefit");
    assert_int_equal(json_integer_value(json_object_get(b, "allowedUnsignedInt")), 2);
    assert_int_equal(json_integer_value(json_object_get(b, "usedUnsignedInt")), 2);
    assert_null(json_object_get(b, "allowedMoney"));
    ext = json_array_get(json_object_get(it, "extension"), 0);
    assert_string_equal(json_string_value(json_object_get(ext, "url")), FHIR_PERIOD_EXT);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ext, "valuePeriod"), "start")),
        "2025-03-15");
    /* FHIR Period.end is inclusive: the day before the reset date. */
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ext, "valuePeriod"), "end")),
        "2026-03-14");

    /* Amount, household pool: Money and family. */
    it = json_array_get(items, 1);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(it, "productOrService"), "coding")), 2);
    assert_string_equal(coding_code(json_object_get(it, "unit"),
                                    "http://terminology.hl7.org/CodeSystem/benefit-unit"),
                        "family");
    b = json_array_get(json_object_get(it, "benefit"), 0);
    m = json_object_get(b, "allowedMoney");
    assert_true(json_is_number(json_object_get(m, "value")));
    assert_true(json_number_value(json_object_get(m, "value")) == 500.0);
    assert_string_equal(json_string_value(json_object_get(m, "currency")), "USD");
    m = json_object_get(b, "usedMoney");
    assert_true(json_number_value(json_object_get(m, "value")) == 150.05);
    assert_null(json_object_get(b, "usedUnsignedInt"));

    /* Rolling window: text term, start only. */
    it = json_array_get(items, 2);
    assert_null(json_object_get(json_object_get(it, "term"), "coding"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(it, "term"), "text")),
                        "per 365 days (rolling)");
    ext = json_array_get(json_object_get(it, "extension"), 0);
    assert_null(json_object_get(json_object_get(ext, "valuePeriod"), "end"));
    assert_contains(json_string_value(json_object_get(it, "description")),
                    "more available from 2025-10-01");

    /* Money prints exactly. */
    text = json_dumps(res, FHIR_JSON_FLAGS);
    assert_contains(text, "\"value\": 150.05,");
    assert_null(strstr(text, "150.05000"));
    free(text);
    json_decref(res);

    /* Not enrolled: still a valid resource, inforce false, no items. */
    r.plan_id = "";
    r.n_allotments = 0;
    res = fhir_eligibility_response(&r, "2025-09-02");
    ins = json_array_get(json_object_get(res, "insurance"), 0);
    assert_true(json_is_false(json_object_get(ins, "inforce")));
    assert_int_equal(json_array_size(json_object_get(ins, "item")), 0);
    assert_non_null(json_object_get(json_object_get(ins, "coverage"), "display"));
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(money_parses_dollars_to_cents),
        cmocka_unit_test(money_refuses_bad_amounts),
        cmocka_unit_test(money_from_json_numbers_is_exact),
        cmocka_unit_test(money_formats_two_decimals),
        cmocka_unit_test(linespec_parses_code_date_qty_price),
        cmocka_unit_test(linespec_refuses_with_reasons),
        cmocka_unit_test(words_map_both_ways),
        cmocka_unit_test(plan_file_maps_to_put_plan),
        cmocka_unit_test(plan_file_with_versions_gives_one_request_each),
        cmocka_unit_test(plan_file_errors_name_file_and_field),
        cmocka_unit_test(service_file_maps_and_names_errors),
        cmocka_unit_test(member_file_maps_and_names_errors),
        cmocka_unit_test(invoice_file_and_linespecs_build_a_request),
        cmocka_unit_test(json_load_reports_line_and_column),
        cmocka_unit_test(status_maps_to_exit_codes),
        cmocka_unit_test(status_messages_read_well),
        cmocka_unit_test(auth_failures_have_their_own_exit_codes),
        cmocka_unit_test(auth_and_tls_messages_say_what_to_do),
        cmocka_unit_test(creds_flags_win_over_the_environment),
        cmocka_unit_test_teardown(creds_read_token_files, temp_cleanup),
        cmocka_unit_test_teardown(creds_check_tls_files, temp_cleanup),
        cmocka_unit_test(creds_know_local_targets),
        cmocka_unit_test(audit_entry_reads_as_one_line),
        cmocka_unit_test(audit_entry_json_has_every_field),
        cmocka_unit_test(threshold_event_is_in_the_rules_unit),
        cmocka_unit_test(table_aligns_columns_without_trailing_blanks),
        cmocka_unit_test(priced_table_reads_in_dollars_and_words),
        cmocka_unit_test(priced_json_has_cents_and_dollars),
        cmocka_unit_test(allotments_table_says_left_used_and_reset),
        cmocka_unit_test(fhir_response_has_r4_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
