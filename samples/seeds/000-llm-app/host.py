#!/usr/bin/env python3
"""Seed 000, the LLM application: its main scenario end to end on faultline.

1. Generation over a local HTTP service standing in for Ollama, which answers
   503 ("model is loading"), then too slowly (a client timeout), then 200:
   the guarded call is retried with exponential backoff and succeeds.
   A second run against a service that only fails gives up after 4 attempts
   with the policy's user message.
2. Storage: real files under a quota.  save_data raises StorageFullError; the
   policy's handler cleans old data up, compresses the rotated logs and
   rotates the log (its effects are in the decision), and the batched retry
   succeeds.  A BackupError falls back to the fallback store.
3. Versions in SQLite: a RollbackError makes the host restore the backup and
   rebuild the cache concurrently; a CacheError bypasses the cache.
4. Fine-tuning: InsufficientMemoryError is retried with a halved batch size
   (256 -> 128 -> 64) and memory mapping on, passed as keyword arguments.
5. Performance log: every decision is written by a RotatingFileHandler.
"""
import builtins
import concurrent.futures
import json
import logging
import logging.handlers
import os
import shutil
import socket
import sqlite3
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faultline  # noqa: E402
from seedlib import ScriptedService, args, check, done  # noqa: E402


# ---- the document's exception classes ---------------------------------------
class GenerationError(Exception): pass
class OllamaError(GenerationError): pass
class TimeoutError(GenerationError): pass  # noqa: A001 (the document's name)
class BufferError(GenerationError): pass  # noqa: A001
class StorageError(Exception): pass
class StorageFullError(StorageError): pass
class BackupError(StorageError): pass
class VersionError(Exception): pass
class RollbackError(VersionError): pass
class CacheError(VersionError): pass
class ResourceError(Exception): pass
class InsufficientMemoryError(ResourceError): pass


A = args(__doc__)
WORK = A.work
# The storage handler compresses files in its thread: a CPU budget above the
# 10 ms default.
engine = faultline.Engine(A.policy, storage_roots=[WORK], cache_ttl_ms=60000, handler_budget_us=500_000)

os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
perf = logging.getLogger("seed000.perf")
perf.setLevel(logging.INFO)
perf.addHandler(logging.handlers.RotatingFileHandler(
    os.path.join(WORK, "logs", "perf.log"), maxBytes=10_000_000, backupCount=5, encoding="utf-8"))


def log_decision(d, **context):
    perf.info(json.dumps({"category": d.category, "action": d.action, "rule": d.rule,
                          "delay_ms": d.delay_ms, "params": d.params, "effects": d.effects, **context}))


# ---- 1. generation over the Ollama stand-in -----------------------------------
def make_generate(url):
    calls = []

    @engine.guard(op="generation")
    def generate(prompt):
        calls.append(time.monotonic())
        req = urllib.request.Request(url + "/api/generate", method="POST",
                                     data=json.dumps({"model": "llama3", "prompt": prompt}).encode(),
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=0.5) as r:
                return json.load(r)["response"]
        except urllib.error.HTTPError as e:
            raise OllamaError("HTTP %d from %s: %s" % (e.code, url, e.read().decode())) from None
        except builtins.TimeoutError:  # the answer came too late (socket.timeout)
            raise TimeoutError("generation took longer than 0.5 s") from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, socket.timeout):
                raise TimeoutError("generation took longer than 0.5 s") from None
            raise OllamaError("cannot reach Ollama: %s" % e.reason) from None
    return generate, calls


svc = ScriptedService({"/api/generate": [
    ("status", 503, {"error": "model is loading"}),
    ("slow", 1.2, {"response": "too late"}),
    ("status", 200, {"response": "Hello from the model"}),
]})
generate, calls = make_generate(svc.url)
text = generate("Say hello")
check(text == "Hello from the model", "generation succeeds on the third attempt", text)
check(svc.hits["/api/generate"] == 3, "the Ollama stand-in was called three times", svc.hits)
svc.close()

down = ScriptedService({"/api/generate": [("status", 500, {"error": "CUDA error"})]})
generate2, calls2 = make_generate(down.url)
try:
    generate2("Say hello")
    check(False, "a service that only fails must not succeed")
except faultline.Failure as f:
    check(f.category == "unavailable.ollama", "an always-failing Ollama ends unavailable.ollama", f.category)
    check(len(calls2) == 4, "after max_attempts = 4", len(calls2))
    check(f.decision.reason == "attempts_exhausted", "reason attempts_exhausted", f.decision.reason)
    check("Ollama" in f.message, "the user message names the service", f.message)
down.close()

# A refused connection (nothing listens) is an OllamaError too.
s = socket.socket()
s.bind(("127.0.0.1", 0))
closed_port = s.getsockname()[1]
s.close()
generate3, calls3 = make_generate("http://127.0.0.1:%d" % closed_port)
try:
    generate3("x")
    check(False, "nothing listens: the call cannot succeed")
except faultline.Failure as f:
    check(f.category == "unavailable.ollama" and len(calls3) == 4,
          "a refused connection is an OllamaError, retried 4 times", (f.category, len(calls3)))

# ---- 2. storage: StorageFullError on real files --------------------------------
DATA = os.path.join(WORK, "data")
LOGS = os.path.join(WORK, "logs")
os.makedirs(DATA, exist_ok=True)
two_days_ago = time.time() - 2 * 86400
for i in range(5):
    p = os.path.join(DATA, "chat-%d.old" % i)
    with open(p, "wb") as f:
        f.write(os.urandom(200_000))
    os.utime(p, (two_days_ago, two_days_ago))
with open(os.path.join(LOGS, "app.log.1"), "w") as f:
    f.write("2024-01-01 INFO generation ok batch_size=32\n" * 8000)  # ~350 kB, compresses well
with open(os.path.join(LOGS, "app.log"), "w") as f:
    f.write("2024-01-02 INFO started\n")
QUOTA = 1_400_000  # bytes the application may use under WORK/data + WORK/logs


def used():
    return sum(os.path.getsize(os.path.join(dp, n)) for top in (DATA, LOGS)
               for dp, _, ns in os.walk(top) for n in ns)


def save_data(payload, batched=False):
    if used() + len(payload) > QUOTA:
        raise StorageFullError("%d bytes free, %d needed" % (QUOTA - used(), len(payload)))
    with open(os.path.join(DATA, "history.bin"), "wb") as f:
        step = 64 * 1024 if batched else len(payload)
        for i in range(0, len(payload), step):
            f.write(payload[i:i + step])


payload = os.urandom(300_000)
before = used()
attempt, params = 1, {}
while True:
    try:
        save_data(payload, **params)
        break
    except StorageFullError as e:
        d = engine.decide(e, op="storage.save", attempt=attempt)
        log_decision(d, used_bytes=used())
        check(d.action == "retry", "StorageFullError -> retry (attempt %d)" % attempt, d.action)
        acts = {x["action"]: x for x in (d.effects or [])}
        check({"storage.cleanup", "storage.compress", "storage.rotate"} <= set(acts),
              "the handler ran cleanup, compression and rotation", d.effects)
        check(acts["storage.cleanup"]["files"] == 5, "cleanup removed the 5 old files", acts["storage.cleanup"])
        check(d.params["batched"] is True and d.params["freed_bytes"] > 1_000_000,
              "the retry is batched and reports the bytes freed", d.params)
        params = {"batched": d.params["batched"]}
        attempt += 1
        check(attempt <= 2, "one recovery is enough")
check(os.path.getsize(os.path.join(DATA, "history.bin")) == len(payload), "the data was saved on the retry")
check(not [n for n in os.listdir(DATA) if n.endswith(".old")], "no old data left")
check(os.path.exists(os.path.join(LOGS, "app.log.2.zst")), "the old log was compressed and rotated",
      sorted(os.listdir(LOGS)))
check(used() < before, "storage use went down", (before, used()))


def backup(path, target_dir):
    if not os.path.isdir(target_dir):
        raise BackupError("backup target %s is not mounted" % target_dir)
    shutil.copy(path, target_dir)


try:
    backup(os.path.join(DATA, "history.bin"), os.path.join(WORK, "mnt", "backup"))
except BackupError as e:
    d = engine.decide(e, op="storage.backup")
    log_decision(d)
    check(d.action == "fallback" and d.fallback == {"store": "fallback"}, "BackupError -> fallback store", d.fallback)
    fb = os.path.join(WORK, d.fallback["store"])
    os.makedirs(fb, exist_ok=True)
    shutil.copy(os.path.join(DATA, "history.bin"), fb)
    check(os.path.exists(os.path.join(fb, "history.bin")), "the backup went to the fallback store")
    check(d.message.startswith("The backup failed"), "the user message", d.message)

# ---- 3. versions in SQLite -------------------------------------------------------
DB = os.path.join(WORK, "versions.db")
db = sqlite3.connect(DB)
db.executescript("CREATE TABLE versions(id INTEGER PRIMARY KEY, model TEXT);"
                 "CREATE TABLE version_cache(id INTEGER PRIMARY KEY, model TEXT);"
                 "INSERT INTO versions VALUES (1,'base'),(2,'tuned-a'),(3,'tuned-b');")
db.commit()
db.close()
shutil.copy(DB, DB + ".bak")


def update_version(target):
    db = sqlite3.connect(DB)
    try:
        db.execute("DELETE FROM versions WHERE id > ?", (target,))  # a rollback half done ...
        db.commit()
        raise RollbackError("version %d: weights file missing" % target)  # ... and failed
    finally:
        db.close()


def restore_backup():
    shutil.copy(DB + ".bak", DB)
    return "restored"


def rebuild_cache():
    time.sleep(0.05)  # let the restore land first: the document gathers both
    db = sqlite3.connect(DB)
    db.execute("DELETE FROM version_cache")
    db.execute("INSERT INTO version_cache SELECT id, model FROM versions")
    db.commit()
    db.close()
    return "rebuilt"


try:
    update_version(1)
except RollbackError as e:
    d = engine.decide(e, op="versions.update")
    log_decision(d)
    check(d.severity == "critical" and d.action == "fallback", "RollbackError -> critical, recover", d.action)
    steps = {"restore_backup": restore_backup, "rebuild_cache": rebuild_cache}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda n: steps[n](), d.fallback["recover"]))
    check(results == ["restored", "rebuilt"], "backup restored and cache rebuilt concurrently", results)
db = sqlite3.connect(DB)
n_versions = db.execute("SELECT count(*) FROM versions").fetchone()[0]
n_cache = db.execute("SELECT count(*) FROM version_cache").fetchone()[0]
db.close()
check(n_versions == 3 and n_cache == 3, "the versions and their cache are whole again", (n_versions, n_cache))


def cached_version(vid, cache_up=False):
    if not cache_up:
        raise CacheError("version cache unreachable")


try:
    cached_version(2)
except CacheError as e:
    d = engine.decide(e, op="versions.get")
    check(d.action == "fallback" and d.fallback == {"bypass_cache": True}, "CacheError -> bypass the cache",
          d.fallback)
    db = sqlite3.connect(DB)
    model = db.execute("SELECT model FROM versions WHERE id = 2").fetchone()[0]
    db.close()
    check(model == "tuned-a", "read from the database directly", model)

# ---- 4. fine-tuning under memory pressure ---------------------------------------
batches = []


@engine.guard(op="finetune.train")
def train_model(batch_size=256, use_memory_mapping=False, **_):
    batches.append((batch_size, use_memory_mapping))
    need_mib = batch_size * 48
    if need_mib > 3200:  # the host's memory allows 64 x 48 MiB
        raise InsufficientMemoryError("batch_size=%d needs %d MiB" % (batch_size, need_mib))
    return "trained with batch_size=%d" % batch_size


res = train_model()
check(res == "trained with batch_size=64", "training succeeds once the batch fits", res)
check(batches == [(256, False), (128, True), (64, True)], "the batch size was halved each retry, mmap on",
      batches)

# ---- 5. the performance log --------------------------------------------------------
perf.handlers[0].flush()
with open(os.path.join(LOGS, "perf.log")) as f:
    lines = [json.loads(x) for x in f]
check(len(lines) >= 3 and {x["category"] for x in lines} >= {"resource_exhausted.storage_full", "aborted.rollback"},
      "decisions were logged to the rotating performance log", len(lines))
engine.close()
done("seed 000 (LLM application)")
