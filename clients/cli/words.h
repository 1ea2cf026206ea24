/* words.h - proto enums as the lowercase words files and tables use.
 *
 * Files write "member_year", "quantity", "household", "sponsor"; lookups
 * ignore case and take '-' or ' ' for '_' ("Member-Year" works). Output
 * always uses the canonical word.
 */
#ifndef ALLOTCTL_WORDS_H
#define ALLOTCTL_WORDS_H

#include <stddef.h>

struct word {
    const char *word; /* canonical lowercase word; NULL ends a table */
    int value;        /* the proto enum value */
    const char *text; /* words for people ("allotment used up"), or NULL */
};

extern const struct word period_words[];
extern const struct word limit_words[];
extern const struct word pool_words[];
extern const struct word payer_words[];
extern const struct word source_words[];
extern const struct word reason_words[];

/* The value of s in tbl. Returns 0 and sets *value, or -1 when s names no
 * entry. The UNSPECIFIED (0) values have no word and never match. */
int words_lookup(const struct word tbl[], const char *s, int *value);
/* The canonical word for value, or NULL when the table has none. */
const char *words_name(const struct word tbl[], int value);
/* The text for people (the word when the entry has no text), or NULL. */
const char *words_text(const struct word tbl[], int value);
/* "a, b or c": every word of tbl, for error messages. Returns buf. */
char *words_list(const struct word tbl[], char *buf, size_t len);

#endif
