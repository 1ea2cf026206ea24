/* money.h - dollars as people write them <-> integer cents on the wire.
 *
 * No floating point touches a price except money_from_real, which exists
 * only because a JSON file may write 150.5 as a number; it refuses any
 * double that is not exactly the nearest double to a 0-2 decimal amount.
 */
#ifndef ALLOTCTL_MONEY_H
#define ALLOTCTL_MONEY_H

#include <stdint.h>

/* The largest amount accepted: $9,999,999,999,999.99 (13 integer digits). */
#define MONEY_MAX_CENTS INT64_C(999999999999999)

/* "-9999999999999.99" plus a "$" and the NUL, with room to spare. */
#define MONEY_BUFLEN 32

/* Parses "150", "150.5", "150.05", "$150.00", "0.01" into cents.
 * Refuses a sign, spaces, exponents, grouping commas, "150." and ".5",
 * more than two decimals and amounts above MONEY_MAX_CENTS.
 * Returns 0 and sets *cents, or -1 and sets *why to a static reason
 * ("more than 2 decimals"); *cents is untouched on failure. */
int money_parse(const char *s, int64_t *cents, const char **why);

/* A JSON number in dollars (jansson's json_real value) into cents: accepted
 * when v >= 0, v <= 100000000000 (beyond that a double cannot tell
 * 0.001 apart: write a string) and v is the double nearest to some amount
 * with at most 2 decimals. Same contract as money_parse. */
int money_from_real(double v, int64_t *cents, const char **why);

/* Whole dollars (a JSON integer) into cents; refuses < 0 and too large. */
int money_from_dollars(int64_t dollars, int64_t *cents, const char **why);

/* "150.00", "-0.05": always two decimals, no "$". Returns buf. */
char *money_format(int64_t cents, char buf[MONEY_BUFLEN]);
/* "$150.00", "-$0.05". Returns buf. */
char *money_format_usd(int64_t cents, char buf[MONEY_BUFLEN]);

#endif
