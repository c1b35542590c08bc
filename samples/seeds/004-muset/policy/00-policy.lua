-- samples/seeds/004-muset: the Muset AI Research platform (FastAPI, Redis).
-- Its 11 error categories map onto faultline's canonical ones:
--   AUTHENTICATION   unauthenticated          AUTHORIZATION  permission_denied
--   VALIDATION       invalid_argument         NOT_FOUND      not_found
--   CONFLICT         already_exists           RATE_LIMIT     resource_exhausted.rate_limit
--   EXTERNAL_SERVICE unavailable.external_service
--   INTERNAL         internal                 DATABASE       unavailable.database
--   NETWORK          unavailable.network      TIMEOUT        deadline_exceeded
-- and its 4 severities onto faultline's: LOW info, MEDIUM warning,
-- HIGH error, CRITICAL critical.

policy {
  name = "seed-004-muset",
  version = "1.0.0",
  default_locale = "en",
}

function exc(...)
  return re("(?:^|\\.)(?:" .. table.concat({ ... }, "|") .. ")$")
end

-- RetryStrategy(max_retries=3, initial_delay=1.0, max_delay=60.0,
-- exponential_base=2.0, jitter=True)  (MAX_RETRIES, RETRY_INITIAL_DELAY,
-- RETRY_MAX_DELAY): 4 attempts in all.
local default_retry = retry { backoff = "exponential", base_ms = 1000, factor = 2, max_delay_ms = 60000,
                              jitter = "full", max_attempts = 4 }

category "unauthenticated"   { severity = "error",    retryable = false, recovery = fail(), status = 401 }
category "permission_denied" { severity = "error",    retryable = false, recovery = fail(), status = 403 }
category "invalid_argument"  { severity = "info",     retryable = false, recovery = fail(), status = 422 }
category "not_found"         { severity = "info",     retryable = false, recovery = fail(), status = 404 }
category "already_exists"    { severity = "warning",  retryable = false, recovery = fail(), status = 409 }
category "resource_exhausted.rate_limit" { severity = "warning", retryable = true, recovery = default_retry, status = 429 }
category "unavailable.external_service"  { severity = "error",   retryable = true, recovery = default_retry, status = 502 }
category "unavailable.database" { severity = "critical", retryable = true, status = 503,
  recovery = retry { backoff = "exponential", base_ms = 200, factor = 2, max_delay_ms = 60000, jitter = "equal", max_attempts = 4 } }
category "unavailable.network"  { severity = "error",    retryable = true, recovery = default_retry, status = 503 }
category "unavailable.cache"    { severity = "warning",  retryable = false, recovery = fallback { cache = "bypass" }, status = 503 }
category "unavailable.circuit_open" { severity = "error", retryable = true, recovery = fail(), status = 503 }
category "deadline_exceeded"    { severity = "error",    retryable = true, recovery = default_retry, status = 504 }
category "internal"             { severity = "critical", retryable = false, recovery = fail(), status = 500 }
category "unknown"              { severity = "critical", retryable = false, recovery = fail(), status = 500 }

-- get_circuit_breaker("external_api", failure_threshold=5, recovery_timeout=60)
-- (CIRCUIT_BREAKER_THRESHOLD=5, CIRCUIT_BREAKER_TIMEOUT=60)
breaker "external_api" {
  key = "{tags.service}", window = "count", size = 5, min_calls = 5, failure_rate = 1.0,
  half_open_calls = 1, open_ms = 60000,
}
