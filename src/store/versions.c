/* versions.c - decoded plan versions, kept for the life of the store.
 *
 * Every priced line and every GetAllotments needs the member's plan version
 * decoded (its rules, their service codes, thresholds): about 6k
 * instructions each time, for records that a practice has a handful of and
 * that never change once stored (allot_store_put_plan_version refuses other
 * rules at an existing date). So the first decode of each version is kept,
 * and later readers get the kept one.
 *
 * A kept version is found by its plan id, its date and its record's bytes:
 * the caller has read the record from its own snapshot and the bytes must
 * be the same, so what it gets is exactly what decoding its own record
 * would give, whatever the snapshot. Entries are never replaced or freed
 * before the store closes: a decoded version handed to one call (and
 * referenced by its reply until the reply is packed, perhaps on another
 * thread) can never be pulled from under it. That needs no reference
 * counts and no locks: a slot is filled once, by compare-and-swap, and read
 * with an acquire load. When every slot is taken (more versions than any
 * practice has), versions are decoded into the caller's arena as before.
 */
#include "versions.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

#define VERSIONS_SLOTS 256u /* a power of two */

struct kept {
    char *plan_id;
    size_t idlen;
    allot_date effective_from;
    unsigned char *bytes; /* the record, which pv was decoded from */
    size_t n;
    struct allot_plan_version pv;
    struct allot_arena arena; /* pv's rules and strings */
};

struct allot__versions {
    _Atomic(struct kept *) slot[VERSIONS_SLOTS];
};

struct allot__versions *allot__versions_new(void)
{
    struct allot__versions *vs = malloc(sizeof *vs);
    unsigned i;
    if (!vs)
        return NULL;
    for (i = 0; i < VERSIONS_SLOTS; i++)
        atomic_init(&vs->slot[i], NULL);
    return vs;
}

static void kept_free(struct kept *k)
{
    allot_arena_release(&k->arena);
    free(k->plan_id);
    free(k->bytes);
    free(k);
}

void allot__versions_free(struct allot__versions *vs)
{
    unsigned i;
    if (!vs)
        return;
    for (i = 0; i < VERSIONS_SLOTS; i++) {
        struct kept *k = atomic_load_explicit(&vs->slot[i], memory_order_relaxed);
        if (k)
            kept_free(k);
    }
    free(vs);
}

static unsigned slot_of(const char *plan_id, size_t idlen, allot_date d)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    size_t i;
    for (i = 0; i < idlen; i++)
        h = (h ^ (unsigned char)plan_id[i]) * 16777619u;
    h = (h ^ (uint32_t)d) * 16777619u;
    return h & (VERSIONS_SLOTS - 1);
}

static bool same(const struct kept *k, const char *plan_id, size_t idlen, allot_date d,
                 const void *bytes, size_t n)
{
    return k->effective_from == d && k->idlen == idlen && k->n == n &&
           !memcmp(k->plan_id, plan_id, idlen) && !memcmp(k->bytes, bytes, n);
}

static struct kept *kept_new(const char *plan_id, size_t idlen, allot_date d, const void *bytes,
                             size_t n, int *rc)
{
    struct kept *k = calloc(1, sizeof *k);

    *rc = ALLOT_ENOMEM;
    if (!k)
        return NULL;
    allot_arena_init(&k->arena);
    k->plan_id = malloc(idlen + 1);
    k->bytes = malloc(n ? n : 1);
    if (!k->plan_id || !k->bytes) {
        kept_free(k);
        return NULL;
    }
    memcpy(k->plan_id, plan_id, idlen);
    k->plan_id[idlen] = '\0';
    k->idlen = idlen;
    k->effective_from = d;
    if (n)
        memcpy(k->bytes, bytes, n);
    k->n = n;
    /* decoded from our copy, so nothing in pv points into the caller's map */
    if ((*rc = allot__plan_version_decode(k->bytes, n, d, &k->arena, &k->pv, NULL))) {
        kept_free(k);
        return NULL;
    }
    return k;
}

int allot__versions_get(struct allot__versions *vs, const char *plan_id, size_t idlen, allot_date d,
                        const void *bytes, size_t n, const struct allot_plan_version **out)
{
    unsigned start = slot_of(plan_id, idlen, d), i;
    struct kept *k, *mine = NULL, *expected;
    int rc;

    *out = NULL;
    for (i = 0; i < VERSIONS_SLOTS; i++) {
        _Atomic(struct kept *) *slot = &vs->slot[(start + i) & (VERSIONS_SLOTS - 1)];
        k = atomic_load_explicit(slot, memory_order_acquire);
        if (k) {
            if (same(k, plan_id, idlen, d, bytes, n)) {
                if (mine)
                    kept_free(mine); /* another thread kept it first */
                *out = &k->pv;
                return 0;
            }
            continue;
        }
        if (!mine && !(mine = kept_new(plan_id, idlen, d, bytes, n, &rc)))
            return rc;
        expected = NULL;
        if (atomic_compare_exchange_strong_explicit(slot, &expected, mine, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            *out = &mine->pv;
            return 0;
        }
        /* filled meanwhile: look at what went in, then probe on */
        if (same(expected, plan_id, idlen, d, bytes, n)) {
            kept_free(mine);
            *out = &expected->pv;
            return 0;
        }
    }
    if (mine)
        kept_free(mine);
    return ALLOT__VERSIONS_FULL;
}
