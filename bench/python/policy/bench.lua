-- Policy for bench/python: connection refusals are retried at once (zero
-- delay, no jitter), like tenacity's wait_none() in the same benchmark.
policy { name = "bench-python", version = "1.0.0" }
category "unavailable" {
  severity = "error", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 3 },
}
breaker "upstream" { failure_rate = 0.5, min_calls = 1000000 }
rule "refused" { when = { code = "ECONNREFUSED" }, category = "unavailable.connection_refused" }
messages "en" { unavailable = "The service is temporarily unavailable." }
