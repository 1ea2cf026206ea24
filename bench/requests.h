/* requests.h - the benchmark scenarios and the requests they send.
 *
 * A scenario is one RPC with one kind of request. Requests that may repeat
 * are encoded before the run into a pool of slices and shared by reference
 * (a slice ref per call, no encoding); requests that must be new each time
 * (committed invoices need fresh invoice ids) are encoded per call with
 * protobuf-c from messages on the stack, straight into a grpc slice: one
 * allocation, no copy.
 *
 * Everything is a function of (run id, scenario, call number), so the retry
 * scenario can re-create byte for byte the invoices price-1 priced.
 */
#ifndef BENCH_REQUESTS_H
#define BENCH_REQUESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <grpc/slice.h>

enum scen_id {
    SCEN_FLOOR,
    SCEN_PREVIEW1,
    SCEN_ALLOTMENTS,
    SCEN_PRICE1,
    SCEN_PRICE10,
    SCEN_RETRY,
    SCEN_COUNT
};

struct scenario {
    const char *name;   /* as on the command line and in reports */
    const char *method; /* full gRPC method path */
    unsigned lines;     /* invoice lines per call; 0 when not an invoice */
    const char *what;   /* one line for people */
};

extern const struct scenario scenarios[SCEN_COUNT];

/* The scenario called name, or -1. */
int scenario_find(const char *name);

struct requests;

/* A request source for `members` generated members (dataset.h). run_id
 * (1-16 characters of [0-9a-z]) makes this run's invoice ids unique in the
 * data directory. NULL when out of memory. */
struct requests *requests_new(uint32_t members, const char *run_id);
void requests_free(struct requests *r);

/* Encodes the pool of scenario s, once (a no-op for per-call scenarios and
 * for pools already built). Retry's pool is the invoices price-1 priced so
 * far (requests_priced); 0 when there are none yet. Returns the pool size,
 * or 0 when out of memory. */
size_t requests_prepare(struct requests *r, enum scen_id s);

/* The next request of scenario s: a slice holding one reference that the
 * caller hands on or unrefs; *seq gets its call number. */
grpc_slice requests_next(struct requests *r, enum scen_id s, uint64_t *seq);

/* Call seq of price-1 was priced: retry may replay it (the first 65536 are
 * kept). */
void requests_priced(struct requests *r, uint64_t seq);
size_t requests_npriced(const struct requests *r);

#endif
