/* load.c - allot-load: runs benchmark scenarios against a running allotd.
 *
 * For each in-flight level, in the order given, every scenario asked for
 * runs for warm-up + duration seconds (floor first, so each scenario is
 * compared with a floor measured moments before, on the same server and
 * connection). Results go to stdout as a table and, with --json, to a file.
 * Ratios to floor are taken at the same in-flight level: p50 and p99 as
 * multiples of floor's, throughput as a fraction of floor's.
 *
 * retry replays invoices that price-1 priced earlier in this process; when
 * retry comes first, price-1 runs unrecorded for a second to have some.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>

#include "client.h"
#include "dataset.h"

#define LEVELS_MAX 16

struct options {
    const char *target, *json, *label;
    char run_id[17];
    unsigned long members;
    unsigned channels;
    double warmup, duration, wait;
    int server_pid;
    bool scen[SCEN_COUNT];
    unsigned levels[LEVELS_MAX], nlevels;
};

static void usage(FILE *f)
{
    int s;
    fprintf(f, "usage: allot-load --target HOST:PORT --members N [options]\n"
               "  -t, --target HOST:PORT   allotd to load\n"
               "  -m, --members N          members allot-gen wrote (random members are 0..N-1)\n"
               "  -s, --scenarios LIST     comma-separated, or \"all\" (default)\n"
               "  -i, --inflight LIST      calls in flight, comma-separated (default 1,8,64)\n"
               "  -w, --warmup S           seconds of warm-up per run (default 2)\n"
               "  -d, --duration S         seconds measured per run (default 4)\n"
               "  -c, --channels N         channels (TCP connections) (default 1)\n"
               "  -p, --server-pid PID     read allotd's CPU time from /proc\n"
               "  -j, --json FILE          write the results as JSON\n"
               "  -l, --label TEXT         a label for the JSON (e.g. \"100k\")\n"
               "      --run-id ID          unique in the data directory (default: from the clock)\n"
               "      --wait S             wait up to S s for the server (default 10)\n"
               "      --wait-only          wait for the server, then exit\n"
               "scenarios:\n");
    for (s = 0; s < SCEN_COUNT; s++)
        fprintf(f, "  %-11s %s\n", scenarios[s].name, scenarios[s].what);
}

static int parse_scenarios(struct options *o, char *list)
{
    char *tok, *save = NULL;
    int s;
    if (!strcmp(list, "all")) {
        for (s = 0; s < SCEN_COUNT; s++)
            o->scen[s] = true;
        return 0;
    }
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if ((s = scenario_find(tok)) < 0) {
            fprintf(stderr, "allot-load: unknown scenario \"%s\"\n", tok);
            return -1;
        }
        o->scen[s] = true;
    }
    return 0;
}

static int parse_levels(struct options *o, char *list)
{
    char *tok, *save = NULL;
    o->nlevels = 0;
    for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long v = strtol(tok, NULL, 10);
        if (v < 1 || v > 4096 || o->nlevels == LEVELS_MAX) {
            fprintf(stderr, "allot-load: bad in-flight level \"%s\"\n", tok);
            return -1;
        }
        o->levels[o->nlevels++] = (unsigned)v;
    }
    return o->nlevels ? 0 : -1;
}

/* The floor at r's level into *out: the mean of the runs that open and
 * close the level (one when only one ran). NULL when there is none. */
static const struct result *floor_of(const struct result *all, size_t n, const struct result *r,
                                     struct result *out)
{
    size_t i, k = 0;
    memset(out, 0, sizeof *out);
    for (i = 0; i < n; i++) {
        const struct result *f = &all[i];
        if (f->scen != SCEN_FLOOR || f->inflight != r->inflight || !f->calls)
            continue;
        out->p50 += f->p50;
        out->p99 += f->p99;
        out->calls_per_s += f->calls_per_s;
        k++;
    }
    if (!k)
        return NULL;
    out->p50 /= (double)k;
    out->p99 /= (double)k;
    out->calls_per_s /= (double)k;
    return out;
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

static void print_header(void)
{
    printf("%-11s %4s %9s %9s %8s %8s %8s %8s %7s %7s %8s %6s\n", "scenario", "infl", "calls/s",
           "lines/s", "p50 us", "p90 us", "p99 us", "p99.9 us", "p50/fl", "rate/fl", "srv us/c",
           "errors");
}

static void print_row(const struct result *r, const struct result *fl)
{
    printf("%-11s %4u %9.0f %9.0f %8.1f %8.1f %8.1f %8.1f %7.2f %7.2f %8.1f %6llu\n",
           r->floor_end ? "floor-end" : scenarios[r->scen].name, r->inflight, r->calls_per_s,
           r->lines_per_s, r->p50, r->p90, r->p99, r->p999, fl ? ratio(r->p50, fl->p50) : 0,
           fl ? ratio(r->calls_per_s, fl->calls_per_s) : 0, r->server_cpu_us,
           (unsigned long long)r->errors);
    if (r->first_error[0])
        printf("            first error: %s\n", r->first_error);
    fflush(stdout);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static int write_json(const struct options *o, const struct result *all, size_t n)
{
    FILE *f = fopen(o->json, "w");
    size_t i;
    if (!f)
        return -1;
    fprintf(f, "{\"tool\": \"allot-load\", \"label\": ");
    json_string(f, o->label);
    fprintf(f, ", \"target\": ");
    json_string(f, o->target);
    fprintf(f,
            ", \"run_id\": \"%s\", \"members\": %lu, \"channels\": %u, \"warmup_s\": %g, "
            "\"duration_s\": %g,\n \"results\": [\n",
            o->run_id, o->members, o->channels, o->warmup, o->duration);
    for (i = 0; i < n; i++) {
        struct result fbuf;
        const struct result *r = &all[i], *fl = floor_of(all, n, r, &fbuf);
        fprintf(f,
                "  {\"scenario\": \"%s\", \"inflight\": %u, \"lines_per_call\": %u, "
                "\"seconds\": %.3f, \"calls\": %llu, \"errors\": %llu, \"replayed\": %llu, "
                "\"calls_per_s\": %.1f, \"lines_per_s\": %.1f, \"p50_us\": %.1f, "
                "\"p90_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, "
                "\"mean_us\": %.1f, \"server_cpu_us_per_call\": %.1f, "
                "\"client_cpu_us_per_call\": %.1f, \"p50_x_floor\": %.3f, \"p99_x_floor\": %.3f, "
                "\"rate_x_floor\": %.3f, \"first_error\": ",
                r->floor_end ? "floor-end" : scenarios[r->scen].name, r->inflight,
                scenarios[r->scen].lines, r->seconds, (unsigned long long)r->calls,
                (unsigned long long)r->errors, (unsigned long long)r->replayed, r->calls_per_s,
                r->lines_per_s, r->p50, r->p90, r->p99, r->p999, r->max, r->mean, r->server_cpu_us,
                r->client_cpu_us, fl ? ratio(r->p50, fl->p50) : 0, fl ? ratio(r->p99, fl->p99) : 0,
                fl ? ratio(r->calls_per_s, fl->calls_per_s) : 0);
        json_string(f, r->first_error);
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
    }
    fprintf(f, " ]}\n");
    return fclose(f);
}

/* Runs scenario s at level l into all[*n]; floor_end marks the floor run
 * that closes a level. */
static int run_one(const struct options *o, struct loadgen *lg, struct requests *rq, int s,
                   unsigned l, bool floor_end, struct result *all, size_t *n)
{
    struct result *r = &all[*n], fbuf;
    if (s == SCEN_RETRY && !requests_npriced(rq)) {
        struct result prime;
        printf("(retry: pricing invoices to replay first)\n");
        if (loadgen_run(lg, rq, SCEN_PRICE1, 8, 0, 1.0, 0, &prime))
            return -1;
    }
    if (!requests_prepare(rq, (enum scen_id)s)) {
        fprintf(stderr, "allot-load: %s: no requests to send\n", scenarios[s].name);
        return -1;
    }
    if (loadgen_run(lg, rq, (enum scen_id)s, o->levels[l], o->warmup, o->duration, o->server_pid,
                    r)) {
        fprintf(stderr, "allot-load: out of memory\n");
        return -1;
    }
    r->floor_end = floor_end;
    (*n)++;
    print_row(r, floor_of(all, *n, r, &fbuf));
    return 0;
}

/* Runs every scenario at every level; fills all[] (room for all of them).
 * Floor opens each level and, when other scenarios ran, closes it again:
 * ratios use the mean of the two, and their difference shows how much the
 * machine drifted meanwhile. */
static int run_all(const struct options *o, struct loadgen *lg, struct requests *rq,
                   struct result *all, size_t *n)
{
    unsigned l;
    int s;

    print_header();
    for (l = 0; l < o->nlevels; l++) {
        size_t first = *n;
        for (s = 0; s < SCEN_COUNT; s++)
            if (o->scen[s] && run_one(o, lg, rq, s, l, false, all, n))
                return -1;
        if (o->scen[SCEN_FLOOR] && *n - first > 1) {
            if (run_one(o, lg, rq, SCEN_FLOOR, l, true, all, n))
                return -1;
            printf("%-11s floor drift over this level: p50 %+.0f%%, calls/s %+.0f%%\n", "",
                   100 * (ratio(all[*n - 1].p50, all[first].p50) - 1),
                   100 * (ratio(all[*n - 1].calls_per_s, all[first].calls_per_s) - 1));
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"target", required_argument, NULL, 't'},
        {"members", required_argument, NULL, 'm'},
        {"scenarios", required_argument, NULL, 's'},
        {"inflight", required_argument, NULL, 'i'},
        {"warmup", required_argument, NULL, 'w'},
        {"duration", required_argument, NULL, 'd'},
        {"channels", required_argument, NULL, 'c'},
        {"server-pid", required_argument, NULL, 'p'},
        {"json", required_argument, NULL, 'j'},
        {"label", required_argument, NULL, 'l'},
        {"run-id", required_argument, NULL, 'R'},
        {"wait", required_argument, NULL, 'W'},
        {"wait-only", no_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.channels = 1, .warmup = 2, .duration = 4, .wait = 10, .label = ""};
    char levels_default[] = "1,8,64";
    struct loadgen *lg = NULL;
    struct requests *rq = NULL;
    struct result *all = NULL;
    size_t n = 0;
    bool wait_only = false, any = false;
    int ch, s, rc = 1;

    snprintf(o.run_id, sizeof o.run_id, "%lx",
             (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 20));
    parse_levels(&o, levels_default);
    while ((ch = getopt_long(argc, argv, "t:m:s:i:w:d:c:p:j:l:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 't':
            o.target = optarg;
            break;
        case 'm':
            o.members = strtoul(optarg, NULL, 10);
            break;
        case 's':
            if (parse_scenarios(&o, optarg))
                return 2;
            break;
        case 'i':
            if (parse_levels(&o, optarg))
                return 2;
            break;
        case 'w':
            o.warmup = strtod(optarg, NULL);
            break;
        case 'd':
            o.duration = strtod(optarg, NULL);
            break;
        case 'c':
            o.channels = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o.server_pid = atoi(optarg);
            break;
        case 'j':
            o.json = optarg;
            break;
        case 'l':
            o.label = optarg;
            break;
        case 'R':
            snprintf(o.run_id, sizeof o.run_id, "%s", optarg);
            break;
        case 'W':
            o.wait = strtod(optarg, NULL);
            break;
        case 'O':
            wait_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    for (s = 0; s < SCEN_COUNT; s++)
        any |= o.scen[s];
    if (!any)
        for (s = 0; s < SCEN_COUNT; s++)
            o.scen[s] = true;
    if (!o.target || (!wait_only && !o.members) || o.duration <= 0 || o.warmup < 0) {
        usage(stderr);
        return 2;
    }

    grpc_init();
    if (!(lg = loadgen_new(o.target, o.channels))) {
        fprintf(stderr, "allot-load: cannot create a channel to %s\n", o.target);
        goto out;
    }
    if (loadgen_wait_ready(lg, o.wait)) {
        fprintf(stderr, "allot-load: %s did not answer Health/Check within %g s\n", o.target,
                o.wait);
        goto out;
    }
    if (wait_only) {
        rc = 0;
        goto out;
    }
    rq = requests_new((uint32_t)o.members, o.run_id);
    all = calloc((size_t)(SCEN_COUNT + 1) * o.nlevels, sizeof *all);
    if (!rq || !all) {
        fprintf(stderr, "allot-load: out of memory\n");
        goto out;
    }
    printf("allot-load: %s, %lu members, %u channel(s), %g s warm-up + %g s per run, run %s\n",
           o.target, o.members, o.channels, o.warmup, o.duration, o.run_id);
    if (run_all(&o, lg, rq, all, &n))
        goto out;
    if (o.json && write_json(&o, all, n)) {
        fprintf(stderr, "allot-load: cannot write %s\n", o.json);
        goto out;
    }
    rc = 0;
out:
    free(all);
    requests_free(rq);
    loadgen_free(lg);
    grpc_shutdown();
    return rc;
}
