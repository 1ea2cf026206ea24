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

/* Every page of a List* call, read through protobuf-c's descriptors: the
 * request has page_size and page_token, the response one repeated field
 * `items` and next_page_token. The items of all pages go into one array
 * (*all, freed by list_release with the pages they point into). */
struct list {
    ProtobufCMessage *pages[64];
    size_t npages;
    void **all;
    size_t total;
};

#define FIELD(m, f, type) (*(type *)((char *)(m) + (f)->offset))

static int list_all(struct cli *c, const char *method, const ProtobufCMessageDescriptor *req_d,
                    const ProtobufCMessageDescriptor *resp_d, const char *items,
                    struct list *l)
{
    const ProtobufCFieldDescriptor *size_f =
        protobuf_c_message_descriptor_get_field_by_name(req_d, "page_size");
    const ProtobufCFieldDescriptor *token_f =
        protobuf_c_message_descriptor_get_field_by_name(req_d, "page_token");
    const ProtobufCFieldDescriptor *items_f =
        protobuf_c_message_descriptor_get_field_by_name(resp_d, items);
    const ProtobufCFieldDescriptor *next_f =
        protobuf_c_message_descriptor_get_field_by_name(resp_d, "next_page_token");
    ProtobufCMessage *req = calloc(1, req_d->sizeof_message);
    const char *token = "";
    size_t k, i;
    int rc = CLI_EXIT_OK;

    memset(l, 0, sizeof *l);
    if (!req) {
        cli_err("out of memory");
        return CLI_EXIT_SERVER;
    }
    protobuf_c_message_init(req_d, req);
    for (;;) {
        ProtobufCMessage *resp;
        FIELD(req, size_f, int32_t) = PAGE_SIZE;
        FIELD(req, token_f, const char *) = token;
        if ((rc = cli_call(c, method, req, resp_d, &resp, NULL)))
            goto done;
        l->pages[l->npages++] = resp;
        l->total += *(size_t *)((char *)resp + items_f->quantifier_offset);
        token = FIELD(resp, next_f, const char *);
        if (!*token)
            break;
        if (l->npages == sizeof l->pages / sizeof l->pages[0]) {
            cli_err("more than %zu %s: listing stops here", l->npages * PAGE_SIZE, items);
            break;
        }
    }
    if (!(l->all = calloc(l->total + 1, sizeof *l->all))) {
        cli_err("out of memory");
        rc = CLI_EXIT_SERVER;
        goto done;
    }
    for (k = 0, l->total = 0; k < l->npages; k++) {
        ProtobufCMessage *page = l->pages[k];
        size_t n = *(size_t *)((char *)page + items_f->quantifier_offset);
        for (i = 0; i < n; i++)
            l->all[l->total++] = FIELD(page, items_f, void **)[i];
    }
done:
    free(req);
    return rc;
}

static void list_release(struct list *l)
{
    size_t k;
    free(l->all);
    for (k = 0; k < l->npages; k++)
        protobuf_c_message_free_unpacked(l->pages[k], NULL);
}

/* service list: every page. */
int cmd_service_list(struct cli *c, const struct args *a)
{
    struct list l;
    int rc;

    (void)a;
    rc = list_all(c, ALLOT_METHOD("ListServices"), &allot__v1__list_services_request__descriptor,
                  &allot__v1__list_services_response__descriptor, "services", &l);
    if (!rc) {
        if (c->json)
            rc = print_json(out_json_services((Allot__V1__Service **)l.all, l.total));
        else
            out_table_services(stdout, (Allot__V1__Service **)l.all, l.total);
    }
    list_release(&l);
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
    struct list l;
    int rc;

    (void)a;
    rc = list_all(c, ALLOT_METHOD("ListPlans"), &allot__v1__list_plans_request__descriptor,
                  &allot__v1__list_plans_response__descriptor, "plans", &l);
    if (!rc) {
        if (c->json)
            rc = print_json(out_json_plans((Allot__V1__Plan **)l.all, l.total));
        else
            out_table_plans(stdout, (Allot__V1__Plan **)l.all, l.total);
    }
    list_release(&l);
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
