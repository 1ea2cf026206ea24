/* linespec.h - invoice lines written on the command line.
 *
 *   CODE@DATE[xQTY][=PRICE]
 *
 *   HOME_VISIT@2025-04-01          one unit at the service's cash price
 *   97110@2025-03-02x3=120.00      three units at $120.00 each
 *
 * CODE is the service code (1-64 printable ASCII bytes, no spaces; it may
 * itself contain '@': the last '@' separates it from the date), DATE is
 * YYYY-MM-DD, QTY 1-1000000 (default 1), PRICE dollars as money_parse
 * takes them (default: the service's cash price).
 */
#ifndef ALLOTCTL_LINESPEC_H
#define ALLOTCTL_LINESPEC_H

#include <stddef.h>
#include <stdint.h>

#define LINESPEC_CODE_MAX 64
#define LINESPEC_QTY_MAX 1000000

struct line_spec {
    char code[LINESPEC_CODE_MAX + 1];
    char date[11];
    int64_t quantity;
    int has_price;
    int64_t price_cents; /* when has_price */
};

/* Parses s. Returns 0 and fills *out, or -1 and writes a reason naming the
 * bad part into err ("quantity \"x0\": must be 1-1000000"). */
int linespec_parse(const char *s, struct line_spec *out, char *err, size_t errlen);

#endif
