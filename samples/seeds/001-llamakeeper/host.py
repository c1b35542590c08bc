#!/usr/bin/env python3
"""Seed 001, LlamaKeeper's AdvancedErrorHandler, rebuilt on faultline.

The class keeps the document's interface (capture_error, attempt_recovery,
get_error_summary, an error reporting callback, console + file logging) but
the severity, the recovery strategy and the user text come from the policy;
the error registry is a real SQLite table so summaries span processes.

Scenario: a local HTTP service stands in for Ollama.
1. It crashes (the port refuses connections): OllamaConnectionError; the
   registered strategy restarts the service (on the same port) and the
   generation is retried and succeeds.
2. It answers 500: AIGenerationError; the fallback text is returned.
3. A ValueError has no strategy: no recovery, the policy's message.
4. A DeprecationWarning is captured at DEBUG.
5. get_error_summary(since, WARNING) counts by severity and type, lists the
   recent errors newest first and leaves DEBUG out; a failing reporting
   callback is logged and changes nothing.
"""
import datetime
import json
import logging
import os
import sqlite3
import sys
import time
import traceback
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faultline  # noqa: E402
from seedlib import ScriptedService, args, check, done  # noqa: E402

SEVERITY_ORDER = ["debug", "info", "warning", "error", "critical"]


class OllamaConnectionError(Exception): pass
class AIGenerationError(Exception): pass


class AdvancedErrorHandler:
    def __init__(self, engine, log_file, db_path, error_reporting_callback=None):
        self.engine = engine
        self._logger = logging.getLogger("LlamaKeeperErrorLogger")
        self._logger.setLevel(logging.DEBUG)
        fh = logging.FileHandler(log_file)
        fh.setFormatter(logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s"))
        self._logger.addHandler(fh)
        self._db = sqlite3.connect(db_path)
        self._db.execute("CREATE TABLE IF NOT EXISTS errors(error_id TEXT PRIMARY KEY, ts REAL, severity INT,"
                         " source_module TEXT, error_type TEXT, error_message TEXT, stack_trace TEXT,"
                         " context TEXT, category TEXT)")
        self._callback = error_reporting_callback

    def capture_error(self, error, context=None, attempt=1):
        """Decides the error and records its context; returns (context, decision)."""
        d = self.engine.decide(error, attempt=attempt, tags=None)
        ctx = {
            "error_id": d.id, "timestamp": time.time(), "severity": d.severity.upper(),
            "source_module": type(error).__module__, "error_type": type(error).__name__,
            "error_message": str(error),
            "stack_trace": "".join(traceback.format_exception(type(error), error, error.__traceback__)),
            "additional_context": context or {},
        }
        getattr(self._logger, {"debug": "debug", "info": "info", "warning": "warning",
                               "error": "error", "critical": "critical"}[d.severity])(
            "Error Captured: %s - %s", ctx["error_type"], ctx["error_message"])
        self._db.execute("INSERT INTO errors VALUES (?,?,?,?,?,?,?,?,?)",
                         (ctx["error_id"], ctx["timestamp"], SEVERITY_ORDER.index(d.severity),
                          ctx["source_module"], ctx["error_type"], ctx["error_message"], ctx["stack_trace"],
                          json.dumps(ctx["additional_context"]), d.category))
        self._db.commit()
        if self._callback:
            try:
                self._callback(ctx)
            except Exception as e:
                self._logger.error("Error reporting failed: %s", e)
        return ctx, d

    def get_error_summary(self, since=None, severity_threshold="warning"):
        q = "FROM errors WHERE ts >= ? AND severity >= ?"
        a = (since.timestamp() if since else 0, SEVERITY_ORDER.index(severity_threshold))
        s = {"total_errors": self._db.execute("SELECT count(*) " + q, a).fetchone()[0],
             "errors_by_severity": {SEVERITY_ORDER[k].upper(): n for k, n in self._db.execute(
                 "SELECT severity, count(*) " + q + " GROUP BY severity", a)},
             "top_error_types": dict(self._db.execute(
                 "SELECT error_type, count(*) " + q + " GROUP BY error_type ORDER BY 2 DESC", a)),
             "recent_errors": [dict(zip(("error_id", "timestamp", "severity", "error_type", "error_message"),
                                        (r[0], datetime.datetime.fromtimestamp(r[1]).isoformat(),
                                         SEVERITY_ORDER[r[2]].upper(), r[3], r[4])))
                               for r in self._db.execute("SELECT error_id, ts, severity, error_type, error_message "
                                                         + q + " ORDER BY ts DESC LIMIT 10", a)]}
        return s


A = args(__doc__)
WORK = A.work
reported = []


def report(ctx):
    reported.append(ctx["error_id"])
    if ctx["error_type"] == "ValueError":
        raise RuntimeError("monitoring endpoint down")


engine = faultline.Engine(A.policy)
handler = AdvancedErrorHandler(engine, os.path.join(WORK, "llamakeeper_errors.log"),
                               os.path.join(WORK, "errors.db"), report)
t0 = datetime.datetime.now() - datetime.timedelta(seconds=1)

ollama = ScriptedService({"/api/generate": [("status", 200, {"response": "Hi, I am Llama."})]})
PORT = int(ollama.url.rsplit(":", 1)[1])
restarts = []


def restart_ollama_service():
    global ollama
    ollama = ScriptedService({"/api/generate": [("status", 200, {"response": "Hi, I am Llama."})]}, port=PORT)
    restarts.append(time.time())
    return {"action": "restart_ollama_service", "timestamp": datetime.datetime.now().isoformat()}


def generate_ai_text(prompt):
    req = urllib.request.Request(ollama.url + "/api/generate", method="POST",
                                 data=json.dumps({"prompt": prompt}).encode())
    try:
        with urllib.request.urlopen(req, timeout=2) as r:
            return json.load(r)["response"]
    except urllib.error.HTTPError as e:
        raise AIGenerationError("model returned %d: %s" % (e.code, e.read().decode())) from None
    except urllib.error.URLError as e:
        raise OllamaConnectionError(str(e.reason)) from None


STRATEGIES = {"restart_ollama_service": restart_ollama_service}


def chat(prompt):
    """The document's example_ai_generation_with_error_handling."""
    attempt = 1
    while True:
        try:
            return generate_ai_text(prompt)
        except Exception as e:
            ctx, d = handler.capture_error(e, {"generation_params": {"prompt": prompt}}, attempt)
            if d.action == "retry":
                strategy = STRATEGIES.get((d.params or {}).get("recovery"))
                if strategy:
                    strategy()
                time.sleep(d.delay_ms / 1000)
                attempt += 1
                continue
            if d.action == "fallback":
                return d.fallback["fallback_text"]
            return None if d.action == "fail" else ""


# 1. Ollama crashed
ollama.close()
text = chat("Hello")
check(text == "Hi, I am Llama.", "after the crash the service is restarted and the answer comes", text)
check(len(restarts) == 1, "one restart", restarts)
s = handler.get_error_summary(since=t0)
check(s["top_error_types"] == {"OllamaConnectionError": 1}, "the connection error is in the registry", s)

# 2. Ollama answers 500
ollama.close()
ollama = ScriptedService({"/api/generate": [("status", 500, {"error": "model 'llama3' not found"})]}, port=PORT)
text = chat("Hello")
check(text == "I apologize, but I'm currently unable to generate a response.", "AIGenerationError -> fallback text",
      text)
row = handler._db.execute("SELECT severity, category, stack_trace FROM errors WHERE error_type = 'AIGenerationError'"
                          ).fetchone()
check(row[0] == SEVERITY_ORDER.index("warning") and row[1] == "internal.generation",
      "captured as WARNING internal.generation", row[:2])
check("generate_ai_text" in row[2], "the error context keeps the stack", row[2][-200:])
try:
    generate_ai_text("again")
except AIGenerationError as e:
    d = engine.decide(e)
check(d.params["source_function"] == "generate_ai_text", "the policy read the traceback", d.params)

# 3. no strategy
try:
    raise ValueError("temperature must be <= 2")
except ValueError as e:
    ctx, d = handler.capture_error(e, {"user": "u1"})
check(d.action == "fail" and d.severity == "warning", "ValueError: no recovery, WARNING", (d.action, d.severity))
check(d.message == "That request was not valid.", "the policy's message", d.message)

# 4. a DEBUG note
ctx, d = handler.capture_error(DeprecationWarning("old API"))
check(d.severity == "debug", "DeprecationWarning is DEBUG", d.severity)

# 5. the summary
s = handler.get_error_summary(since=t0, severity_threshold="warning")
check(s["total_errors"] == 3, "three errors at WARNING or above", s)
check(s["errors_by_severity"] == {"ERROR": 1, "WARNING": 2}, "by severity", s["errors_by_severity"])
check(s["recent_errors"][0]["error_type"] == "ValueError", "newest first", s["recent_errors"])
s_all = handler.get_error_summary(severity_threshold="debug")
check(s_all["total_errors"] == 4, "four with DEBUG", s_all["total_errors"])
check(len(reported) == 4, "the reporting callback saw every error", reported)
with open(os.path.join(WORK, "llamakeeper_errors.log")) as f:
    log = f.read()
check("Error reporting failed: monitoring endpoint down" in log, "a failing callback is logged", log[-300:])
check("Error Captured: OllamaConnectionError" in log, "captures are logged")
ollama.close()
engine.close()
done("seed 001 (LlamaKeeper)")
