policy { name = "f", safe = { category = "internal", recovery = fail() } }
category "unavailable" { retryable = true, recovery = retry { base_ms = 50, max_attempts = 3 } }
rule "h" { when = { domain = "http", code = range(500, 599) }, category = "unavailable",
  handler = function(ev, d)
    local s = (ev.message or ""):gsub("%d+", "<n>")
    if ev.attempt > 1 then return { action = "fallback", fallback = { queued = true, n = #s } } end
    return { message = s:sub(1, 40), params = { tries = { 1, 2, 3 } } }
  end }
rule "re" { when = { message = re"(?i)(?<what>refused|reset)" }, category = "unavailable" }
messages "en" { unavailable = "Try later ({what|?})" }
example "e" { event = { domain = "http", code = 503 }, expect = { category = "unavailable" } }
