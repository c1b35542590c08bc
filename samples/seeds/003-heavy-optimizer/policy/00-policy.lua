-- samples/seeds/003-heavy-optimizer: the Heavy Optimizer job processor.
-- Checkpoints (fl.checkpoint, SQLite in the host's data directory), retry
-- decorators (basic, network, database), job timeouts, memory recovery, and
-- the rate limits of e-mail and Slack notifications.

policy {
  name = "seed-003-heavy-optimizer",
  version = "1.0.0",
  default_locale = "en",
}

function exc(...)
  return re("(?:^|\\.)(?:" .. table.concat({ ... }, "|") .. ")$")
end

-- @retry(max_attempts=3, delay=1.0, backoff="exponential"): the basic decorator.
category "aborted" { severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 1000, factor = 2, jitter = "full", max_attempts = 3 } }
-- @retry_on_network_error(max_attempts=5): exponential backoff, 5 attempts,
-- a notification when all failed.
category "unavailable" { severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 100, factor = 2, max_delay_ms = 5000,
                     jitter = "full", max_attempts = 5 } }
-- the database decorator
category "unavailable.database" { severity = "error", retryable = true,
  recovery = retry { backoff = "linear", base_ms = 200, max_delay_ms = 2000, jitter = "none", max_attempts = 3 } }
category "deadline_exceeded" { severity = "critical", retryable = false, recovery = fail() }
category "resource_exhausted" { severity = "critical", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 4 } }
category "not_found" { severity = "error", retryable = false, recovery = fail() }
category "invalid_argument" { severity = "error", retryable = false, recovery = fail() }

-- "Rate limiting to prevent notification spam": per channel (email, slack),
-- 3 at once, then one a minute.
limiter "notify" { key = "{tags.channel}", rate = 0.0167, burst = 3 }

-- max_concurrent_jobs: 3
bulkhead "jobs" { max_concurrent = 3 }
