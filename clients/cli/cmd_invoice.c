/* cmd_invoice.c - price, preview and void. */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "allot/arena.h"

#include "cli.h"
#include "help.h"
#include "json_in.h"
#include "out_json.h"
#include "out_table.h"

/* Merges an id from the command line with the file's (either may be "").
 * Returns 0, or a usage error when both are given and differ. */
static int merge_id(struct cli *c, const char *what, const char *cmdline, char **field)
{
    if (!cmdline)
        return 0;
    if (**field && strcmp(*field, cmdline))
        return cli_usage(c, "the command line says %s \"%s\" but the file says \"%s\"", what,
                         cmdline, *field);
    *field = (char *)cmdline;
    return 0;
}

/* Builds the request from --file, the ids and the LINE arguments.
 * nids: how many leading positionals are ids (2 for price, 1 for preview). */
static int build(struct cli *c, const struct args *a, int nids, struct allot_arena *arena,
                 Allot__V1__PriceInvoiceRequest *req)
{
    char err[JSON_IN_ERR_MAX];
    const char *inv = NULL, *mem = NULL;
    int first, i, rc;

    allot__v1__price_invoice_request__init(req);
    if (!a->file) {
        if (a->npos < nids + 1)
            return cli_usage(c, "%s needs %s and at least one LINE", help_name(c->cmd),
                             nids == 2 ? "INVOICE_ID, MEMBER_ID" : "MEMBER_ID");
    } else if (a->npos > 0 && a->npos < nids) {
        return cli_usage(c,
                         "with --file, give %s before any LINE, or none to take %s from "
                         "the file",
                         nids == 2 ? "both INVOICE_ID and MEMBER_ID" : "MEMBER_ID",
                         nids == 2 ? "them" : "it");
    }
    first = a->npos >= nids ? nids : 0;
    if (first) {
        if (nids == 2) {
            inv = a->pos[0];
            mem = a->pos[1];
        } else {
            mem = a->pos[0];
        }
    }
    if (a->file) {
        json_t *root;
        if (json_in_load(a->file, &root, err, sizeof err)) {
            cli_err("%s", err);
            return CLI_EXIT_USAGE;
        }
        rc = json_in_invoice(root, a->file, arena, req, err, sizeof err);
        json_decref(root);
        if (rc) {
            cli_err("%s", err);
            return CLI_EXIT_USAGE;
        }
    }
    if ((rc = merge_id(c, "invoice", inv, &req->invoice_id)) ||
        (rc = merge_id(c, "member", mem, &req->member_id)))
        return rc;
    for (i = first; i < a->npos; i++) {
        if (json_in_add_linespec(req, a->pos[i], arena, err, sizeof err)) {
            cli_usage(c, "bad LINE %s", err);
            return CLI_EXIT_USAGE;
        }
    }
    if (nids == 2 && !*req->invoice_id)
        return cli_usage(c, "no invoice id: give INVOICE_ID or \"invoice_id\" in the file");
    if (!*req->member_id)
        return cli_usage(c, "no member: give MEMBER_ID or \"member_id\" in the file");
    if (req->n_lines == 0)
        return cli_usage(c, "no lines to price");
    return 0;
}

static int price_or_preview(struct cli *c, const struct args *a, int preview)
{
    struct allot_arena arena = ALLOT_ARENA_INIT;
    Allot__V1__PriceInvoiceRequest req;
    Allot__V1__PriceInvoiceResponse *resp;
    int rc;

    if ((rc = build(c, a, preview ? 1 : 2, &arena, &req)))
        goto out;
    rc = cli_call(c, preview ? ALLOT_METHOD("PreviewInvoice") : ALLOT_METHOD("PriceInvoice"),
                  &req.base, &allot__v1__price_invoice_response__descriptor,
                  (ProtobufCMessage **)&resp, a->file);
    if (rc)
        goto out;
    if (c->json) {
        if (out_json_print(stdout, out_json_priced(resp, preview), 0)) {
            cli_err("out of memory");
            rc = CLI_EXIT_SERVER;
        }
    } else {
        out_table_priced(stdout, resp, preview);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
out:
    allot_arena_release(&arena);
    return rc;
}

/* price INVOICE_ID MEMBER_ID LINE... [--file F] */
int cmd_price(struct cli *c, const struct args *a)
{
    return price_or_preview(c, a, 0);
}

/* preview MEMBER_ID LINE... [--file F] */
int cmd_preview(struct cli *c, const struct args *a)
{
    return price_or_preview(c, a, 1);
}

/* void INVOICE_ID [LINE_ID] */
int cmd_void(struct cli *c, const struct args *a)
{
    Allot__V1__VoidInvoiceRequest req = ALLOT__V1__VOID_INVOICE_REQUEST__INIT;
    Allot__V1__VoidInvoiceResponse *resp;
    int rc;

    req.invoice_id = (char *)a->pos[0];
    req.line_id = (char *)(a->npos > 1 ? a->pos[1] : "");
    rc = cli_call(c, ALLOT_METHOD("VoidInvoice"), &req.base,
                  &allot__v1__void_invoice_response__descriptor, (ProtobufCMessage **)&resp, NULL);
    if (rc)
        return rc;
    if (c->json) {
        if (out_json_print(stdout, out_json_void(resp), 0)) {
            cli_err("out of memory");
            rc = CLI_EXIT_SERVER;
        }
    } else {
        out_table_void(stdout, resp, req.line_id);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}
