example "a refused connection is retried" {
  event = { message = "connect ECONNREFUSED 127.0.0.1:5432" },
  expect = { category = "unavailable.connection_refused", action = "retry", delay_ms = 100 },
}

example "a french message falls back to the locale's unknown" {
  event = { domain = "http", code = 404 },
  locale = "fr",
  expect = { category = "not_found", action = "fail", locale = "fr", message_id = "unknown" },
}
