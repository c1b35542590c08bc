/*
 * version.c -- a compiled version's reference count and its read-only
 * lookups: the 16 canonical categories (with gRPC's HTTP mapping), the
 * declared category settings along a.b.c -> a.b -> a, and messages along
 * the locale fallback chain.  Everything here reads a finished version;
 * building and freeing one is loading/compile.c's job (v->destroy).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core.h"

/* gRPC canonical codes, lower case, with gRPC's HTTP mapping. */
static const struct {
    const char *name;
    int status;
    const char *title;
} k_categories[] = {
    {"cancelled", 499, "Request cancelled"},
    {"unknown", 500, "Unknown error"},
    {"invalid_argument", 400, "Invalid argument"},
    {"deadline_exceeded", 504, "Deadline exceeded"},
    {"not_found", 404, "Not found"},
    {"already_exists", 409, "Already exists"},
    {"permission_denied", 403, "Permission denied"},
    {"resource_exhausted", 429, "Resource exhausted"},
    {"failed_precondition", 400, "Failed precondition"},
    {"aborted", 409, "Aborted"},
    {"out_of_range", 400, "Out of range"},
    {"unimplemented", 501, "Not implemented"},
    {"internal", 500, "Internal error"},
    {"unavailable", 503, "Service unavailable"},
    {"data_loss", 500, "Data loss"},
    {"unauthenticated", 401, "Unauthenticated"},
};
#define NCATS (sizeof k_categories / sizeof *k_categories)

static int top_index(const char *name)
{
    size_t n = strcspn(name, ".");
    for (size_t i = 0; i < NCATS; i++)
        if (strlen(k_categories[i].name) == n && memcmp(k_categories[i].name, name, n) == 0) return (int)i;
    return -1;
}

int fl_category_valid(const char *name)
{
    if (!name || top_index(name) < 0) return 0;
    /* Refinements: dot-separated [a-z0-9_]+ segments. */
    size_t seg = 0;
    for (const char *p = name; *p; p++) {
        if (*p == '.') {
            if (seg == 0) return 0;
            seg = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_') {
            seg++;
        } else {
            return 0;
        }
    }
    return seg > 0;
}

int fl_category_status(const char *name)
{
    int i = name ? top_index(name) : -1;
    return i < 0 ? 500 : k_categories[i].status;
}

const char *fl_category_title(const char *name)
{
    int i = name ? top_index(name) : -1;
    return i < 0 ? "Unknown error" : k_categories[i].title;
}

/* ---- lifetime ------------------------------------------------------------- */

void fl_version_ref(fl_version *v) { atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed); }

void fl_version_unref(fl_version *v)
{
    if (v && atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) == 1) v->destroy(v);
}

/* ---- categories ----------------------------------------------------------- */

const fl_catconf *fl_category_declared(const fl_version *v, const char *name, size_t len)
{
    for (uint32_t i = 0; i < v->ncats; i++)
        if (strlen(v->cats[i].name) == len && memcmp(v->cats[i].name, name, len) == 0) return &v->cats[i];
    return NULL;
}


const fl_catconf *fl_find_category(const fl_version *v, const char *name)
{
    if (!name) return NULL;
    for (size_t len = strlen(name); len > 0;) {
        const fl_catconf *c = fl_category_declared(v, name, len);
        if (c) return c;
        while (len > 0 && name[len - 1] != '.') len--;
        if (len > 0) len--; /* drop the dot */
    }
    return NULL;
}

/* ---- messages ------------------------------------------------------------- */

static const fl_template *in_locale(const fl_locale *l, const char *id, size_t len)
{
    for (uint32_t i = 0; i < l->nmsgs; i++)
        if (strlen(l->msgs[i].id) == len && memcmp(l->msgs[i].id, id, len) == 0) return &l->msgs[i];
    return NULL;
}

/* Resolve id in locale li and its fallback chain: in each locale the id,
 * its parents, then "unknown". */
const fl_template *fl_resolve_message(const fl_version *v, int li, const char *id, const char **locale)
{
    for (int hops = 0; li >= 0 && hops < 8; li = v->locales[li].fallback, hops++) {
        const fl_locale *l = &v->locales[li];
        for (size_t len = id ? strlen(id) : 0; len > 0;) {
            const fl_template *t = in_locale(l, id, len);
            if (t) {
                *locale = l->name;
                return t;
            }
            while (len > 0 && id[len - 1] != '.') len--;
            if (len > 0) len--;
        }
        const fl_template *t = in_locale(l, "unknown", 7);
        if (t) {
            *locale = l->name;
            return t;
        }
    }
    *locale = NULL;
    return NULL;
}

static const char *const k_outcomes[] = {"retry", "retry_soon", "fallback", "ignore", "fail", "attempts_exhausted",
                                         "time_budget_exhausted", "breaker_open",
                                         "retry_budget_exhausted", NULL};

int fl_is_outcome_message_id(const char *id)
{
    const char *dot = id ? strrchr(id, '.') : NULL;
    if (!dot) return 0;
    for (int i = 0; k_outcomes[i]; i++)
        if (strcmp(dot + 1, k_outcomes[i]) == 0) return 1;
    return 0;
}

const fl_template *fl_resolve_outcome_message(const fl_version *v, int li, const char *id, const char *outcome,
                                              const char *upto, const char **locale)
{
    char want[256];
    size_t olen = outcome ? strlen(outcome) : 0;
    if (!id || !olen) return NULL;
    for (int hops = 0; li >= 0 && hops < 8; li = v->locales[li].fallback, hops++) {
        const fl_locale *l = &v->locales[li];
        for (size_t len = strlen(id); len > 0;) {
            if (len + 1 + olen < sizeof want) {
                memcpy(want, id, len);
                want[len] = '.';
                memcpy(want + len + 1, outcome, olen);
                const fl_template *t = in_locale(l, want, len + 1 + olen);
                if (t) {
                    *locale = l->name;
                    return t;
                }
            }
            while (len > 0 && id[len - 1] != '.') len--;
            if (len > 0) len--;
        }
        if (upto && l->name == upto) break;
    }
    return NULL;
}

const fl_template *fl_resolve_title(const fl_version *v, int li, const char *category, const char *upto,
                                    const char **locale)
{
    char want[256];
    if (!category) return NULL;
    for (int hops = 0; li >= 0 && hops < 8; li = v->locales[li].fallback, hops++) {
        const fl_locale *l = &v->locales[li];
        for (size_t len = strlen(category); len > 0;) {
            if (len + 6 < sizeof want) {
                memcpy(want, "title.", 6);
                memcpy(want + 6, category, len);
                const fl_template *t = in_locale(l, want, len + 6);
                if (t) {
                    *locale = l->name;
                    return t;
                }
            }
            while (len > 0 && category[len - 1] != '.') len--;
            if (len > 0) len--;
        }
        if (upto && l->name == upto) break;
    }
    return NULL;
}

int fl_locale_index(const fl_version *v, const char *want)
{
    if (!want || !*want) return v->default_locale;
    for (uint32_t i = 0; i < v->nlocales; i++)
        if (strcasecmp(v->locales[i].name, want) == 0) return (int)i;
    size_t lang = strcspn(want, "-_");
    for (uint32_t i = 0; i < v->nlocales; i++)
        if (strlen(v->locales[i].name) == lang && strncasecmp(v->locales[i].name, want, lang) == 0) return (int)i;
    return v->default_locale;
}

/* ---- patterns ----------------------------------------------------------- */

const pcre2_code *fl_cond_re(const fl_cond *c)
{
    /* jit is a cache: written through a const version, as a reference count is. */
    pcre2_code *_Atomic *slot = (pcre2_code *_Atomic *)&c->jit;
    pcre2_code *j = atomic_load_explicit(slot, memory_order_acquire);
    if (j) return j;
    pcre2_code *copy = pcre2_code_copy(c->re); /* reads c->re only, as matching does */
    if (copy && pcre2_jit_compile(copy, PCRE2_JIT_COMPLETE) != 0) {
        pcre2_code_free(copy);
        copy = NULL;
    }
    pcre2_code *mine = copy ? copy : c->re, *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(slot, &expected, mine, memory_order_acq_rel, memory_order_acquire))
        return mine;
    if (copy) pcre2_code_free(copy); /* another thread published first */
    return expected;
}

void fl_cond_free_re(fl_cond *c)
{
    pcre2_code *j = atomic_load_explicit(&c->jit, memory_order_acquire);
    if (j && j != c->re) pcre2_code_free(j);
    pcre2_code_free(c->re);
    c->re = NULL;
    atomic_store_explicit(&c->jit, NULL, memory_order_relaxed);
}
