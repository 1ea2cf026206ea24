/* cmd_usage.c - usage record/void and the allotments view. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"
#include "fhir.h"
#include "money.h"
#include "out_json.h"
#include "out_table.h"
#include "words.h"

static int print_json(json_t *v, size_t flags)
{
    int rc;
    if (!v) {
        cli_err("out of memory");
        return CLI_EXIT_SERVER;
    }
    rc = json_dumpf(v, stdout, flags);
    json_decref(v);
    fputc('\n', stdout);
    return rc ? CLI_EXIT_SERVER : CLI_EXIT_OK;
}

/* The limit kind of rule_key in the member's plan on date, via the
 * allotments view: 1 amount, 0 quantity, -1 not found (the server will
 * say why when the record is sent). A failed call returns its exit code
 * in *rc. */
static int rule_limit(struct cli *c, const char *member, const char *rule_key, const char *date,
                      int *rc)
{
    Allot__V1__GetAllotmentsRequest req = ALLOT__V1__GET_ALLOTMENTS_REQUEST__INIT;
    Allot__V1__GetAllotmentsResponse *resp;
    int kind = -1;
    size_t i;

    req.member_id = (char *)member;
    req.as_of = (char *)date;
    if ((*rc = cli_call(c, ALLOT_METHOD("GetAllotments"), &req.base,
                        &allot__v1__get_allotments_response__descriptor, (ProtobufCMessage **)&resp,
                        NULL)))
        return -1;
    for (i = 0; i < resp->n_allotments; i++)
        if (!strcmp(resp->allotments[i]->rule_key, rule_key))
            kind = resp->allotments[i]->limit == ALLOT__V1__LIMIT_KIND__LIMIT_KIND_AMOUNT;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return kind;
}

/* A whole number of units > 0. */
static int parse_units(const char *s, int64_t *out)
{
    int64_t v = 0;
    const char *p = s;
    if (!*p)
        return -1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (v < 1)
        return -1;
    *out = v;
    return 0;
}

/* usage record USAGE_ID MEMBER_ID RULE_KEY DATE AMOUNT [--source S] [--note T] */
int cmd_usage_record(struct cli *c, const struct args *a)
{
    Allot__V1__RecordUsageRequest req = ALLOT__V1__RECORD_USAGE_REQUEST__INIT;
    Allot__V1__RecordUsageResponse *resp;
    const char *amount = a->pos[4], *why;
    int rc, kind, source = ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_PRIOR;

    req.usage_id = (char *)a->pos[0];
    req.member_id = (char *)a->pos[1];
    req.rule_key = (char *)a->pos[2];
    req.service_date = (char *)a->pos[3];
    req.note = (char *)(a->note ? a->note : "");
    if ((rc = cli_check_date(c, "DATE", req.service_date)))
        return rc;
    if (a->source && (words_lookup(source_words, a->source, &source) ||
                      source == ALLOT__V1__USAGE_SOURCE__USAGE_SOURCE_INVOICE))
        return cli_usage(c, "--source \"%s\": want prior, external or adjustment", a->source);
    req.source = (Allot__V1__UsageSource)source;

    kind = rule_limit(c, req.member_id, req.rule_key, req.service_date, &rc);
    if (rc)
        return rc;
    if (kind == 1) {
        if (money_parse(amount, &req.amount, &why))
            return cli_usage(c, "AMOUNT \"%s\": %s (rule %s counts dollars)", amount, why,
                             req.rule_key);
        if (req.amount == 0)
            return cli_usage(c, "AMOUNT must be more than $0.00");
    } else if (parse_units(amount, &req.amount)) {
        if (kind == 0)
            return cli_usage(c,
                             "AMOUNT \"%s\": want a whole number of units > 0 (rule %s "
                             "counts units)",
                             amount, req.rule_key);
        /* Rule unknown on that date: let the server name the problem,
         * unless AMOUNT is not even a number. */
        return cli_usage(c, "AMOUNT \"%s\": want a whole number of units > 0", amount);
    }

    rc = cli_call(c, ALLOT_METHOD("RecordUsage"), &req.base,
                  &allot__v1__record_usage_response__descriptor, (ProtobufCMessage **)&resp, NULL);
    if (rc)
        return rc;
    if (c->json) {
        json_t *o = json_object();
        if (o) {
            json_object_set_new(o, "usage_id", json_string(resp->usage_id));
            json_object_set_new(o, "rule",
                                resp->rule ? out_json_rule_use(resp->rule) : json_null());
        }
        rc = print_json(o, JSON_INDENT(2));
    } else {
        out_table_usage_recorded(stdout, resp);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

/* usage void USAGE_ID */
int cmd_usage_void(struct cli *c, const struct args *a)
{
    Allot__V1__VoidUsageRequest req = ALLOT__V1__VOID_USAGE_REQUEST__INIT;
    Allot__V1__VoidUsageResponse *resp;
    int rc;

    req.usage_id = (char *)a->pos[0];
    rc = cli_call(c, ALLOT_METHOD("VoidUsage"), &req.base,
                  &allot__v1__void_usage_response__descriptor, (ProtobufCMessage **)&resp, NULL);
    if (rc)
        return rc;
    if (c->json)
        rc = print_json(json_pack("{s:s, s:b}", "usage_id", resp->usage_id, "voided", resp->voided),
                        JSON_INDENT(2));
    else
        out_table_usage_voided(stdout, resp);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

/* Now as a FHIR dateTime in local time: 2025-09-02T10:11:12+02:00. */
static void fhir_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    char z[8];
    size_t n;

    localtime_r(&t, &tm);
    n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strftime(z, sizeof z, "%z", &tm) == 5) /* +hhmm */
        snprintf(buf + n, len - n, "%.3s:%.2s", z, z + 3);
}

/* allotments MEMBER_ID [--as-of DATE] [--format table|json|fhir] */
int cmd_allotments(struct cli *c, const struct args *a)
{
    Allot__V1__GetAllotmentsRequest req = ALLOT__V1__GET_ALLOTMENTS_REQUEST__INIT;
    Allot__V1__GetAllotmentsResponse *resp;
    const char *format = a->format ? a->format : c->json ? "json" : "table";
    int rc;

    if (strcmp(format, "table") && strcmp(format, "json") && strcmp(format, "fhir"))
        return cli_usage(c, "--format \"%s\": want table, json or fhir", format);
    if (c->json && strcmp(format, "json"))
        return cli_usage(c, "--json and --format %s disagree: give one", format);
    if (a->as_of && (rc = cli_check_date(c, "--as-of", a->as_of)))
        return rc;
    req.member_id = (char *)a->pos[0];
    req.as_of = (char *)(a->as_of ? a->as_of : "");
    rc =
        cli_call(c, ALLOT_METHOD("GetAllotments"), &req.base,
                 &allot__v1__get_allotments_response__descriptor, (ProtobufCMessage **)&resp, NULL);
    if (rc)
        return rc;
    if (!strcmp(format, "fhir")) {
        char now[40];
        fhir_now(now, sizeof now);
        rc = print_json(fhir_eligibility_response(resp, now), FHIR_JSON_FLAGS);
    } else if (!strcmp(format, "json")) {
        rc = print_json(out_json_allotments(resp), JSON_INDENT(2));
    } else {
        out_table_allotments(stdout, resp);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}
