#!/usr/bin/python3
"""tests/serve/run_serve.py CASE FAULTLINE -- one `faultline serve` test case.

Each case starts the server on an ephemeral port (and a unix socket in a temp
dir) with tests/serve/policy copied to a temp dir, drives it with curl and the
Python client (samples/clients/python), and asserts.  Prints "FAIL: ..." and
exits 1 on the first failed assertion.  `all` runs every case.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "samples", "clients", "python"))
import faultline_client as flc  # noqa: E402

FAULTLINE = None
TOKEN = "s3cret-token-for-tests-0123456789"


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Server:
    def __init__(self, *extra, token=False, policy=None):
        self.tmp = tempfile.mkdtemp(prefix="flserve-")
        self.policy = os.path.join(self.tmp, "policy")
        shutil.copytree(policy or os.path.join(HERE, "policy"), self.policy)
        self.sock = os.path.join(self.tmp, "s.sock")
        args = [FAULTLINE, "serve", "-p", self.policy, "--listen", "127.0.0.1:0", "--listen", "unix:" + self.sock,
                "--seed", "7"]
        if token:
            tf = os.path.join(self.tmp, "token")
            with open(tf, "w") as f:
                f.write(TOKEN + "\n")
            os.chmod(tf, 0o600)
            args += ["--token-file", tf]
        args += list(extra)
        self.errpath = os.path.join(self.tmp, "stderr")
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + 15
        self.port = None
        while time.time() < deadline and self.port is None:
            if self.proc.poll() is not None:
                fail("server exited at start: " + self.stderr())
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.stderr())
            if m:
                self.port = int(m.group(1))
            else:
                time.sleep(0.02)
        check(self.port, "server did not start: " + self.stderr())
        self.base = "http://127.0.0.1:%d" % self.port
        self.client = flc.Client(self.base, token=TOKEN if token else None)

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def request(self, method, path, body=None, headers=None):
        """(status, headers dict, body bytes) over a fresh connection."""
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        c.close()
        return r.status, hdrs, data

    def curl(self, *args):
        p = subprocess.run(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"] + list(args),
                           capture_output=True, text=True)
        check(p.returncode == 0, "curl failed: %s %s" % (args, p.stderr))
        body, _, code = p.stdout.rpartition("\n")
        return int(code), body

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("server did not exit after signal %d" % sig)
        self.err.close()
        return rc

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.err.closed:
            self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


def problem_of(status, hdrs, data, want_status, want_type=None):
    check(status == want_status, "want HTTP %d, got %d: %r" % (want_status, status, data[:300]))
    check(hdrs.get("content-type", "").startswith("application/problem+json"),
          "want problem+json, got %r" % hdrs.get("content-type"))
    p = json.loads(data)
    check(p.get("status") == want_status and p.get("title") and "type" in p, "not a problem document: %r" % p)
    if want_type:
        check(p["type"].endswith("#" + want_type), "want type %s, got %s" % (want_type, p["type"]))
    return p


# ---- cases ------------------------------------------------------------------

def case_endpoints(s):
    st, h, b = s.request("GET", "/healthz")
    check(st == 200 and json.loads(b) == {"status": "ok"}, "healthz: %d %r" % (st, b))
    st, h, b = s.request("GET", "/readyz")
    check(st == 200 and json.loads(b)["status"] == "ready", "readyz: %r" % b)
    d = s.client.decide({"message": "dial tcp: connection refused", "id": "e1"})
    check(d["category"] == "unavailable.connection_refused" and d["action"] == "retry" and d["delay_ms"] == 250,
          "decide: %r" % d)
    check(d["id"] == "e1" and d["policy"]["name"] == "serve-test", "decide fields: %r" % d)
    d = s.client.decide({"message": "connection refused"}, locale="fr")
    check(d["locale"] == "fr" and "indisponible" in d["message"], "locale=fr: %r" % d)
    st, h, b = s.request("POST", "/v1/decide", {"message": "connection refused"},
                         {"Accept-Language": "fr-CA;q=0.9, en;q=0.5", "Content-Type": "application/json"})
    d = json.loads(b)
    check(st == 200 and d["locale"].startswith("fr"), "Accept-Language: %r" % d)
    d = s.client.decide({"message": "connection refused"}, explain=True)
    check("explain" in d, "explain=1 gives an explain field: %r" % d)
    d = s.client.decide({"op": "broken"})
    check(d.get("error") and d["action"] in ("retry", "fail", "fallback", "ignore"),
          "a failing handler gives the safe decision with error set: %r" % d)
    d = s.client.decide({"op": "reports.build"})
    check(d["action"] == "fallback" and d["fallback"] == {"status": "queued"}, "fallback: %r" % d)
    pol = s.client.policy()
    check(pol["current"]["name"] == "serve-test" and len(pol["versions"]) == 1, "policy: %r" % pol)
    names = [b["name"] for b in s.client.breakers()]
    check(names == ["upstream"], "breakers: %r" % names)
    problem_of(*s.request("GET", "/nope"), 404, "not-found")
    st, h, b = s.request("GET", "/v1/decide")
    problem_of(st, h, b, 405, "method-not-allowed")
    check(h.get("allow") == "POST", "405 names the allowed method: %r" % h)
    # curl: a form-encoded body (curl -d) is read as JSON too
    code, body = s.curl("-d", '{"domain":"http","code":404}', s.base + "/v1/decide")
    check(code == 200 and json.loads(body)["category"] == "not_found", "curl decide: %d %s" % (code, body))


def case_metrics(s):
    for _ in range(3):
        s.client.decide({"message": "dial tcp: connection refused"})
    s.client.decide({"domain": "http", "code": 404})
    s.client.decide({"op": "broken"})
    # breaker calls: one success and one failure through admission leases
    for cat in (None, "unavailable"):
        p = s.client.admit(breaker="upstream", key="svc-m")
        if cat:
            s.client.complete(p["permit"], category=cat)
        else:
            s.client.complete(p["permit"])
    st, h, b = s.request("GET", "/metrics")
    check(st == 200, "metrics: %d" % st)
    check(h.get("content-type", "").startswith("text/plain; version=0.0.4"), "metrics type: %r" % h)
    text = b.decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, val = line.rpartition(" ")
        samples[name] = float(val)
    check(samples.get('faultline_decisions_total{category="unavailable",action="retry"}') == 3,
          "3 unavailable/retry decisions: %s" % text[:600])
    check(samples.get('faultline_decisions_total{category="not_found",action="fail"}') == 1, "not_found/fail")
    check(samples.get("faultline_decide_duration_seconds_count") == 5, "histogram count 5")
    check(samples.get('faultline_handler_failures_total{kind="handler_error"}') == 1, "handler failure counted")
    check(samples.get('faultline_breaker_state{breaker="upstream",state="closed"}') == 1, "breaker state")
    check(samples.get('faultline_breaker_calls_total{breaker="upstream",kind="successful"}') == 1
          and samples.get('faultline_breaker_calls_total{breaker="upstream",kind="failed"}') == 1
          and samples.get('faultline_breaker_calls_total{breaker="upstream",kind="not_permitted"}') == 0,
          "breaker calls: %s" % [k for k in samples if "breaker_calls" in k])
    check(all(samples.get('faultline_retries_total{result="%s"}' % r) == 0
              for r in ("success", "exhausted", "budget", "breaker", "failed")), "retries series")
    check(samples.get('faultline_policy_reloads_total{result="success"}') == 1, "one load")
    check(any(k.startswith("faultline_policy_info{") and 'name="serve-test"' in k for k in samples), "policy info")
    st, h, b = s.request("POST", "/metrics")
    problem_of(st, h, b, 405, "method-not-allowed")


def case_observe():
    """--decision-log (CloudEvents, through a spool) and --registry, then `faultline errors`."""
    d = tempfile.mkdtemp(prefix="flobs-")
    log, db = os.path.join(d, "decisions.jsonl"), os.path.join(d, "errors.db")
    spool = os.path.join(d, "spool")
    os.mkdir(spool)
    s = Server("--decision-log", log, "--log-format", "cloudevents", "--registry", db,
               "--log-on-full", "spool", "--log-spool-dir", spool)
    try:
        for _ in range(4):
            s.client.decide({"message": "dial tcp: connection refused", "op": "db.query"})
        for _ in range(2):
            s.client.decide({"domain": "http", "code": 404, "op": "http.get"})
        st, h, b = s.request("GET", "/metrics")
        check(st == 200, "metrics")
        text = b.decode()
        check('faultline_decision_log_records_total{result="dropped"} 0' in text
              and 'faultline_registry_records_total{result="dropped"} 0' in text, "log/registry counters: %s" % text[-700:])
        check(os.path.exists(os.path.join(spool, "decisions.jsonl.spool")), "spool mode: the spool is open")
        check(s.stop() == 0, "serve exits 0 after SIGTERM")
        with open(log) as f:
            lines = [json.loads(l) for l in f]
        check(len(lines) == 6, "6 log lines: %d" % len(lines))
        check(os.listdir(spool) == [], "the spool is written out and removed: %r" % os.listdir(spool))
        ce = lines[0]
        check(ce["specversion"] == "1.0" and ce["type"] == "dev.faultline.decision" and ce["id"],
              "CloudEvents envelope: %r" % ce)
        data = ce["data"]
        check(data["category"] == "unavailable.connection_refused" and data["error.type"] == data["category"]
              and data["exception.message"] == "dial tcp: connection refused" and data["event"]["op"] == "db.query",
              "decision and OTel names: %r" % data)
        p = subprocess.run([FAULTLINE, "errors", "--db", db, "--json"], capture_output=True, text=True)
        check(p.returncode == 0, "errors --json: %d %s" % (p.returncode, p.stderr))
        rows = json.loads(p.stdout)["rows"]
        check([r["count"] for r in rows] == [4, 2], "counts per fingerprint: %r" % rows)
        check(rows[0]["op"] == "db.query" and rows[0]["rule"] == "refused" and rows[0]["last_1m"] == 4,
              "row fields: %r" % rows[0])
        check(rows[0]["sample"]["event"]["op"] == "db.query", "sample is the redacted line: %r" % rows[0])
        p = subprocess.run([FAULTLINE, "errors", "--db", db, "--by", "op", "--since", "1h"], capture_output=True,
                           text=True)
        check(p.returncode == 0 and p.stdout.splitlines()[0].split()[:2] == ["OP", "COUNT"]
              and p.stdout.splitlines()[1].split()[:2] == ["db.query", "4"], "errors --by op: %r" % p.stdout)
        for bad, why in ((["--since", "5x"], "--since"), (["--by", "colour"], "colour"), (["--top", "0"], "--top")):
            p = subprocess.run([FAULTLINE, "errors", "--db", db] + bad, capture_output=True, text=True)
            check(p.returncode == 2 and why in p.stderr, "errors %s: %d %r" % (bad, p.returncode, p.stderr))
        # eval --format cloudevents --decision-log
        elog = os.path.join(d, "eval.jsonl")
        p = subprocess.run([FAULTLINE, "eval", "-p", os.path.join(HERE, "policy"), "--no-progress", "--format",
                            "cloudevents", "--decision-log", elog],
                           input='{"message":"connection refused"}\n{"domain":"http","code":404}\n',
                           capture_output=True, text=True)
        out = [json.loads(l) for l in p.stdout.splitlines()]
        check(p.returncode == 0 and len(out) == 2 and out[0]["specversion"] == "1.0"
              and out[0]["id"] == out[0]["data"]["id"] and out[1]["data"]["category"] == "not_found",
              "eval --format cloudevents: %r %r" % (p.stdout, p.stderr))
        with open(elog) as f:
            ll = [json.loads(l) for l in f]
        check(len(ll) == 2 and ll[0]["id"] == out[0]["id"] and ll[0]["data"]["exception.message"] == "connection refused",
              "eval --decision-log: %r" % ll)
        p = subprocess.run([FAULTLINE, "eval", "--format", "xml"], input="", capture_output=True, text=True)
        check(p.returncode == 2 and "json or cloudevents" in p.stderr, "eval --format xml: %r" % p.stderr)
        p = subprocess.run([FAULTLINE, "errors", "--db", os.path.join(d, "none.db")], capture_output=True, text=True)
        check(p.returncode == 4 and "no such registry" in p.stderr, "missing db: %d %r" % (p.returncode, p.stderr))
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)


def case_dashboard():
    """GET / in headless Chromium: the page shows posted decisions live."""
    chromium = shutil.which("chromium")
    check(chromium, "chromium is not installed (scripts/setup.sh installs it)")
    d = tempfile.mkdtemp(prefix="fldash-")
    s = Server("--registry", os.path.join(d, "errors.db"))
    try:
        st, h, b = s.request("GET", "/")
        check(st == 200 and h.get("content-type", "").startswith("text/html") and b"<caption>" in b,
              "GET /: %d %r" % (st, h))
        for asset in ("/", "/dashboard.js", "/dashboard.css"):
            st, h, body = s.request("GET", asset)
            refs = re.findall(rb"(?:src|href)\s*=\s*[\"']?(https?:)", body)
            check(st == 200 and not refs, "%s is served and loads nothing from the network: %r" % (asset, refs))
        st, h, b = s.request("GET", "/v1/dashboard/events")
        check(st == 200 and h.get("content-type") == "text/event-stream" and b.startswith(b"retry: 1000\nevent: snapshot\ndata: {"),
              "SSE snapshot: %r %r" % (h, b[:80]))
        for _ in range(5):
            s.client.decide({"message": "dial tcp: connection refused", "op": "db.query"})
        for _ in range(2):
            s.client.decide({"domain": "http", "code": 404, "op": "http.get"})
        time.sleep(0.1)  # the registry writer commits within ~10 ms
        shot = os.path.join(os.environ.get("FL_ARTIFACTS_DIR", d), "dashboard.png")
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run", "--disable-sync",
                "--user-data-dir=" + os.path.join(d, "profile"), "--virtual-time-budget=4000",
                "--window-size=1280,1100"]
        p = subprocess.run(args + ["--dump-dom", s.base + "/"], capture_output=True, text=True, timeout=120)
        dom = p.stdout
        check(p.returncode == 0 and 'data-decisions="7"' in dom, "the page counted the 7 decisions: %s" % dom[-1500:])
        check('<tr data-category="unavailable"><td>unavailable</td><td>retry</td><td class="num">5</td>' in dom,
              "decisions table row: %s" % dom[-1500:])
        fps = re.findall(r'data-fingerprint="([0-9a-f]{16})"', dom)
        check(len(fps) == 2, "two fingerprints listed: %r" % fps)
        check('class="spark"' in dom and 'aria-label="recent counts:' in dom, "sparklines with text alternatives")
        check('data-breaker="upstream"' in dom and "closed</td>" in dom, "breaker state in words")
        check('id="policy-name">serve-test 1<' in dom and "Live — updated" in dom, "policy and live status")
        p = subprocess.run(args + ["--screenshot=" + shot, s.base + "/"], capture_output=True, text=True, timeout=120)
        with open(shot, "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "screenshot saved as PNG: " + shot)
        print("screenshot: " + shot)
    finally:
        s.close()
        shutil.rmtree(d, ignore_errors=True)


def case_batch(s):
    lines = [json.dumps({"id": "b%d" % i, "message": "connection refused"}) for i in range(5)]
    lines.insert(2, "{not json")
    lines.insert(4, "")
    body = "\n".join(lines) + "\n"
    out = s.client._req("POST", "/v1/decide?locale=fr", body.encode(), {"Content-Type": "application/x-ndjson"},
                        raw=True)
    recs = [json.loads(l) for l in out.decode().splitlines()]
    check(len(recs) == 6, "6 records for 6 non-blank lines, got %d" % len(recs))
    check([r.get("id") for r in recs] == ["b0", "b1", None, "b2", "b3", "b4"], "order: %r" % [r.get("id") for r in recs])
    check(recs[2]["error"]["line"] == 3 and recs[2]["category"] == "invalid_argument", "error record: %r" % recs[2])
    check(all(r["locale"] == "fr" for r in recs if r.get("id")), "locale applies to the batch")
    # a large batch streams (chunked) and every line comes back
    n = 50000
    big = ("".join('{"id":"x%d","domain":"http","code":404}\n' % i for i in range(n))).encode()
    p = subprocess.run(["curl", "-sS", "-D", "-", "-H", "Expect:", "-H", "Content-Type: application/x-ndjson", "--data-binary", "@-",
                        s.base + "/v1/decide"], input=big, capture_output=True)
    head, _, payload = p.stdout.partition(b"\r\n\r\n")
    check(b"transfer-encoding: chunked" in head.lower(), "a batch is streamed: %r" % head)
    out = payload.decode().splitlines()
    check(len(out) == n and json.loads(out[-1])["id"] == "x%d" % (n - 1), "big batch: %d lines" % len(out))


def case_bad_json(s):
    p = problem_of(*s.request("POST", "/v1/decide", "{\"message\": ", {"Content-Type": "application/json"}), 400,
                   "bad-event")
    check(p.get("code", "").startswith("FL_EPARSE_JSON") and p.get("detail"), "bad JSON problem: %r" % p)
    problem_of(*s.request("POST", "/v1/decide", '{"attempt": "two"}'), 400, "bad-event")
    problem_of(*s.request("POST", "/v1/decide", ""), 400, "bad-event")
    problem_of(*s.request("POST", "/v1/decide?locale=%2e%2e/x", '{"message":"x"}'), 400, "bad-locale")
    problem_of(*s.request("POST", "/v1/admit", "[1,2]"), 400, "bad-json")
    problem_of(*s.request("POST", "/v1/admit", '{"bulkhead": 7}'), 400, "bad-field")
    problem_of(*s.request("POST", "/v1/admit", '{"bulkhead": "nope"}'), 404, "unknown-object")
    problem_of(*s.request("POST", "/v1/complete", '{"permit": "zz"}'), 400, "bad-field")
    problem_of(*s.request("POST", "/v1/complete", '{"permit": "%s"}' % ("0" * 32)), 404, "unknown-permit")
    # the server is still fine
    check(s.client.decide({"message": "connection refused"})["action"] == "retry", "still deciding")


def case_limits(s):
    # body over --max-body (8192 here): refused by the HTTP layer with 413
    st, h, b = s.request("POST", "/v1/decide", '{"message":"%s"}' % ("x" * 20000))
    check(st == 413, "oversized body gives 413, got %d" % st)
    # headers over --max-header (1024 here): 431 problem
    problem_of(*s.request("GET", "/healthz", None, {"X-Big": "y" * 2000}), 431, "headers-too-large")
    # malformed HTTP: 400
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    c.sendall(b"THIS IS NOT HTTP\r\n\r\n")
    data = c.recv(4096)
    c.close()
    check(data.startswith(b"HTTP/1.1 400"), "malformed request line gives 400: %r" % data[:80])
    # pipelining: two requests in one write, two responses in order
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n"
    c.sendall(req)
    data = b""
    deadline = time.time() + 5
    while data.count(b"HTTP/1.1 200") < 2 and time.time() < deadline:
        chunk = c.recv(65536)
        if not chunk:
            break
        data += chunk
    c.close()
    check(data.count(b"HTTP/1.1 200") == 2 and data.index(b'"ok"') < data.index(b'"ready"'),
          "pipelined responses: %r" % data)
    # keep-alive: many requests on one connection
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=5)
    for i in range(50):
        c.request("POST", "/v1/decide", body='{"message":"connection refused"}')
        r = c.getresponse()
        r.read()
        check(r.status == 200, "keep-alive request %d: %d" % (i, r.status))
    s.idle = c  # left open: an idle keep-alive connection must not hold up SIGTERM


def case_slow_client(s):
    # --request-timeout 300: a client that never finishes its headers is cut
    c = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    c.sendall(b"POST /v1/decide HTTP/1.1\r\nHost: x\r\n")
    t0 = time.time()
    cut = False
    try:
        while time.time() - t0 < 5:
            c.sendall(b"X-a: b\r\n")  # slowloris: a header line now and then
            time.sleep(0.05)
            c.setblocking(False)
            try:
                if c.recv(4096) == b"":
                    cut = True
                    break
            except BlockingIOError:
                pass
            finally:
                c.setblocking(True)
    except (BrokenPipeError, ConnectionResetError):
        cut = True
    elapsed = time.time() - t0
    c.close()
    check(cut and elapsed < 3, "slow client cut after %.2f s (cut=%s)" % (elapsed, cut))
    # and an idle keep-alive connection is closed too
    c = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    t0 = time.time()
    check(c.recv(10) == b"", "idle connection closed")
    check(time.time() - t0 < 3, "idle connection closed in time")
    c.close()
    check(s.client.decide({"message": "connection refused"})["action"] == "retry", "still deciding")


def case_max_conns(s):
    # --max-conns 3: a fourth connection is closed at accept; after one goes, a new one is served
    held = [socket.create_connection(("127.0.0.1", s.port), timeout=5) for _ in range(3)]
    time.sleep(0.2)
    extra = socket.create_connection(("127.0.0.1", s.port), timeout=5)
    extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        data = extra.recv(100)
    except ConnectionResetError:
        data = b""
    check(data == b"", "connection over --max-conns is closed: %r" % data)
    extra.close()
    held.pop().close()
    time.sleep(0.3)
    st, h, b = s.request("GET", "/healthz")
    check(st == 200, "served again once below the limit")
    for c in held:
        c.close()


def case_auth(s):
    # this server has a token file
    anon = flc.Client(s.base)
    for call in (anon.reload, anon.rollback, lambda: anon.set_breaker("upstream", "forced_open")):
        try:
            call()
            fail("admin call without a token was accepted")
        except flc.FaultlineError as e:
            check(e.status == 401, "no token gives 401, got %s" % e.status)
    st, h, b = s.request("POST", "/v1/policy/reload", None, {"Authorization": "Bearer wrong-token-wrong-token-00"})
    problem_of(st, h, b, 401, "unauthorized")
    check(h.get("www-authenticate") == "Bearer", "401 names the scheme")
    code, body = s.curl("-X", "POST", "-H", "Authorization: Bearer " + TOKEN, s.base + "/v1/policy/reload")
    check(code == 200 and json.loads(body)["status"] == "reloaded", "token accepted: %d %s" % (code, body))
    check(s.client.reload()["status"] == "reloaded", "client with token")
    # deciding needs no token
    check(anon.decide({"message": "connection refused"})["action"] == "retry", "decide without token")


def case_auth_unix(s):
    # no token file: admin refused over TCP, allowed over the unix socket
    problem_of(*s.request("POST", "/v1/policy/reload"), 403, "admin-disabled")
    code, body = s.curl("--unix-socket", s.sock, "-X", "POST", "http://local/v1/policy/reload")
    check(code == 200, "admin over unix socket: %d %s" % (code, body))
    code, body = s.curl("--unix-socket", s.sock, "-d", '{"message":"connection refused"}', "http://local/v1/decide")
    check(code == 200 and json.loads(body)["action"] == "retry", "decide over unix socket: %s" % body)
    check(oct(os.stat(s.sock).st_mode & 0o777) == "0o600", "unix socket is owner-only")


def case_admit(s):
    c = s.client
    a = c.admit(bulkhead="reports")
    check(a["admitted"] and len(a["permit"]) == 32, "admit: %r" % a)
    b = c.admit(bulkhead="reports")
    check(not b["admitted"] and b["reason"] == "bulkhead_full:reports", "bulkhead full: %r" % b)
    check(c.complete(a["permit"])["completed"], "complete")
    try:
        c.complete(a["permit"])
        fail("a permit completed twice was accepted")
    except flc.FaultlineError as e:
        check(e.status == 404, "second complete: 404")
    # a client that dies: its lease expires and the slot comes back
    a = c.admit(bulkhead="reports", lease_ms=200)
    check(a["admitted"] and not c.admit(bulkhead="reports")["admitted"], "slot held")
    time.sleep(0.5)
    b = c.admit(bulkhead="reports")
    check(b["admitted"], "expired lease released the slot: %r" % b)
    c.complete(b["permit"], release=True)
    # limiter: rate 1, burst 1
    l1, l2 = c.admit(limiter="search"), c.admit(limiter="search")
    check(l1["admitted"] and not l2["admitted"] and l2["retry_after_ms"] > 0, "limiter: %r %r" % (l1, l2))
    c.complete(l1["permit"])
    # breaker: failures open it (min_calls 2, rate 0.5)
    for _ in range(2):
        p = c.admit(breaker="upstream", budget="default", key="svc-a")
        c.complete(p["permit"], category="unavailable")
    r = c.admit(breaker="upstream", key="svc-a")
    check(not r["admitted"] and r["reason"] == "breaker_open:upstream", "breaker opened: %r" % r)
    check(c.admit(breaker="upstream", key="svc-b")["admitted"], "other key unaffected")


def case_breakers(s):
    c = s.client  # unix-socket server without token: use curl over the socket for PUT
    def put(path, state):
        code, body = s.curl("--unix-socket", s.sock, "-X", "PUT", "-d", json.dumps({"state": state}),
                            "http://local" + path)
        return code, json.loads(body)
    code, b = put("/v1/breakers/upstream/svc%2Fa", "forced_open")
    check(code == 200 and b["state"] == "forced_open" and b["key"] == "svc/a", "force one key: %r" % b)
    r = c.admit(breaker="upstream", key="svc/a")
    check(not r["admitted"], "forced open refuses: %r" % r)
    code, b = put("/v1/breakers/upstream/svc%2Fa", "reset")
    check(code == 200 and b["state"] == "closed", "reset: %r" % b)
    code, b = put("/v1/breakers/upstream", "disabled")
    check(code == 200 and b["state"] == "disabled", "whole breaker: %r" % b)
    st = [x["state"] for x in c._req("GET", "/v1/breakers?key=zz")["breakers"]]
    check(st == ["disabled"], "GET /v1/breakers?key=: %r" % st)
    code, b = put("/v1/breakers/nope", "closed")
    check(code == 404, "unknown breaker: %d" % code)
    code, b = put("/v1/breakers/upstream", "sideways")
    check(code == 400, "bad state: %d" % code)
    # "fleet": true needs a fleet { } declaration (this policy has none): the
    # state is set here and the answer says the fleet was not told
    code, body = s.curl("--unix-socket", s.sock, "-X", "PUT", "-d",
                        json.dumps({"state": "forced_open", "fleet": True}), "http://local/v1/breakers/upstream/k")
    check(code == 409 and json.loads(body)["type"].endswith("no-fleet"), "fleet without fleet: %d %s" % (code, body))
    code, body = s.curl("--unix-socket", s.sock, "-X", "PUT", "-d",
                        json.dumps({"state": "forced_open", "fleet": "yes"}), "http://local/v1/breakers/upstream/k")
    check(code == 400, "fleet not a boolean: %d %s" % (code, body))


def case_cache(s):
    # PUT /v1/cache/{key} is a write: the token over TCP
    auth = {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"}
    ev = {"op": "profile.get", "message": "timeout", "tags": {"user": "u/1"}}
    d = s.client.decide(ev)
    check(d["action"] == "fail" and d["reason"] == "cache_miss" and "cache" not in d, "miss: %r" % d)
    st, h, b = s.request("PUT", "/v1/cache/profile.get:u%2F1", {"value": {"name": "Ada"}, "ttl_ms": 60000})
    problem_of(st, h, b, 401, "unauthorized")
    st, h, b = s.request("PUT", "/v1/cache/profile.get:u%2F1", {"value": {"name": "Ada"}, "ttl_ms": 60000}, auth)
    r = json.loads(b)
    check(st == 200 and r == {"stored": True, "key": "profile.get:u/1", "ttl_ms": 60000}, "put: %d %r" % (st, r))
    d = s.client.decide(ev)
    check(d["action"] == "fallback" and d["fallback"] == {"name": "Ada"}, "hit: %r" % d)
    check(d["cache"]["key"] == "profile.get:u/1" and 0 <= d["cache"]["age_ms"] < 60000, "cache: %r" % d)
    for body, why in (({"value": 1}, "no ttl"), ({"value": 1, "ttl_ms": 0}, "ttl 0"),
                      ({"ttl_ms": 10}, "no value"), ({"value": 1, "ttl_ms": "10"}, "ttl string")):
        problem_of(*s.request("PUT", "/v1/cache/k", body, auth), 400, "bad-field")
    problem_of(*s.request("PUT", "/v1/cache/k", "{", auth), 400, "bad-json")
    problem_of(*s.request("PUT", "/v1/cache/", {"value": 1, "ttl_ms": 10}, auth), 404, "not-found")
    problem_of(*s.request("PUT", "/v1/cache/" + "k" * 600, {"value": 1, "ttl_ms": 10}, auth), 400, "bad-path")


def _decider(s, stop, stats):
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    while not stop.is_set():
        try:
            c.request("POST", "/v1/decide", body='{"message":"connection refused"}')
            r = c.getresponse()
            d = json.loads(r.read())
            if r.status != 200 or d.get("error"):
                stats["errors"] += 1
            stats["ids"].add(d["policy"]["id"])
            stats["n"] += 1
        except Exception as e:  # noqa: BLE001
            stats["errors"] += 1
            stats["last"] = repr(e)
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
    c.close()


def case_reload(s):
    c = s.client
    first = c.policy()["current"]["id"]
    stop, stats = threading.Event(), {"n": 0, "errors": 0, "ids": set()}
    ts = [threading.Thread(target=_decider, args=(s, stop, stats)) for _ in range(2)]
    for t in ts:
        t.start()
    f = os.path.join(s.policy, "00-policy.lua")
    src = open(f).read()
    for i in range(5):
        with open(f, "w") as fh:
            fh.write(src.replace('version = "1"', 'version = "1.%d"' % (i + 1)))
        r = c.reload()
        check(r["status"] == "reloaded" and r["current"]["version"] == "1.%d" % (i + 1), "reload %d: %r" % (i, r))
    # a broken version is refused; the running one keeps serving
    with open(f, "w") as fh:
        fh.write(src + "\nrule {")
    try:
        c.reload()
        fail("a broken policy was accepted")
    except flc.FaultlineError as e:
        check(e.status == 422 and "00-policy.lua" in e.problem["detail"], "broken: %r" % e.problem)
    check(c.policy()["current"]["version"] == "1.5", "still 1.5")
    r = c.rollback(first)
    check(r["status"] == "rolled_back" and r["current"]["id"] == first, "rollback: %r" % r)
    try:
        c.rollback("ffffffffffffffff")
        fail("rollback to an unknown id was accepted")
    except flc.FaultlineError as e:
        check(e.status == 404, "unknown id: %s" % e.status)
    r = c.rollback()  # the previous one
    check(r["current"]["version"] == "1.5", "rollback to previous: %r" % r)
    time.sleep(0.3)
    stop.set()
    for t in ts:
        t.join()
    check(stats["errors"] == 0, "errors while reloading: %r" % stats)
    check(stats["n"] > 50 and len(stats["ids"]) >= 2, "decisions saw the versions: %d, %d ids" % (stats["n"], len(stats["ids"])))
    # SIGHUP reloads (no --watch)
    with open(f, "w") as fh:
        fh.write(src.replace('version = "1"', 'version = "hup"'))
    s.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 5
    while time.time() < deadline and c.policy()["current"]["version"] != "hup":
        time.sleep(0.05)
    check(c.policy()["current"]["version"] == "hup", "SIGHUP reloaded")


def case_watch(s):
    f = os.path.join(s.policy, "00-policy.lua")
    src = open(f).read()
    with open(f + ".tmp", "w") as fh:
        fh.write(src.replace('version = "1"', 'version = "watched"'))
    os.rename(f + ".tmp", f)
    deadline = time.time() + 8
    while time.time() < deadline and s.client.policy()["current"]["version"] != "watched":
        time.sleep(0.05)
    check(s.client.policy()["current"]["version"] == "watched", "--watch reloaded on change")


def case_sigterm(s):
    # A batch in flight when SIGTERM arrives completes; then exit 0.  The body
    # is sent in two chunked halves and the signal goes out between them, so
    # the request is in flight by construction (no timing guess: the server
    # decides 200k lines in well under a second).
    n = 200000
    lines = ['{"id":"x%d","message":"connection refused"}\n' % i for i in range(n)]
    first, second = "".join(lines[:n // 2]).encode(), "".join(lines[n // 2:]).encode()

    def body():
        yield first
        time.sleep(0.3)  # the first half has reached the server
        s.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)  # the server has seen the signal
        check(s.proc.poll() is None, "the server waits for the request in flight")
        yield second

    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=45)
    c.request("POST", "/v1/decide", body=body(), encode_chunked=True,
              headers={"Content-Type": "application/x-ndjson"})
    r = c.getresponse()
    out = r.read().splitlines()
    c.close()
    check(r.status == 200 and len(out) == n, "in-flight batch finished: status %s, %d lines" % (r.status, len(out)))
    check(json.loads(out[-1]).get("id") == "x%d" % (n - 1), "last line answers the last event: %r" % out[-1][:200])
    try:  # the signal was sent once, above: wait for the exit, do not signal again
        rc = s.proc.wait(50)
    except subprocess.TimeoutExpired:
        fail("server did not exit after the drain")
    check(rc == 0, "exit status 0 after SIGTERM, got %s" % rc)
    check("SIGTERM: stopped" in s.stderr(), "stop logged: %s" % s.stderr())
    check(not os.path.exists(s.sock), "unix socket removed")


def case_client(s):
    # the Python sample client honours decisions
    calls = {"n": 0}
    slept = []

    def flaky():
        calls["n"] += 1
        if calls["n"] < 3:
            raise ConnectionRefusedError(111, "Connection refused")
        return "ok"

    check(flc.call(s.client, flaky, sleep=slept.append) == "ok" and slept == [0.25, 0.25],
          "retry after delay: %r" % slept)

    def gone():
        raise RuntimeError("HTTP 404")

    try:
        flc.call(s.client, lambda: (_ for _ in ()).throw(LookupError("x")), op="nothing")
        fail("unknown error did not fail")
    except flc.Failed as f:
        check(f.message == "Something went wrong.", "fail with message: %r" % f.message)
    check(flc.call(s.client, gone, op="reports.build") == {"status": "queued"}, "fallback value")
    try:
        flc.Client("http://127.0.0.1:1", timeout=0.5).decide({"message": "x"})
        fail("unreachable server")
    except flc.FaultlineUnavailable:
        pass
    # the Node sample (if node is installed)
    if shutil.which("node"):
        p = subprocess.run(["node", os.path.join(ROOT, "samples", "clients", "node", "faultline-client.mjs"), s.base],
                           capture_output=True, text=True, timeout=20)
        check(p.returncode == 0 and "retry: ok after 3 attempts" in p.stdout and "fail:" in p.stdout,
              "node client: %s %s" % (p.stdout, p.stderr))
    p = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "samples", "clients", "python", "faultline_client.py"),
                        s.base], capture_output=True, text=True, timeout=20)
    check(p.returncode == 0 and "retry: ok after 3 attempts" in p.stdout, "python demo: %s %s" % (p.stdout, p.stderr))


def case_shadow():
    # The candidate turns connection-refused into a failure: every live
    # decision stays the live policy's, the report counts the difference,
    # promotion (admin) makes the candidate serve.
    cand = tempfile.mkdtemp(prefix="flshadow-")
    try:
        shutil.copytree(os.path.join(HERE, "policy"), os.path.join(cand, "p"))
        src = os.path.join(cand, "p", "00-policy.lua")
        with open(src) as f:
            text = f.read()
        text = text.replace('category = "unavailable.connection_refused",',
                            'category = "unavailable.connection_refused", recovery = fail(),', 1)
        text = text.replace('action = "retry", delay_ms = 250', 'action = "fail"')
        with open(src, "w") as f:
            f.write(text)
        s = Server("--shadow", os.path.join(cand, "p"), token=True)
        try:
            for _ in range(10):
                check(s.client.decide({"message": "connection refused"})["action"] == "retry", "live decides")
            s.client.decide({"domain": "http", "code": 404, "message": "x"})
            st, h, b = s.request("POST", "/v1/decide", "\n".join(['{"message":"ECONNREFUSED"}'] * 5),
                                 {"Content-Type": "application/x-ndjson"})
            check(st == 200 and b.count(b'"action":"retry"') == 5, "batch decided live: %r" % b[:200])
            rep = None
            for _ in range(100):  # the candidate runs on its own thread
                st, h, b = s.request("GET", "/v1/shadow")
                rep = json.loads(b)
                if rep["events"] == 16:
                    break
                time.sleep(0.02)
            check(rep["events"] == 16 and rep["changed"] == 15, "shadow counts: %r" % rep)
            g = rep["groups"][0]
            check(g["old_rule"] == "refused" and g["count"] == 15 and g["first"]["new_action"] == "fail",
                  "shadow group: %r" % g)
            problem_of(*s.request("POST", "/v1/shadow/promote"), 401)
            st, h, b = s.request("POST", "/v1/shadow/promote", None, {"Authorization": "Bearer " + TOKEN})
            check(st == 200, "promote: %d %r" % (st, b))
            check(s.client.decide({"message": "connection refused"})["action"] == "fail", "candidate serves")
            check(s.stop() == 0, "exit status")
        finally:
            s.close()
        s = Server()
        try:
            problem_of(*s.request("GET", "/v1/shadow"), 404, "no-shadow")
        finally:
            s.close()
    finally:
        shutil.rmtree(cand, ignore_errors=True)


def case_usage():
    for args, want in ((["--listen", "10.1.2.3:80"], "only loopback"), (["--listen", "nonsense"], "bad --listen"),
                       (["--threads", "0"], "--threads"), (["--token-file", "/nonexistent"], "cannot read")):
        p = subprocess.run([FAULTLINE, "serve", "-p", os.path.join(HERE, "policy")] + args, capture_output=True,
                           text=True, timeout=10)
        check(p.returncode == 2 and want in p.stderr, "%s: rc %d, %s" % (args, p.returncode, p.stderr))
    with tempfile.NamedTemporaryFile("w", delete=False) as tf:
        tf.write(TOKEN)
    os.chmod(tf.name, 0o644)
    p = subprocess.run([FAULTLINE, "serve", "--token-file", tf.name], capture_output=True, text=True, timeout=10)
    os.unlink(tf.name)
    check(p.returncode == 2 and "readable by others" in p.stderr, "world-readable token refused: %s" % p.stderr)


CASES = {
    "endpoints": (case_endpoints, {}),
    "batch": (case_batch, {}),
    "bad_json": (case_bad_json, {}),
    "limits": (case_limits, {"extra": ["--max-body", "8192", "--max-header", "1024"]}),
    "slow_client": (case_slow_client, {"extra": ["--request-timeout", "300"]}),
    "max_conns": (case_max_conns, {"extra": ["--max-conns", "3"]}),
    "auth": (case_auth, {"token": True}),
    "auth_unix": (case_auth_unix, {}),
    "admit": (case_admit, {}),
    "breakers": (case_breakers, {}),
    "cache": (case_cache, {"token": True}),
    "reload": (case_reload, {"token": True}),
    "watch": (case_watch, {"extra": ["--watch"]}),
    "sigterm": (case_sigterm, {"extra": ["--drain", "45000"]}),
    "client": (case_client, {}),
    "metrics": (case_metrics, {}),
    "observe": (case_observe, None),
    "dashboard": (case_dashboard, None),
    "usage": (case_usage, None),
    "shadow": (case_shadow, None),
}


def run(name):
    fn, opts = CASES[name]
    if opts is None:
        fn()
    else:
        s = Server(*opts.get("extra", []), token=opts.get("token", False))
        try:
            fn(s)
            if s.proc.poll() is None:
                t0 = time.time()
                rc = s.stop()
                check(rc == 0, "exit status after SIGTERM: %s" % rc)
                check(time.time() - t0 < 3, "SIGTERM with nothing in flight exits at once (%.2f s)" % (time.time() - t0))
        finally:
            s.close()
    print("ok: serve_%s" % name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    FAULTLINE = os.path.abspath(sys.argv[2])
    for n in (CASES if sys.argv[1] == "all" else [sys.argv[1]]):
        run(n)
