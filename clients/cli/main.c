/* main.c - allotctl: options, dispatch, help.
 *
 * Options may come before or after the command words, as --opt VALUE or
 * --opt=VALUE; "--" ends them. Every option is parsed in one pass, then
 * checked against what the command takes (help.c's table), so
 * `allotctl price --as-of ...` is a usage error rather than ignored.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "help.h"

enum opt_kind { OPT_FLAG, OPT_VALUE };

struct opt {
    const char *name;
    enum opt_kind kind;
    int global;
};

static const struct opt opts[] = {
    {"addr", OPT_VALUE, 1},    {"timeout", OPT_VALUE, 1},  {"json", OPT_FLAG, 1},
    {"help", OPT_FLAG, 1},     {"tls-ca", OPT_VALUE, 1},   {"tls-cert", OPT_VALUE, 1},
    {"tls-key", OPT_VALUE, 1}, {"tls-name", OPT_VALUE, 1}, {"token-file", OPT_VALUE, 1},
    {"file", OPT_VALUE, 0},    {"as-of", OPT_VALUE, 0},    {"format", OPT_VALUE, 0},
    {"from", OPT_VALUE, 0},    {"member", OPT_VALUE, 0},   {"source", OPT_VALUE, 0},
    {"note", OPT_VALUE, 0},    {"once", OPT_FLAG, 0},      {"limit", OPT_VALUE, 0},
    {"follow", OPT_FLAG, 0},   {"insecure", OPT_FLAG, 1}, {NULL, OPT_FLAG, 0},
};

struct parsed {
    const char *words[CLI_MAX_ARGS]; /* positionals, command words first */
    int nwords;
    const char *given[16]; /* command options given, for the check */
    int ngiven;
    int help;
    const char *timeout;
};

static int is_option(const char *s)
{
    /* "-" (stdin) and "-5" (a negative number, refused later with a
     * better message) are arguments. */
    return s[0] == '-' && s[1] && !(s[1] >= '0' && s[1] <= '9');
}

static void set_setting(struct creds_setting *s, const char *v, const char *flag)
{
    s->value = v;
    s->from = flag;
}

static int set_option(struct cli *c, struct args *a, struct parsed *p, const struct opt *o,
                      const char *v)
{
    struct creds_opts *sec = &c->sec_opts;

    if (!strcmp(o->name, "addr"))
        c->addr = v;
    else if (!strcmp(o->name, "timeout"))
        p->timeout = v;
    else if (!strcmp(o->name, "json"))
        c->json = 1;
    else if (!strcmp(o->name, "help"))
        p->help = 1;
    else if (!strcmp(o->name, "insecure"))
        c->insecure = 1;
    else if (!strcmp(o->name, "tls-ca"))
        set_setting(&sec->tls_ca, v, "--tls-ca");
    else if (!strcmp(o->name, "tls-cert"))
        set_setting(&sec->tls_cert, v, "--tls-cert");
    else if (!strcmp(o->name, "tls-key"))
        set_setting(&sec->tls_key, v, "--tls-key");
    else if (!strcmp(o->name, "tls-name"))
        set_setting(&sec->tls_name, v, "--tls-name");
    else if (!strcmp(o->name, "token-file"))
        set_setting(&sec->token_file, v, "--token-file");
    else if (!strcmp(o->name, "file"))
        a->file = v;
    else if (!strcmp(o->name, "as-of"))
        a->as_of = v;
    else if (!strcmp(o->name, "format"))
        a->format = v;
    else if (!strcmp(o->name, "from"))
        a->from = v;
    else if (!strcmp(o->name, "member"))
        a->member = v;
    else if (!strcmp(o->name, "source"))
        a->source = v;
    else if (!strcmp(o->name, "note"))
        a->note = v;
    else if (!strcmp(o->name, "once"))
        a->once = 1;
    else if (!strcmp(o->name, "limit"))
        a->limit = v;
    else if (!strcmp(o->name, "follow"))
        a->follow = 1;
    if (!o->global && p->ngiven < (int)(sizeof p->given / sizeof p->given[0]))
        p->given[p->ngiven++] = o->name;
    return 0;
}

static int parse(int argc, char **argv, struct cli *c, struct args *a, struct parsed *p)
{
    int i, dashdash = 0;

    for (i = 1; i < argc; i++) {
        const char *s = argv[i], *eq, *name;
        const struct opt *o;
        size_t n;

        if (dashdash || !is_option(s)) {
            if (p->nwords == CLI_MAX_ARGS)
                return cli_usage(NULL, "too many arguments (at most %d)", CLI_MAX_ARGS);
            p->words[p->nwords++] = s;
            continue;
        }
        if (!strcmp(s, "--")) {
            dashdash = 1;
            continue;
        }
        if (!strcmp(s, "-h")) {
            p->help = 1;
            continue;
        }
        if (s[1] != '-')
            return cli_usage(NULL, "unknown option \"%s\" (options are long: --json, --addr ...)",
                             s);
        name = s + 2;
        eq = strchr(name, '=');
        n = eq ? (size_t)(eq - name) : strlen(name);
        for (o = opts; o->name; o++)
            if (strlen(o->name) == n && !strncmp(o->name, name, n))
                break;
        if (!o->name)
            return cli_usage(NULL, "unknown option \"--%.*s\"", (int)n, name);
        if (o->kind == OPT_FLAG) {
            if (eq)
                return cli_usage(NULL, "option --%s takes no value", o->name);
            set_option(c, a, p, o, NULL);
        } else if (eq) {
            set_option(c, a, p, o, eq + 1);
        } else {
            if (i + 1 >= argc)
                return cli_usage(NULL, "option --%s needs a value", o->name);
            set_option(c, a, p, o, argv[++i]);
        }
    }
    return 0;
}

static int parse_timeout(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v <= 0 || v > 86400)
        return -1;
    *out = v;
    return 0;
}

static const char *env_get(const char *name)
{
    return getenv(name);
}

/* The TLS files and token (creds.h), read before anything is sent. A
 * problem with them is a usage error: exit 2. */
static int load_security(struct cli *c)
{
    char err[1024];

    if (creds_from_env(&c->sec_opts, env_get, err, sizeof err) ||
        creds_load(&c->sec_opts, &c->creds, stderr, err, sizeof err)) {
        cli_err("%s", err);
        return CLI_EXIT_USAGE;
    }
    /* As allotd refuses to listen beyond loopback unprotected, and the
     * Python client refuses this too: --insecure is the one way, and no
     * environment variable turns it on. */
    if (c->creds.token && !c->creds.ca_pem && !creds_target_is_local(c->addr)) {
        if (!c->insecure) {
            cli_err("the token from %s would go to %s without TLS, where whoever sees the "
                    "traffic can use it: give --tls-ca (or ALLOT_TLS_CA), or --insecure on a "
                    "network trusted as a whole",
                    c->creds.token_from, c->addr);
            creds_free(&c->creds);
            return CLI_EXIT_USAGE;
        }
        cli_err("warning: the token from %s goes to %s without TLS (--insecure)",
                c->creds.token_from, c->addr);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct parsed p;
    static struct args a;
    struct cli c;
    const struct command *cmd;
    const char *env = getenv("ALLOT_ADDR");
    int i, rc, nwords;

    memset(&c, 0, sizeof c);
    c.addr = env && *env ? env : CLI_DEFAULT_ADDR;
    c.timeout_s = CLI_DEFAULT_TIMEOUT_S;
    if ((rc = parse(argc, argv, &c, &a, &p)))
        return rc;

    if (p.nwords == 0) {
        help_main(p.help ? stdout : stderr);
        return p.help ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (!strcmp(p.words[0], "help")) {
        if (p.nwords == 1) {
            help_main(stdout);
            return CLI_EXIT_OK;
        }
        if (help_topic(stdout, p.words[1], p.nwords > 2 ? p.words[2] : NULL) == 0)
            return CLI_EXIT_OK;
        return cli_usage(NULL, "no help on \"%s%s%s\"", p.words[1], p.nwords > 2 ? " " : "",
                         p.nwords > 2 ? p.words[2] : "");
    }
    cmd = help_find(p.words[0], p.nwords > 1 ? p.words[1] : NULL);
    if (!cmd) {
        if (help_is_group(p.words[0])) {
            if (p.help) {
                help_topic(stdout, p.words[0], NULL);
                return CLI_EXIT_OK;
            }
            if (p.nwords > 1)
                cli_err("unknown command \"%s %s\"", p.words[0], p.words[1]);
            else
                cli_err("\"%s\" needs a command", p.words[0]);
            help_topic(stderr, p.words[0], NULL);
            return CLI_EXIT_USAGE;
        }
        return cli_usage(NULL, "unknown command \"%s\"", p.words[0]);
    }
    c.cmd = cmd;
    if (p.help) {
        help_command(stdout, cmd);
        return CLI_EXIT_OK;
    }
    for (i = 0; i < p.ngiven; i++)
        if (!help_takes(cmd, p.given[i]))
            return cli_usage(&c, "%s does not take --%s", cmd->name, p.given[i]);
    if (p.timeout && parse_timeout(p.timeout, &c.timeout_s))
        return cli_usage(&c, "--timeout \"%s\": want seconds, more than 0 (e.g. 10 or 2.5)",
                         p.timeout);

    nwords = cmd->group ? 2 : 1;
    for (i = nwords; i < p.nwords; i++)
        a.pos[a.npos++] = p.words[i];
    if (a.npos < cmd->min_pos)
        return cli_usage(&c, "%s needs more arguments", cmd->name);
    if (cmd->max_pos >= 0 && a.npos > cmd->max_pos)
        return cli_usage(&c, "unexpected argument \"%s\"", a.pos[cmd->max_pos]);

    if ((rc = load_security(&c)))
        return rc;
    rc = cmd->run(&c, &a);
    /* Flush before the gRPC shutdown so a closed pipe shows as an error. */
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        cli_err("cannot write the output");
        rc = CLI_EXIT_SERVER;
    }
    if (c.rpc_open)
        rpc_close(&c.rpc);
    creds_free(&c.creds);
    return rc;
}
