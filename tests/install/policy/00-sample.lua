-- A small, deterministic policy for the install test (tests/install/run.sh):
-- jitter is off so every delay is exact, and each of the sample host's events
-- (samples/host/host.c) meets exactly one rule.
policy {
  name = "install-sample",
  version = "1.0.0",
  default_locale = "en",
}

category "unavailable" {
  severity = "error",
  retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 100, factor = 2,
                     max_delay_ms = 10000, jitter = "none", max_attempts = 4 },
}

category "resource_exhausted.rate_limited" {
  severity = "warning",
  retryable = true,
  recovery = retry { backoff = "constant", base_ms = 500, jitter = "none",
                     max_attempts = 5, honor_retry_after = true },
}

rule "http-503" {
  when = { domain = "http", code = 503 },
  category = "unavailable",
}

rule "connection-refused" {
  when = { message = re[[(?i)connection refused|ECONNREFUSED]] },
  category = "unavailable.connection_refused",
}

rule "http-429" {
  when = { domain = "http", code = 429 },
  category = "resource_exhausted.rate_limited",
}

messages "en" {
  unavailable = "The service is temporarily unavailable. Please try again in a moment.",
  ["resource_exhausted.rate_limited"] = "Too many requests. Please slow down.",
  unknown = "Something went wrong.",
}

example "a refused connection is retried" {
  event  = { message = "connect ECONNREFUSED 127.0.0.1:5432" },
  expect = { category = "unavailable.connection_refused", action = "retry",
             rule = "connection-refused" },
}

example "a 503 is retried after 100 ms" {
  event  = { domain = "http", code = 503, message = "Service Unavailable" },
  expect = { category = "unavailable", action = "retry", delay_ms = 100 },
}
