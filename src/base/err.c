/* err.c - the text of allot's error codes. */
#include "allot/err.h"

#include <stdio.h>
#include <string.h>

const char *allot_strerror(int err)
{
    switch (err) {
#define ALLOT__ERR_TEXT(name, value, text) \
    case value:                             \
        return text;
        ALLOT_ERR_MAP(ALLOT__ERR_TEXT)
#undef ALLOT__ERR_TEXT
    }
    return "unknown error";
}

const char *allot_err_name(int err)
{
    switch (err) {
#define ALLOT__ERR_NAME(name, value, text) \
    case value:                             \
        return #name;
        ALLOT_ERR_MAP(ALLOT__ERR_NAME)
#undef ALLOT__ERR_NAME
    }
    return "EUNKNOWN";
}

int allot_status_set(struct allot_status *st, int code, const char *fmt, ...)
{
    if (st) {
        va_list ap;
        st->code = code;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void allot_status_clear(struct allot_status *st)
{
    if (st) {
        st->code = 0;
        st->msg[0] = '\0';
    }
}
