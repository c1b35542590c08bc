-- "All exceptions automatically generate user-friendly error messages."
messages "en" {
  unauthenticated = "Please sign in again.",
  permission_denied = "You do not have permission to do that.",
  invalid_argument = "Invalid {tags.field|input}: please check the value and try again.",
  not_found = "The requested {tags.resource_type|resource} was not found.",
  already_exists = "That {tags.resource_type|resource} already exists or was changed meanwhile.",
  ["resource_exhausted.rate_limit"] = "Too many requests. Please wait {delay_s|a moment} seconds and try again.",
  ["unavailable.external_service"] = "An external service is not responding. Please try again later.",
  ["unavailable.database"] = "The database is temporarily unavailable. Please try again.",
  ["unavailable.network"] = "A network problem occurred. Please try again.",
  ["unavailable.cache"] = "The cache is unavailable; data is served from the database.",
  ["unavailable.circuit_open"] = "The AI service is failing; requests are paused for a minute.",
  deadline_exceeded = "The operation timed out. Please try again.",
  internal = "An internal error occurred. Our team has been notified.",
  unknown = "An internal error occurred. Our team has been notified.",
}

example "NotFoundError gives the document's user message" {
  event = { domain = "python", code = "app.core.exceptions.NotFoundError", message = "NotFoundError: User not found",
            tags = { resource_type = "user" } },
  expect = { category = "not_found", severity = "info", retryable = false, action = "fail",
             message = "The requested user was not found." },
}
