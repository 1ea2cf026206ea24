/* gen.c - allot-gen: writes the benchmark practice into a data directory.
 *
 * Goes through the store API, not through RPCs: members and their history
 * are written in large transactions (--batch members each, one durable
 * commit per batch), which is two orders of magnitude faster than one
 * PutMember per member. Run it while no allotd has the directory open.
 *
 * What a member gets (dataset.h says who they are): one or two enrollments,
 * and a year of history of 2-4 single-line invoices for distinct services,
 * each drawing one unit (or the service's price in cents, on amount rules)
 * on every rule of the member's plan that lists the service, exactly as
 * pricing would when allotments have room; and the invoice record with its
 * canonical request. The stored answer is a plausible reply (covered line,
 * binding rule), not the engine's: the benchmarks never replay these.
 *
 * --from K writes members K..N-1 only, so a directory is grown from 10k to
 * 100k to 1M members without writing the first ones again. Catalog and
 * plans are written each time (rewriting them changes nothing).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "allot/ledger.h"
#include "allot/store.h"
#include "allot/validate.h"
#include "allot/v1/allot.pb-c.h"

#include "dataset.h"

#define HISTORY_MAX 4

struct batch {
    uint32_t lo, hi;
    const struct allot_plan *plans;
    struct allot_arena arena;
    uint64_t entries, invoices; /* written by this batch (last run of it) */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Packs msg into the arena. */
static int pack(struct allot_arena *a, const ProtobufCMessage *msg, const uint8_t **out, size_t *n)
{
    uint8_t *buf;
    *n = protobuf_c_message_get_packed_size(msg);
    if (!(buf = allot_arena_alloc(a, *n + 1)))
        return ALLOT_ENOMEM;
    protobuf_c_message_pack(msg, buf);
    *out = buf;
    return 0;
}

/* The invoice record of a one-line history invoice: canonical request and
 * a plausible answer. rule_key is the binding rule ("" when none matched). */
static int history_record(struct allot_arena *a, struct allot_invoice_rec *rec,
                          const struct dataset_service *svc, const char *date, const char *rule_key,
                          const struct allot_plan *plan)
{
    Allot__V1__PriceInvoiceRequest req = ALLOT__V1__PRICE_INVOICE_REQUEST__INIT;
    Allot__V1__InvoiceLine line = ALLOT__V1__INVOICE_LINE__INIT, *lines[1] = {&line};
    Allot__V1__PriceInvoiceResponse resp = ALLOT__V1__PRICE_INVOICE_RESPONSE__INIT;
    Allot__V1__PricedLine pl = ALLOT__V1__PRICED_LINE__INIT, *pls[1] = {&pl};
    int rc;

    req.invoice_id = resp.invoice_id = (char *)rec->invoice_id;
    req.member_id = resp.member_id = (char *)rec->member_id;
    line.line_id = pl.line_id = "1";
    line.service_code = pl.service_code = (char *)svc->code;
    line.service_date = pl.service_date = (char *)date;
    line.quantity = pl.quantity = 1;
    req.n_lines = 1;
    req.lines = lines;
    if ((rc = pack(a, &req.base, &rec->request, &rec->request_len)))
        return rc;

    pl.unit_price_cents = svc->price;
    if (rule_key[0]) {
        pl.covered_quantity = 1;
        pl.covered_amount_cents = svc->price;
        pl.billable_unit_price_cents = svc->price;
        pl.reason = ALLOT__V1__REASON__REASON_COVERED;
        pl.rule_key = (char *)rule_key;
        pl.plan_id = (char *)plan->id;
    } else {
        pl.billable_quantity = 1;
        pl.billable_unit_price_cents = pl.amount_due_cents = svc->price;
        pl.reason = ALLOT__V1__REASON__REASON_NOT_IN_PLAN;
        resp.total_due_cents = svc->price;
    }
    resp.n_lines = 1;
    resp.lines = pls;
    return pack(a, &resp.base, &rec->answer, &rec->answer_len);
}

/* Member i's history: 2-4 invoices for distinct services in the past year. */
static int write_history(struct allot_txn *t, struct batch *b, uint32_t i,
                         const struct allot_member *m, const struct dataset_member *dm)
{
    const struct dataset_service *picked[HISTORY_MAX];
    uint64_t h = dataset_hash((uint64_t)i << 8 | 0x5a);
    unsigned want = 2 + (unsigned)(h % 3), have = 0, tries, k;
    allot_date today = dataset_today();
    int rc;

    for (tries = 0; have < want && tries < 16; tries++) {
        const struct dataset_service *svc = dataset_pick_service(dataset_hash(h + tries));
        for (k = 0; k < have && picked[k] != svc; k++)
            ;
        if (k == have)
            picked[have++] = svc;
    }
    for (k = 0; k < have; k++) {
        const struct dataset_service *svc = picked[k];
        allot_date d = today - 1 - (allot_date)(dataset_hash(h ^ (k + 1)) % DATASET_HISTORY_DAYS);
        const struct allot_plan *plan = &b->plans[dm->plan];
        const struct allot_plan_version *v = allot_plan_version_at(plan, d);
        struct allot_invoice_line_rec line = {"1", false, NULL, 0};
        struct allot_invoice_rec rec;
        uint64_t seqs[ALLOT_LINE_ENTRIES_MAX];
        const char *binding = "";
        char inv[DATASET_ID_LEN + 8], date[ALLOT_DATE_STRLEN];
        uint32_t r;

        snprintf(inv, sizeof inv, "h%s-%u", m->id + 1, k + 1);
        for (r = 0; v && r < v->nrules; r++) {
            const struct allot_rule *rule = &v->rules[r];
            struct allot_draw draw;
            if (!allot_rule_has_code(rule, svc->code) || (!rule->unlimited && !rule->allowance))
                continue;
            draw.pool = allot_rule_pool(rule, m);
            draw.rule_key = rule->key;
            draw.member_id = m->id;
            draw.date = d;
            draw.amount = rule->limit == ALLOT_LIMIT_AMOUNT ? svc->price : 1;
            rc = allot_ledger_append(t, &draw, ALLOT_SOURCE_INVOICE, inv, "1", "",
                                     &seqs[line.nentries]);
            if (rc)
                return rc;
            if (!line.nentries++)
                binding = rule->key;
        }
        line.entries = seqs;
        memset(&rec, 0, sizeof rec);
        rec.invoice_id = inv;
        rec.member_id = m->id;
        rec.lines = &line;
        rec.nlines = 1;
        allot_date_format(d, date);
        if ((rc = history_record(&b->arena, &rec, svc, date, binding, plan)))
            return rc;
        if ((rc = allot_ledger_put_invoice(t, &rec)))
            return rc;
        b->entries += line.nentries;
        b->invoices++;
    }
    return 0;
}

/* One batch of members, in one write transaction. Rerun from scratch when
 * the map grows, so it keeps nothing outside the transaction but counters
 * it resets. */
static int write_batch(struct allot_txn *t, void *arg)
{
    struct batch *b = arg;
    uint32_t i;
    int rc;

    allot_arena_reset(&b->arena);
    b->entries = b->invoices = 0;
    for (i = b->lo; i < b->hi; i++) {
        struct dataset_member dm;
        struct allot_enrollment enr[2];
        struct allot_member m;

        dataset_member(i, &dm);
        memset(&m, 0, sizeof m);
        m.id = dm.id;
        m.anniversary = ALLOT_DATE_NONE;
        m.household_id = dm.household;
        m.sponsor_id = dm.sponsor;
        m.enrollments = enr;
        if (dm.prev_start != ALLOT_DATE_NONE) {
            enr[m.nenrollments++] =
                (struct allot_enrollment){"individual", dm.prev_start, dm.start - 1};
        }
        enr[m.nenrollments++] =
            (struct allot_enrollment){b->plans[dm.plan].id, dm.start, ALLOT_DATE_NONE};
        if ((rc = allot_store_put_member(t, &m, NULL, NULL)))
            return rc;
        if ((rc = write_history(t, b, i, &m, &dm)))
            return rc;
    }
    return 0;
}

/* Services and plans; rewriting them unchanged changes nothing. */
static int write_catalog(struct allot_txn *t, void *arg)
{
    size_t k, n;
    const struct allot_plan *plans = dataset_plans(&n);
    uint32_t v;
    int rc;

    (void)arg;
    for (k = 0; k < dataset_nservices; k++) {
        struct allot_service s = {dataset_services[k].code, dataset_services[k].name,
                                  dataset_services[k].price};
        if ((rc = allot_store_put_service(t, &s, NULL, NULL)))
            return rc;
    }
    for (k = 0; k < n; k++)
        for (v = 0; v < plans[k].nversions; v++)
            if ((rc = allot_store_put_plan_version(t, plans[k].id, plans[k].name,
                                                   &plans[k].versions[v], NULL, NULL)))
                return rc;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: allot-gen --data DIR --members N [--from K] [--batch B]\n"
               "Writes services, plans and members K..N-1 (with a year of history each)\n"
               "into the data directory DIR (created when missing). No allotd may be\n"
               "running on DIR. --batch: members per transaction (default 10000).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'}, {"members", required_argument, NULL, 'n'},
        {"from", required_argument, NULL, 'f'}, {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0},
    };
    struct allot_store_options opt;
    struct allot_store *store = NULL;
    struct allot_status st;
    struct batch b;
    const char *data = NULL;
    unsigned long members = 0, from = 0, batch = 10000;
    uint64_t entries = 0, invoices = 0;
    size_t nplans, k;
    double t0;
    int ch, rc = 1;

    while ((ch = getopt_long(argc, argv, "d:n:f:b:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            data = optarg;
            break;
        case 'n':
            members = strtoul(optarg, NULL, 10);
            break;
        case 'f':
            from = strtoul(optarg, NULL, 10);
            break;
        case 'b':
            batch = strtoul(optarg, NULL, 10);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!data || !members || members > 999999999ul || from > members || !batch) {
        usage(stderr);
        return 2;
    }

    memset(&opt, 0, sizeof opt);
    opt.path = data;
    /* roughly what the data will need, so the map rarely has to grow (each
     * growth reruns a batch) */
    opt.map_size = ((size_t)256 << 20) + (size_t)members * 2048;
    allot_status_clear(&st);
    if (allot_store_open(&store, &opt, &st)) {
        fprintf(stderr, "allot-gen: %s\n", st.msg);
        return 1;
    }
    t0 = now_s();
    memset(&b, 0, sizeof b);
    b.plans = dataset_plans(&nplans);
    for (k = 0; k < nplans; k++)
        for (uint32_t v = 0; v < b.plans[k].nversions; v++)
            if (allot_plan_version_check(&b.plans[k].versions[v], "version", &st)) {
                fprintf(stderr, "allot-gen: plan %s: %s\n", b.plans[k].id, st.msg);
                goto out;
            }
    if (allot_store_write(store, write_catalog, NULL, &st)) {
        fprintf(stderr, "allot-gen: catalog: %s\n", st.msg);
        goto out;
    }
    allot_arena_init(&b.arena);
    for (b.lo = (uint32_t)from; b.lo < members; b.lo = b.hi) {
        b.hi = b.lo + (uint32_t)(members - b.lo < batch ? members - b.lo : batch);
        if (allot_store_write(store, write_batch, &b, &st)) {
            fprintf(stderr, "allot-gen: members %u..%u: %s\n", b.lo, b.hi - 1, st.msg);
            goto out;
        }
        entries += b.entries;
        invoices += b.invoices;
    }
    printf("allot-gen: %lu members (%lu new), %llu invoices, %llu ledger entries in %.1f s "
           "(%.0f members/s), map %zu MiB, %s\n",
           members, members - from, (unsigned long long)invoices, (unsigned long long)entries,
           now_s() - t0, (double)(members - from) / (now_s() - t0 + 1e-9),
           allot_store_map_size(store) >> 20, data);
    rc = 0;
out:
    allot_arena_release(&b.arena);
    allot_store_close(store);
    return rc;
}
