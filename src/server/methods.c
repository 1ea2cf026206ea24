/* methods.c - the table of RPCs allotd serves, and the small ones. */
#include <string.h>

#include "handlers.h"

#include "allot/v1/allot.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

/* Who may call what (docs/security.md has the same table for operators):
 *
 *   admin    sets up coverage: catalog, plans, members; reads the audit trail
 *   billing  prices, previews and voids invoices, records and voids usage,
 *            reads allotments, watches thresholds, and reads what pricing
 *            needs (catalog, plans, members)
 *   reader   every read of coverage and usage (no pricing, no audit trail)
 *   portal   one member's allotments (a member JWT; METHOD_MEMBER_SCOPED)
 *
 * Health needs no credential. With authentication off every call is
 * "anonymous" with every role. */
#define A AUTH_ROLE_ADMIN
#define B AUTH_ROLE_BILLING
#define R AUTH_ROLE_READER
#define P AUTH_ROLE_PORTAL

#define ALLOT(name, req, fn, roles_, flags_)                                                       \
    {                                                                                              \
        .path = "/allot.v1.Allot/" name, .request = &allot__v1__##req##__descriptor,               \
        .handler = fn, .roles = (roles_), .flags = (flags_)                                        \
    }

struct method allot_methods[] = {
    {.path = "/grpc.health.v1.Health/Check",
     .request = &grpc__health__v1__health_check_request__descriptor,
     .handler = handle_health_check,
     .roles = AUTH_ROLES_ALL,
     .flags = METHOD_PUBLIC},
    ALLOT("PutService", put_service_request, handle_put_service, A, METHOD_AUDIT),
    ALLOT("ListServices", list_services_request, handle_list_services, A | B | R, 0),
    ALLOT("PutPlan", put_plan_request, handle_put_plan, A, METHOD_AUDIT),
    ALLOT("GetPlan", get_plan_request, handle_get_plan, A | B | R, 0),
    ALLOT("ListPlans", list_plans_request, handle_list_plans, A | B | R, 0),
    ALLOT("PutMember", put_member_request, handle_put_member, A, METHOD_AUDIT),
    ALLOT("GetMember", get_member_request, handle_get_member, A | B | R, METHOD_AUDIT),
    ALLOT("PriceInvoice", price_invoice_request, handle_price_invoice, B, METHOD_AUDIT),
    ALLOT("PreviewInvoice", price_invoice_request, handle_preview_invoice, B, METHOD_AUDIT),
    ALLOT("VoidInvoice", void_invoice_request, handle_void_invoice, B, METHOD_AUDIT),
    ALLOT("RecordUsage", record_usage_request, handle_record_usage, B, METHOD_AUDIT),
    ALLOT("VoidUsage", void_usage_request, handle_void_usage, B, METHOD_AUDIT),
    ALLOT("GetAllotments", get_allotments_request, handle_get_allotments, B | R | P,
          METHOD_AUDIT | METHOD_MEMBER_SCOPED),
    {.path = "/allot.v1.Allot/WatchThresholds",
     .request = &allot__v1__watch_thresholds_request__descriptor,
     .handler = handle_watch_thresholds,
     .server_streaming = true,
     .roles = B | R},
    ALLOT("ListAudit", list_audit_request, handle_list_audit, A, 0),
};

#undef A
#undef B
#undef R
#undef P

const unsigned allot_nmethods = sizeof allot_methods / sizeof allot_methods[0];

/* Health/Check(service) -> {status}
 * SERVING for "" (the server) and "allot.v1.Allot"; NOT_FOUND for any other
 * service name, as the health protocol specifies. */
enum handler_result handle_health_check(struct call *c, const ProtobufCMessage *msg)
{
    const Grpc__Health__V1__HealthCheckRequest *req = (const void *)msg;
    Grpc__Health__V1__HealthCheckResponse *r;

    if (req->service[0] && strcmp(req->service, "allot.v1.Allot") != 0)
        return call_fail(c, ALLOT_ENOTFOUND, "service \"%.64s\" is not known here", req->service);
    if (!(r = allot_arena_alloc(&c->arena, sizeof *r)))
        return call_fail(c, ALLOT_ENOMEM, "out of memory");
    grpc__health__v1__health_check_response__init(r);
    r->status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return call_reply(c, &r->base);
}
