-- The registry of recovery strategies (register_recovery_strategy).

-- 'OllamaConnectionError' -> ollama_connection_recovery: restart the Ollama
-- service.  The restart is the host's (it owns the process); the policy asks
-- for it in `params` and retries once the service is back.
rule "ollama-connection" {
  when = { code = exc("OllamaConnectionError") },
  category = "unavailable.ollama",
  params = { recovery = "restart_ollama_service" },
}

-- 'AIGenerationError' -> ai_generation_fallback: a default text.  The
-- handler also records where the generation failed (the innermost frame of
-- the traceback the package sends), the document's source_module.
rule "ai-generation" {
  when = { code = exc("AIGenerationError") },
  category = "internal.generation",
  severity = "warning",
  handler = function(ev)
    local where
    for f in string.gmatch(ev.stack or "", 'in ([%w_]+)') do where = f end
    return {
      action = "fallback",
      fallback = { fallback_text = "I apologize, but I'm currently unable to generate a response." },
      params = { recovery = "ai_generation_fallback", source_function = where or "?" },
    }
  end,
}

-- Error types with no strategy: classified and given a severity, not
-- recovered.
rule "memory" {
  when = { code = exc("MemoryError") },
  category = "resource_exhausted.memory",
}
rule "bad-input" {
  when = { code = exc("ValueError", "TypeError", "KeyError") },
  category = "invalid_argument",
}
rule "cancelled" {
  when = { code = exc("CancelledError", "KeyboardInterrupt") },
  category = "cancelled",
}
rule "debug-note" {
  when = { code = exc("DeprecationWarning", "UserWarning") },
  category = "cancelled.note",
  severity = "debug",
}

messages "en" {
  unavailable = "The AI service is restarting; your request is being retried.",
  ["internal.generation"] = "I apologize, but I'm currently unable to generate a response.",
  resource_exhausted = "LlamaKeeper ran out of memory.",
  invalid_argument = "That request was not valid.",
  cancelled = "The operation was cancelled.",
  unknown = "No recovery strategy available.",
}

example "an Ollama connection error restarts the service" {
  event = { domain = "python", code = "OllamaConnectionError", message = "OllamaConnectionError: connection refused" },
  expect = { category = "unavailable.ollama", action = "retry", severity = "error" },
}
