/* json_in.h - readable JSON files -> protobuf-c request messages.
 *
 * The files use the proto's field names, dates as "YYYY-MM-DD", enums as
 * lowercase words (words.h) and money in dollars: "150.00", 150 or 150.5
 * (at most 2 decimals, never floating point on the way to cents), or the
 * same field with a _cents suffix holding integer cents
 * ("cash_price_cents": 15000). Unknown fields are errors, so a typo does
 * not silently drop a limit. See `allotctl help files` for every field.
 *
 * Every message and string is allocated from the caller's arena and lives
 * as long as it; nothing here is freed on its own. On failure err holds
 * "FILE: PATH: reason", e.g.
 *   plans/family.json: version.rules[2].allowance: more than 2 decimals
 * and the out-parameters are untouched.
 */
#ifndef ALLOTCTL_JSON_IN_H
#define ALLOTCTL_JSON_IN_H

#include <stddef.h>

#include <jansson.h>

#include "allot/arena.h"
#include "allot/v1/allot.pb-c.h"

#define JSON_IN_ERR_MAX 512

/* Reads and parses path ("-" is stdin). Returns 0 and a new reference in
 * *root, or -1 with "path:LINE:COL: reason" (or the errno text) in err. */
int json_in_load(const char *path, json_t **root, char *err, size_t errlen);

/* One service object, a list of them, or {"services": [...]}. */
int json_in_services(const json_t *root, const char *file, struct allot_arena *a,
                     Allot__V1__Service ***out, size_t *n, char *err, size_t errlen);

/* One plan object {"id", "name", "version": {...}} or with "versions":
 * [...], or a list of plans. Each version becomes one PutPlanRequest, in
 * file order. */
int json_in_plans(const json_t *root, const char *file, struct allot_arena *a,
                  Allot__V1__PutPlanRequest ***out, size_t *n, char *err, size_t errlen);

/* One member object, a list of them, or {"members": [...]}. */
int json_in_members(const json_t *root, const char *file, struct allot_arena *a,
                    Allot__V1__Member ***out, size_t *n, char *err, size_t errlen);

/* {"invoice_id", "member_id", "lines": [...]}: each line an object
 * {line_id, service_code, service_date, quantity, unit_price} or a
 * CODE@DATE[xQTY][=PRICE] string. Fills out (already _init'ed): ids absent
 * from the file are left as they are. */
int json_in_invoice(const json_t *root, const char *file, struct allot_arena *a,
                    Allot__V1__PriceInvoiceRequest *out, char *err, size_t errlen);

/* Appends one line built from a line spec string to req's lines. Returns 0,
 * or -1 with "LINE: reason" in err. */
int json_in_add_linespec(Allot__V1__PriceInvoiceRequest *req, const char *spec,
                         struct allot_arena *a, char *err, size_t errlen);

#endif
