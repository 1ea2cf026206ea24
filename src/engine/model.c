/* model.c - small questions asked of members, plans and rules; see
 * allot/model.h.
 *
 * None of these trust the order of a member's enrollments: validation only
 * promises they do not overlap (allot_member_sort orders them, but a caller
 * may ask before sorting), and there are at most ALLOT_ENROLLMENTS_MAX, so a
 * scan costs nothing. Plan versions are stored ascending and there may be a
 * thousand, so those are found by binary search.
 */
#include "allot/model.h"

#include <string.h>

allot_date allot_member_anniversary(const struct allot_member *m)
{
    allot_date first = ALLOT_DATE_NONE;
    uint32_t i;

    if (m->anniversary != ALLOT_DATE_NONE)
        return m->anniversary;
    for (i = 0; i < m->nenrollments; i++)
        if (m->enrollments[i].start < first)
            first = m->enrollments[i].start;
    return first;
}

const struct allot_enrollment *allot_member_enrollment_at(const struct allot_member *m,
                                                          allot_date d)
{
    uint32_t i;

    /* end is inclusive, and ALLOT_DATE_NONE (open) compares above every date */
    for (i = 0; i < m->nenrollments; i++)
        if (m->enrollments[i].start <= d && d <= m->enrollments[i].end)
            return &m->enrollments[i];
    return NULL;
}

const struct allot_plan_version *allot_plan_version_at(const struct allot_plan *p, allot_date d)
{
    uint32_t lo = 0, hi = p->nversions;

    /* Find the first version that starts after d; the one before it is in
     * force. */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->versions[mid].effective_from <= d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo == 0 ? NULL : &p->versions[lo - 1];
}

bool allot_rule_has_code(const struct allot_rule *r, const char *code)
{
    uint32_t i;

    for (i = 0; i < r->ncodes; i++)
        if (strcmp(r->codes[i], code) == 0)
            return true;
    return false;
}
