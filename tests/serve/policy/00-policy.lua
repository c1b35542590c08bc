-- A small policy for the `faultline serve` tests: fixed delays (no jitter),
-- two locales, every kind of resilience object, and a handler that fails so
-- the safe decision can be checked over HTTP.
policy { name = "serve-test", version = "1", default_locale = "en" }

category "unavailable" {
  severity = "error", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 250, jitter = "none", max_attempts = 3 },
}
category "not_found" { severity = "info", recovery = fail() }
category "failed_precondition" { severity = "warning", recovery = fallback({ status = "queued" }) }

breaker "upstream" { key = "{tags.service}", failure_rate = 0.5, min_calls = 2, open_ms = 60000 }
limiter "search" { rate = 1, burst = 1 }
bulkhead "reports" { max_concurrent = 1 }
retry_budget "default" { ratio = 0.2, min_retries = 10, window_ms = 10000 }

rule "refused" {
  when = { message = re[[(?i)connection refused|ECONNREFUSED]] },
  category = "unavailable.connection_refused",
}
rule "http-404" { when = { domain = "http", code = 404 }, category = "not_found" }
rule "queue-it" { when = { op = "reports.build" }, category = "failed_precondition" }
rule "cached-profile" {
  when = { op = "profile.get" },
  category = "unavailable",
  recovery = cache { key = "{op}:{tags.user}", max_stale_ms = 600000 },
}
rule "broken-handler" {
  when = { op = "broken" },
  category = "unavailable",
  handler = function(ev, d) error("handler bug") end,
}

messages "en" {
  unknown = "Something went wrong.",
  unavailable = "The service is temporarily unavailable.",
  not_found = "We could not find it.",
}
messages "fr" {
  unknown = "Une erreur est survenue.",
  unavailable = "Le service est momentanément indisponible.",
}

example "refused is retried" {
  event = { message = "connect: connection refused" },
  expect = { category = "unavailable.connection_refused", action = "retry", delay_ms = 250 },
}
