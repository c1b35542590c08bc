-- Test policy for the Python package (tests/python): small delays so the
-- suite runs fast, and one rule per behaviour a guard must honour.
policy { name = "pytest", version = "1.0.0", default_locale = "en" }

category "unavailable" {
  severity = "error", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 3 },
}
category "resource_exhausted" {
  severity = "warning", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 10, jitter = "none", max_attempts = 3,
                     honor_retry_after = true },
}
category "deadline_exceeded" {
  severity = "error", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 30, jitter = "none", max_attempts = 2 },
}
category "invalid_argument" { severity = "error", retryable = false, recovery = fail() }
category "aborted" {
  severity = "warning", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 5, jitter = "none", max_attempts = 5 },
}
category "resource_exhausted.storage_full" { severity = "critical", retryable = false, recovery = fail() }

breaker "upstream" { key = "{tags.service}", failure_rate = 0.5, min_calls = 4, open_ms = 60000, size = 10 }
limiter "tight" { rate = 1, burst = 2 }
bulkhead "single" { max_concurrent = 1 }
retry_budget "calls" { ratio = 0.1, min_retries = 1, window_ms = 60000 }

rule "refused" {
  when = { message = re[[ConnectionRefusedError|Connection refused]] },
  category = "unavailable.connection_refused",
}
rule "refused-upstream" {
  when = { code = "ECONNREFUSED", op = "upstream.call" },
  category = "unavailable", priority = 10,
}
rule "refused-budgeted" {
  when = { code = "ECONNREFUSED", op = "budget.op" },
  category = "unavailable", retry_budget = "calls", priority = 10,
}
rule "http-429" { when = { domain = "http", code = 429 }, category = "resource_exhausted.rate_limited" }
rule "http-503" { when = { domain = "http", code = 503 }, category = "unavailable" }
rule "locked" { when = { message = re[[database is locked]] }, category = "aborted.locked" }
rule "disk-full" { when = { code = "ENOSPC" }, category = "resource_exhausted.storage_full" }
rule "timeout-smaller-batch" {
  when = { message = re[[TimeoutError]] },
  category = "deadline_exceeded",
  params = { batch = 10 },
}
rule "lookup-fallback" {
  when = { op = "profile.load", message = re[[KeyError]] },
  category = "not_found",
  handler = function(ev, d) return { action = "fallback", fallback = { name = "guest", cached = true } } end,
}
rule "cancel-ignored" {
  when = { message = re[[\bBenignError\b]] },
  category = "cancelled",
  handler = function(ev, d) return { action = "ignore" } end,
}
-- Admission refusals (an open breaker...) fail at once here; a policy could
-- also retry them after their retry_after.
rule "refusal" {
  when = { code = "faultline.Refused" }, category = "unavailable", message = "refused", recovery = fail(),
}
rule "bad-input" { when = { message = re[[ValueError]] }, category = "invalid_argument" }

messages "en" {
  unavailable = "The service is temporarily unavailable. Please try again in a moment.",
  invalid_argument = "Some of the information provided is not valid.",
  ["resource_exhausted.storage_full"] = "There is no storage space left.",
  refused = "The service is refusing calls for now.",
}
messages "fr" {
  unavailable = "Le service est momentanément indisponible. Réessayez dans un instant.",
}

example "refused is retried" {
  event = { message = "ConnectionRefusedError: [Errno 111] Connection refused" },
  expect = { category = "unavailable.connection_refused", action = "retry" },
}
