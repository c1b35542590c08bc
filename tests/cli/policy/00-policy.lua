-- A small, fixed policy for the CLI golden tests.  No jitter anywhere, so
-- with --seed and fixed event ids every output byte is deterministic.
policy {
  name = "golden",
  version = "1.0",
  default_locale = "en",
  max_message_len = 120,
}

category "unavailable" {
  severity = "error",
  retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 100, max_delay_ms = 2000,
                     jitter = "none", max_attempts = 4, budget_ms = 10000 },
}

category "resource_exhausted.rate_limited" {
  severity = "warning",
  retryable = true,
  recovery = retry { backoff = "constant", base_ms = 1000, jitter = "none", max_attempts = 5 },
}

category "not_found" { severity = "info", recovery = fail() }
category "cancelled" { severity = "debug", recovery = ignore() }
-- Declared explicitly (undeclared categories would get the same built-in
-- titles; see the regression test in tests/unit/test_decide.c).
category "already_exists" { severity = "warning" }
category "unknown" { severity = "error" }
