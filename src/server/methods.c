/* methods.c - the table of RPCs allotd serves, and the small ones. */
#include <string.h>

#include "handlers.h"

#include "allot/v1/allot.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"

#define ALLOT(name, req, fn) {"/allot.v1.Allot/" name, &allot__v1__##req##__descriptor, fn, false, NULL}

struct method allot_methods[] = {
    {"/grpc.health.v1.Health/Check", &grpc__health__v1__health_check_request__descriptor,
     handle_health_check, false, NULL},
    ALLOT("PutService", put_service_request, handle_put_service),
    ALLOT("ListServices", list_services_request, handle_list_services),
    ALLOT("PutPlan", put_plan_request, handle_put_plan),
    ALLOT("GetPlan", get_plan_request, handle_get_plan),
    ALLOT("ListPlans", list_plans_request, handle_list_plans),
    ALLOT("PutMember", put_member_request, handle_put_member),
    ALLOT("GetMember", get_member_request, handle_get_member),
    ALLOT("PriceInvoice", price_invoice_request, handle_price_invoice),
    ALLOT("PreviewInvoice", price_invoice_request, handle_preview_invoice),
    ALLOT("VoidInvoice", void_invoice_request, handle_void_invoice),
    ALLOT("RecordUsage", record_usage_request, handle_record_usage),
    ALLOT("VoidUsage", void_usage_request, handle_void_usage),
    ALLOT("GetAllotments", get_allotments_request, handle_get_allotments),
    {"/allot.v1.Allot/WatchThresholds", &allot__v1__watch_thresholds_request__descriptor,
     handle_watch_thresholds, true, NULL},
};

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
