rule "http-503" {
  when = { domain = "http", code = 503 },
  category = "unavailable",
}

rule "http-429" {
  when = { domain = "http", code = 429 },
  category = "resource_exhausted.rate_limited",
}

rule "http-404" {
  when = { domain = "http", code = 404 },
  category = "not_found",
}

rule "connection-refused" {
  when = { message = re[[(?i)connection refused|ECONNREFUSED]] },
  category = "unavailable.connection_refused",
}

rule "pg-unique" {
  when = { domain = "postgres", code = "23505", message = re[[Key \((?<field>\w+)\)]] },
  category = "already_exists",
  params = { constraint = "unique" },
}

rule "client-cancel" {
  when = { message = re[[(?i)cancel+ed by (the )?client]] },
  category = "cancelled",
}

rule "payments-fallback" {
  when = { op = "payments.charge", attempt = range(3, nil) },
  category = "unavailable",
  priority = 10,
  recovery = fallback({ status = "queued" }),
}
