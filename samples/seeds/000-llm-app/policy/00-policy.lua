-- samples/seeds/000-llm-app: the error handling of an LLM application
-- (generation over Ollama, fine-tuning, chat history, storage, versions).
-- Events are Python exceptions as the faultline package sends them:
-- domain "python", code = the exception's qualified class ("llm.OllamaError"),
-- message = "OllamaError: <str(exc)>".

policy {
  name = "seed-000-llm-app",
  version = "1.0.0",
  default_locale = "en",
}

-- A code condition for one or more exception classes, whatever module they
-- live in: exc("OllamaError") matches "OllamaError" and "llm.OllamaError".
function exc(...)
  return re("(?:^|\\.)(?:" .. table.concat({ ... }, "|") .. ")$")
end

-- "Adaptive retry with exponential backoff" for generation.
category "unavailable" {
  severity = "error", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 100, factor = 2, max_delay_ms = 2000,
                     jitter = "full", max_attempts = 4, budget_ms = 15000 },
}
category "deadline_exceeded" {
  severity = "warning", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 100, max_delay_ms = 2000,
                     jitter = "full", max_attempts = 3 },
}
category "resource_exhausted" { severity = "error", retryable = true,
  recovery = retry { backoff = "constant", base_ms = 0, jitter = "none", max_attempts = 4 } }
category "resource_exhausted.cpu" { severity = "warning", retryable = true,
  recovery = retry { backoff = "linear", base_ms = 250, max_delay_ms = 2000, jitter = "none", max_attempts = 4 } }
category "aborted" { severity = "warning", retryable = true,
  recovery = retry { backoff = "exponential", base_ms = 50, jitter = "none", max_attempts = 3 } }
category "aborted.rollback" { severity = "critical", retryable = false }
category "unavailable.backup" { severity = "error", retryable = false }
category "unavailable.cache" { severity = "warning", retryable = false }
category "failed_precondition" { severity = "error", retryable = false, recovery = fail() }
category "invalid_argument" { severity = "error", retryable = false, recovery = fail() }
category "internal" { severity = "critical", retryable = false, recovery = fail() }
