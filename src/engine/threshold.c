/* threshold.c - which alert thresholds a draw crosses, and percent used.
 *
 * Both compare used * 100 with a multiple of the allowance. Allowances are at
 * most ALLOT_MONEY_MAX and thresholds at most ALLOT_THRESHOLD_PCT_MAX, so
 * t * allowance stays below 2^44; "used" comes from the store and is only
 * trusted to be an int64, so it is clamped before it is multiplied. Clamping
 * at INT64_MAX / 100 changes no answer: any use that large is far past every
 * threshold already.
 */
#include "allot/engine.h"

#include "engine_int.h"

#define USED_CLAMP (INT64_MAX / 100)

static int64_t clamp_used(int64_t v)
{
    return v > USED_CLAMP ? USED_CLAMP : v < -USED_CLAMP ? -USED_CLAMP : v;
}

uint32_t allot_thresholds_crossed(const struct allot_rule *r, int64_t before, int64_t after,
                                  uint16_t *out)
{
    uint32_t i, n = 0;
    int64_t b, a;

    if (r->unlimited || r->allowance <= 0 || after <= before)
        return 0;
    b = clamp_used(before) * 100;
    a = clamp_used(after) * 100;
    for (i = 0; i < r->nthresholds && i < ALLOT_THRESHOLDS_MAX; i++) {
        int64_t t = (int64_t)r->thresholds[i] * r->allowance;
        if (b < t && t <= a)
            out[n++] = r->thresholds[i];
    }
    return n;
}

int64_t allot_percent_used(int64_t used, int64_t allowance)
{
    int64_t q, rem;

    if (allowance <= 0 || used <= 0)
        return 0;
    /* floor(used * 100 / allowance) without forming used * 100 */
    q = used / allowance;
    rem = used % allowance;
    if (q >= USED_CLAMP)
        return INT64_MAX;
    if (allowance > USED_CLAMP) /* beyond any valid allowance; never exact */
        return q * 100 + allot__min64(rem / (allowance / 100), 99);
    return q * 100 + rem * 100 / allowance;
}
