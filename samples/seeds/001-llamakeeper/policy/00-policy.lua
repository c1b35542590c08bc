-- samples/seeds/001-llamakeeper: LlamaKeeper's AdvancedErrorHandler as policy.
-- The handler's five severities are faultline's own (debug info warning
-- error critical); its registry of recovery strategies per error type is the
-- rule table; its error context (id, timestamp, stack) is the decision's id
-- plus the event the Python package builds (time, traceback).

policy {
  name = "seed-001-llamakeeper",
  version = "1.0.0",
  default_locale = "en",
}

function exc(...)
  return re("(?:^|\\.)(?:" .. table.concat({ ... }, "|") .. ")$")
end

-- A registered strategy that "recovers" is a retry or a fallback; an error
-- type with no strategy fails ("No recovery strategy available").
category "unavailable" { severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 200, max_delay_ms = 5000, jitter = "none", max_attempts = 3 } }
category "internal" { severity = "error", retryable = false, recovery = fail() }
category "invalid_argument" { severity = "warning", retryable = false, recovery = fail() }
category "resource_exhausted" { severity = "critical", retryable = false, recovery = fail() }
category "unknown" { severity = "error", retryable = false, recovery = fail() }
category "cancelled" { severity = "info", retryable = false, recovery = ignore() }
