"""Shared pieces of the seed samples' hosts: argument parsing, a local HTTP
service that fails on a script (the stand-in for Ollama or another external
API), and a tiny check helper that makes a failed expectation exit non-zero
with a precise message."""
import argparse
import http.server
import json
import os
import sys
import threading
import time


def args(doc):
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--policy", required=True, help="the sample's policy directory")
    ap.add_argument("--work", required=True, help="a scratch directory the host may fill")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    return a


_checks = [0]


def check(cond, what, got=None):
    """Asserts a scenario step; prints it, exits 1 with what was seen when false."""
    _checks[0] += 1
    if not cond:
        sys.stderr.write("FAIL: %s (got %r)\n" % (what, got))
        sys.exit(1)
    print("ok %d - %s" % (_checks[0], what))


def done(name):
    print("%s: %d checks passed" % (name, _checks[0]))


class ScriptedService:
    """A real HTTP server on 127.0.0.1 (ephemeral port).  Each request to a
    path takes the next step of that path's script:
      ("status", code, body)      answer with that status and JSON body
      ("slow", seconds, body)     sleep, then answer 200 (a client timeout)
      ("close",)                  close the connection without answering
    When a script runs out, its last step repeats.  `hits[path]` counts.
    `port` 0 picks a free port; a given port restarts a service where it was."""

    def __init__(self, scripts, port=0):
        self.scripts = {p: list(s) for p, s in scripts.items()}
        self.hits = {}
        svc = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _serve(self):
                n = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(n)
                path = self.path.split("?")[0]
                with svc.lock:
                    i = svc.hits.get(path, 0)
                    svc.hits[path] = i + 1
                    script = svc.scripts.get(path) or [("status", 404, {"error": "not found"})]
                    step = script[min(i, len(script) - 1)]
                if step[0] == "close":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if step[0] == "slow":
                    time.sleep(step[1])
                    code, body = 200, step[2]
                else:
                    code, body = step[1], step[2]
                data = json.dumps(body).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    if len(step) > 3:
                        for k, v in step[3].items():
                            self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = _serve
            do_POST = _serve

        self.lock = threading.Lock()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
        self.httpd.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
