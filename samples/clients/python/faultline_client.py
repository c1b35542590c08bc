"""faultline_client -- call a local `faultline serve` from Python (standard
library only: urllib).  See docs/serve.md.

    from faultline_client import Client, call
    fl = Client("http://127.0.0.1:7787")
    d = fl.decide({"message": str(exc), "op": "payments.charge", "attempt": 2})
    result = call(fl, charge, op="payments.charge")   # retries / falls back / fails as the policy says

Transport errors (server down, timeout) raise FaultlineUnavailable: the caller
chooses its own safe default then; it does not guess one here.
"""
import json
import socket
import time
import urllib.error
import urllib.request

__all__ = ["Client", "Failed", "FaultlineError", "FaultlineUnavailable", "call"]


class FaultlineError(Exception):
    """The server answered with an RFC 9457 problem (status, type, detail)."""

    def __init__(self, problem):
        self.problem = problem
        self.status = problem.get("status")
        super().__init__("%s: %s" % (problem.get("title", "error"), problem.get("detail", "")))


class FaultlineUnavailable(Exception):
    """The server could not be reached."""


class Failed(Exception):
    """The policy said fail; `message` is the text for a person, `decision` the rest."""

    def __init__(self, decision, cause=None):
        self.decision = decision
        self.message = decision.get("message", "")
        self.cause = cause
        super().__init__(self.message)


class Client:
    def __init__(self, base="http://127.0.0.1:7787", token=None, timeout=2.0):
        self.base = base.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _req(self, method, path, body=None, headers=None, raw=False):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        if self.token:
            hdrs["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                payload = r.read()
                return payload if raw else json.loads(payload)
        except urllib.error.HTTPError as e:
            payload = e.read()
            try:
                problem = json.loads(payload)
            except ValueError:
                problem = {"status": e.code, "title": e.reason, "detail": payload.decode("utf-8", "replace")}
            raise FaultlineError(problem) from None
        except (urllib.error.URLError, socket.timeout, ConnectionError) as e:
            raise FaultlineUnavailable(str(e)) from None

    # -- deciding --------------------------------------------------------
    def decide(self, event, locale=None, explain=False):
        q = []
        if locale:
            q.append("locale=" + urllib.request.quote(locale))
        if explain:
            q.append("explain=1")
        return self._req("POST", "/v1/decide" + ("?" + "&".join(q) if q else ""), event)

    def decide_batch(self, events, locale=None):
        """Decide many events in one request; returns the decisions in order
        (a malformed event comes back as an error record)."""
        body = "".join(json.dumps(e) + "\n" for e in events).encode()
        path = "/v1/decide" + ("?locale=" + urllib.request.quote(locale) if locale else "")
        out = self._req("POST", path, body, {"Content-Type": "application/x-ndjson"}, raw=True)
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    # -- admission -------------------------------------------------------
    def admit(self, breaker=None, limiter=None, bulkhead=None, budget=None, key=None, lease_ms=None):
        body = {k: v for k, v in (("breaker", breaker), ("limiter", limiter), ("bulkhead", bulkhead),
                                  ("budget", budget), ("key", key), ("lease_ms", lease_ms)) if v is not None}
        return self._req("POST", "/v1/admit", body)

    def complete(self, permit, category=None, release=False):
        body = {"permit": permit, "category": category}
        if release:
            body["release"] = True
        return self._req("POST", "/v1/complete", body)

    # -- operations ------------------------------------------------------
    def policy(self):
        return self._req("GET", "/v1/policy")

    def reload(self):
        return self._req("POST", "/v1/policy/reload")

    def rollback(self, version_id=None):
        return self._req("POST", "/v1/policy/rollback", {"id": version_id} if version_id else {})

    def breakers(self):
        return self._req("GET", "/v1/breakers")["breakers"]

    def set_breaker(self, name, state, key=None):
        path = "/v1/breakers/" + urllib.request.quote(name, safe="")
        if key is not None:
            path += "/" + urllib.request.quote(key, safe="")
        return self._req("PUT", path, {"state": state})

    def healthy(self):
        try:
            return self._req("GET", "/healthz").get("status") == "ok"
        except (FaultlineError, FaultlineUnavailable):
            return False


def call(client, fn, op=None, tags=None, locale=None, max_attempts=10, sleep=time.sleep):
    """Run fn() under the policy: on an exception, ask the server what to do
    and honour it -- retry after delay_ms, return the fallback value, return
    None when told to ignore, or raise Failed with the user message."""
    start = time.monotonic()
    attempt = 1
    while True:
        try:
            return fn()
        except Exception as exc:  # the policy decides, not the type
            event = {"message": str(exc) or type(exc).__name__, "attempt": attempt,
                     "elapsed_ms": (time.monotonic() - start) * 1000.0}
            code = getattr(exc, "errno", None) or getattr(exc, "code", None)
            if isinstance(code, (int, str)):
                event["code"] = code
            if op:
                event["op"] = op
            if tags:
                event["tags"] = tags
            d = client.decide(event, locale=locale)
            action = d.get("action")
            if action == "retry" and attempt < max_attempts:
                sleep(max(0, d.get("delay_ms", 0)) / 1000.0)
                attempt += 1
                continue
            if action == "fallback":
                return d.get("fallback")
            if action == "ignore":
                return None
            raise Failed(d, exc) from exc


if __name__ == "__main__":
    import sys

    fl = Client(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7787")
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionRefusedError(111, "Connection refused")
        return "ok after %d attempts" % calls["n"]

    print("retry:", call(fl, flaky, op="demo.flaky", sleep=lambda s: print("  waiting %.3f s" % s)))
    try:
        call(fl, lambda: (_ for _ in ()).throw(FileNotFoundError(2, "No such file or directory")))
    except Failed as f:
        print("fail:", f.message)
