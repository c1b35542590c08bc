-- ErrorMessageProvider.ERROR_TEMPLATES, keyed by category and code.
messages "en" {
  -- validation
  ["invalid_argument.project_name_required"] = "Please provide a project name",
  ["invalid_argument.project_name_too_short"] = "Project name must be at least 3 characters",
  ["invalid_argument.invalid_characters"] = "Project name contains invalid characters. Use letters, numbers, and hyphens only",
  invalid_argument = "Please check the value of {tags.field|your input}",
  -- system
  ["unavailable.port_unavailable"] = "No available ports found. Please try again in a moment",
  ["resource_exhausted.disk_space_low"] = "Insufficient disk space to create application",
  permission_denied = "Permission denied. Please check file permissions",
  -- integration
  ["unavailable.connection_failed"] = "Unable to connect to data source. Please check your connection",
  ["unauthenticated.authentication_failed"] = "Authentication failed. Please check your credentials",
  ["deadline_exceeded.timeout"] = "Request timed out. The service may be slow, please try again",
  ["unavailable.external_api"] = "Unable to connect to data source. Please check your connection",
  ["unavailable.circuit_open"] = "The data source is failing repeatedly; calls are paused for a minute",
  -- general
  unknown = "An error occurred",
  internal = "An error occurred",
}

example "a short project name gets its template" {
  event = { domain = "python", code = "ValidationError", message = "ValidationError: Project name must be at least 3 characters" },
  expect = { category = "invalid_argument.project_name_too_short", action = "fail",
             message = "Project name must be at least 3 characters" },
}
