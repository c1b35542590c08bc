-- Examples: run at every load; a failing one refuses the load.
example "a refused connection is retried" {
  event  = { message = "connect ECONNREFUSED 127.0.0.1:5432" },
  expect = { category = "unavailable.connection_refused", action = "retry", retryable = true },
}
example "HTTP 429 is rate limiting" {
  event  = { domain = "http", code = 429, message = "Too Many Requests" },
  expect = { category = "resource_exhausted.rate_limited", action = "retry", rule = "http-429" },
}
example "a PostgreSQL serialization failure is retried" {
  event  = { domain = "postgres", code = "40001", message = "could not serialize access due to concurrent update" },
  expect = { category = "aborted.serialization", action = "retry" },
}
example "a unique violation is not retried" {
  event  = { message = "sqlite3.IntegrityError: UNIQUE constraint failed: users.email" },
  expect = { category = "already_exists", action = "fail", retryable = false },
}
example "a full disk is critical and not retried" {
  event  = { domain = "posix", code = "ENOSPC", message = "write /var/lib/app/data: no space left on device" },
  expect = { category = "resource_exhausted.storage_full", severity = "critical", action = "fail" },
}
example "curl's error 22 is classified by its HTTP status" {
  event  = { domain = "curl", code = 22, message = "The requested URL returned error: 503" },
  expect = { category = "unavailable", action = "retry" },
}
example "messages are localised" {
  event  = { message = "dial tcp: lookup db.internal: no such host" },
  locale = "de",
  expect = { category = "unavailable.dns", message_id = "unavailable.dns" },
}
