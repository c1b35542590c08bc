-- samples/pipeline/policy/10-rules.lua
-- Rules and handlers.  Handlers call the `fl` module (docs/bindings.md):
--   fl.storage.cleanup / fl.storage.compress  free disk inside the work dir
--   fl.resource.memory                         how tight memory really is
-- and answer "retry" with new `params` for the next attempt.

-- Where the job keeps logs it can afford to lose (relative to the work dir).
local SPOOL = "spool"

-- Storage full: remove old logs and keep the rest under a budget, compress
-- what is left, then retry at once if anything was freed.
local function free_disk(ev, d)
  local cleaned = fl.storage.cleanup {
    dir = SPOOL, pattern = "*.log", older_than_s = 3600, max_bytes = 256 * 1024,
  }
  local packed = fl.storage.compress { path = SPOOL, pattern = "*.log" }
  local freed = (cleaned.ok and cleaned.bytes_freed or 0)
              + (packed.ok and packed.bytes_freed or 0)
  if freed > 0 then
    return { action = "retry", delay_ms = 0,
             params = { freed_bytes = freed, files_removed = cleaned.files,
                        files_compressed = packed.files } }
  end
  -- nothing left to free: retrying would only fail again
  return { action = "fail", message_id = "resource_exhausted.storage_full.exhausted" }
end

-- Memory pressure: halve the batch (quarter it when the container is nearly
-- at its limit), never below 1.
local function shrink_batch(ev, d)
  local batch = tonumber(ev.tags and ev.tags.batch_size) or 1024
  local divisor = 2
  local m = fl.resource.memory()
  if m and m.in_cgroup and m.cgroup_used_pct > 95 then divisor = 4 end
  local smaller = math.max(1, math.floor(batch / divisor))
  if smaller == batch then
    return { action = "fail" }
  end
  return { action = "retry", delay_ms = 0, params = { batch_size = smaller } }
end

rule "storage-full" {
  when = { message = re[[(?i)no space left on device|ENOSPC|disk quota exceeded]] },
  category = "resource_exhausted.storage_full",
  handler = free_disk,
}

rule "memory-pressure" {
  when = { message = re[[(?i)cannot allocate memory|out of memory|ENOMEM]] },
  category = "resource_exhausted.memory",
  handler = shrink_batch,
}

rule "bad-record" {
  when = { message = re[[(?i)malformed record]] },
  category = "invalid_argument",
}

messages "en" {
  resource_exhausted = "The job ran short of resources; it will try again.",
  ["resource_exhausted.storage_full"] = "The disk was full; space was freed and the step is retried.",
  ["resource_exhausted.storage_full.exhausted"] = "The disk is full and nothing more can be freed.",
  ["resource_exhausted.memory"] = "Memory was short; the step is retried with smaller batches.",
  invalid_argument = "A record could not be read and was rejected.",
}

-- Examples run at every load; the handler rules are exercised by the sample
-- itself (examples would run their storage actions at load time).
example "a malformed record is not retried" {
  event  = { message = "malformed record at offset 1234" },
  expect = { category = "invalid_argument", action = "fail", rule = "bad-record" },
}
