/* record.c - which rule recorded (prior or external) usage counts against.
 *
 * Prior usage often predates the member's enrollment here ("the months
 * before the member came to this practice"), so it is matched against the
 * plan the member has on the service date or, failing that, the plan of the
 * first enrollment after it: the allotment the baseline is meant for.
 */
#include <string.h>

#include "allot/engine.h"

int allot_usage_rule(const struct allot_source *src, const struct allot_member *m,
                     const char *rule_key, allot_date d, const struct allot_rule **out,
                     struct allot_status *st)
{
    const struct allot_enrollment *e = allot_member_enrollment_at(m, d);
    const struct allot_plan_version *v = NULL;
    char buf[ALLOT_DATE_STRLEN];
    uint32_t i;
    int rc;

    *out = NULL;
    if (!e) {
        for (i = 0; i < m->nenrollments; i++)
            if (m->enrollments[i].start > d) {
                e = &m->enrollments[i];
                break;
            }
    }
    if (!e)
        return allot_status_set(st, ALLOT_EPRECOND,
                                "service_date: member \"%s\" has no enrollment on or after %s",
                                m->id, allot_date_format(d, buf));
    rc = src->plan_version(src->ctx, e->plan_id, d >= e->start ? d : e->start, &v);
    if (rc)
        return rc;
    if (!v)
        return allot_status_set(st, ALLOT_EPRECOND,
                                "service_date: plan \"%s\" has no version in force on %s",
                                e->plan_id, allot_date_format(d >= e->start ? d : e->start, buf));
    for (i = 0; i < v->nrules; i++)
        if (!strcmp(v->rules[i].key, rule_key)) {
            *out = &v->rules[i];
            return 0;
        }
    return allot_status_set(st, ALLOT_ENOTFOUND,
                            "rule_key: plan \"%s\" (version effective %s) has no rule \"%s\"",
                            e->plan_id, allot_date_format(v->effective_from, buf), rule_key);
}
