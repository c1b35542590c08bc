-- Rules, most specific classes first (subclasses before their bases).

-- ---- 1. Generation errors ----------------------------------------------------
rule "ollama-error" {
  when = { code = exc("OllamaError") },
  category = "unavailable.ollama",
}
rule "generation-timeout" {
  when = { code = exc("TimeoutError") },
  category = "deadline_exceeded.generation",
}
-- Buffer failures: "memory-efficient degradation" -- retry with half the
-- buffer ("BufferError: buffer of 65536 bytes overflowed").
rule "generation-buffer" {
  when = { code = exc("BufferError"), message = re[[(?<bytes>\d+) bytes]] },
  category = "resource_exhausted.buffer",
  handler = function(ev, d)
    local bytes = tonumber(ev.captures.bytes) or 65536
    local half = math.floor(bytes / 2)
    if half < 1024 then return { action = "fail" } end
    return { action = "retry", delay_ms = 0, params = { buffer_bytes = half } }
  end,
}
rule "generation-other" {
  when = { code = exc("GenerationError") },
  category = "internal.generation",
}

-- ---- 2. Storage errors -----------------------------------------------------------
-- StorageFullError / InsufficientDiskError: cleanup of old data and
-- compression of the logs (the document runs both concurrently), rotation of
-- the performance log, then retry "with batching".  With no storage roots
-- configured (faultline test) the actions are skipped and the decision is
-- the same retry; a host that configures its data directory gets the
-- actions' outcomes in the decision's `effects`.
rule "storage-full" {
  when = { code = exc("StorageFullError", "InsufficientDiskError") },
  category = "resource_exhausted.storage_full",
  severity = "critical",
  handler = function(ev, d)
    local freed = 0
    if fl and fl.storage then
      local c = fl.storage.cleanup { dir = "data", pattern = "*.old", older_than_s = 86400 }
      local z = fl.storage.compress { path = "logs", pattern = "*.log.[0-9]" }
      fl.storage.rotate { path = "logs/app.log", keep = 5, min_bytes = 1 }
      freed = (c.ok and c.bytes_freed or 0) + (z.ok and z.bytes_freed or 0)
    end
    return { action = "retry", delay_ms = 0, params = { batched = true, freed_bytes = freed } }
  end,
}
-- BackupError: log and use the fallback store.
rule "backup-failed" {
  when = { code = exc("BackupError") },
  category = "unavailable.backup",
  recovery = fallback { store = "fallback" },
}
rule "compression-failed" {
  when = { code = exc("CompressionError") },
  category = "internal.compression",
}
rule "batch-processing" {
  when = { code = exc("BatchProcessingError") },
  category = "aborted.batch",
}

-- ---- 3. Version management errors -----------------------------------------------
-- RollbackError: restore the backup and rebuild the cache (concurrently, in
-- the host), then carry on with the restored version.
rule "rollback-failed" {
  when = { code = exc("RollbackError") },
  category = "aborted.rollback",
  recovery = fallback { recover = { "restore_backup", "rebuild_cache" } },
}
rule "version-validation" {
  when = { code = exc("ValidationError") },
  category = "failed_precondition.version",
}
-- A cache failure must not fail the operation: bypass the cache.
rule "version-cache" {
  when = { code = exc("CacheError") },
  category = "unavailable.cache",
  recovery = fallback { bypass_cache = true },
}

-- ---- 4. Fine-tuning errors -----------------------------------------------------
rule "training-data" {
  when = { code = exc("TrainingDataError") },
  category = "invalid_argument.training_data",
}
rule "memory-mapping" {
  when = { code = exc("MemoryMappingError") },
  category = "resource_exhausted.memory",
  params = { use_memory_mapping = false },
}

-- ---- 5. System resources -------------------------------------------------------
-- InsufficientMemoryError: free memory and retry with the optimal (halved)
-- batch size and memory mapping on.  The batch size is read from the
-- message ("InsufficientMemoryError: batch_size=256 needs 3.0 GiB").
rule "insufficient-memory" {
  when = { code = exc("InsufficientMemoryError") },
  category = "resource_exhausted.memory",
  handler = function(ev, d)
    local batch = tonumber(ev.message:match("batch_size=(%d+)")) or 32
    local half = math.floor(batch / 2)
    if half < 1 then return { action = "fail" } end
    local p = { batch_size = half, use_memory_mapping = true }
    -- the document's check_resources(): a cached reading (cache_ttl_ms)
    if fl and fl.resource then
      local m = fl.resource.memory()
      if m then p.memory_available_pct = math.floor(m.available_pct) end
    end
    return { action = "retry", delay_ms = 0, params = p }
  end,
}
rule "cpu-throttling" {
  when = { code = exc("CPUThrottlingError") },
  category = "resource_exhausted.cpu",
}
rule "concurrency" {
  when = { code = exc("ConcurrencyError") },
  category = "aborted.concurrency",
}
rule "resource-other" {
  when = { code = exc("ResourceError", "FineTuningError", "StorageError", "VersionError") },
  category = "internal",
}

messages "en" {
  unavailable = "The language model is not answering right now; retrying.",
  ["unavailable.ollama"] = "The Ollama service is unavailable; retrying in {delay_s} s.",
  ["unavailable.backup"] = "The backup failed; your data was saved to the fallback store.",
  ["unavailable.cache"] = "The version cache is unavailable; working without it.",
  deadline_exceeded = "The model took too long to answer; retrying.",
  resource_exhausted = "The system is short of resources; retrying with less.",
  ["resource_exhausted.storage_full"] = "Storage was full; old data was cleaned up and the save is retried.",
  ["resource_exhausted.memory"] = "Not enough memory; retrying with a smaller batch.",
  ["resource_exhausted.cpu"] = "The CPU is throttled; the work will resume shortly.",
  aborted = "The operation was interrupted; retrying.",
  ["aborted.rollback"] = "The version rollback failed; the backup is being restored.",
  failed_precondition = "This version did not pass validation.",
  invalid_argument = "The training data is not valid.",
  internal = "Something went wrong on our side.",
  unknown = "Something went wrong.",
}

example "a refused Ollama call is retried" {
  event = { domain = "python", code = "llm.OllamaError", message = "OllamaError: HTTP 503 model is loading" },
  expect = { category = "unavailable.ollama", action = "retry", rule = "ollama-error" },
}
