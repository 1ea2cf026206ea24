/* client.c - the call engine of allot-load (see client.h). */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#define CALL_DEADLINE_S 30
#define MAX_CHANNELS 64

struct loadgen {
    grpc_completion_queue *cq;
    grpc_channel *ch[MAX_CHANNELS];
    void *method[SCEN_COUNT][MAX_CHANNELS]; /* registered call handles */
    unsigned nch;
};

/* One call in flight; its address is the completion-queue tag. */
struct slot {
    grpc_call *call;
    grpc_byte_buffer *send, *recv;
    grpc_metadata_array initial, trailing;
    grpc_status_code status;
    grpc_slice details;
    uint64_t t0, seq;
    unsigned chan;
};

struct run {
    struct loadgen *lg;
    struct requests *rq;
    enum scen_id scen;
    uint64_t *samples; /* latencies in ns of the recorded calls */
    size_t nsamples, cap;
    struct result *out;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU seconds (user + system) of process pid, or -1. */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024], *p;
    unsigned long utime, stime;
    size_t n;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* fields after the command name, which may hold spaces: state is 3rd,
     * utime the 14th and stime the 15th */
    if (!(p = strrchr(buf, ')')) ||
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct loadgen *loadgen_new(const char *target, unsigned channels)
{
    struct loadgen *lg = calloc(1, sizeof *lg);
    grpc_arg args[5];
    grpc_channel_args chargs = {sizeof args / sizeof args[0], args};
    unsigned c;
    int s;

    if (!lg)
        return NULL;
    memset(args, 0, sizeof args);
    /* each channel its own connection, not a shared subchannel */
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
    args[0].value.integer = 1;
    /* the benchmark never retries; skip the retry filter's bookkeeping */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_ENABLE_RETRIES;
    args[1].value.integer = 0;
    /* connect promptly to a server that is just starting */
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS;
    args[2].value.integer = 50;
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_MIN_RECONNECT_BACKOFF_MS;
    args[3].value.integer = 50;
    args[4].type = GRPC_ARG_INTEGER;
    args[4].key = GRPC_ARG_MAX_RECONNECT_BACKOFF_MS;
    args[4].value.integer = 200;

    lg->nch = channels < 1 ? 1 : channels > MAX_CHANNELS ? MAX_CHANNELS : channels;
    lg->cq = grpc_completion_queue_create_for_next(NULL);
    for (c = 0; c < lg->nch; c++) {
        grpc_channel_credentials *creds = grpc_insecure_credentials_create();
        lg->ch[c] = grpc_channel_create(target, creds, &chargs);
        grpc_channel_credentials_release(creds);
        if (!lg->ch[c]) {
            loadgen_free(lg);
            return NULL;
        }
        for (s = 0; s < SCEN_COUNT; s++)
            lg->method[s][c] =
                grpc_channel_register_call(lg->ch[c], scenarios[s].method, NULL, NULL);
    }
    return lg;
}

void loadgen_free(struct loadgen *lg)
{
    unsigned c;
    if (!lg)
        return;
    for (c = 0; c < lg->nch; c++)
        if (lg->ch[c])
            grpc_channel_destroy(lg->ch[c]);
    grpc_completion_queue_shutdown(lg->cq);
    while (grpc_completion_queue_next(lg->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(lg->cq);
    free(lg);
}

/* Starts sl's call of scenario s carrying req (the slot takes the ref). */
static int slot_start(struct loadgen *lg, struct slot *sl, enum scen_id s, grpc_slice req,
                      uint32_t flags, gpr_timespec deadline)
{
    grpc_op ops[6];
    grpc_call_error e;

    memset(ops, 0, sizeof ops);
    sl->send = grpc_raw_byte_buffer_create(&req, 1);
    grpc_slice_unref(req);
    sl->recv = NULL;
    sl->status = GRPC_STATUS_UNKNOWN;
    sl->details = grpc_empty_slice();
    grpc_metadata_array_init(&sl->initial);
    grpc_metadata_array_init(&sl->trailing);

    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[0].flags = flags;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = sl->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &sl->initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &sl->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &sl->trailing;
    ops[5].data.recv_status_on_client.status = &sl->status;
    ops[5].data.recv_status_on_client.status_details = &sl->details;

    sl->t0 = now_ns();
    sl->call = grpc_channel_create_registered_call(lg->ch[sl->chan], NULL, GRPC_PROPAGATE_DEFAULTS,
                                                   lg->cq, lg->method[s][sl->chan], deadline, NULL);
    e = grpc_call_start_batch(sl->call, ops, 6, sl, NULL);
    return e == GRPC_CALL_OK ? 0 : -1;
}

/* Frees what sl's finished call holds. */
static void slot_clear(struct slot *sl)
{
    grpc_byte_buffer_destroy(sl->send);
    if (sl->recv)
        grpc_byte_buffer_destroy(sl->recv);
    grpc_metadata_array_destroy(&sl->initial);
    grpc_metadata_array_destroy(&sl->trailing);
    grpc_slice_unref(sl->details);
    grpc_call_unref(sl->call);
    sl->call = NULL;
}

static bool slot_ok(const struct slot *sl, int success)
{
    return success && sl->status == GRPC_STATUS_OK && sl->recv != NULL;
}

static bool has_trailer(const struct slot *sl, const char *key)
{
    size_t i;
    for (i = 0; i < sl->trailing.count; i++)
        if (!grpc_slice_str_cmp(sl->trailing.metadata[i].key, key))
            return true;
    return false;
}

static void note_error(struct result *out, const struct slot *sl, int success)
{
    char *details;
    out->errors++;
    if (out->first_error[0])
        return;
    details = grpc_slice_to_c_string(sl->details);
    snprintf(out->first_error, sizeof out->first_error, "%s: status %d%s%s",
             success ? "call" : "batch failed", (int)sl->status, details[0] ? ": " : "", details);
    gpr_free(details);
}

int loadgen_wait_ready(struct loadgen *lg, double timeout_s)
{
    uint64_t until = now_ns() + (uint64_t)(timeout_s * 1e9);
    struct slot sl;

    memset(&sl, 0, sizeof sl);
    while (now_ns() < until) {
        gpr_timespec dl =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(1000, GPR_TIMESPAN));
        grpc_event ev;
        bool ok;
        if (slot_start(lg, &sl, SCEN_FLOOR, grpc_empty_slice(),
                       GRPC_INITIAL_METADATA_WAIT_FOR_READY, dl))
            return -1;
        do
            ev = grpc_completion_queue_next(lg->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        while (ev.type != GRPC_OP_COMPLETE);
        ok = slot_ok(&sl, ev.success);
        slot_clear(&sl);
        if (ok)
            return 0;
        usleep(50000);
    }
    return -1;
}

static int record(struct run *r, uint64_t ns)
{
    if (r->nsamples == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1u << 18;
        uint64_t *p = realloc(r->samples, cap * sizeof *p);
        if (!p)
            return -1;
        r->samples = p;
        r->cap = cap;
    }
    r->samples[r->nsamples++] = ns;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile q of the sorted samples, in microseconds. */
static double pct(const uint64_t *v, size_t n, double q)
{
    size_t k = (size_t)(q * (double)n + 0.999999);
    if (!n)
        return 0;
    k = k < 1 ? 1 : k > n ? n : k;
    return (double)v[k - 1] / 1000.0;
}

static void summarize(struct run *r)
{
    struct result *o = r->out;
    double sum = 0;
    size_t i;

    qsort(r->samples, r->nsamples, sizeof *r->samples, cmp_u64);
    for (i = 0; i < r->nsamples; i++)
        sum += (double)r->samples[i];
    o->calls = r->nsamples;
    o->p50 = pct(r->samples, r->nsamples, 0.50);
    o->p90 = pct(r->samples, r->nsamples, 0.90);
    o->p99 = pct(r->samples, r->nsamples, 0.99);
    o->p999 = pct(r->samples, r->nsamples, 0.999);
    o->max = r->nsamples ? (double)r->samples[r->nsamples - 1] / 1000.0 : 0;
    o->mean = r->nsamples ? sum / (double)r->nsamples / 1000.0 : 0;
    o->calls_per_s = (double)o->calls / o->seconds;
    o->lines_per_s = o->calls_per_s * scenarios[o->scen].lines;
}

int loadgen_run(struct loadgen *lg, struct requests *rq, enum scen_id s, unsigned inflight,
                double warmup_s, double duration_s, int server_pid, struct result *out)
{
    struct run r = {lg, rq, s, NULL, 0, 0, out};
    struct slot *slots = calloc(inflight, sizeof *slots);
    uint64_t t_start = now_ns(), t_measure = t_start + (uint64_t)(warmup_s * 1e9);
    uint64_t t_end = t_measure + (uint64_t)(duration_s * 1e9), t;
    double srv0 = -1, cli0 = 0;
    bool measuring = false, ended = false;
    unsigned active = 0, i;
    int rc = 0;

    memset(out, 0, sizeof *out);
    out->scen = s;
    out->inflight = inflight;
    out->server_cpu_us = out->client_cpu_us = -1;
    if (!slots)
        return -1;
    for (i = 0; i < inflight; i++) {
        gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_seconds(CALL_DEADLINE_S, GPR_TIMESPAN));
        slots[i].chan = i % lg->nch;
        if (slot_start(lg, &slots[i], s, requests_next(rq, s, &slots[i].seq), 0, dl))
            abort(); /* only a programming error makes start_batch fail here */
        active++;
    }
    while (active) {
        gpr_timespec tick =
            gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(50, GPR_TIMESPAN));
        grpc_event ev = grpc_completion_queue_next(lg->cq, tick, NULL);
        struct slot *sl = ev.tag;

        t = now_ns();
        if (!measuring && t >= t_measure) {
            measuring = true;
            srv0 = server_pid ? proc_cpu_s(server_pid) : -1;
            cli0 = self_cpu_s();
        }
        if (measuring && !ended && t >= t_end) {
            double srv1 = server_pid ? proc_cpu_s(server_pid) : -1;
            ended = true;
            out->seconds = (double)(t - t_measure) / 1e9;
            summarize(&r); /* recorded calls are final now */
            if (out->calls && srv0 >= 0 && srv1 >= 0)
                out->server_cpu_us = (srv1 - srv0) * 1e6 / (double)out->calls;
            if (out->calls)
                out->client_cpu_us = (self_cpu_s() - cli0) * 1e6 / (double)out->calls;
        }
        if (ev.type != GRPC_OP_COMPLETE)
            continue;

        if (!slot_ok(sl, ev.success)) {
            note_error(out, sl, ev.success);
        } else {
            if (s == SCEN_PRICE1)
                requests_priced(rq, sl->seq);
            if (measuring && !ended) {
                if (record(&r, t - sl->t0))
                    rc = -1;
                if (s == SCEN_RETRY && has_trailer(sl, "allot-replayed"))
                    out->replayed++;
            }
        }
        slot_clear(sl);
        if (ended || rc) {
            active--;
        } else {
            gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                           gpr_time_from_seconds(CALL_DEADLINE_S, GPR_TIMESPAN));
            if (slot_start(lg, sl, s, requests_next(rq, s, &sl->seq), 0, dl))
                abort();
        }
    }
    free(r.samples);
    free(slots);
    return rc;
}
