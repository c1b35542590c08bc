/*
 * cache_api.c -- fl_cache_put: hosts store last good results for the
 * stale-cache fallback (core/cache.c holds them; deciding/decide.c reads
 * them; resilience/fleet.c shares them through Redis in fleet mode).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define CACHE_KEY_MAX 512
#define CACHE_VALUE_MAX ((size_t)1 << 20)
#define CACHE_TTL_MAX 2592000000u /* 30 days */

int fl_cache_put(fl_engine_t *e, const char *key, const char *value_json, uint32_t ttl_ms, fl_diag_t *diag)
{
    json_error_t jerr;
    json_t *v;
    char *compact;
    int64_t now;
    int rc;
    if (!e || !key || !value_json)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "fl_cache_put: engine, key and value are required");
    if (!key[0] || strlen(key) > CACHE_KEY_MAX)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "cache key must be 1..%d bytes", CACHE_KEY_MAX);
    if (ttl_ms == 0 || ttl_ms > CACHE_TTL_MAX)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "cache ttl_ms must be 1..%u", CACHE_TTL_MAX);
    if (strlen(value_json) > CACHE_VALUE_MAX)
        return fl_diag_set(diag, FL_EINVAL, NULL, 0, 0, "cache value larger than %zu bytes", CACHE_VALUE_MAX);
    if (!(v = json_loads(value_json, JSON_DECODE_ANY, &jerr)))
        return fl_diag_set(diag, FL_EINVAL, NULL, jerr.line, jerr.column, "cache value is not JSON: %s",
                           jerr.text);
    compact = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!compact) return fl_diag_set(diag, FL_ENOMEM, NULL, 0, 0, "out of memory");
    now = fl_now_ms();
    rc = fl__kvc_store(fl_engine_shared(e)->cache, key, compact, strlen(compact), now, now + ttl_ms, 1);
    free(compact);
    return rc == FL_OK ? FL_OK : fl_diag_set(diag, rc, NULL, 0, 0, "out of memory");
}
