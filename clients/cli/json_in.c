/* json_in.c - see json_in.h.
 *
 * Each parse_* function takes the JSON value, the path that names it in
 * error messages ("version.rules[2]") and fills one message. Paths are
 * built in fixed buffers: a path longer than PATH_MAX_LEN is cut, which
 * only shortens a message.
 */
#include "json_in.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "allot/date.h"

#include "linespec.h"
#include "money.h"
#include "words.h"

#define PATH_MAX_LEN 160

struct jin {
    struct allot_arena *a;
    const char *file;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int jfail(struct jin *j, const char *path,
                                                       const char *fmt, ...)
{
    char msg[JSON_IN_ERR_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (path && *path)
        snprintf(j->err, j->errlen, "%s: %s: %s", j->file, path, msg);
    else
        snprintf(j->err, j->errlen, "%s: %s", j->file, msg);
    return -1;
}

static int oom(struct jin *j)
{
    return jfail(j, NULL, "out of memory");
}

/* A path too long for the buffer is cut: that only shortens a message. */
static void child(char *buf, const char *path, const char *key)
{
    if (snprintf(buf, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key) >= PATH_MAX_LEN)
        buf[PATH_MAX_LEN - 1] = '\0';
}

static void elem(char *buf, const char *path, size_t i)
{
    if (snprintf(buf, PATH_MAX_LEN, "%s[%zu]", path, i) >= PATH_MAX_LEN)
        buf[PATH_MAX_LEN - 1] = '\0';
}

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "a list";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "a whole number";
    case JSON_REAL:
        return "a number with decimals";
    case JSON_TRUE:
    case JSON_FALSE:
        return "true/false";
    case JSON_NULL:
    default:
        return "null";
    }
}

/* Every key of obj must be in known (NULL-terminated). */
static int check_keys(struct jin *j, const json_t *obj, const char *path, const char *const known[])
{
    const char *key;
    json_t *v;
    size_t i;

    json_object_foreach((json_t *)obj, key, v)
    {
        char list[400];
        size_t off = 0;
        for (i = 0; known[i]; i++)
            if (!strcmp(key, known[i]))
                break;
        if (known[i])
            continue;
        list[0] = '\0';
        for (i = 0; known[i] && off < sizeof list; i++) {
            int n = snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "", known[i]);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        return jfail(j, path, "unknown field \"%s\" (known here: %s)", key, list);
    }
    return 0;
}

static int need_object(struct jin *j, const json_t *v, const char *path)
{
    if (!json_is_object(v))
        return jfail(j, path, "want an object {...}, got %s", type_name(v));
    return 0;
}

/* A string field: absent (or null) gives "" unless required. */
static int get_str(struct jin *j, const json_t *obj, const char *key, const char *path,
                   int required, char **out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN];

    child(p, path, key);
    if (!v || json_is_null(v)) {
        if (required)
            return jfail(j, p, "required");
        *out = (char *)"";
        return 0;
    }
    if (!json_is_string(v))
        return jfail(j, p, "want a string, got %s", type_name(v));
    if (!(*out = allot_arena_strndup(j->a, json_string_value(v), json_string_length(v))))
        return oom(j);
    return 0;
}

static int get_date(struct jin *j, const json_t *obj, const char *key, const char *path,
                    int required, char **out)
{
    char p[PATH_MAX_LEN];
    allot_date d;

    if (get_str(j, obj, key, path, required, out))
        return -1;
    if (!**out)
        return 0;
    child(p, path, key);
    if (allot_date_parse(*out, &d))
        return jfail(j, p,
                     "\"%.40s\" is not a date: write YYYY-MM-DD (a real date, years "
                     "1900-9999)",
                     *out);
    return 0;
}

/* A whole number in [min, max]. *present (may be NULL) says whether the
 * field was there; absent leaves *out alone. */
static int get_int(struct jin *j, const json_t *obj, const char *key, const char *path, int64_t min,
                   int64_t max, int *present, int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN];
    json_int_t x;

    if (present)
        *present = 0;
    if (!v || json_is_null(v))
        return 0;
    child(p, path, key);
    if (!json_is_integer(v))
        return jfail(j, p, "want a whole number, got %s", type_name(v));
    x = json_integer_value(v);
    if (x < min || x > max)
        return jfail(j, p, "must be %lld-%lld, got %lld", (long long)min, (long long)max,
                     (long long)x);
    if (present)
        *present = 1;
    *out = x;
    return 0;
}

/* Dollars from a JSON value: "150.00", "$150", 150, 150.5. */
static int value_money(struct jin *j, const json_t *v, const char *p, int64_t *cents)
{
    const char *why = NULL;
    int rc;

    if (json_is_string(v))
        rc = money_parse(json_string_value(v), cents, &why);
    else if (json_is_integer(v))
        rc = money_from_dollars(json_integer_value(v), cents, &why);
    else if (json_is_real(v))
        rc = money_from_real(json_real_value(v), cents, &why);
    else
        return jfail(j, p, "want dollars like \"150.00\", got %s", type_name(v));
    if (rc) {
        if (json_is_string(v))
            return jfail(j, p, "\"%.40s\": %s", json_string_value(v), why);
        return jfail(j, p, "%s", why);
    }
    return 0;
}

/* A money field: key in dollars or key_cents in cents (both: must agree). */
static int get_money(struct jin *j, const json_t *obj, const char *key, const char *path,
                     int *present, int64_t *cents)
{
    char ckey[64], p[PATH_MAX_LEN], pc[PATH_MAX_LEN];
    json_t *v = json_object_get(obj, key);
    int64_t d = 0, c = 0;
    int has_c = 0;

    snprintf(ckey, sizeof ckey, "%s_cents", key);
    child(p, path, key);
    child(pc, path, ckey);
    *present = 0;
    if (v && !json_is_null(v) && value_money(j, v, p, &d))
        return -1;
    if (get_int(j, obj, ckey, path, 0, MONEY_MAX_CENTS, &has_c, &c))
        return -1;
    if (v && !json_is_null(v) && has_c && c != d) {
        char a[MONEY_BUFLEN];
        return jfail(j, pc, "%lld cents disagrees with %s (%s)", (long long)c, key,
                     money_format_usd(d, a));
    }
    if (has_c) {
        *present = 1;
        *cents = c;
    } else if (v && !json_is_null(v)) {
        *present = 1;
        *cents = d;
    }
    return 0;
}

static int get_word(struct jin *j, const json_t *obj, const char *key, const char *path,
                    const struct word tbl[], int *present, int *out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN], list[200];

    *present = 0;
    if (!v || json_is_null(v))
        return 0;
    child(p, path, key);
    if (!json_is_string(v) || words_lookup(tbl, json_string_value(v), out))
        return jfail(j, p, "want one of %s, got %s%s%s", words_list(tbl, list, sizeof list),
                     json_is_string(v) ? "\"" : "",
                     json_is_string(v) ? json_string_value(v) : type_name(v),
                     json_is_string(v) ? "\"" : "");
    *present = 1;
    return 0;
}

static int get_bool(struct jin *j, const json_t *obj, const char *key, const char *path, int *out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN];

    if (!v || json_is_null(v))
        return 0;
    child(p, path, key);
    if (!json_is_boolean(v))
        return jfail(j, p, "want true or false, got %s", type_name(v));
    *out = json_is_true(v);
    return 0;
}

/* A list field (absent: NULL). */
static int get_list(struct jin *j, const json_t *obj, const char *key, const char *path,
                    json_t **out)
{
    json_t *v = json_object_get(obj, key);
    char p[PATH_MAX_LEN];

    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    child(p, path, key);
    if (!json_is_array(v))
        return jfail(j, p, "want a list [...], got %s", type_name(v));
    *out = v;
    return 0;
}

static void *alloc_array(struct jin *j, size_t n, size_t size)
{
    /* One spare slot so n == 0 still yields a non-NULL pointer. */
    return allot_arena_alloc(j->a, (n + 1) * size);
}

/* ---- services ---------------------------------------------------------- */

static int parse_service(struct jin *j, const json_t *v, const char *path, Allot__V1__Service **out)
{
    static const char *const keys[] = {"code", "name", "cash_price", "cash_price_cents", NULL};
    Allot__V1__Service *s;
    int present;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (!(s = allot_arena_alloc(j->a, sizeof *s)))
        return oom(j);
    allot__v1__service__init(s);
    if (get_str(j, v, "code", path, 1, &s->code) || get_str(j, v, "name", path, 0, &s->name) ||
        get_money(j, v, "cash_price", path, &present, &s->cash_price_cents))
        return -1;
    if (!present) {
        char p[PATH_MAX_LEN];
        child(p, path, "cash_price");
        return jfail(j, p, "required (dollars, e.g. \"150.00\")");
    }
    *out = s;
    return 0;
}

/* The root is one object (has `one_key`), a list, or {list_key: [...]}:
 * returns the list to walk (or the object itself with *single set). */
static int root_list(struct jin *j, const json_t *root, const char *list_key, const char *one_key,
                     const json_t **items, int *single)
{
    *single = 0;
    if (json_is_array(root)) {
        *items = root;
        return 0;
    }
    if (json_is_object(root)) {
        json_t *l = json_object_get(root, list_key);
        if (l && json_object_size(root) == 1 && !json_object_get(root, one_key)) {
            if (!json_is_array(l))
                return jfail(j, list_key, "want a list [...], got %s", type_name(l));
            *items = l;
            return 0;
        }
        *items = root;
        *single = 1;
        return 0;
    }
    return jfail(j, NULL, "want an object {...} or a list [...], got %s", type_name(root));
}

int json_in_services(const json_t *root, const char *file, struct allot_arena *a,
                     Allot__V1__Service ***out, size_t *n, char *err, size_t errlen)
{
    struct jin j = {a, file, err, errlen};
    Allot__V1__Service **v;
    const json_t *items;
    int single;
    size_t i, count;

    if (root_list(&j, root, "services", "code", &items, &single))
        return -1;
    count = single ? 1 : json_array_size(items);
    if (count == 0)
        return jfail(&j, NULL, "no services in the file");
    if (!(v = alloc_array(&j, count, sizeof *v)))
        return oom(&j);
    for (i = 0; i < count; i++) {
        char p[PATH_MAX_LEN] = "";
        if (!single)
            elem(p, json_is_array(root) ? "" : "services", i);
        if (parse_service(&j, single ? items : json_array_get(items, i), p, &v[i]))
            return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- plans ------------------------------------------------------------- */

static int parse_period(struct jin *j, const json_t *v, const char *path, Allot__V1__Period **out)
{
    static const char *const keys[] = {"kind", "month", "day", "count", NULL};
    Allot__V1__Period *p;
    int present, kind = 0;
    int64_t x;

    if (!(p = allot_arena_alloc(j->a, sizeof *p)))
        return oom(j);
    allot__v1__period__init(p);
    if (json_is_string(v)) {
        /* "member_year": shorthand for {"kind": "member_year"}. */
        json_t *o = json_pack("{sO}", "kind", v);
        int rc = o ? get_word(j, o, "kind", path, period_words, &present, &kind) : oom(j);
        json_decref(o);
        if (rc)
            return -1;
        /* get_word names the path "period.kind"; that is fine. */
        p->kind = (Allot__V1__PeriodKind)kind;
        *out = p;
        return 0;
    }
    if (!json_is_object(v))
        return jfail(j, path,
                     "want a period word like \"member_year\" or an object "
                     "{\"kind\": ..., \"count\": ...}, got %s",
                     type_name(v));
    if (check_keys(j, v, path, keys) || get_word(j, v, "kind", path, period_words, &present, &kind))
        return -1;
    if (!present) {
        char q[PATH_MAX_LEN];
        child(q, path, "kind");
        return jfail(j, q, "required");
    }
    p->kind = (Allot__V1__PeriodKind)kind;
    x = 0;
    if (get_int(j, v, "month", path, 1, 12, NULL, &x))
        return -1;
    p->month = (int32_t)x;
    x = 0;
    if (get_int(j, v, "day", path, 1, 31, NULL, &x))
        return -1;
    p->day = (int32_t)x;
    x = 0;
    if (get_int(j, v, "count", path, 1, 36600, NULL, &x))
        return -1;
    p->count = (int32_t)x;
    *out = p;
    return 0;
}

/* allowance / member_cap in the rule's unit: units or dollars. */
static int get_rule_amount(struct jin *j, const json_t *v, const char *key, const char *path,
                           int amount, int *present, int64_t *out)
{
    if (amount)
        return get_money(j, v, key, path, present, out);
    if (get_int(j, v, key, path, 0, INT64_MAX, present, out))
        return -1;
    {
        char ckey[64], p[PATH_MAX_LEN];
        snprintf(ckey, sizeof ckey, "%s_cents", key);
        child(p, path, ckey);
        if (json_object_get(v, ckey))
            return jfail(j, p,
                         "only amount rules count cents; a quantity rule counts units "
                         "(use \"%s\")",
                         key);
    }
    return 0;
}

static int parse_rule(struct jin *j, const json_t *v, const char *path, Allot__V1__Rule **out)
{
    static const char *const keys[] = {"key",
                                       "service_codes",
                                       "limit",
                                       "allowance",
                                       "allowance_cents",
                                       "unlimited",
                                       "period",
                                       "pool",
                                       "member_cap",
                                       "member_cap_cents",
                                       "overage_price",
                                       "overage_price_cents",
                                       "overage_payer",
                                       "thresholds",
                                       NULL};
    char p[PATH_MAX_LEN];
    Allot__V1__Rule *r;
    json_t *codes, *th, *al;
    int present, w, unlimited = 0, has_allowance = 0, has_over = 0;
    size_t i;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (!(r = allot_arena_alloc(j->a, sizeof *r)))
        return oom(j);
    allot__v1__rule__init(r);
    if (get_str(j, v, "key", path, 1, &r->key))
        return -1;

    if (get_list(j, v, "service_codes", path, &codes))
        return -1;
    child(p, path, "service_codes");
    if (!codes)
        return jfail(j, p, "required (a list of service codes)");
    r->n_service_codes = json_array_size(codes);
    if (!(r->service_codes = alloc_array(j, r->n_service_codes, sizeof *r->service_codes)))
        return oom(j);
    for (i = 0; i < r->n_service_codes; i++) {
        json_t *c = json_array_get(codes, i);
        char q[PATH_MAX_LEN];
        elem(q, p, i);
        if (!json_is_string(c))
            return jfail(j, q, "want a service code string, got %s", type_name(c));
        if (!(r->service_codes[i] = allot_arena_strdup(j->a, json_string_value(c))))
            return oom(j);
    }

    if (get_word(j, v, "limit", path, limit_words, &present, &w))
        return -1;
    if (!present) {
        child(p, path, "limit");
        return jfail(j, p, "required (\"quantity\" or \"amount\")");
    }
    r->limit = (Allot__V1__LimitKind)w;

    if (get_bool(j, v, "unlimited", path, &unlimited))
        return -1;
    al = json_object_get(v, "allowance");
    if (json_is_string(al) && !strcmp(json_string_value(al), "unlimited")) {
        unlimited = 1;
    } else if (get_rule_amount(j, v, "allowance", path,
                               r->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT, &has_allowance,
                               &r->allowance)) {
        return -1;
    }
    r->unlimited = unlimited;

    child(p, path, "period");
    if (!json_object_get(v, "period"))
        return jfail(j, p,
                     "required (e.g. \"member_year\", or {\"kind\": \"rolling_days\", "
                     "\"count\": 365})");
    if (parse_period(j, json_object_get(v, "period"), p, &r->period))
        return -1;

    if (get_word(j, v, "pool", path, pool_words, &present, &w))
        return -1;
    if (present)
        r->pool = (Allot__V1__PoolKind)w;
    if (get_rule_amount(j, v, "member_cap", path,
                        r->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT, &present,
                        &r->member_cap))
        return -1;
    {
        int64_t c = 0;
        if (get_money(j, v, "overage_price", path, &has_over, &c))
            return -1;
        if (has_over) {
            if (!(r->overage_price = allot_arena_alloc(j->a, sizeof *r->overage_price)))
                return oom(j);
            allot__v1__price__init(r->overage_price);
            r->overage_price->cents = c;
        }
    }
    if (get_word(j, v, "overage_payer", path, payer_words, &present, &w))
        return -1;
    if (present)
        r->overage_payer = (Allot__V1__Payer)w;

    if (!unlimited && !has_allowance && !has_over) {
        child(p, path, "allowance");
        return jfail(j, p, "required (%s per period, or \"unlimited\")",
                     r->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT ? "dollars" : "units");
    }

    if (get_list(j, v, "thresholds", path, &th))
        return -1;
    if (th) {
        child(p, path, "thresholds");
        if (!(r->thresholds = allot_arena_alloc(j->a, sizeof *r->thresholds)))
            return oom(j);
        allot__v1__thresholds__init(r->thresholds);
        r->thresholds->n_percents = json_array_size(th);
        if (!(r->thresholds->percents =
                  alloc_array(j, r->thresholds->n_percents, sizeof *r->thresholds->percents)))
            return oom(j);
        for (i = 0; i < r->thresholds->n_percents; i++) {
            json_t *t = json_array_get(th, i);
            char q[PATH_MAX_LEN];
            elem(q, p, i);
            if (!json_is_integer(t) || json_integer_value(t) < 1 || json_integer_value(t) > 1000)
                return jfail(j, q, "want a percent 1-1000");
            r->thresholds->percents[i] = (int32_t)json_integer_value(t);
        }
    }
    *out = r;
    return 0;
}

static int parse_version(struct jin *j, const json_t *v, const char *path,
                         Allot__V1__PlanVersion **out)
{
    static const char *const keys[] = {"effective_from", "rules", NULL};
    Allot__V1__PlanVersion *pv;
    char p[PATH_MAX_LEN];
    json_t *rules;
    size_t i;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (!(pv = allot_arena_alloc(j->a, sizeof *pv)))
        return oom(j);
    allot__v1__plan_version__init(pv);
    if (get_date(j, v, "effective_from", path, 1, &pv->effective_from) ||
        get_list(j, v, "rules", path, &rules))
        return -1;
    child(p, path, "rules");
    pv->n_rules = rules ? json_array_size(rules) : 0;
    if (!(pv->rules = alloc_array(j, pv->n_rules, sizeof *pv->rules)))
        return oom(j);
    for (i = 0; i < pv->n_rules; i++) {
        char q[PATH_MAX_LEN];
        elem(q, p, i);
        if (parse_rule(j, json_array_get(rules, i), q, &pv->rules[i]))
            return -1;
    }
    *out = pv;
    return 0;
}

/* One plan object -> its PutPlanRequests appended to v[*n...]. */
static int parse_plan(struct jin *j, const json_t *v, const char *path,
                      Allot__V1__PutPlanRequest ***reqs, size_t *n)
{
    static const char *const keys[] = {"id", "name", "version", "versions", NULL};
    json_t *one, *many;
    char *id, *name;
    char p[PATH_MAX_LEN];
    size_t i, count, k;
    Allot__V1__PutPlanRequest **grown;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (get_str(j, v, "id", path, 1, &id) || get_str(j, v, "name", path, 0, &name))
        return -1;
    one = json_object_get(v, "version");
    if (get_list(j, v, "versions", path, &many))
        return -1;
    if (one && many) {
        child(p, path, "versions");
        return jfail(j, p, "give \"version\" or \"versions\", not both");
    }
    if (!one && !many) {
        child(p, path, "version");
        return jfail(j, p, "required ({\"effective_from\": ..., \"rules\": [...]})");
    }
    count = one ? 1 : json_array_size(many);
    if (count == 0) {
        child(p, path, "versions");
        return jfail(j, p, "empty list");
    }
    if (!(grown = alloc_array(j, *n + count, sizeof *grown)))
        return oom(j);
    if (*n)
        memcpy(grown, *reqs, *n * sizeof *grown);
    for (i = 0; i < count; i++) {
        Allot__V1__PutPlanRequest *r = allot_arena_alloc(j->a, sizeof *r);
        if (!r)
            return oom(j);
        allot__v1__put_plan_request__init(r);
        r->plan_id = id;
        r->name = name;
        if (one) {
            child(p, path, "version");
        } else {
            char q[PATH_MAX_LEN];
            child(q, path, "versions");
            elem(p, q, i);
        }
        if (parse_version(j, one ? one : json_array_get(many, i), p, &r->version))
            return -1;
        k = *n + i;
        grown[k] = r;
    }
    *reqs = grown;
    *n += count;
    return 0;
}

int json_in_plans(const json_t *root, const char *file, struct allot_arena *a,
                  Allot__V1__PutPlanRequest ***out, size_t *n, char *err, size_t errlen)
{
    struct jin j = {a, file, err, errlen};
    Allot__V1__PutPlanRequest **reqs = NULL;
    const json_t *items;
    size_t i, count = 0;
    int single;

    if (root_list(&j, root, "plans", "id", &items, &single))
        return -1;
    if (single) {
        if (parse_plan(&j, items, "", &reqs, &count))
            return -1;
    } else {
        if (json_array_size(items) == 0)
            return jfail(&j, NULL, "no plans in the file");
        for (i = 0; i < json_array_size(items); i++) {
            char p[PATH_MAX_LEN];
            elem(p, json_is_array(root) ? "" : "plans", i);
            if (parse_plan(&j, json_array_get(items, i), p, &reqs, &count))
                return -1;
        }
    }
    *out = reqs;
    *n = count;
    return 0;
}

/* ---- members ----------------------------------------------------------- */

static int parse_enrollment(struct jin *j, const json_t *v, const char *path,
                            Allot__V1__Enrollment **out)
{
    static const char *const keys[] = {"plan_id", "start", "end", NULL};
    Allot__V1__Enrollment *e;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (!(e = allot_arena_alloc(j->a, sizeof *e)))
        return oom(j);
    allot__v1__enrollment__init(e);
    if (get_str(j, v, "plan_id", path, 1, &e->plan_id) ||
        get_date(j, v, "start", path, 1, &e->start) || get_date(j, v, "end", path, 0, &e->end))
        return -1;
    *out = e;
    return 0;
}

static int parse_member(struct jin *j, const json_t *v, const char *path, Allot__V1__Member **out)
{
    /* effective_anniversary is output only: accepted (so `member get --json`
     * output can be put back) and ignored. */
    static const char *const keys[] = {"id",         "anniversary", "household_id",
                                       "sponsor_id", "enrollments", "effective_anniversary",
                                       NULL};
    Allot__V1__Member *m;
    char p[PATH_MAX_LEN];
    json_t *en;
    size_t i;

    if (need_object(j, v, path) || check_keys(j, v, path, keys))
        return -1;
    if (!(m = allot_arena_alloc(j->a, sizeof *m)))
        return oom(j);
    allot__v1__member__init(m);
    if (get_str(j, v, "id", path, 1, &m->id) ||
        get_date(j, v, "anniversary", path, 0, &m->anniversary) ||
        get_str(j, v, "household_id", path, 0, &m->household_id) ||
        get_str(j, v, "sponsor_id", path, 0, &m->sponsor_id) ||
        get_list(j, v, "enrollments", path, &en))
        return -1;
    child(p, path, "enrollments");
    m->n_enrollments = en ? json_array_size(en) : 0;
    if (!(m->enrollments = alloc_array(j, m->n_enrollments, sizeof *m->enrollments)))
        return oom(j);
    for (i = 0; i < m->n_enrollments; i++) {
        char q[PATH_MAX_LEN];
        elem(q, p, i);
        if (parse_enrollment(j, json_array_get(en, i), q, &m->enrollments[i]))
            return -1;
    }
    *out = m;
    return 0;
}

int json_in_members(const json_t *root, const char *file, struct allot_arena *a,
                    Allot__V1__Member ***out, size_t *n, char *err, size_t errlen)
{
    struct jin j = {a, file, err, errlen};
    Allot__V1__Member **v;
    const json_t *items;
    size_t i, count;
    int single;

    if (root_list(&j, root, "members", "id", &items, &single))
        return -1;
    count = single ? 1 : json_array_size(items);
    if (count == 0)
        return jfail(&j, NULL, "no members in the file");
    if (!(v = alloc_array(&j, count, sizeof *v)))
        return oom(&j);
    for (i = 0; i < count; i++) {
        char p[PATH_MAX_LEN] = "";
        if (!single)
            elem(p, json_is_array(root) ? "" : "members", i);
        if (parse_member(&j, single ? items : json_array_get(items, i), p, &v[i]))
            return -1;
    }
    *out = v;
    *n = count;
    return 0;
}

/* ---- invoices ---------------------------------------------------------- */

static int append_line(struct jin *j, Allot__V1__PriceInvoiceRequest *req,
                       Allot__V1__InvoiceLine *l)
{
    Allot__V1__InvoiceLine **grown = alloc_array(j, req->n_lines + 1, sizeof *grown);
    if (!grown)
        return oom(j);
    if (req->n_lines)
        memcpy(grown, req->lines, req->n_lines * sizeof *grown);
    grown[req->n_lines++] = l;
    req->lines = grown;
    return 0;
}

static Allot__V1__InvoiceLine *line_from_spec(struct allot_arena *a, const struct line_spec *s)
{
    Allot__V1__InvoiceLine *l = allot_arena_alloc(a, sizeof *l);
    if (!l)
        return NULL;
    allot__v1__invoice_line__init(l);
    l->service_code = allot_arena_strdup(a, s->code);
    l->service_date = allot_arena_strdup(a, s->date);
    l->quantity = s->quantity;
    if (!l->service_code || !l->service_date)
        return NULL;
    if (s->has_price) {
        if (!(l->unit_price = allot_arena_alloc(a, sizeof *l->unit_price)))
            return NULL;
        allot__v1__price__init(l->unit_price);
        l->unit_price->cents = s->price_cents;
    }
    return l;
}

static int parse_line(struct jin *j, const json_t *v, const char *path,
                      Allot__V1__InvoiceLine **out)
{
    static const char *const keys[] = {"line_id",  "service_code", "service_date",
                                       "quantity", "unit_price",   "unit_price_cents",
                                       NULL};
    Allot__V1__InvoiceLine *l;
    int64_t price = 0;
    int present;

    if (json_is_string(v)) {
        struct line_spec s;
        char why[200];
        if (linespec_parse(json_string_value(v), &s, why, sizeof why))
            return jfail(j, path, "\"%.80s\": %s", json_string_value(v), why);
        if (!(*out = line_from_spec(j->a, &s)))
            return oom(j);
        return 0;
    }
    if (!json_is_object(v))
        return jfail(j, path, "want a line object or a \"CODE@YYYY-MM-DD\" string, got %s",
                     type_name(v));
    if (check_keys(j, v, path, keys))
        return -1;
    if (!(l = allot_arena_alloc(j->a, sizeof *l)))
        return oom(j);
    allot__v1__invoice_line__init(l);
    l->quantity = 1;
    if (get_str(j, v, "line_id", path, 0, &l->line_id) ||
        get_str(j, v, "service_code", path, 1, &l->service_code) ||
        get_date(j, v, "service_date", path, 1, &l->service_date) ||
        get_int(j, v, "quantity", path, 1, LINESPEC_QTY_MAX, NULL, &l->quantity) ||
        get_money(j, v, "unit_price", path, &present, &price))
        return -1;
    if (present) {
        if (!(l->unit_price = allot_arena_alloc(j->a, sizeof *l->unit_price)))
            return oom(j);
        allot__v1__price__init(l->unit_price);
        l->unit_price->cents = price;
    }
    *out = l;
    return 0;
}

int json_in_invoice(const json_t *root, const char *file, struct allot_arena *a,
                    Allot__V1__PriceInvoiceRequest *out, char *err, size_t errlen)
{
    static const char *const keys[] = {"invoice_id", "member_id", "lines", NULL};
    struct jin j = {a, file, err, errlen};
    Allot__V1__PriceInvoiceRequest req = *out;
    json_t *lines;
    char *s;
    size_t i;

    if (need_object(&j, root, "") || check_keys(&j, root, "", keys))
        return -1;
    if (get_str(&j, root, "invoice_id", "", 0, &s))
        return -1;
    if (*s)
        req.invoice_id = s;
    if (get_str(&j, root, "member_id", "", 0, &s))
        return -1;
    if (*s)
        req.member_id = s;
    if (get_list(&j, root, "lines", "", &lines))
        return -1;
    if (!lines || json_array_size(lines) == 0)
        return jfail(&j, "lines", "required (at least one line)");
    for (i = 0; i < json_array_size(lines); i++) {
        Allot__V1__InvoiceLine *l;
        char p[PATH_MAX_LEN];
        elem(p, "lines", i);
        if (parse_line(&j, json_array_get(lines, i), p, &l) || append_line(&j, &req, l))
            return -1;
    }
    *out = req;
    return 0;
}

int json_in_add_linespec(Allot__V1__PriceInvoiceRequest *req, const char *spec,
                         struct allot_arena *a, char *err, size_t errlen)
{
    struct jin j = {a, spec, err, errlen};
    Allot__V1__InvoiceLine *l;
    struct line_spec s;
    char why[200];

    if (linespec_parse(spec, &s, why, sizeof why))
        return jfail(&j, NULL, "%s", why);
    if (!(l = line_from_spec(a, &s)))
        return oom(&j);
    return append_line(&j, req, l);
}

int json_in_load(const char *path, json_t **root, char *err, size_t errlen)
{
    json_error_t e;
    json_t *r;

    if (!strcmp(path, "-"))
        r = json_loadf(stdin, JSON_REJECT_DUPLICATES, &e);
    else
        r = json_load_file(path, JSON_REJECT_DUPLICATES, &e);
    if (!r) {
        if (e.line < 0) /* could not open or read: the text names the file */
            snprintf(err, errlen, "%s", e.text);
        else
            snprintf(err, errlen, "%s:%d:%d: %s", path, e.line, e.column, e.text);
        return -1;
    }
    *root = r;
    return 0;
}
