/*
 * category.c -- the 16 canonical categories (gRPC codes, lower case) as
 * indexes and bit masks, for counting outcomes without string compares on
 * every call beyond one short match.
 */
#include <string.h>

#include "resilience/resilience.h"

static const char *const CATS[FL_NCAT] = {
    "cancelled",          "unknown",        "invalid_argument", "deadline_exceeded",
    "not_found",          "already_exists", "permission_denied", "resource_exhausted",
    "failed_precondition", "aborted",       "out_of_range",     "unimplemented",
    "internal",           "unavailable",    "data_loss",        "unauthenticated",
};

/* Length of the head before any refinement. */
static size_t head_len(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? (size_t)(dot - s) : strlen(s);
}

static int lookup(const char *s)
{
    size_t n = head_len(s);
    for (int i = 0; i < FL_NCAT; i++)
        if (CATS[i][0] == s[0] && strncmp(CATS[i], s, n) == 0 && CATS[i][n] == '\0')
            return i;
    return -1;
}

int fl_cat_index(const char *category)
{
    int i = category ? lookup(category) : -1;
    return i < 0 ? 1 : i;
}

int fl_cat_valid(const char *name)
{
    return name && name[0] && lookup(name) >= 0;
}

const char *fl_cat_name(int index)
{
    return index >= 0 && index < FL_NCAT ? CATS[index] : "unknown";
}

int fl_cat_mask(const char *const *list, uint32_t dflt, uint32_t *out, const char **bad)
{
    uint32_t m = 0;
    if (!list) {
        *out = dflt;
        return 0;
    }
    for (; *list; list++) {
        int i = lookup(*list);
        if (i < 0 || strchr(*list, '.')) {
            if (bad)
                *bad = *list;
            return -1;
        }
        m |= FL_CAT_BIT(i);
    }
    *out = m;
    return 0;
}
