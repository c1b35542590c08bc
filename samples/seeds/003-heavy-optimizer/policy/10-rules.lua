-- ---- notifications (op notify.send) ---------------------------------------------
-- A notification the limiter refuses is dropped, not an error of the job.
rule "notify-rate-limited" {
  when = { op = "notify.send", code = "faultline.Refused" },
  category = "resource_exhausted.notifications",
  severity = "info",
  recovery = ignore(),
  priority = 100,
}
-- A failing webhook or SMTP server: one more try, then "Failed to send".
rule "notify-failed" {
  when = { op = "notify.send" },
  category = "unavailable.notifier",
  severity = "warning",
  recovery = retry { backoff = "constant", base_ms = 50, jitter = "none", max_attempts = 2 },
  priority = 90,
}

-- ---- job timeout: to failed/, checkpoint kept and reported ----------------------
rule "job-timeout" {
  when = { code = exc("JobTimeoutError") },
  category = "deadline_exceeded.job_timeout",
  handler = function(ev, d)
    local job = ev.tags and ev.tags.job_id
    local p = { move_to = "failed", notify = "critical" }
    if job and fl and fl.checkpoint then
      local cp = fl.checkpoint.load(job)
      if cp then
        p.checkpoint_seq = cp.seq
        p.checkpoint_stage = cp.stage
      end
    end
    return { action = "fail", params = p }
  end,
}
-- a stuck job (no progress for stuck_job_threshold) is the same
rule "job-stuck" {
  when = { code = exc("JobStuckError") },
  category = "deadline_exceeded.job_stuck",
  params = { move_to = "failed", notify = "critical" },
}

-- ---- memory: free memory, reduce the batch, emergency checkpoint ---------------
rule "memory-error" {
  when = { code = exc("MemoryError") },
  category = "resource_exhausted.memory",
  handler = function(ev, d)
    local tags = ev.tags or {}
    local batch = tonumber(tags.batch_size) or 1000
    local half = math.floor(batch / 2)
    if half < 1 then return { action = "fail", params = { notify = "critical" } } end
    local p = { gc = true, batch_size = half }
    if tags.job_id and fl and fl.checkpoint then
      p.emergency_checkpoint = fl.checkpoint.save(tags.job_id, "emergency",
                                                  "batch_size=" .. batch .. " stage=" .. (tags.stage or "?"))
    end
    return { action = "retry", delay_ms = 0, params = p }
  end,
}

-- ---- network errors: @retry_on_network_error(max_attempts=5) -------------------
rule "network-python" {
  when = { code = exc("NetworkError", "ConnectionError", "URLError", "RemoteDisconnected") },
  category = "unavailable.network",
  params = { notify = "critical" },
}
rule "network-posix" {
  when = { domain = "posix", code = { "ECONNREFUSED", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT" } },
  category = "unavailable.network",
  params = { notify = "critical" },
}
rule "network-http" {
  when = { domain = "http", code = range(500, 599) },
  category = "unavailable.network",
  params = { notify = "critical" },
}

-- ---- database errors -------------------------------------------------------------
rule "database-locked" {
  when = { message = re[[(?i)database is locked|database is busy|SQLITE_BUSY]] },
  category = "unavailable.database",
}

-- ---- bad input: not retried ---------------------------------------------------------
rule "missing-input" {
  when = { code = { "ENOENT", "FileNotFoundError" } },
  category = "not_found.input",
}
rule "bad-input" {
  when = { code = exc("ValueError", "InputValidationError") },
  category = "invalid_argument",
}

-- ---- everything else: the basic @retry(max_attempts=3, delay=1.0) ---------------
rule "basic-retry" {
  when = {},
  category = "aborted",
  priority = -100,
}

messages "en" {
  aborted = "The job step failed; it is retried (attempt {attempt}).",
  unavailable = "A remote service did not answer; retrying.",
  ["unavailable.notifier"] = "A notification could not be sent.",
  deadline_exceeded = "The job ran past its time limit and was moved to failed; its last checkpoint is kept.",
  resource_exhausted = "The job ran short of memory; it continues with smaller batches.",
  ["resource_exhausted.notifications"] = "Too many notifications; this one was dropped.",
  not_found = "The job's input file does not exist.",
  invalid_argument = "The job's input is not valid.",
}

example "a job timeout fails the job" {
  event = { domain = "python", code = "JobTimeoutError", message = "JobTimeoutError: job_1 ran 301 s",
            tags = { job_id = "job_1" } },
  expect = { category = "deadline_exceeded.job_timeout", action = "fail", severity = "critical" },
}
