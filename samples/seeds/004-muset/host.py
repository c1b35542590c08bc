#!/usr/bin/env python3
"""Seed 004, Muset: user-friendly JSON errors, retries, a circuit breaker and
Redis caching (cache-aside, write-through, write-behind) on faultline.

A real redis-server (started on a free port in the work directory), SQLite
as the database, and a local HTTP server standing in for the AI service.

1. get_user: cache-aside (miss -> SQLite -> Redis with expire 300, then a
   hit); a missing user is the document's NotFoundError JSON.
2. Write-through with the database locked by another connection: retried
   with backoff until the lock goes; cache and database agree.
3. Write-behind: Redis first, the database write queued in a Redis list and
   flushed; a locked database delays the flush, it is retried.
4. Redis stopped: reads bypass the cache (the policy's fallback) and still
   answer from SQLite; the error is logged at MEDIUM.
5. The AI service: 503 once then 200 (retried); then always 503: the breaker
   opens after 5 failures and the next call does not reach the service; a
   429 with Retry-After waits that long.
6. Structured JSON logs with request context; error metrics in Prometheus
   text format (muset_errors_total{category,severity}).
"""
import atexit
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faultline  # noqa: E402
from seedlib import ScriptedService, args, check, done  # noqa: E402

A = args(__doc__)
WORK = A.work
engine = faultline.Engine(A.policy)

SEVERITY = {"debug": "low", "info": "low", "warning": "medium", "error": "high", "critical": "critical"}
CATEGORY = {"unauthenticated": "authentication", "permission_denied": "authorization",
            "invalid_argument": "validation", "not_found": "not_found", "already_exists": "conflict",
            "resource_exhausted": "rate_limit", "unavailable.external_service": "external_service",
            "unavailable.circuit_open": "external_service", "unavailable.database": "database",
            "unavailable.network": "network", "unavailable.cache": "internal",
            "deadline_exceeded": "timeout", "internal": "internal", "unknown": "internal"}


def muset_category(cat):
    while cat not in CATEGORY and "." in cat:
        cat = cat.rsplit(".", 1)[0]
    return CATEGORY.get(cat, "internal")


# ---- the platform's exceptions ----------------------------------------------------
class MusetError(Exception):
    def __init__(self, message, details=None, **kw):
        super().__init__(message)
        self.message, self.details = message, details or {}
        self.tags = {k: str(v) for k, v in kw.items()}


class NotFoundError(MusetError):
    def __init__(self, message, resource_type, details=None):
        super().__init__(message, details, resource_type=resource_type)


class ValidationError(MusetError):
    def __init__(self, message, field, details=None):
        super().__init__(message, details, field=field)


class DatabaseError(MusetError): pass
class ExternalServiceError(MusetError): pass


# ---- structured logs and metrics --------------------------------------------------
LOG = open(os.path.join(WORK, "app.log"), "a")
METRICS = {}
CONTEXT = threading.local()


def log(level, msg, **extra):
    LOG.write(json.dumps({"ts": time.time(), "level": level, "msg": msg,
                          **getattr(CONTEXT, "ctx", {}), **extra}) + "\n")
    LOG.flush()


def track_error(category, severity):
    k = (category, severity)
    METRICS[k] = METRICS.get(k, 0) + 1


def prometheus():
    return "".join('muset_errors_total{category="%s",severity="%s"} %d\n' % (c, s, n)
                   for (c, s), n in sorted(METRICS.items()))


def decide(exc, **kw):
    tags = dict(getattr(exc, "tags", {}) or {}, **kw.pop("tags", {}))
    d = engine.decide(exc, tags=tags, **kw)
    sev = SEVERITY[d.severity]
    track_error(muset_category(d.category), sev)
    log({"low": "INFO", "medium": "WARNING", "high": "ERROR", "critical": "CRITICAL"}[sev], "error",
        error=type(exc).__name__, category=d.category, action=d.action, decision_id=d.id)
    return d


def error_response(exc, d, path):
    """The document's user-friendly JSON error."""
    return d.problem["status"], {
        "error": type(exc).__name__, "message": d.message, "category": muset_category(d.category),
        "severity": SEVERITY[d.severity], "retryable": d.retryable,
        "details": getattr(exc, "details", {}), "path": path}


# ---- Redis and SQLite ------------------------------------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


RPORT = free_port()
rproc = subprocess.Popen(["redis-server", "--port", str(RPORT), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no", "--dir", WORK], stdout=subprocess.DEVNULL)
atexit.register(lambda: rproc.poll() is None and (rproc.terminate(), rproc.wait(5)))  # even after a failed check
cache = redis.Redis(host="127.0.0.1", port=RPORT, socket_timeout=1, socket_connect_timeout=1)
for _ in range(100):
    try:
        cache.ping()
        break
    except redis.exceptions.ConnectionError:
        time.sleep(0.05)
DB = os.path.join(WORK, "muset.db")
db = sqlite3.connect(DB, timeout=0, check_same_thread=False)
db.execute("CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT, email TEXT)")
db.execute("INSERT INTO users VALUES (1, 'Ada', 'ada@example.com')")
db.commit()
db_reads = [0]


def fetch_user_from_db(uid):
    db_reads[0] += 1
    row = db.execute("SELECT id, name, email FROM users WHERE id = ?", (uid,)).fetchone()
    if not row:
        raise NotFoundError("User not found", resource_type="user", details={"user_id": str(uid)})
    return {"id": row[0], "name": row[1], "email": row[2]}


def cache_aside(key, fetch, expire=300):
    try:
        hit = cache.get(key)
        if hit is not None:
            return json.loads(hit)
        value = fetch()
        cache.set(key, json.dumps(value), ex=expire)
        return value
    except redis.exceptions.RedisError as e:
        d = decide(e, op="cache.get")
        if d.action == "fallback" and d.fallback.get("cache") == "bypass":
            return fetch()
        raise


def retrying(op, fn):
    """retry_async / RetryStrategy: the policy decides whether and when."""
    attempt, start = 1, time.monotonic()
    while True:
        try:
            return fn()
        except Exception as e:
            d = decide(e, op=op, attempt=attempt, elapsed_ms=(time.monotonic() - start) * 1000)
            if d.action != "retry":
                raise
            time.sleep(d.delay_ms / 1000)
            attempt += 1


def get_user(uid):
    CONTEXT.ctx = {"request_id": "req-%d" % uid, "path": "/api/v1/users/%d" % uid}
    try:
        return 200, cache_aside("user:%d" % uid, lambda: fetch_user_from_db(uid))
    except MusetError as e:
        return error_response(e, decide(e, op="users.get"), CONTEXT.ctx["path"])


# 1. cache-aside and the NotFoundError JSON
check(get_user(1) == (200, {"id": 1, "name": "Ada", "email": "ada@example.com"}), "a miss reads the database")
check(get_user(1)[0] == 200 and db_reads[0] == 1, "the second read is a cache hit", db_reads)
check(0 < cache.ttl("user:1") <= 300, "cached with expire=300", cache.ttl("user:1"))
status, body = get_user(123)
check(status == 404 and body == {"error": "NotFoundError", "message": "The requested user was not found.",
                                 "category": "not_found", "severity": "low", "retryable": False,
                                 "details": {"user_id": "123"}, "path": "/api/v1/users/123"},
      "NotFoundError: the document's JSON error", body)


# 2. write-through with the database locked for a while
def lock_db_for(seconds):
    other = sqlite3.connect(DB, check_same_thread=False)
    other.execute("BEGIN EXCLUSIVE")
    threading.Timer(seconds, lambda: (other.rollback(), other.close())).start()


def save_user_to_db(u):
    db.execute("INSERT OR REPLACE INTO users VALUES (?, ?, ?)", (u["id"], u["name"], u["email"]))
    db.commit()


def write_through(key, value, write_func, expire=300):
    retrying("db.write", lambda: write_func(value))
    cache.set(key, json.dumps(value), ex=expire)
    return True


lock_db_for(0.3)
u2 = {"id": 2, "name": "Grace", "email": "grace@example.com"}
t = time.monotonic()
check(write_through("user:2", u2, save_user_to_db), "write-through succeeds once the lock is gone")
check(time.monotonic() - t >= 0.25, "it waited for the lock (retries with backoff)", time.monotonic() - t)
check(json.loads(cache.get("user:2")) == u2 and fetch_user_from_db(2) == u2, "cache and database agree")
db_errors = sum(n for (c, s), n in METRICS.items() if c == "database")
check(db_errors >= 1 and ("database", "critical") in METRICS, "the lock was counted as a critical database error",
      METRICS)


# 3. write-behind
def write_behind(key, value, expire=300):
    cache.set(key, json.dumps(value), ex=expire)
    cache.rpush("write_behind", json.dumps(value))
    return True


def flush_write_behind():
    n = 0
    while True:
        item = cache.lpop("write_behind")
        if item is None:
            return n
        retrying("db.write_behind", lambda: save_user_to_db(json.loads(item)))
        n += 1


u3 = {"id": 3, "name": "Edsger", "email": "ed@example.com"}
check(write_behind("user:3", u3), "write-behind: the cache first")
check(json.loads(cache.get("user:3")) == u3, "readable from the cache at once")
lock_db_for(0.2)
check(flush_write_behind() == 1 and fetch_user_from_db(3) == u3, "flushed to the database after the lock")

# 4. Redis down
rproc.terminate()
rproc.wait(5)
reads = db_reads[0]
status, u = get_user(1)
check(status == 200 and u["name"] == "Ada" and db_reads[0] == reads + 1, "Redis down: served from the database", u)
check(("internal", "medium") in METRICS, "logged as MEDIUM", METRICS)

# 5. the AI service: retry, breaker, rate limit
ai = ScriptedService({"/v1/generate": [("status", 503, {}), ("status", 200, {"text": "ok"})],
                      "/v1/down": [("status", 503, {"error": "overloaded"})],
                      "/v1/limited": [("status", 429, {}, {"Retry-After": "1"}), ("status", 200, {"text": "late"})]})


def call_ai(path):
    with urllib.request.urlopen(ai.url + path, timeout=2) as r:
        return json.load(r)


@engine.guard(op="ai.generate")
def fetch_external_data(path):
    return call_ai(path)


check(fetch_external_data("/v1/generate") == {"text": "ok"} and ai.hits["/v1/generate"] == 2,
      "a 503 is retried (RetryStrategy)", ai.hits)


@engine.guard(op="ai.call", breaker="external_api", key="external_api", max_attempts=1)
def ai_call(path):
    return call_ai(path)


answers = []
for i in range(6):
    try:
        ai_call("/v1/down")
    except faultline.Failure as f:
        answers.append(f.category)
check(answers == ["unavailable.external_service"] * 5 + ["unavailable.circuit_open"],
      "5 failures open the breaker; the 6th is refused", answers)
check(ai.hits["/v1/down"] == 5, "the refused call did not reach the service", ai.hits)
check(engine.breaker("external_api", "external_api")["state"] == "open", "the breaker is open",
      engine.breaker("external_api", "external_api"))
t = time.monotonic()
check(fetch_external_data("/v1/limited") == {"text": "late"}, "a 429 is retried")
check(time.monotonic() - t >= 0.95, "after the Retry-After second", time.monotonic() - t)
ai.close()

# 6. logs and metrics
lines = [json.loads(x) for x in open(os.path.join(WORK, "app.log"))]
nf = [x for x in lines if x.get("error") == "NotFoundError"]
check(nf and nf[0]["request_id"] == "req-123" and nf[0]["level"] == "INFO",
      "structured log lines carry the request context", nf)
text = prometheus()
check('muset_errors_total{category="not_found",severity="low"} 1' in text, "metrics in Prometheus format", text)
engine.close()
done("seed 004 (Muset)")
