-- The platform's own exceptions (app.core.exceptions) first, then what the
-- libraries raise (redis, sqlite3, urllib/httpx), then the breaker.

rule "circuit-open" {
  when = { code = "faultline.Refused" },
  category = "unavailable.circuit_open",
  priority = 100,
}

rule "authentication" { when = { code = exc("AuthenticationError") }, category = "unauthenticated" }
rule "authorization"  { when = { code = exc("AuthorizationError", "PermissionError") }, category = "permission_denied" }
rule "validation"     { when = { code = exc("ValidationError") }, category = "invalid_argument" }
rule "not-found"      { when = { code = exc("NotFoundError") }, category = "not_found" }
rule "conflict"       { when = { code = exc("ConflictError") }, category = "already_exists" }
rule "rate-limit"     { when = { code = exc("RateLimitError") }, category = "resource_exhausted.rate_limit" }
rule "external"       { when = { code = exc("ExternalServiceError") }, category = "unavailable.external_service" }
rule "database"       { when = { code = exc("DatabaseError") }, category = "unavailable.database" }
rule "network"        { when = { code = exc("NetworkError") }, category = "unavailable.network" }
rule "timeout"        { when = { code = exc("TimeoutError", "OperationTimeoutError") }, category = "deadline_exceeded" }
rule "internal"       { when = { code = exc("InternalError", "MusetError") }, category = "internal" }

-- Redis: the cache degrades to the database (cache-aside reads skip it,
-- write-through writes the database alone).
rule "redis" {
  when = { code = re[[^redis\.exceptions\.]] },
  category = "unavailable.cache",
}
-- SQLite, as the Python package reports it
rule "sqlite-busy" {
  when = { domain = "sqlite", code = { "SQLITE_BUSY", "SQLITE_LOCKED" } },
  category = "unavailable.database",
}
rule "sqlite-constraint" {
  when = { domain = "sqlite", code = re[[^SQLITE_CONSTRAINT]] },
  category = "already_exists",
}
-- HTTP from external services
rule "http-429" { when = { domain = "http", code = 429 }, category = "resource_exhausted.rate_limit" }
rule "http-401" { when = { domain = "http", code = 401 }, category = "unauthenticated" }
rule "http-403" { when = { domain = "http", code = 403 }, category = "permission_denied" }
rule "http-404" { when = { domain = "http", code = 404 }, category = "not_found" }
rule "http-5xx" { when = { domain = "http", code = range(500, 599) }, category = "unavailable.external_service" }
rule "posix-network" {
  when = { domain = "posix", code = { "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH" } },
  category = "unavailable.network",
}
