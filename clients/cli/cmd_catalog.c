/* cmd_catalog.c - service, plan and member commands.
 *
 * A put sends the file's items one call each, in file order, and stops at
 * the first refusal: what came before it is stored (and was reported).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "allot/arena.h"

#include "cli.h"
#include "json_in.h"
#include "out_json.h"
#include "out_table.h"

#define PAGE_SIZE 1000

/* Loads FILE; prints the error and returns 2 when it does not parse. */
static int load(const char *path, json_t **root)
{
    char err[JSON_IN_ERR_MAX];
    if (json_in_load(path, root, err, sizeof err)) {
        cli_err("%s", err);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* Prints a --json result (dropping the reference); 5 when it could not
 * be built. */
static int print_json(json_t *list)
{
    if (out_json_print(stdout, list, 0)) {
        cli_err("out of memory");
        return CLI_EXIT_SERVER;
    }
    return CLI_EXIT_OK;
}

/* service put FILE */
int cmd_service_put(struct cli *c, const struct args *a)
{
    struct allot_arena arena = ALLOT_ARENA_INIT;
    char err[JSON_IN_ERR_MAX];
    Allot__V1__Service **svcs;
    json_t *root = NULL, *out = c->json ? json_array() : NULL;
    size_t n, i;
    int rc;

    if ((rc = load(a->pos[0], &root)))
        goto done;
    if (json_in_services(root, a->pos[0], &arena, &svcs, &n, err, sizeof err)) {
        cli_err("%s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    for (i = 0; i < n; i++) {
        Allot__V1__PutServiceRequest req = ALLOT__V1__PUT_SERVICE_REQUEST__INIT;
        Allot__V1__PutServiceResponse *resp;
        req.service = svcs[i];
        rc = cli_call(c, ALLOT_METHOD("PutService"), &req.base,
                      &allot__v1__put_service_response__descriptor, (ProtobufCMessage **)&resp,
                      a->pos[0]);
        if (rc)
            break;
        if (out) {
            json_t *s = resp->service ? out_json_service(resp->service) : json_object();
            if (s)
                json_object_set_new(s, "created", json_boolean(resp->created));
            json_array_append_new(out, s);
        } else {
            out_table_service_put(stdout, resp);
        }
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    /* --json: the items stored, also when a later one was refused. */
    if (out && (rc == CLI_EXIT_OK || json_array_size(out) > 0)) {
        int prc = print_json(out);
        out = NULL;
        if (rc == CLI_EXIT_OK)
            rc = prc;
    }
done:
    json_decref(out);
    json_decref(root);
    allot_arena_release(&arena);
    return rc;
}

/* service list: every page. */
int cmd_service_list(struct cli *c, const struct args *a)
{
    Allot__V1__ListServicesResponse *pages[64];
    Allot__V1__Service **all = NULL;
    size_t npages = 0, total = 0, k, i;
    const char *token = "";
    int rc = CLI_EXIT_OK;

    (void)a;
    for (;;) {
        Allot__V1__ListServicesRequest req = ALLOT__V1__LIST_SERVICES_REQUEST__INIT;
        Allot__V1__ListServicesResponse *resp;
        req.page_size = PAGE_SIZE;
        req.page_token = (char *)token;
        rc = cli_call(c, ALLOT_METHOD("ListServices"), &req.base,
                      &allot__v1__list_services_response__descriptor, (ProtobufCMessage **)&resp,
                      NULL);
        if (rc)
            goto done;
        pages[npages++] = resp;
        total += resp->n_services;
        token = resp->next_page_token;
        if (!*token)
            break;
        if (npages == sizeof pages / sizeof pages[0]) {
            cli_err("more than %zu services: listing stops here", npages * PAGE_SIZE);
            break;
        }
    }
    if (!(all = calloc(total + 1, sizeof *all))) {
        cli_err("out of memory");
        rc = CLI_EXIT_SERVER;
        goto done;
    }
    for (k = 0, total = 0; k < npages; k++)
        for (i = 0; i < pages[k]->n_services; i++)
            all[total++] = pages[k]->services[i];
    if (c->json)
        rc = print_json(out_json_services(all, total));
    else
        out_table_services(stdout, all, total);
done:
    free(all);
    for (k = 0; k < npages; k++)
        protobuf_c_message_free_unpacked(&pages[k]->base, NULL);
    return rc;
}

/* plan put FILE: one PutPlan per version in the file. */
int cmd_plan_put(struct cli *c, const struct args *a)
{
    struct allot_arena arena = ALLOT_ARENA_INIT;
    char err[JSON_IN_ERR_MAX], ctx[600];
    Allot__V1__PutPlanRequest **reqs;
    json_t *root = NULL, *out = c->json ? json_array() : NULL;
    size_t n, i;
    int rc;

    if ((rc = load(a->pos[0], &root)))
        goto done;
    if (json_in_plans(root, a->pos[0], &arena, &reqs, &n, err, sizeof err)) {
        cli_err("%s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    for (i = 0; i < n; i++) {
        Allot__V1__PutPlanResponse *resp;
        /* The server names fields of the request ("version.rules[1]..."):
         * say which plan and version of the file it means. */
        snprintf(ctx, sizeof ctx, "%s: plan %s, version from %s", a->pos[0], reqs[i]->plan_id,
                 reqs[i]->version->effective_from);
        rc = cli_call(c, ALLOT_METHOD("PutPlan"), &reqs[i]->base,
                      &allot__v1__put_plan_response__descriptor, (ProtobufCMessage **)&resp, ctx);
        if (rc)
            break;
        if (out) {
            json_t *p = resp->plan ? out_json_plan(resp->plan) : json_object();
            if (p) {
                json_object_set_new(p, "created", json_boolean(resp->created));
                json_object_set_new(p, "effective_from",
                                    json_string(reqs[i]->version->effective_from));
            }
            json_array_append_new(out, p);
        } else {
            out_table_plan_put(stdout, resp, reqs[i]->version->effective_from);
        }
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    /* --json: the items stored, also when a later one was refused. */
    if (out && (rc == CLI_EXIT_OK || json_array_size(out) > 0)) {
        int prc = print_json(out);
        out = NULL;
        if (rc == CLI_EXIT_OK)
            rc = prc;
    }
done:
    json_decref(out);
    json_decref(root);
    allot_arena_release(&arena);
    return rc;
}

/* plan get ID */
int cmd_plan_get(struct cli *c, const struct args *a)
{
    Allot__V1__GetPlanRequest req = ALLOT__V1__GET_PLAN_REQUEST__INIT;
    Allot__V1__Plan *plan;
    int rc;

    req.plan_id = (char *)a->pos[0];
    rc = cli_call(c, ALLOT_METHOD("GetPlan"), &req.base, &allot__v1__plan__descriptor,
                  (ProtobufCMessage **)&plan, NULL);
    if (rc)
        return rc;
    if (c->json)
        rc = print_json(out_json_plan(plan));
    else
        out_table_plan(stdout, plan);
    protobuf_c_message_free_unpacked(&plan->base, NULL);
    return rc;
}

/* plan list: every page. */
int cmd_plan_list(struct cli *c, const struct args *a)
{
    Allot__V1__ListPlansResponse *pages[64];
    Allot__V1__Plan **all = NULL;
    size_t npages = 0, total = 0, k, i;
    const char *token = "";
    int rc = CLI_EXIT_OK;

    (void)a;
    for (;;) {
        Allot__V1__ListPlansRequest req = ALLOT__V1__LIST_PLANS_REQUEST__INIT;
        Allot__V1__ListPlansResponse *resp;
        req.page_size = PAGE_SIZE;
        req.page_token = (char *)token;
        rc =
            cli_call(c, ALLOT_METHOD("ListPlans"), &req.base,
                     &allot__v1__list_plans_response__descriptor, (ProtobufCMessage **)&resp, NULL);
        if (rc)
            goto done;
        pages[npages++] = resp;
        total += resp->n_plans;
        token = resp->next_page_token;
        if (!*token)
            break;
        if (npages == sizeof pages / sizeof pages[0]) {
            cli_err("more than %zu plans: listing stops here", npages * PAGE_SIZE);
            break;
        }
    }
    if (!(all = calloc(total + 1, sizeof *all))) {
        cli_err("out of memory");
        rc = CLI_EXIT_SERVER;
        goto done;
    }
    for (k = 0, total = 0; k < npages; k++)
        for (i = 0; i < pages[k]->n_plans; i++)
            all[total++] = pages[k]->plans[i];
    if (c->json)
        rc = print_json(out_json_plans(all, total));
    else
        out_table_plans(stdout, all, total);
done:
    free(all);
    for (k = 0; k < npages; k++)
        protobuf_c_message_free_unpacked(&pages[k]->base, NULL);
    return rc;
}

/* member put FILE */
int cmd_member_put(struct cli *c, const struct args *a)
{
    struct allot_arena arena = ALLOT_ARENA_INIT;
    char err[JSON_IN_ERR_MAX], ctx[400];
    Allot__V1__Member **members;
    json_t *root = NULL, *out = c->json ? json_array() : NULL;
    size_t n, i;
    int rc;

    if ((rc = load(a->pos[0], &root)))
        goto done;
    if (json_in_members(root, a->pos[0], &arena, &members, &n, err, sizeof err)) {
        cli_err("%s", err);
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    for (i = 0; i < n; i++) {
        Allot__V1__PutMemberRequest req = ALLOT__V1__PUT_MEMBER_REQUEST__INIT;
        Allot__V1__PutMemberResponse *resp;
        req.member = members[i];
        snprintf(ctx, sizeof ctx, "%s: member %s", a->pos[0], members[i]->id);
        rc = cli_call(c, ALLOT_METHOD("PutMember"), &req.base,
                      &allot__v1__put_member_response__descriptor, (ProtobufCMessage **)&resp, ctx);
        if (rc)
            break;
        if (out) {
            json_t *m = resp->member ? out_json_member(resp->member) : json_object();
            if (m)
                json_object_set_new(m, "created", json_boolean(resp->created));
            json_array_append_new(out, m);
        } else {
            out_table_member_put(stdout, resp);
        }
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    /* --json: the items stored, also when a later one was refused. */
    if (out && (rc == CLI_EXIT_OK || json_array_size(out) > 0)) {
        int prc = print_json(out);
        out = NULL;
        if (rc == CLI_EXIT_OK)
            rc = prc;
    }
done:
    json_decref(out);
    json_decref(root);
    allot_arena_release(&arena);
    return rc;
}

/* member get ID */
int cmd_member_get(struct cli *c, const struct args *a)
{
    Allot__V1__GetMemberRequest req = ALLOT__V1__GET_MEMBER_REQUEST__INIT;
    Allot__V1__Member *m;
    int rc;

    req.member_id = (char *)a->pos[0];
    rc = cli_call(c, ALLOT_METHOD("GetMember"), &req.base, &allot__v1__member__descriptor,
                  (ProtobufCMessage **)&m, NULL);
    if (rc)
        return rc;
    if (c->json)
        rc = print_json(out_json_member(m));
    else
        out_table_member(stdout, m);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    return rc;
}
