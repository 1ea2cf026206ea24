/* help.c - see help.h. */
#include "help.h"

#include <string.h>

#define LINE_HELP                                                                                  \
    "LINE is CODE@YYYY-MM-DD[xQTY][=PRICE]: a service code, the date of care, an\n"                \
    "optional quantity (1-1000000, default 1) and an optional unit price in dollars\n"             \
    "(default: the service's cash price). Examples: HOME_VISIT@2025-04-01,\n"                      \
    "97110@2025-03-02x3=120.00.\n"

const struct command commands[] = {
    {"service", "put", "service put", cmd_service_put, "", 1, 1, "service put FILE",
     "create or replace services from a JSON file",
     "FILE holds one service, a list of them, or {\"services\": [...]}:\n"
     "  {\"code\": \"HOME_VISIT\", \"name\": \"Home visit\", \"cash_price\": \"150.00\"}\n"
     "A service whose code exists is replaced; a new price affects lines priced\n"
     "afterwards only. Services are sent one by one, in file order: after an error\n"
     "the ones before it are stored. FILE \"-\" reads stdin.\n"},
    {"service", "list", "service list", cmd_service_list, "", 0, 0, "service list",
     "list the catalog (every page)", ""},
    {"plan", "put", "plan put", cmd_plan_put, "", 1, 1, "plan put FILE",
     "store a plan version from a JSON file",
     "FILE holds one plan {\"id\", \"name\", \"version\": {...}} (or \"versions\": [...],\n"
     "each stored in turn) or a list of plans. Versions are never replaced: putting\n"
     "an identical version again changes nothing, a different one with the same\n"
     "effective_from is refused (exit 1). See `allotctl help files` for the rules.\n"},
    {"plan", "get", "plan get", cmd_plan_get, "", 1, 1, "plan get PLAN_ID",
     "show a plan with every version and rule", ""},
    {"plan", "list", "plan list", cmd_plan_list, "", 0, 0, "plan list",
     "list plans with their latest version", ""},
    {"member", "put", "member put", cmd_member_put, "", 1, 1, "member put FILE",
     "create or replace members from a JSON file",
     "FILE holds one member, a list of them, or {\"members\": [...]}:\n"
     "  {\"id\": \"m-1\", \"anniversary\": \"2024-03-15\", \"household_id\": \"h-1\",\n"
     "   \"sponsor_id\": \"\", \"enrollments\": [{\"plan_id\": \"family\", \"start\": "
     "\"2024-03-15\"}]}\n"
     "A member whose id exists is replaced as a whole; recorded usage stays.\n"},
    {"member", "get", "member get", cmd_member_get, "", 1, 1, "member get MEMBER_ID",
     "show a member's enrollments and anniversary", ""},
    {NULL, "price", "price", cmd_price, "file", 0, -1,
     "price INVOICE_ID MEMBER_ID LINE... [--file INVOICE.json]",
     "price an invoice and record its usage",
     LINE_HELP
     "\n"
     "Lines are priced in order; each sees the usage of the lines before. Pricing\n"
     "is idempotent on INVOICE_ID: the same invoice again returns the stored answer\n"
     "and records nothing; the same id with other lines is refused (exit 1).\n"
     "\n"
     "  --file FILE   lines (and invoice_id, member_id) from a JSON file:\n"
     "                {\"invoice_id\": \"inv-1\", \"member_id\": \"m-1\", \"lines\": [\n"
     "                  {\"service_code\": \"HOME_VISIT\", \"service_date\": \"2025-04-01\",\n"
     "                   \"quantity\": 1, \"unit_price\": \"150.00\", \"line_id\": \"a\"},\n"
     "                  \"97110@2025-03-02x3\"]}\n"
     "                With --file, INVOICE_ID and MEMBER_ID may be left out when\n"
     "                the file has them (then give no LINE either); given, they\n"
     "                must match the file's. LINE arguments follow its lines.\n"
     "\n"
     "The table shows, per line: what was covered, what is billed at which unit\n"
     "price, the amount due and who pays it, the reason (covered, partly covered,\n"
     "allotment used up, not in plan, no active enrollment, member price), what is\n"
     "left of the binding rule (\"1 of 2 left\") and its reset date.\n"},
    {NULL, "preview", "preview", cmd_preview, "file", 0, -1,
     "preview MEMBER_ID LINE... [--file INVOICE.json]",
     "price without recording (\"will Tuesday's visit be free?\")",
     LINE_HELP "\n  --file FILE   lines (and member_id) from a JSON file, as for `allotctl help\n"
               "                price`; MEMBER_ID may then be left out.\n"},
    {NULL, "void", "void", cmd_void, "", 1, 2, "void INVOICE_ID [LINE_ID]",
     "void an invoice or one line, restoring its usage",
     "Later invoices are not repriced. Voiding twice succeeds and changes nothing.\n"
     "Line ids are the ones the price table shows (1, 2, ... unless the file gave\n"
     "its own).\n"},
    {"usage", "record", "usage record", cmd_usage_record, "source note", 5, 5,
     "usage record USAGE_ID MEMBER_ID RULE_KEY DATE AMOUNT [--source prior|external|adjustment] "
     "[--note TEXT]",
     "record prior, external or adjustment usage",
     "AMOUNT is in the rule's unit: a whole number of units for quantity rules,\n"
     "dollars (\"80.00\", \"$80\") for amount rules. allotctl looks the rule up in\n"
     "the member's plan on DATE to tell which. USAGE_ID makes it idempotent: the\n"
     "same id with the same content records nothing more.\n"
     "\n"
     "  --source WORD   prior (default), external or adjustment\n"
     "  --note TEXT     a note stored with the record (at most 200 bytes)\n"},
    {"usage", "void", "usage void", cmd_usage_void, "", 1, 1, "usage void USAGE_ID",
     "void a usage record, restoring its amount", ""},
    {NULL, "allotments", "allotments", cmd_allotments, "as-of format", 1, 1,
     "allotments MEMBER_ID [--as-of DATE] [--format table|json|fhir]",
     "what a member has left, and when it resets",
     "  --as-of DATE     the day to look at (default: today on the server)\n"
     "  --format FORMAT  table (default), json (same as --json), or fhir: a FHIR R4\n"
     "                   CoverageEligibilityResponse (one insurance entry, one item\n"
     "                   per rule with allowed/used, unit individual or family,\n"
     "                   term, and the rule's period)\n"},
    {NULL, "watch", "watch", cmd_watch, "from member once", 0, 0,
     "watch [--from SEQ] [--member MEMBER_ID] [--once]",
     "stream threshold events (70/80/90/100% used)",
     "Prints stored events from SEQ on, then live ones, until interrupted (Ctrl-C:\n"
     "exit 0). On a disconnect it reconnects from the last seq seen + 1 with\n"
     "backoff (0.5 s doubling to 10 s), so no event is lost or repeated.\n"
     "\n"
     "  --from SEQ        first event to print (default 1: all)\n"
     "  --member ID       only this member's events\n"
     "  --once            do not reconnect: exit 3 when the stream breaks\n"
     "With --json each event is one line of JSON. used, allowance and remaining\n"
     "are in the rule's unit (units, or cents for amount rules).\n"},
    {NULL, "health", "health", cmd_health, "", 0, 1, "health [SERVICE]",
     "is the server serving? (exit 0 yes, 3 no)",
     "SERVICE defaults to the whole server; \"allot.v1.Allot\" asks about the API.\n"},
    {NULL, "audit", "audit", cmd_audit, "from limit follow", 0, 0,
     "audit [--from SEQ] [--limit N] [--follow]",
     "who did what: the server's audit trail (admin token)",
     "One line per entry, oldest first: its seq, the time (UTC), who (the token's\n"
     "id and role; \"anonymous\" on a server without authentication), the call,\n"
     "its status, the ids the request named and the caller's address. Entries\n"
     "are every write, every read of one member's data and every call refused\n"
     "with PERMISSION_DENIED; they are never changed or deleted.\n"
     "\n"
     "  --from SEQ   first entry to print (default 1: all)\n"
     "  --limit N    print at most N entries, then exit\n"
     "  --follow     after the last entry, ask again every second and print new\n"
     "               ones as they are committed, until interrupted (Ctrl-C: exit\n"
     "               0); a server restart is waited out\n"
     "With --json each entry is one line of JSON: seq, time (RFC 3339, microseconds),\n"
     "principal, role, rpc, code (the number) and status (its name), member_id,\n"
     "invoice_id, line_id, usage_id, plan_id, service_code and peer (null when\n"
     "not set). To resume later, start from the last seq printed + 1.\n"},
    {NULL, NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const char security_help[] =
    "Calling a server with TLS and tokens (allotd --tls-cert, --auth-config)\n"
    "\n"
    "  --tls-ca FILE      PEM certificates of the CA that signed the server's\n"
    "                     certificate: turns TLS on (env ALLOT_TLS_CA)\n"
    "  --tls-cert FILE    a client certificate, for a server started with\n"
    "                     --tls-client-ca; needs --tls-key (env ALLOT_TLS_CLIENT_CERT)\n"
    "  --tls-key FILE     its unencrypted PEM private key\n"
    "                     (env ALLOT_TLS_CLIENT_KEY)\n"
    "  --tls-name NAME    the name the server's certificate must carry, when it\n"
    "                     is not the host in --addr (e.g. dialing an IP address)\n"
    "  --token-file FILE  the bearer token: the file's first line (a trailing\n"
    "                     line break is dropped); env ALLOT_TOKEN_FILE\n"
    "  env ALLOT_TOKEN    the token itself\n"
    "  --insecure         allow the token to go without TLS to a server that is\n"
    "                     not on this machine (a network trusted as a whole)\n"
    "\n"
    "Options win over the environment; ALLOT_TOKEN and ALLOT_TOKEN_FILE together\n"
    "are refused. The token is sent as \"authorization: Bearer TOKEN\" with every\n"
    "call (watch included). There is no option that takes the token itself: a\n"
    "command line can be read by every user of the machine (ps) and is kept in\n"
    "shell history. Keep token files private (chmod 600): allotctl warns when\n"
    "group or others may read one. A token that would go in plaintext to a\n"
    "server that is not on this machine (not 127.0.0.0/8, ::1, localhost or\n"
    "unix:) is refused, exit 2, unless --insecure is given; no environment\n"
    "variable allows it. Tokens come from `allotd --new-token ID ROLE`.\n"
    "\n"
    "Roles: admin puts services, plans and members and reads the audit trail;\n"
    "billing prices, previews, voids, records usage, reads allotments and\n"
    "watches; reader reads plans, members and allotments and watches. All three\n"
    "list services and plans and get plans and members.\n"
    "\n"
    "Exit codes:\n"
    "  6  not authenticated (UNAUTHENTICATED): no token was sent, or the server\n"
    "     does not know it (or the JWT has expired)\n"
    "  7  permission denied (PERMISSION_DENIED): the token's role may not make\n"
    "     this call\n"
    "  3  also when the TLS handshake fails: the wrong --tls-ca, a certificate that\n"
    "     does not name the host (--tls-name), a missing or untrusted client\n"
    "     certificate, or TLS on one side only\n"
    "\n"
    "Example:\n"
    "  export ALLOT_ADDR=allot.example.org:50051 ALLOT_TLS_CA=/etc/allot/ca.pem\n"
    "  export ALLOT_TOKEN_FILE=~/.config/allot/token     # mode 600\n"
    "  allotctl allotments m-1\n";

static const char files_help[] =
    "JSON files for `service put`, `plan put`, `member put` and `--file`\n"
    "\n"
    "Field names are the proto's. Dates are \"YYYY-MM-DD\". Money is dollars: \"150.00\",\n"
    "150 or 150.5 (at most 2 decimals), or the field with a _cents suffix holding\n"
    "integer cents (\"cash_price_cents\": 15000). Enums are lowercase words. Unknown\n"
    "fields are errors, so a typo cannot drop a limit silently. Errors name the\n"
    "file and the field: plans/family.json: version.rules[2].allowance: ...\n"
    "\n"
    "A plan:\n"
    "  {\"id\": \"family\", \"name\": \"Family Membership\",\n"
    "   \"version\": {\"effective_from\": \"2024-01-01\", \"rules\": [RULE, ...]}}\n"
    "A rule:\n"
    "  key            stable name, e.g. \"home-visits\" (usage is counted per key)\n"
    "  service_codes  [\"HOME_VISIT\", ...]: codes that draw on the rule\n"
    "  limit          \"quantity\" (units) or \"amount\" (money)\n"
    "  allowance      per period: units (2) for quantity rules, dollars (\"500.00\")\n"
    "                 for amount rules; \"unlimited\" (or \"unlimited\": true); 0 with\n"
    "                 an overage_price is a member-price rule\n"
    "  period         \"calendar_year\", \"member_year\", \"calendar_month\",\n"
    "                 \"member_month\", \"calendar_quarter\", \"lifetime\", or an object:\n"
    "                 {\"kind\": \"plan_year\", \"month\": 7, \"day\": 1}\n"
    "                 {\"kind\": \"rolling_days\", \"count\": 365}\n"
    "                 {\"kind\": \"rolling_months\", \"count\": 36}\n"
    "  pool           \"member\" (default) or \"household\" (shared by the household)\n"
    "  member_cap     household pools: at most this much per member (rule's unit)\n"
    "  overage_price  dollars per billable unit beyond the allowance (quantity\n"
    "                 rules; default: the line's price)\n"
    "  overage_payer  \"patient\" (default) or \"sponsor\"\n"
    "  thresholds     percents that raise events, default [70, 80, 90, 100];\n"
    "                 [] for none\n"
    "\n"
    "A member: {\"id\", \"anniversary\", \"household_id\", \"sponsor_id\",\n"
    "           \"enrollments\": [{\"plan_id\", \"start\", \"end\"}]} (end inclusive,\n"
    "           absent for open-ended; anniversary absent: the first start).\n"
    "A service: {\"code\", \"name\", \"cash_price\"}.\n"
    "An invoice (--file): {\"invoice_id\", \"member_id\", \"lines\": [{\"line_id\",\n"
    "           \"service_code\", \"service_date\", \"quantity\", \"unit_price\"} or\n"
    "           \"CODE@DATE[xQTY][=PRICE]\", ...]}.\n"
    "\n"
    "`plan get --json` and `member get --json` print these formats, so their output\n"
    "can be edited and put back.\n";

const char *help_synopsis(const struct command *cmd)
{
    return cmd->synopsis;
}

const char *help_name(const struct command *cmd)
{
    return cmd->name;
}

int help_takes(const struct command *cmd, const char *opt)
{
    size_t n = strlen(opt);
    const char *p = cmd->opts;
    while ((p = strstr(p, opt)) != NULL) {
        if ((p == cmd->opts || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return 1;
        p += n;
    }
    return 0;
}

const struct command *help_find(const char *w1, const char *w2)
{
    const struct command *c;
    for (c = commands; c->verb; c++) {
        if (!c->group && !strcmp(c->verb, w1))
            return c;
        if (c->group && w2 && !strcmp(c->group, w1) && !strcmp(c->verb, w2))
            return c;
    }
    return NULL;
}

int help_is_group(const char *w)
{
    const struct command *c;
    for (c = commands; c->verb; c++)
        if (c->group && !strcmp(c->group, w))
            return 1;
    return 0;
}

static void list_commands(FILE *f, const char *group)
{
    const struct command *c;
    for (c = commands; c->verb; c++)
        if (!group || (c->group && !strcmp(c->group, group)))
            fprintf(f, "  %-18s %s\n", c->name, c->summary);
}

void help_main(FILE *f)
{
    fprintf(f, "usage: allotctl [--addr HOST:PORT] [--timeout SECONDS] [--json] [--tls-ca FILE]\n"
               "                [--token-file FILE] COMMAND [ARGS]\n"
               "\n"
               "The command-line client of allotd: catalog, plans and members from JSON\n"
               "files; invoices priced against membership allotments; what is left and when\n"
               "it resets; threshold events; the audit trail.\n"
               "\n"
               "Commands:\n");
    list_commands(f, NULL);
    fprintf(f, "\n"
               "Options (before or after the command):\n"
               "  --addr HOST:PORT   the server (env ALLOT_ADDR; default " CLI_DEFAULT_ADDR ")\n"
               "  --timeout SECONDS  deadline of each call (default 10; watch has none)\n"
               "  --json             JSON for scripts: stable keys, money as NAME_cents and\n"
               "                     NAME (dollars string), dates as strings, null when absent\n"
               "  --tls-ca FILE      TLS, trusting the CA in FILE (env ALLOT_TLS_CA)\n"
               "  --tls-cert FILE    with --tls-key FILE: a client certificate for mutual TLS\n"
               "                     (env ALLOT_TLS_CLIENT_CERT, ALLOT_TLS_CLIENT_KEY)\n"
               "  --tls-name NAME    the name the server's certificate carries, if not the host\n"
               "  --token-file FILE  send the bearer token in FILE (env ALLOT_TOKEN_FILE, or\n"
               "                     the token itself in ALLOT_TOKEN; no option takes it)\n"
               "  --insecure         let the token go without TLS beyond this machine\n"
               "  -h, --help         this help; `allotctl help COMMAND` or `allotctl COMMAND\n"
               "                     --help` for one command, `allotctl help files` for the\n"
               "                     JSON file formats, `allotctl help security` for TLS,\n"
               "                     tokens and roles\n"
               "\n" LINE_HELP "\n"
               "Exit codes:\n"
               "  0  ok\n"
               "  1  the server said no: invalid argument, not found, already exists, failed\n"
               "     precondition (nothing was changed)\n"
               "  2  usage: a bad command line or input file (nothing was sent)\n"
               "  3  unavailable: allotd cannot be reached, is shutting down, or is not serving;\n"
               "     also a TLS handshake that fails (see `allotctl help security`)\n"
               "  4  timeout: no answer within --timeout (a write may have happened: retrying\n"
               "     with the same invoice or usage id is safe)\n"
               "  5  server failure: internal error, data loss, store full, unimplemented\n"
               "  6  not authenticated: no token, or one the server does not accept\n"
               "  7  permission denied: the token's role may not make this call\n"
               "Errors go to stderr as \"allotctl: MESSAGE\", with the server's message.\n");
}

void help_command(FILE *f, const struct command *cmd)
{
    fprintf(f, "usage: allotctl %s\n\n%s.\n", cmd->synopsis, cmd->summary);
    if (*cmd->details)
        fprintf(f, "\n%s", cmd->details);
    fprintf(f, "\nGlobal options: --addr HOST:PORT, --timeout SECONDS, --json, --tls-ca FILE,\n"
               "--tls-cert FILE, --tls-key FILE, --tls-name NAME, --token-file FILE,\n"
               "--insecure (see allotctl --help and allotctl help security).\n");
}

int help_topic(FILE *f, const char *w1, const char *w2)
{
    const struct command *c;
    if (!strcmp(w1, "files")) {
        fputs(files_help, f);
        return 0;
    }
    if (!strcmp(w1, "security")) {
        fputs(security_help, f);
        return 0;
    }
    if ((c = help_find(w1, w2))) {
        help_command(f, c);
        return 0;
    }
    if (help_is_group(w1)) {
        fprintf(f, "allotctl %s commands:\n", w1);
        list_commands(f, w1);
        return 0;
    }
    return -1;
}
