"""Fixtures for the Python package's tests (run by tests/python/run.sh under
ctest, in a venv where `pip install ./bindings/python` was just done)."""
import http.server
import os
import threading

import pytest

import faultline

HERE = os.path.dirname(os.path.abspath(__file__))
POLICY = os.path.join(HERE, "policy")


@pytest.fixture(scope="session")
def engine():
    e = faultline.Engine(POLICY)
    yield e
    e.close()


@pytest.fixture(scope="session")
def stock():
    e = faultline.Engine()
    yield e
    e.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    """/429 answers 429 with Retry-After: 2; /503 answers 503; /ok 200."""

    def do_GET(self):  # noqa: N802
        if self.path.startswith("/429"):
            self.send_response(429)
            self.send_header("Retry-After", "2")
        elif self.path.startswith("/503"):
            self.send_response(503)
        else:
            self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a):
        pass


@pytest.fixture(scope="session")
def http_url():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


@pytest.fixture()
def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
