/* admin.c - catalog, plans and members: the RPCs that set up coverage.
 *
 * Every write handler follows one path: decode into model structs, validate
 * (pure, field-named errors), then queue for the writer, whose apply
 * function checks what needs the store (does the plan exist?) and writes,
 * inside the group transaction. A rejected request writes nothing.
 * Reads run on a snapshot in the poller thread.
 */
#include <stdio.h>
#include <string.h>

#include "allot/validate.h"

#include "codec.h"
#include "handlers.h"
#include "server.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

static enum handler_result oom(struct call *c)
{
    return call_fail(c, ALLOT_ENOMEM, "out of memory building the reply");
}

/* page_size 0 means the default; the token is the last key of the previous
 * page (opaque to clients, but an id: validated like one). */
static int page_args(struct call *c, int32_t page_size, const char *token, size_t *limit)
{
    struct allot_status st;
    if (page_size < 0 || page_size > PAGE_MAX) {
        call_fail(c, ALLOT_EINVAL, "page_size: must be 0-%d, got %d", PAGE_MAX, (int)page_size);
        return -1;
    }
    if (allot_check_opt_id(token, "page_token", &st)) {
        call_fail_status(c, &st);
        return -1;
    }
    *limit = page_size ? (size_t)page_size : PAGE_DEFAULT;
    return 0;
}

/* ---------------------------------------------------------------- catalog */

/* PutService(service) -> {service, created}
 * Creates the service, or replaces its name and price. INVALID_ARGUMENT for
 * a bad code, name or price. */
static int put_service_apply(struct allot_txn *t, struct call *c)
{
    struct allot_service *svc = c->write_arg;
    Allot__V1__PutServiceResponse *r;
    bool created = false;
    int rc = allot_store_put_service(t, svc, &created, &c->status);
    if (rc)
        return rc;
    r = allot_arena_alloc(&c->arena, sizeof *r);
    if (!r)
        return ALLOT_ENOMEM;
    allot__v1__put_service_response__init(r);
    r->service = codec_service_out(&c->arena, svc);
    r->created = created;
    if (!r->service)
        return ALLOT_ENOMEM;
    c->reply = &r->base;
    return 0;
}

enum handler_result handle_put_service(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__PutServiceRequest *req = (const void *)msg;
    struct allot_service *svc;
    struct allot_status st;

    if (!req->service)
        return call_fail(c, ALLOT_EINVAL, "service: required");
    if (!(svc = allot_arena_alloc(&c->arena, sizeof *svc)))
        return oom(c);
    codec_service_in(req->service, svc);
    if (allot_service_check(svc, "service", &st))
        return call_fail_status(c, &st);
    c->write_arg = svc;
    return server_write(c, put_service_apply);
}

/* ListServices(page_size, page_token) -> {services, next_page_token}
 * Services in code order. */
enum handler_result handle_list_services(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__ListServicesRequest *req = (const void *)msg;
    Allot__V1__ListServicesResponse *r;
    struct allot_service *svcs = NULL;
    struct allot_txn *t;
    size_t limit, n = 0, i;
    bool more = false;
    int rc;

    if (page_args(c, req->page_size, req->page_token, &limit))
        return HANDLER_REPLY;
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = allot_store_list_services(t, req->page_token, limit, &c->arena, &svcs, &n, &more);
    allot_store_read_end(t);
    if (rc)
        return call_fail(c, rc, "store: %s", allot_strerror(rc));

    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return oom(c);
    allot__v1__list_services_response__init(r);
    r->n_services = n;
    if (!(r->services = allot_arena_alloc(&c->arena, sizeof *r->services * (n + 1))))
        return oom(c);
    for (i = 0; i < n; i++)
        if (!(r->services[i] = codec_service_out(&c->arena, &svcs[i])))
            return oom(c);
    if (more && n)
        r->next_page_token = (char *)svcs[n - 1].code;
    return call_reply(c, &r->base);
}

/* ------------------------------------------------------------------ plans */

struct put_plan {
    const char *plan_id;
    const char *name;
    struct allot_plan_version version;
};

static int put_plan_apply(struct allot_txn *t, struct call *c)
{
    struct put_plan *pp = c->write_arg;
    Allot__V1__PutPlanResponse *r;
    struct allot_plan plan;
    bool created = false;
    int rc;

    rc = allot_store_put_plan_version(t, pp->plan_id, pp->name, &pp->version, &created,
                                      &c->status);
    if (rc)
        return rc;
    if ((rc = allot_store_get_plan(t, pp->plan_id, &c->arena, &plan)))
        return rc;
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return ALLOT_ENOMEM;
    allot__v1__put_plan_response__init(r);
    r->created = created;
    if (!(r->plan = codec_plan_out(&c->arena, &plan)))
        return ALLOT_ENOMEM;
    c->reply = &r->base;
    return 0;
}

/* PutPlan(plan_id, name, version) -> {plan, created}
 * Adds a version; earlier and later versions stay. An identical version at
 * the same effective_from succeeds with created = false; a different one is
 * ALREADY_EXISTS. INVALID_ARGUMENT names the bad field. */
enum handler_result handle_put_plan(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__PutPlanRequest *req = (const void *)msg;
    struct put_plan *pp;
    struct allot_status st;

    if (allot_check_id(req->plan_id, "plan_id", &st) || allot_check_name(req->name, "name", &st))
        return call_fail_status(c, &st);
    if (!req->version)
        return call_fail(c, ALLOT_EINVAL, "version: required");
    if (!(pp = allot_arena_alloc(&c->arena, sizeof *pp)))
        return oom(c);
    pp->plan_id = req->plan_id;
    pp->name = req->name;
    if (codec_version_in(req->version, "version", &c->arena, &pp->version, &st) ||
        allot_plan_version_check(&pp->version, "version", &st))
        return call_fail_status(c, &st);
    c->write_arg = pp;
    return server_write(c, put_plan_apply);
}

/* GetPlan(plan_id) -> Plan with every version. NOT_FOUND when absent. */
enum handler_result handle_get_plan(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__GetPlanRequest *req = (const void *)msg;
    struct allot_status st;
    struct allot_plan plan;
    struct allot_txn *t;
    Allot__V1__Plan *out;
    int rc;

    if (allot_check_id(req->plan_id, "plan_id", &st))
        return call_fail_status(c, &st);
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = allot_store_get_plan(t, req->plan_id, &c->arena, &plan);
    allot_store_read_end(t);
    if (rc == ALLOT_ENOTFOUND)
        return call_fail(c, rc, "plan_id: plan \"%s\" not found", req->plan_id);
    if (rc)
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    if (!(out = codec_plan_out(&c->arena, &plan)))
        return oom(c);
    return call_reply(c, &out->base);
}

/* ListPlans(page_size, page_token) -> {plans, next_page_token}, id order. */
enum handler_result handle_list_plans(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__ListPlansRequest *req = (const void *)msg;
    Allot__V1__ListPlansResponse *r;
    struct allot_plan *plans = NULL;
    struct allot_txn *t;
    size_t limit, n = 0, i;
    bool more = false;
    int rc;

    if (page_args(c, req->page_size, req->page_token, &limit))
        return HANDLER_REPLY;
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = allot_store_list_plans(t, req->page_token, limit, &c->arena, &plans, &n, &more);
    allot_store_read_end(t);
    if (rc)
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return oom(c);
    allot__v1__list_plans_response__init(r);
    r->n_plans = n;
    if (!(r->plans = allot_arena_alloc(&c->arena, sizeof *r->plans * (n + 1))))
        return oom(c);
    for (i = 0; i < n; i++)
        if (!(r->plans[i] = codec_plan_out(&c->arena, &plans[i])))
            return oom(c);
    if (more && n)
        r->next_page_token = (char *)plans[n - 1].id;
    return call_reply(c, &r->base);
}

/* ---------------------------------------------------------------- members */

static int put_member_apply(struct allot_txn *t, struct call *c)
{
    struct allot_member *m = c->write_arg;
    Allot__V1__PutMemberResponse *r;
    bool created = false;
    uint32_t i;
    int rc;

    /* indices in messages refer to the request's order, so check before
     * sorting */
    for (i = 0; i < m->nenrollments; i++) {
        rc = allot_store_plan_exists(t, m->enrollments[i].plan_id);
        if (rc == ALLOT_ENOTFOUND)
            return allot_status_set(&c->status, rc,
                                    "member.enrollments[%u].plan_id: plan \"%s\" not found", i,
                                    m->enrollments[i].plan_id);
        if (rc)
            return rc;
    }
    allot_member_sort(m);
    if ((rc = allot_store_put_member(t, m, &created, &c->status)))
        return rc;
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return ALLOT_ENOMEM;
    allot__v1__put_member_response__init(r);
    r->created = created;
    if (!(r->member = codec_member_out(&c->arena, m)))
        return ALLOT_ENOMEM;
    c->reply = &r->base;
    return 0;
}

/* PutMember(member) -> {member, created}
 * Creates or replaces the member as a whole; usage already recorded stays.
 * NOT_FOUND when an enrollment names an unknown plan; INVALID_ARGUMENT for
 * bad ids, dates, ends before starts and overlapping enrollments. */
enum handler_result handle_put_member(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__PutMemberRequest *req = (const void *)msg;
    struct allot_member *m;
    struct allot_status st;

    if (!req->member)
        return call_fail(c, ALLOT_EINVAL, "member: required");
    if (!(m = allot_arena_alloc(&c->arena, sizeof *m)))
        return oom(c);
    if (codec_member_in(req->member, "member", &c->arena, m, &st) ||
        allot_member_check(m, "member", &st))
        return call_fail_status(c, &st);
    c->write_arg = m;
    return server_write(c, put_member_apply);
}

int handler_member(struct allot_txn *t, struct call *c, const char *member_id,
                   struct allot_member *m)
{
    int rc = allot_store_get_member(t, member_id, &c->arena, m);
    if (rc == ALLOT_ENOTFOUND)
        allot_status_set(&c->status, rc, "member_id: member \"%s\" not found", member_id);
    return rc;
}

/* GetMember(member_id) -> Member. NOT_FOUND when absent. */
enum handler_result handle_get_member(struct call *c, const ProtobufCMessage *msg)
{
    const Allot__V1__GetMemberRequest *req = (const void *)msg;
    struct allot_status st;
    struct allot_member m;
    struct allot_txn *t;
    Allot__V1__Member *out;
    int rc;

    if (allot_check_id(req->member_id, "member_id", &st))
        return call_fail_status(c, &st);
    if ((rc = allot_store_read_begin(call_ctx(c)->store, &t)))
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    rc = handler_member(t, c, req->member_id, &m);
    allot_store_read_end(t);
    if (rc == ALLOT_ENOTFOUND)
        return HANDLER_REPLY;
    if (rc)
        return call_fail(c, rc, "store: %s", allot_strerror(rc));
    if (!(out = codec_member_out(&c->arena, &m)))
        return oom(c);
    return call_reply(c, &out->base);
}
