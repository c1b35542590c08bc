/*
 * status.c -- status codes and diagnostics.  fl_strerror names every code
 * (primary and extended); the fl_diag helpers fill the caller-owned
 * fl_diag_t that load and parse functions report through, including the
 * file:line:col of a policy at fault.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core.h"

const char *fl_libversion(void) { return FL_VERSION_STRING; }

const char *fl_strerror(int status)
{
    switch (status) {
    case FL_OK: return "FL_OK: success";
    case FL_EINVAL: return "FL_EINVAL: invalid argument";
    case FL_ENOMEM: return "FL_ENOMEM: out of memory";
    case FL_EPARSE: return "FL_EPARSE: malformed input";
    case FL_EPOLICY: return "FL_EPOLICY: policy error";
    case FL_ENOENT: return "FL_ENOENT: no such file, directory or entry";
    case FL_EIO: return "FL_EIO: input/output error";
    case FL_ETOOBIG: return "FL_ETOOBIG: input exceeds a size or depth limit";
    case FL_EHANDLER: return "FL_EHANDLER: policy handler failed";
    case FL_EBUDGET: return "FL_EBUDGET: budget exhausted";
    case FL_EEXAMPLE: return "FL_EEXAMPLE: policy example failed";
    case FL_EREFUSED: return "FL_EREFUSED: admission refused";
    case FL_ESTATE: return "FL_ESTATE: wrong state for this call";
    case FL_ECONFINED: return "FL_ECONFINED: path escapes the configured roots";
    case FL_ESIGNATURE: return "FL_ESIGNATURE: unsigned, tampered, or signed by an untrusted key";
    case FL_EMISUSE: return "FL_EMISUSE: API misuse (a context used by two threads at once)";
    case FL_EPARSE_JSON: return "FL_EPARSE_JSON: malformed JSON";
    case FL_EPARSE_UTF8: return "FL_EPARSE_UTF8: invalid UTF-8";
    case FL_EPARSE_TYPE: return "FL_EPARSE_TYPE: field has the wrong type";
    case FL_EPARSE_KEY: return "FL_EPARSE_KEY: unknown key";
    case FL_EPOLICY_SYNTAX: return "FL_EPOLICY_SYNTAX: policy syntax error";
    case FL_EPOLICY_RUNTIME: return "FL_EPOLICY_RUNTIME: policy file raised an error";
    case FL_EPOLICY_SCHEMA: return "FL_EPOLICY_SCHEMA: invalid policy declaration";
    case FL_EPOLICY_PATTERN: return "FL_EPOLICY_PATTERN: invalid pattern";
    case FL_EBUDGET_CPU: return "FL_EBUDGET_CPU: handler CPU budget exhausted";
    case FL_EBUDGET_MEM: return "FL_EBUDGET_MEM: Lua memory cap reached";
    case FL_EBUDGET_MATCH: return "FL_EBUDGET_MATCH: pattern match limit reached";
    case FL_ESTATE_STACK: return "FL_ESTATE_STACK: this policy reads the stack; decide again with it";
    default: return "unknown status";
    }
}

void fl_diag_clear(fl_diag_t *d)
{
    if (!d) return;
    d->status = FL_OK;
    d->line = d->col = 0;
    d->file[0] = d->message[0] = '\0';
}

int fl_diag_set(fl_diag_t *d, int status, const char *file, int line, int col,
                const char *fmt, ...)
{
    if (!d) return status;
    d->status = status;
    d->line = line;
    d->col = col;
    snprintf(d->file, sizeof d->file, "%s", file ? file : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->message, sizeof d->message, fmt, ap);
    va_end(ap);
    return status;
}

const char *fl_diag_format(const fl_diag_t *d, char *buf, size_t n)
{
    if (!buf || n == 0) return NULL;
    if (!d) {
        buf[0] = '\0';
        return buf;
    }
    if (d->file[0] && d->line > 0)
        snprintf(buf, n, "%s:%d:%d: %s", d->file, d->line, d->col > 0 ? d->col : 1, d->message);
    else if (d->file[0])
        snprintf(buf, n, "%s: %s", d->file, d->message);
    else
        snprintf(buf, n, "%s", d->message[0] ? d->message : fl_strerror(d->status));
    return buf;
}

int fl_find_column(const char *text, size_t len, int line, const char *token)
{
    if (!text || line < 1) return 1;
    const char *p = text, *end = text + len;
    for (int l = 1; l < line && p < end; l++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) return 1;
        p = nl + 1;
    }
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if (token && *token) {
        size_t tl = strlen(token);
        for (const char *q = p; q + tl <= eol; q++)
            if (memcmp(q, token, tl) == 0) return (int)(q - p) + 1;
    }
    /* First non-blank character: where the statement starts. */
    const char *q = p;
    while (q < eol && (*q == ' ' || *q == '\t')) q++;
    return (int)(q - p) + 1;
}
