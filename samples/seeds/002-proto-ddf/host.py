#!/usr/bin/env python3
"""Seed 002, Proto-DDF: app generation and data-source integration on faultline.

1. generate_app validates the project name (ValidationError -> the UI error
   state shows the template's text, no "Try Again"), then reserves a pair of
   ports: every candidate port is taken (SystemError, critical) until another
   program releases one; the policy retries once after 1 s and it succeeds.
2. connect_source talks to a local HTTP data source that answers 503 twice
   then 200: retried with exponential backoff and 0.5..1.0 jitter.
3. call_external_api goes through the engine's circuit breaker: after 5
   failures in a row the 6th call is refused without reaching the service.
4. The UI error state clears itself after its delay; "Try Again" re-runs
   the last operation.
5. More than 3 CRITICAL errors in 5 minutes raise one alert.
"""
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faultline  # noqa: E402
from seedlib import ScriptedService, args, check, done  # noqa: E402


class SystemError(Exception):  # noqa: A001 (the document's name)
    def __init__(self, message, component, **context):
        self.message, self.component, self.context = message, component, context
        super().__init__(message)


class ValidationError(Exception):
    def __init__(self, message, field, value, **context):
        self.message, self.field, self.value, self.context = message, field, value, context
        super().__init__(message)


class IntegrationError(Exception):
    def __init__(self, message, system, operation, **context):
        self.message, self.system, self.operation, self.context = message, system, operation, context
        super().__init__(message)


A = args(__doc__)
engine = faultline.Engine(A.policy)
CLEAR_AFTER_S = 0.3  # the document clears after 5 s; short here


class ErrorTracker:
    def __init__(self):
        self.timeline, self.alerts = [], []

    def track(self, d, error):
        self.timeline.append({"t": time.time(), "level": d.severity.upper(),
                              "error_type": type(error).__name__, "error_message": str(error)})
        critical = [e for e in self.timeline if e["level"] == "CRITICAL" and e["t"] > time.time() - 300]
        if len(critical) > 3 and not self.alerts:
            self.alerts.append({"error_count": len(critical), "time_window": "5 minutes"})


tracker = ErrorTracker()


class State:
    """The UI state of the document (rx.State), without Reflex."""

    def __init__(self):
        self.error_message = self.error_type = ""
        self.error_context = {}
        self._last_operation = None
        self._timer = None

    def handle_error(self, error, operation, **context):
        d = error.decision if isinstance(error, faultline.Failure) else \
            engine.decide(error, op=operation, tags={k: str(v) for k, v in context.items()})
        cause = error.__cause__ if isinstance(error, faultline.Failure) else error
        tracker.track(d, cause)
        self.error_message = d.message
        self.error_type = type(cause).__name__
        self.error_context = {"operation": operation, "category": d.category, "severity": d.severity,
                              "retry_possible": d.retryable, **context}
        if self._timer:
            self._timer.cancel()
        self._timer = threading.Timer(CLEAR_AFTER_S, self._clear)
        self._timer.start()
        return d

    def _clear(self):
        self.error_message = ""

    def retry_operation(self):
        self.error_message, self.error_type, self.error_context = "", "", {}
        if self._last_operation:
            return self._last_operation()


# ---- 1. app generation: validation and ports ----------------------------------
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s


blockers = [free_port(), free_port()]
CANDIDATES = [s.getsockname()[1] for s in blockers]
for s in blockers:
    s.listen()


class PortRegistry:
    def __init__(self, candidates):
        self.candidates, self.held = candidates, []

    @engine.guard(op="ports.reserve")
    def reserve_pair(self, app):
        got = []
        for p in self.candidates:
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", p))
                got.append(s)
            except OSError:
                s.close()
            if len(got) == 2:
                break
        if len(got) < 2:
            for s in got:
                s.close()
            raise SystemError("No available ports in range", component="port_registry",
                              requested_range="%d-%d" % (min(self.candidates), max(self.candidates)))
        self.held += got
        return [s.getsockname()[1] for s in got]


PORT_REGISTRY = PortRegistry(CANDIDATES)
state = State()


def generate_app(project_name):
    state._last_operation = lambda: generate_app(project_name)
    try:
        if not project_name:
            raise ValidationError("Project name is required", field="project_name", value=project_name)
        if len(project_name) < 3:
            raise ValidationError("Project name must be at least 3 characters", field="project_name",
                                  value=project_name, min_length=3)
        return PORT_REGISTRY.reserve_pair(project_name)
    except ValidationError as e:
        state.handle_error(e, "app_generation", field=e.field)
    except faultline.Failure as f:
        state.handle_error(f, "app_generation")
    return None


check(generate_app("") is None and state.error_message == "Please provide a project name",
      "an empty name: the template's text", state.error_message)
check(generate_app("ab") is None and state.error_message == "Project name must be at least 3 characters",
      "a short name: the template's text", state.error_message)
check(state.error_context["retry_possible"] is False, "no Try Again for user input", state.error_context)
check(state.error_type == "ValidationError", "the error type is shown", state.error_type)
time.sleep(CLEAR_AFTER_S + 0.2)
check(state.error_message == "", "the error clears itself", state.error_message)

threading.Timer(0.4, lambda: [s.close() for s in blockers]).start()  # another program frees the ports
t = time.monotonic()
ports = generate_app("sales-dashboard")
took = time.monotonic() - t
check(ports is not None and sorted(ports) == sorted(CANDIDATES), "the ports are reserved on the retry", ports)
check(0.9 <= took < 10, "after the policy's 1 s wait", took)
for s in PORT_REGISTRY.held:
    s.close()

# ---- 2. the data source: retry with backoff and jitter --------------------------
src = ScriptedService({"/records": [("status", 503, {"error": "warming up"}), ("status", 503, {}),
                                    ("status", 200, {"records": [1, 2, 3]})],
                       "/api/endpoint": [("status", 503, {"error": "down"})]})


def fetch(path, system, operation):
    try:
        with urllib.request.urlopen(src.url + path, timeout=2) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        raise IntegrationError("Failed to connect to data source (HTTP %d)" % e.code, system=system,
                               operation=operation) from None


@engine.guard(op="source.connect")
def connect_source():
    return fetch("/records", "data_source", "connection_test")["records"]


t = time.monotonic()
records = connect_source()
took = time.monotonic() - t
check(records == [1, 2, 3] and src.hits["/records"] == 3, "connected on the third attempt", src.hits)
check(1.5 <= took < 10, "backoff 0.5..1 s then 1..2 s", took)


# ---- 3. the circuit breaker ----------------------------------------------------
@engine.guard(op="external_api.call", breaker="external_api", key="external_api")
def call_external_api(endpoint):
    return fetch(endpoint, "external_api", "call")


cats = []
for i in range(6):
    try:
        call_external_api("/api/endpoint")
    except faultline.Failure as f:
        cats.append(f.category)
check(cats[:5] == ["unavailable.external_api"] * 5, "five failures reach the service", cats)
check(cats[5] == "unavailable.circuit_open", "the sixth is refused by the open breaker", cats)
check(src.hits["/api/endpoint"] == 5, "the service saw only five calls", src.hits)
try:
    call_external_api("/api/endpoint")
except faultline.Failure as f:
    state.handle_error(f, "external_api")
check(state.error_message == "The data source is failing repeatedly; calls are paused for a minute",
      "the UI shows the open circuit", state.error_message)
check(state.error_context["retry_possible"] is True, "and offers Try Again", state.error_context)

# ---- 4. Try Again re-runs the last operation --------------------------------
ok_ports = [free_port() for _ in range(2)]
PORT_REGISTRY.candidates = [s.getsockname()[1] for s in ok_ports]
for s in ok_ports:
    s.close()
state._last_operation = lambda: generate_app("retry-app")
res = state.retry_operation()
check(res is not None and state.error_message == "", "Try Again ran the operation and cleared the error", res)
for s in PORT_REGISTRY.held:
    s.close()

# ---- 5. critical alerting --------------------------------------------------------
for i in range(4):
    try:
        raise SystemError("disk almost full (%d%%)" % (96 + i), component="generator")
    except SystemError as e:
        state.handle_error(e, "app_generation")
check(state.error_message == "Insufficient disk space to create application", "the disk template", state.error_message)
check(len(tracker.alerts) == 1 and tracker.alerts[0]["error_count"] >= 4,
      "more than 3 critical errors in 5 minutes: one alert", tracker.alerts)
src.close()
engine.close()
done("seed 002 (Proto-DDF)")
