/* dataset.c - services, plans and members of the benchmark practice.
 *
 * Plans are static tables; only the effective_from dates are filled in at
 * run time (a day number is not a constant expression). Member i's plan,
 * household and sponsor follow from i, so the generator and the load tool
 * agree without sharing anything but this file.
 */
#include "dataset.h"

#include <string.h>

const struct dataset_service dataset_services[] = {
    {"OFFICE_VISIT", "Office visit", 12000, 30},
    {"TELEHEALTH", "Telehealth visit", 5000, 10},
    {"HOME_VISIT", "Home visit", 15000, 10},
    {"LAB_PANEL", "Comprehensive lab panel", 8500, 10},
    {"LAB_A1C", "Hemoglobin A1c", 4500, 5},
    {"MASSAGE", "Massage session", 9000, 15},
    {"97110", "Therapeutic exercise", 7500, 10},
    {"97112", "Neuromuscular re-education", 8000, 8},
    {"HEARING_FIT", "Hearing-aid fitting", 60000, 2},
};
const size_t dataset_nservices = sizeof dataset_services / sizeof dataset_services[0];

static const char *c_office[] = {"OFFICE_VISIT", "TELEHEALTH"};
static const char *c_office_only[] = {"OFFICE_VISIT"};
static const char *c_tele[] = {"TELEHEALTH"};
static const char *c_home[] = {"HOME_VISIT"};
static const char *c_labs[] = {"LAB_PANEL", "LAB_A1C"};
static const char *c_massage[] = {"MASSAGE"};
static const char *c_pt[] = {"97110", "97112"};
static const char *c_neuro[] = {"97112"};
static const char *c_hearing[] = {"HEARING_FIT"};

/* clang-format off */
#define P_CAL_YEAR    {ALLOT_PERIOD_CALENDAR_YEAR, 0, 0, 0}
#define P_MEMBER_YEAR {ALLOT_PERIOD_MEMBER_YEAR, 0, 0, 0}
#define P_JULY        {ALLOT_PERIOD_PLAN_YEAR, 7, 1, 0}
#define P_QUARTER     {ALLOT_PERIOD_CALENDAR_QUARTER, 0, 0, 0}
#define P_365_DAYS    {ALLOT_PERIOD_ROLLING_DAYS, 0, 0, 365}
#define P_36_MONTHS   {ALLOT_PERIOD_ROLLING_MONTHS, 0, 0, 36}
#define QTY ALLOT_LIMIT_QUANTITY
#define AMT ALLOT_LIMIT_AMOUNT
#define MEMBER ALLOT_POOL_MEMBER
#define HOUSE ALLOT_POOL_HOUSEHOLD
#define PATIENT ALLOT_PAYER_PATIENT
#define SPONSOR ALLOT_PAYER_SPONSOR
#define UNLIMITED (-1) /* as an allowance */
#define NONE (-1)      /* as an overage price */

/* A rule with the default thresholds {70, 80, 90, 100} (none when
 * unlimited, as PutPlan resolves them). */
#define RULE(k, c, lim, allow, per, pl, cap, over, pay) {                                   \
    .key = k, .codes = c, .ncodes = sizeof c / sizeof c[0], .limit = lim,                   \
    .unlimited = (allow) < 0, .allowance = (allow) < 0 ? 0 : (allow), .period = per,        \
    .pool = pl, .member_cap = cap, .has_overage_price = (over) >= 0,                        \
    .overage_price = (over) < 0 ? 0 : (over), .payer = pay,                                 \
    .thresholds = {70, 80, 90, 100}, .nthresholds = (allow) < 0 ? 0 : 4}

/* key, codes, limit, allowance, period, pool, member cap, overage price, payer */
static struct allot_rule family_v1[] = {
    RULE("office-visits", c_office, QTY, UNLIMITED, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
    RULE("home-visits", c_home, QTY, 2, P_MEMBER_YEAR, MEMBER, 0, 12000, PATIENT),
    RULE("labs", c_labs, AMT, 50000, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
    RULE("massage", c_massage, QTY, 12, P_365_DAYS, MEMBER, 0, NONE, PATIENT),
    RULE("pt", c_pt, QTY, 20, P_CAL_YEAR, HOUSE, 10, NONE, PATIENT),
    RULE("pt-neuro", c_neuro, QTY, 10, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
    RULE("hearing", c_hearing, QTY, 1, P_36_MONTHS, MEMBER, 0, 45000, PATIENT),
};
static struct allot_rule family_v2[sizeof family_v1 / sizeof family_v1[0]];

static struct allot_rule individual_v1[] = {
    RULE("office-visits", c_office, QTY, UNLIMITED, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
    RULE("home-visits", c_home, QTY, 1, P_MEMBER_YEAR, MEMBER, 0, 13500, PATIENT),
    RULE("labs", c_labs, AMT, 30000, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
    RULE("massage", c_massage, QTY, 6, P_365_DAYS, MEMBER, 0, NONE, PATIENT),
    RULE("pt", c_pt, QTY, 12, P_CAL_YEAR, MEMBER, 0, NONE, PATIENT),
};

static struct allot_rule employer_v1[] = {
    RULE("office-visits", c_office_only, QTY, UNLIMITED, P_JULY, MEMBER, 0, NONE, SPONSOR),
    RULE("telehealth", c_tele, QTY, 6, P_QUARTER, MEMBER, 0, NONE, SPONSOR),
    RULE("home-visits", c_home, QTY, 4, P_JULY, MEMBER, 0, NONE, SPONSOR),
    RULE("labs", c_labs, AMT, 100000, P_JULY, MEMBER, 0, NONE, SPONSOR),
    RULE("pt", c_pt, QTY, 30, P_JULY, HOUSE, 15, NONE, SPONSOR),
    /* a member price: nothing covered, every massage at $60 */
    RULE("massage", c_massage, QTY, 0, P_CAL_YEAR, MEMBER, 0, 6000, PATIENT),
    RULE("hearing", c_hearing, QTY, 1, P_36_MONTHS, MEMBER, 0, NONE, SPONSOR),
};

/* clang-format on */

#define NRULES(r) (uint32_t)(sizeof r / sizeof r[0])
static struct allot_plan_version family_versions[] = {
    {0, family_v1, NRULES(family_v1)},
    {0, family_v2, NRULES(family_v2)},
};
static struct allot_plan_version individual_versions[] = {
    {0, individual_v1, NRULES(individual_v1)}};
static struct allot_plan_version employer_versions[] = {{0, employer_v1, NRULES(employer_v1)}};

static struct allot_plan plans[] = {
    [DATASET_FAMILY] = {"family", "Family Membership", family_versions, 2},
    [DATASET_INDIVIDUAL] = {"individual", "Individual Membership", individual_versions, 1},
    [DATASET_EMPLOYER] = {"employer", "Employer Direct Care", employer_versions, 1},
};

const struct allot_plan *dataset_plans(size_t *n)
{
    static int built;
    if (!built) {
        /* 2025: three home visits a member year instead of two */
        memcpy(family_v2, family_v1, sizeof family_v1);
        family_v2[1].allowance = 3;
        family_versions[0].effective_from = allot_date_from_ymd(2024, 1, 1);
        family_versions[1].effective_from = allot_date_from_ymd(2025, 1, 1);
        individual_versions[0].effective_from = allot_date_from_ymd(2024, 1, 1);
        employer_versions[0].effective_from = allot_date_from_ymd(2024, 7, 1);
        built = 1;
    }
    *n = sizeof plans / sizeof plans[0];
    return plans;
}

uint64_t dataset_hash(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

allot_date dataset_today(void)
{
    allot_date d = 0;
    (void)allot_date_parse(DATASET_TODAY_STR, &d);
    return d;
}

/* prefix then exactly `digits` decimal digits of v (v < 10^digits). */
static void put_id(char *out, const char *prefix, uint32_t v, int digits)
{
    size_t n = strlen(prefix);
    int k;
    memcpy(out, prefix, n);
    for (k = digits - 1; k >= 0; k--) {
        out[n + (size_t)k] = (char)('0' + v % 10);
        v /= 10;
    }
    out[n + (size_t)digits] = '\0';
}

void dataset_member_id(uint32_t i, char out[DATASET_ID_LEN])
{
    put_id(out, "m", i, 9);
}

void dataset_member(uint32_t i, struct dataset_member *m)
{
    uint64_t h = dataset_hash(i);
    unsigned kind = i % 10;

    dataset_member_id(i, m->id);
    m->household[0] = m->sponsor[0] = '\0';
    if (kind < 4) {
        m->plan = DATASET_FAMILY;
        put_id(m->household, "hf", i / 10, 8);
        m->start = allot_date_from_ymd(2024, 1, 1) + (allot_date)(h % 300);
    } else if (kind < 8) {
        m->plan = DATASET_INDIVIDUAL;
        m->start = allot_date_from_ymd(2024, 1, 1) + (allot_date)(h % 300);
    } else {
        m->plan = DATASET_EMPLOYER;
        put_id(m->household, "he", i / 10, 8);
        put_id(m->sponsor, "emp", (uint32_t)(dataset_hash(i / 10) % 200), 4);
        m->start = allot_date_from_ymd(2024, 7, 1) + (allot_date)(h % 120);
    }
    /* one member in ten came from another plan of ours */
    m->prev_start = (h >> 32) % 10 == 0 ? m->start - 400 : ALLOT_DATE_NONE;
}

const struct dataset_service *dataset_pick_service(uint64_t r)
{
    unsigned w = (unsigned)(r % 100), acc = 0;
    size_t k;
    for (k = 0; k < dataset_nservices; k++) {
        acc += dataset_services[k].weight;
        if (w < acc)
            return &dataset_services[k];
    }
    return &dataset_services[0];
}
