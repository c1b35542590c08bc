-- ---- the circuit breaker refusing a call (the guard's admission) --------------
rule "circuit-open" {
  when = { code = "faultline.Refused" },
  category = "unavailable.circuit_open",
  priority = 100,
}

-- ---- SystemError: critical, by what the message says -----------------------
rule "system-port" {
  when = { code = exc("SystemError"), message = re[[(?i)\bports?\b]] },
  category = "unavailable.port_unavailable",
}
rule "system-disk" {
  when = { code = exc("SystemError"), message = re[[(?i)disk]] },
  category = "resource_exhausted.disk_space_low",
}
rule "system-permission" {
  when = { code = exc("SystemError"), message = re[[(?i)permission]] },
  category = "permission_denied",
}
rule "system-other" {
  when = { code = exc("SystemError") },
  category = "internal.system",
}

-- ---- ValidationError: user input, never retried ---------------------------------
rule "validation-name-required" {
  when = { code = exc("ValidationError"), message = re[[(?i)project name is required]] },
  category = "invalid_argument.project_name_required",
}
rule "validation-name-short" {
  when = { code = exc("ValidationError"), message = re[[(?i)too short|at least \d+ characters]] },
  category = "invalid_argument.project_name_too_short",
}
rule "validation-characters" {
  when = { code = exc("ValidationError"), message = re[[(?i)invalid characters]] },
  category = "invalid_argument.invalid_characters",
}
rule "validation-other" {
  when = { code = exc("ValidationError") },
  category = "invalid_argument",
}

-- ---- IntegrationError: external systems ---------------------------------------
-- call_external_api goes through the circuit breaker only (no retry): the
-- guard's breaker counts the failure, the policy fails the call.
rule "external-api" {
  when = { op = "external_api.call", code = exc("IntegrationError") },
  category = "unavailable.external_api",
}
rule "integration-auth" {
  when = { code = exc("IntegrationError"), message = re[[(?i)authenticat|credential|\b401\b]] },
  category = "unauthenticated.authentication_failed",
}
rule "integration-timeout" {
  when = { code = exc("IntegrationError", "TimeoutError"), message = re[[(?i)timed? ?out|TimeoutError]] },
  category = "deadline_exceeded.timeout",
}
-- The decorator retries ConnectionError and TimeoutError; the package sends
-- OSErrors with an errno as domain posix.
rule "integration-connection" {
  when = { code = exc("IntegrationError", "ConnectionError") },
  category = "unavailable.connection_failed",
}
rule "posix-connection" {
  when = { domain = "posix", code = { "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ETIMEDOUT" } },
  category = "unavailable.connection_failed",
}
