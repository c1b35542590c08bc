-- The taxonomy: the 16 gRPC canonical codes, with dotted refinements where
-- they change what a policy should do.  docs/taxonomy.md documents each one
-- with its authority.
--
-- Recovery defaults follow the published guidance:
--  * gRPC status codes guide + AIP-194: retry UNAVAILABLE; DEADLINE_EXCEEDED,
--    ABORTED and RESOURCE_EXHAUSTED with backoff; never retry the codes that
--    describe the request itself (INVALID_ARGUMENT, NOT_FOUND, ...).
--  * AWS SDKs, standard retry mode: 3 attempts in total, exponential backoff
--    with full jitter, base 2, each delay capped at 20 s.
--  * Envoy: exponential back-off with jitter, honour rate-limit headers
--    (Retry-After) when the upstream sends them.

local function backoff(base_ms, max_attempts, max_delay_ms)
  return retry {
    backoff = "exponential",
    base_ms = base_ms,
    factor = 2,
    max_delay_ms = max_delay_ms or 20000,
    jitter = "full",
    max_attempts = max_attempts or 3,
    honor_retry_after = true,
  }
end

local function cat(name, severity, retryable, recovery)
  category(name) {
    severity = severity,
    retryable = retryable,
    recovery = recovery or fail(),
  }
end

-- name                               severity    retryable  recovery
cat("cancelled",                      "info",     false)
cat("unknown",                        "error",    false)
cat("invalid_argument",               "warning",  false)
cat("invalid_argument.parse",         "warning",  false)
cat("deadline_exceeded",              "warning",  true,  backoff(200))
cat("not_found",                      "warning",  false)
cat("not_found.file",                 "warning",  false)
cat("already_exists",                 "warning",  false)
cat("permission_denied",              "error",    false)
cat("permission_denied.read_only",    "error",    false)
cat("resource_exhausted",             "warning",  true,  backoff(500))
cat("resource_exhausted.rate_limited","warning",  true,  backoff(1000))
cat("resource_exhausted.connections", "warning",  true,  backoff(250))
cat("resource_exhausted.storage_full","critical", false)
cat("resource_exhausted.memory",      "critical", false)
cat("resource_exhausted.file_descriptors", "error", false)
cat("resource_exhausted.quota",       "error",    false)
cat("failed_precondition",            "error",    false)
cat("aborted",                        "warning",  true,  backoff(50))
cat("aborted.deadlock",               "warning",  true,  backoff(50))
cat("aborted.serialization",          "warning",  true,  backoff(50))
cat("aborted.locked",                 "warning",  true,  backoff(100))
cat("out_of_range",                   "warning",  false)
cat("unimplemented",                  "error",    false)
cat("internal",                       "error",    false)
cat("internal.server_error",          "error",    true,  backoff(100))
cat("internal.io",                    "error",    false)
cat("unavailable",                    "warning",  true,  backoff(100))
cat("unavailable.connection_refused", "warning",  true,  backoff(100))
cat("unavailable.connection_reset",   "warning",  true,  backoff(100))
cat("unavailable.dns",                "warning",  true,  backoff(500))
cat("unavailable.tls",                "error",    false)
cat("data_loss",                      "critical", false)
cat("unauthenticated",                "error",    false)
