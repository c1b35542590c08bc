-- samples/pipeline/policy/00-policy.lua
-- The policy of the pipeline sample: a batch job that frees disk when storage
-- is full and shrinks its batches under memory pressure.  Storage paths in the
-- handlers are relative: they resolve inside the first storage root the host
-- configured (the job's work directory), and nothing outside it can be touched.
policy {
  name = "pipeline",
  version = "1.0.0",
  default_locale = "en",
}

category "resource_exhausted" {
  severity = "error",
  retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 50, max_delay_ms = 1000,
                     jitter = "none", max_attempts = 4 },
}

category "resource_exhausted.storage_full" {
  severity = "critical",
  retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 3 },
}

category "resource_exhausted.memory" {
  severity = "warning",
  retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 6 },
}

category "invalid_argument" {
  severity = "warning",
  retryable = false,
  recovery = fail(),
}
