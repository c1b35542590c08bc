-- samples/seeds/002-proto-ddf: Proto-DDF's error handling architecture.
-- Three families -- SystemError (critical), ValidationError (user input),
-- IntegrationError (external systems) -- with retry (exponential backoff,
-- jitter), a circuit breaker (5 failures, 60 s), and user messages from
-- templates by category and code.

policy {
  name = "seed-002-proto-ddf",
  version = "1.0.0",
  default_locale = "en",
}

function exc(...)
  return re("(?:^|\\.)(?:" .. table.concat({ ... }, "|") .. ")$")
end

-- retry_with_backoff(max_retries=3, base_delay=1.0, max_delay=60.0,
-- exponential_base=2.0, jitter=True): 4 attempts in all; the jitter
-- multiplies the delay by 0.5..1.0, which is faultline's "equal" jitter.
category "unavailable" { severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 1000, factor = 2, max_delay_ms = 60000,
                     jitter = "equal", max_attempts = 4 } }
category "deadline_exceeded" { severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 1000, factor = 2, max_delay_ms = 60000,
                     jitter = "equal", max_attempts = 4 } }
-- Port allocation is retried once, after 1 s.
category "unavailable.port_unavailable" { severity = "critical", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 1000, jitter = "none", max_attempts = 2 } }
category "unavailable.circuit_open" { severity = "error", retryable = true, recovery = fail() }
category "unavailable.external_api" { severity = "error", retryable = true, recovery = fail() }
category "resource_exhausted" { severity = "critical", retryable = false, recovery = fail() }
category "permission_denied" { severity = "critical", retryable = false, recovery = fail() }
category "internal" { severity = "critical", retryable = false, recovery = fail() }
category "invalid_argument" { severity = "warning", retryable = false, recovery = fail() }
category "unauthenticated" { severity = "error", retryable = false, recovery = fail() }

-- CircuitBreaker(failure_threshold=5, timeout=60.0): open after 5 failures
-- in a row (the last 5 calls all failed), one trial call after 60 s.
breaker "external_api" {
  window = "count", size = 5, min_calls = 5, failure_rate = 1.0,
  half_open_calls = 1, open_ms = 60000,
}
