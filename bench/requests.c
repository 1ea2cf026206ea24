/* requests.c - scenario table and request encoding (see requests.h). */
#include "requests.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "allot/v1/allot.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#include "dataset.h"

/* Distinct requests in a pool: enough that members repeat rarely. */
#define POOL_MAX 65536
#define LINES_MAX 10

const struct scenario scenarios[SCEN_COUNT] = {
    [SCEN_FLOOR] = {"floor", "/grpc.health.v1.Health/Check", 0,
                    "Health/Check: the cost of gRPC itself on this server"},
    [SCEN_PREVIEW1] = {"preview-1", "/allot.v1.Allot/PreviewInvoice", 1,
                       "one-line PreviewInvoice, random member: a read snapshot, no write"},
    [SCEN_ALLOTMENTS] = {"allotments", "/allot.v1.Allot/GetAllotments", 0,
                         "GetAllotments, random member: every rule, usage and history"},
    [SCEN_PRICE1] = {"price-1", "/allot.v1.Allot/PriceInvoice", 1,
                     "one-line PriceInvoice, fresh invoice id, random member: durable"},
    [SCEN_PRICE10] = {"price-10", "/allot.v1.Allot/PriceInvoice", 10,
                      "ten-line PriceInvoice, fresh invoice id: durable"},
    [SCEN_RETRY] = {"retry", "/allot.v1.Allot/PriceInvoice", 1,
                    "price-1 invoices sent again: idempotent replay of the stored answer"},
};

struct requests {
    uint32_t members;
    char run_id[17];
    uint64_t run_hash;
    uint64_t next_seq[SCEN_COUNT];
    grpc_slice *pool[SCEN_COUNT];
    size_t npool[SCEN_COUNT];
    uint64_t *priced; /* price-1 call numbers that succeeded */
    size_t npriced;
};

int scenario_find(const char *name)
{
    int s;
    for (s = 0; s < SCEN_COUNT; s++)
        if (!strcmp(scenarios[s].name, name))
            return s;
    return -1;
}

struct requests *requests_new(uint32_t members, const char *run_id)
{
    struct requests *r = calloc(1, sizeof *r);
    const char *p;
    if (!r || !(r->priced = malloc(POOL_MAX * sizeof *r->priced))) {
        free(r);
        return NULL;
    }
    r->members = members ? members : 1;
    snprintf(r->run_id, sizeof r->run_id, "%s", run_id);
    r->run_hash = 1469598103934665603ull;
    for (p = r->run_id; *p; p++)
        r->run_hash = (r->run_hash ^ (unsigned char)*p) * 1099511628211ull;
    return r;
}

void requests_free(struct requests *r)
{
    size_t s, i;
    if (!r)
        return;
    for (s = 0; s < SCEN_COUNT; s++) {
        for (i = 0; i < r->npool[s]; i++)
            grpc_slice_unref(r->pool[s][i]);
        free(r->pool[s]);
    }
    free(r->priced);
    free(r);
}

void requests_priced(struct requests *r, uint64_t seq)
{
    if (r->npriced < POOL_MAX)
        r->priced[r->npriced++] = seq;
}

size_t requests_npriced(const struct requests *r)
{
    return r->npriced;
}

static grpc_slice pack(const ProtobufCMessage *m)
{
    grpc_slice s = grpc_slice_malloc(protobuf_c_message_get_packed_size(m));
    protobuf_c_message_pack(m, GRPC_SLICE_START_PTR(s));
    return s;
}

/* A line of call `key`: a service by weight, dated in the last 30 days. */
static void make_line(uint64_t key, Allot__V1__InvoiceLine *l, char date[ALLOT_DATE_STRLEN])
{
    uint64_t h = dataset_hash(key);
    allot__v1__invoice_line__init(l);
    l->service_code = (char *)dataset_pick_service(h)->code;
    allot_date_format(dataset_today() - (allot_date)((h >> 40) % DATASET_RECENT_DAYS), date);
    l->service_date = date;
    l->quantity = 1;
}

/* An invoice of nlines lines for a random member. invoice_id may be "". */
static grpc_slice invoice(struct requests *r, uint64_t key, unsigned nlines, char *invoice_id)
{
    Allot__V1__PriceInvoiceRequest req = ALLOT__V1__PRICE_INVOICE_REQUEST__INIT;
    Allot__V1__InvoiceLine lines[LINES_MAX], *lp[LINES_MAX];
    char dates[LINES_MAX][ALLOT_DATE_STRLEN], member[DATASET_ID_LEN];
    unsigned k;

    dataset_member_id((uint32_t)(dataset_hash(key) % r->members), member);
    for (k = 0; k < nlines; k++) {
        make_line(key * 16 + k, &lines[k], dates[k]);
        lp[k] = &lines[k];
    }
    req.invoice_id = invoice_id;
    req.member_id = member;
    req.n_lines = nlines;
    req.lines = lp;
    return pack(&req.base);
}

/* Committed invoices: the id names the run, the scenario and the call. */
static grpc_slice priced_invoice(struct requests *r, enum scen_id s, uint64_t seq)
{
    char id[64];
    snprintf(id, sizeof id, "b%s-%u-%llu", r->run_id, scenarios[s].lines, (unsigned long long)seq);
    return invoice(r, r->run_hash ^ ((uint64_t)s << 56) ^ seq, scenarios[s].lines, id);
}

static grpc_slice pooled(struct requests *r, enum scen_id s, uint64_t i)
{
    uint64_t key = r->run_hash ^ ((uint64_t)s << 56) ^ i;
    char member[DATASET_ID_LEN];

    switch (s) {
    case SCEN_PREVIEW1:
        return invoice(r, key, 1, "");
    case SCEN_ALLOTMENTS: {
        Allot__V1__GetAllotmentsRequest req = ALLOT__V1__GET_ALLOTMENTS_REQUEST__INIT;
        dataset_member_id((uint32_t)(dataset_hash(key) % r->members), member);
        req.member_id = member;
        req.as_of = DATASET_TODAY_STR;
        return pack(&req.base);
    }
    case SCEN_RETRY:
        return priced_invoice(r, SCEN_PRICE1, r->priced[i]);
    default: /* floor: HealthCheckRequest{service: ""} encodes to no bytes */
        return grpc_empty_slice();
    }
}

size_t requests_prepare(struct requests *r, enum scen_id s)
{
    size_t n, i;
    switch (s) {
    case SCEN_FLOOR:
        n = 1;
        break;
    case SCEN_PREVIEW1:
    case SCEN_ALLOTMENTS:
        n = POOL_MAX;
        break;
    case SCEN_RETRY:
        n = r->npriced;
        break;
    default:
        return 1; /* encoded per call */
    }
    if (r->npool[s] || !n)
        return r->npool[s];
    if (!(r->pool[s] = malloc(n * sizeof *r->pool[s])))
        return 0;
    for (i = 0; i < n; i++)
        r->pool[s][i] = pooled(r, s, i);
    r->npool[s] = n;
    return n;
}

grpc_slice requests_next(struct requests *r, enum scen_id s, uint64_t *seq)
{
    *seq = r->next_seq[s]++;
    if (r->npool[s])
        return grpc_slice_ref(r->pool[s][*seq % r->npool[s]]);
    return priced_invoice(r, s, *seq);
}
