#!/usr/bin/env python3
"""Make real programs fail for real and record what they said.

Usage: generate.py OUT.jsonl

Every event written here carries a message that a real program produced
during this run: curl against a closed port, a local HTTP server answering
with error statuses, sqlite3 violating constraints, Python exceptions raised
by the interpreter, Node.js errors, psql, and shell utilities.  Nothing leaves
127.0.0.1 (the DNS cases use the reserved ".invalid" TLD, RFC 6761, which a
resolver answers negatively without asking the network on a correctly set-up
host; they are bounded by timeouts either way).

Each failure is recorded as a message-only event (the common case: a log
line), and, when the failing program gave one, again with its domain and
code.  Labels are the stock pack's taxonomy; `authority` says why.
Every case runs on every machine: the programs it needs (REQUIRED below) are
installed by scripts/setup.sh.  A program that is missing, or a case that
cannot run (no output captured, did not fail, crashed), is reported on stderr
as "generate: FAIL: ..." and makes the exit status 1 -- the events that did
run are still written, for inspection -- so a case never silently vanishes.
"""
import errno
import http.server
import json
import os
import shutil
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

OUT = sys.argv[1] if len(sys.argv) > 1 else "live.jsonl"
events = []
problems = []
TMP = tempfile.mkdtemp(prefix="fl-corpus-")

# program -> the Debian package that provides it (installed by scripts/setup.sh)
REQUIRED = {"curl": "curl", "openssl": "openssl", "sqlite3": "sqlite3", "node": "nodejs",
            "psql": "postgresql-client", "git": "git", "sh": "dash"}


def problem(msg):
    """A case that could not run: loud now, and a failed exit status at the end."""
    problems.append(msg)
    print(f"generate: FAIL: {msg}", file=sys.stderr)


for prog, pkg in REQUIRED.items():
    if not shutil.which(prog):
        problem(f"'{prog}' not found (Debian package {pkg}; scripts/setup.sh installs it): "
                "its cases cannot run")


def add(source, ev, cat, retryable, authority):
    events.append({"event": ev, "expect": {"category": cat, "retryable": retryable},
                   "authority": authority, "source": "live:" + source})


def record(source, message, cat, retryable, authority, domain=None, code=None, bare=True,
           tags=None):
    """A message-only event, and the same failure with its domain/code."""
    message = message.strip()
    if not message:
        problem(f"{source}: no output captured")
        return
    if bare:
        ev = {"message": message}
        if tags:
            ev["tags"] = dict(tags)
        add(source, ev, cat, retryable, authority)
    if domain is not None or code is not None:
        ev = {"message": message}
        if domain is not None:
            ev["domain"] = domain
        if code is not None:
            ev["code"] = code
        if tags:
            ev["tags"] = dict(tags)
        add(source + "+code", ev, cat, retryable, authority)


def run(cmd, timeout=15, **kw):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
        return p.returncode, p.stderr.strip(), p.stdout.strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, str(e), ""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def exc_line(e):
    """The last line of a Python traceback, as a log would show it."""
    return traceback.format_exception_only(type(e), e)[-1].strip()


# --------------------------------------------------------------------------
# A local HTTP server that fails on request.

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        if parts[0] == "status":
            st = int(parts[1])
            self.send_response(st)
            if st == 429 or st == 503:
                self.send_header("Retry-After", "2")
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"failing on purpose\n")
        elif parts[0] == "sleep":
            time.sleep(2.0)
            self.send_response(200)
            self.end_headers()
        elif parts[0] == "empty":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif parts[0] == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
        elif parts[0] == "loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
        else:
            self.send_response(200)
            self.end_headers()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


srv = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
BASE = f"http://127.0.0.1:{srv.server_address[1]}"
CLOSED = free_port()

HTTP_CASES = {
    # status: (category, retryable, authority)
    400: ("invalid_argument", False, "google.rpc.Code INVALID_ARGUMENT <-> HTTP 400"),
    401: ("unauthenticated", False, "gRPC HTTP-to-status mapping: 401 -> UNAUTHENTICATED"),
    403: ("permission_denied", False, "gRPC HTTP-to-status mapping: 403 -> PERMISSION_DENIED"),
    404: ("not_found", False, "google.rpc.Code NOT_FOUND <-> HTTP 404"),
    405: ("unimplemented", False, "RFC 9110 15.5.6 method not supported by the target"),
    408: ("deadline_exceeded", True, "RFC 9110 15.5.9: the client MAY repeat the request"),
    409: ("aborted", True, "google.rpc.Code ABORTED <-> 409; Envoy retriable-4xx is 409"),
    410: ("not_found", False, "RFC 9110 15.5.11 Gone"),
    412: ("failed_precondition", False, "RFC 9110 15.5.13 Precondition Failed"),
    413: ("invalid_argument", False, "RFC 9110 15.5.14 Content Too Large"),
    415: ("invalid_argument", False, "RFC 9110 15.5.16 Unsupported Media Type"),
    416: ("out_of_range", False, "RFC 9110 15.5.17 Range Not Satisfiable"),
    422: ("invalid_argument", False, "RFC 9110 15.5.21 Unprocessable Content"),
    425: ("unavailable", True, "RFC 8470 5.2: the client MAY retry a 425"),
    429: ("resource_exhausted.rate_limited", True, "RFC 6585 4; google.rpc.Code RESOURCE_EXHAUSTED <-> 429"),
    431: ("invalid_argument", False, "RFC 6585 5"),
    451: ("permission_denied", False, "RFC 7725"),
    499: ("cancelled", False, "google.rpc.Code CANCELLED <-> HTTP 499"),
    500: ("internal", True, "google.rpc.Code INTERNAL <-> 500; AWS SDK standard mode retries 500"),
    501: ("unimplemented", False, "google.rpc.Code UNIMPLEMENTED <-> 501"),
    502: ("unavailable", True, "gRPC HTTP-to-status mapping: 502 -> UNAVAILABLE"),
    503: ("unavailable", True, "gRPC HTTP-to-status mapping: 503 -> UNAVAILABLE"),
    504: ("unavailable", True, "gRPC HTTP-to-status mapping: 504 -> UNAVAILABLE"),
    507: ("resource_exhausted.storage_full", False, "RFC 4918 11.5 Insufficient Storage"),
    511: ("unauthenticated", False, "RFC 6585 6 Network Authentication Required"),
}

CURL = shutil.which("curl")


def curl(*args, timeout=15):
    rc, err, out = run([CURL, "-sS", *args], timeout=timeout)
    lines = [l for l in err.splitlines() if l.startswith("curl: (")]
    return rc, (lines[0] if lines else err)


def curl_cases():
    if not CURL:
        return
    for st, (cat, rt, auth) in HTTP_CASES.items():
        rc, line = curl("-f", f"{BASE}/status/{st}")
        record(f"curl-http-{st}", line, cat, rt, "curl (22) carries the HTTP status; " + auth,
               domain="curl", code=rc)
    cases = [
        ("curl-closed-port", [f"http://127.0.0.1:{CLOSED}/"], "unavailable", True,
         "CURLE_COULDNT_CONNECT (libcurl-errors); absl ECONNREFUSED -> UNAVAILABLE"),
        ("curl-dns", ["--max-time", "5", "http://nonexistent.invalid/"], "unavailable.dns", True,
         "CURLE_COULDNT_RESOLVE_HOST; gRPC reports name-resolution failure as UNAVAILABLE"),
        ("curl-timeout", ["--max-time", "0.5", f"{BASE}/sleep"], "deadline_exceeded", True,
         "CURLE_OPERATION_TIMEDOUT; curl --retry retries timeouts"),
        ("curl-empty-reply", [f"{BASE}/empty"], "unavailable", True,
         "CURLE_GOT_NOTHING: the connection closed before a response"),
        ("curl-reset", [f"{BASE}/reset"], "unavailable", True,
         "CURLE_RECV_ERROR with ECONNRESET; absl ECONNRESET -> UNAVAILABLE"),
        ("curl-bad-url", ["http://[::1"], "invalid_argument", False, "CURLE_URL_MALFORMAT"),
        ("curl-protocol", ["foo://example"], "unimplemented", False, "CURLE_UNSUPPORTED_PROTOCOL"),
        ("curl-file", ["file:///nonexistent/fl-corpus"], "not_found", False,
         "CURLE_FILE_COULDNT_READ_FILE"),
        ("curl-redirects", ["-L", "--max-redirs", "2", f"{BASE}/loop"], "failed_precondition", False,
         "CURLE_TOO_MANY_REDIRECTS: repeating the request follows the same loop"),
        ("curl-write", ["-o", "/nonexistent/dir/out", f"{BASE}/status/200"], "internal", False,
         "CURLE_WRITE_ERROR: a local write failure"),
        ("curl-tls-plain", [f"https://127.0.0.1:{srv.server_address[1]}/"], "unavailable.tls", False,
         "CURLE_SSL_CONNECT_ERROR: a TLS handshake that fails by configuration fails again"),
    ]
    for name, args, cat, rt, auth in cases:
        rc, line = curl(*args)
        record(name, line, cat, rt, auth, domain="curl", code=rc)
        # libcurl's own error text, as a program embedding libcurl logs it
        if line.startswith("curl: ("):
            record(name + "-libcurl", line.split(") ", 1)[1], cat, rt, auth, bare=True,
                   domain="libcurl", code=rc)


# --------------------------------------------------------------------------
# TLS with a self-signed certificate (needs the openssl command).

def tls_cases():
    if not shutil.which("openssl"):
        return
    key, crt = os.path.join(TMP, "k.pem"), os.path.join(TMP, "c.pem")
    rc, _, _ = run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=localhost"])
    if rc != 0:
        problem("tls: openssl could not make a self-signed certificate")
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    tsrv = Server(("127.0.0.1", 0), Handler)
    tsrv.socket = ctx.wrap_socket(tsrv.socket, server_side=True)
    threading.Thread(target=tsrv.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{tsrv.server_address[1]}/"
    auth = "certificate verification failure: not transient (gRPC: handshake failure is UNAVAILABLE; retrying cannot fix trust)"
    if CURL:
        rc, line = curl(url)
        record("curl-self-signed", line, "unavailable.tls", False, auth, domain="curl", code=rc)
    try:
        urllib.request.urlopen(url, timeout=5)
    except Exception as e:
        record("python-self-signed", exc_line(e), "unavailable.tls", False, auth)
    return tsrv, url


# --------------------------------------------------------------------------
# Python: exceptions raised by the interpreter and the standard library.

def py(name, fn, cat, rt, auth, domain_code=True):
    try:
        fn()
    except BaseException as e:  # noqa: B036 -- we want KeyboardInterrupt etc. too
        line = exc_line(e)
        dom = code = None
        if domain_code and isinstance(e, OSError) and e.errno and e.errno in errno.errorcode:
            dom, code = "posix", errno.errorcode[e.errno]
        record("python-" + name, line, cat, rt, auth, domain=dom, code=code)
        if dom:
            add("python-" + name + "+errno", {"domain": "posix", "code": e.errno, "message": str(e)},
                cat, rt, auth)
        return
    problem(f"python-{name}: did not fail")


def python_cases():
    A = "absl::ErrnoToStatusCode"
    py("file-not-found", lambda: open("/nonexistent/fl-corpus.txt"), "not_found", False, A + ": ENOENT -> NOT_FOUND")
    py("permission", lambda: open("/sys/fl-corpus", "w"), "permission_denied", False, A + ": EACCES -> PERMISSION_DENIED")
    py("is-a-directory", lambda: open("/tmp").read(), "failed_precondition", False, A + ": EISDIR -> FAILED_PRECONDITION")
    py("not-a-directory", lambda: open("/etc/passwd/x"), "failed_precondition", False, A + ": ENOTDIR -> FAILED_PRECONDITION")
    py("file-exists", lambda: os.mkdir("/tmp"), "already_exists", False, A + ": EEXIST -> ALREADY_EXISTS")
    nonempty = os.path.join(TMP, "nonempty")
    os.makedirs(os.path.join(nonempty, "x"), exist_ok=True)
    py("not-empty", lambda: os.rmdir(nonempty), "failed_precondition", False, A + ": ENOTEMPTY -> FAILED_PRECONDITION")
    py("no-space", lambda: os.write(os.open("/dev/full", os.O_WRONLY), b"x"),
       "resource_exhausted.storage_full", False, A + ": ENOSPC -> RESOURCE_EXHAUSTED; not transient")
    py("no-such-process", lambda: os.kill(2 ** 22 + 12345, 0), "not_found", False, A + ": ESRCH -> NOT_FOUND")
    py("no-child", lambda: os.waitpid(-1, 0), "failed_precondition", False, A + ": ECHILD -> FAILED_PRECONDITION")
    py("bad-fd", lambda: os.close(9999), "failed_precondition", False, A + ": EBADF -> FAILED_PRECONDITION")
    py("name-too-long", lambda: open("/tmp/" + "a" * 300), "invalid_argument", False, A + ": ENAMETOOLONG -> INVALID_ARGUMENT")
    r, w = os.pipe()
    py("illegal-seek", lambda: os.lseek(r, 10, 0), "invalid_argument", False, A + ": ESPIPE -> INVALID_ARGUMENT")
    os.close(r)
    os.close(w)
    py("cross-device", lambda: os.rename("/proc/version", os.path.join(TMP, "v")), "unimplemented", False,
       A + ": EXDEV -> UNIMPLEMENTED")

    def addr_in_use():
        a = socket.socket()
        a.bind(("127.0.0.1", 0))
        a.listen()
        b = socket.socket()
        try:
            b.bind(a.getsockname())
        finally:
            a.close()
            b.close()
    py("address-in-use", addr_in_use, "failed_precondition", False, A + ": EADDRINUSE -> FAILED_PRECONDITION")

    def refused():
        s = socket.create_connection(("127.0.0.1", CLOSED), timeout=5)
        s.close()
    py("connection-refused", refused, "unavailable", True, A + ": ECONNREFUSED -> UNAVAILABLE")

    def reset():
        s = socket.create_connection(srv.server_address, timeout=5)
        s.sendall(b"GET /reset HTTP/1.0\r\n\r\n")
        time.sleep(0.2)
        s.sendall(b"x" * 100)
        s.recv(100)
        s.recv(100)
    py("connection-reset", reset, "unavailable", True, A + ": ECONNRESET -> UNAVAILABLE")

    py("gaierror", lambda: socket.getaddrinfo("nonexistent.invalid", 80), "unavailable.dns", True,
       "getaddrinfo EAI_NONAME; gRPC reports name-resolution failure as UNAVAILABLE", domain_code=False)

    def sock_timeout():
        s = socket.create_connection(srv.server_address, timeout=0.3)
        s.sendall(b"GET /sleep HTTP/1.0\r\n\r\n")
        s.recv(10)
    py("socket-timeout", sock_timeout, "deadline_exceeded", True, "socket timeout: deadline passed (gRPC DEADLINE_EXCEEDED)")

    def too_many_files():
        code = ("import resource\nresource.setrlimit(resource.RLIMIT_NOFILE,(16,16))\n"
                "fs=[open('/dev/null') for _ in range(64)]\n")
        rc, err, _ = run([sys.executable, "-c", code])
        raise RuntimeError(err.splitlines()[-1] if err else "")
    try:
        too_many_files()
    except RuntimeError as e:
        record("python-emfile", str(e), "resource_exhausted.file_descriptors", False,
               A + ": EMFILE -> RESOURCE_EXHAUSTED; not fixed by an immediate retry", domain="posix", code="EMFILE")

    # urllib against the local server
    for st in (404, 429, 500, 503, 403, 401):
        cat, rt, auth = HTTP_CASES[st]
        try:
            urllib.request.urlopen(f"{BASE}/status/{st}", timeout=5)
        except urllib.error.HTTPError as e:
            tags = {"retry_after": e.headers["Retry-After"]} if e.headers.get("Retry-After") else None
            record(f"python-urllib-{st}", exc_line(e), cat, rt, auth, domain="http", code=e.code, tags=tags)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{CLOSED}/", timeout=5)
    except Exception as e:
        record("python-urllib-refused", exc_line(e), "unavailable", True, A + ": ECONNREFUSED -> UNAVAILABLE")
    try:
        urllib.request.urlopen(f"{BASE}/empty", timeout=5)
    except Exception as e:
        record("python-urllib-empty", exc_line(e), "unavailable", True, "connection closed without a response: transient")
    try:
        urllib.request.urlopen(f"{BASE}/sleep", timeout=0.3)
    except Exception as e:
        record("python-urllib-timeout", exc_line(e), "deadline_exceeded", True, "read timeout (gRPC DEADLINE_EXCEEDED)")

    P = "Python built-in exceptions, mapped by meaning (grpc statuscodes.md)"
    py("json", lambda: json.loads("{not json"), "invalid_argument", False, P + ": malformed input")
    py("json-empty", lambda: json.loads(""), "invalid_argument", False, P + ": malformed input")
    py("int-parse", lambda: int("abc"), "invalid_argument", False, P + ": ValueError")
    py("zero-division", lambda: 1 / 0, "invalid_argument", False, P + "; SQLSTATE 22012 division_by_zero is a data exception")
    py("key-error", lambda: {}["user_id"], "not_found", False, P + ": KeyError")
    py("index-error", lambda: [][3], "out_of_range", False, P + ": IndexError")
    py("type-error", lambda: 1 + "a", "internal", False, P + ": a programming error")
    py("attribute-error", lambda: None.name, "internal", False, P + ": a programming error")
    py("name-error", lambda: eval("undefined_name_x"), "internal", False, P + ": a programming error")
    py("memory-error", lambda: bytearray(1 << 60), "resource_exhausted.memory", False, P + ": MemoryError")
    import math
    py("overflow", lambda: math.exp(1000), "out_of_range", False, P + ": OverflowError")
    py("unicode", lambda: b"\xff\xfe\xfa".decode("utf-8"), "invalid_argument", False, P + ": UnicodeDecodeError")

    def recurse(n=0):
        return recurse(n + 1)
    py("recursion", recurse, "internal", False, P + ": RecursionError, a programming error")

    def not_impl():
        raise NotImplementedError("export to PDF")
    py("not-implemented", not_impl, "unimplemented", False, P + ": NotImplementedError")
    py("module-not-found", lambda: __import__("fl_no_such_module"), "failed_precondition", False,
       P + ": a missing dependency is a deployment precondition")
    py("assertion", lambda: exec("assert 1 == 2, 'invariant broken'"), "internal", False, P + ": AssertionError")
    py("called-process", lambda: subprocess.run(["false"], check=True), "unknown", False,
       "a child's exit status says nothing about the cause")
    py("timeout-error", lambda: subprocess.run(["sleep", "5"], timeout=0.2), "deadline_exceeded", True,
       P + ": TimeoutExpired")

    def keyboard():
        raise KeyboardInterrupt()
    py("keyboard-interrupt", keyboard, "cancelled", False, P + ": the user cancelled")


# --------------------------------------------------------------------------
# SQLite: the sqlite3 shell and Python's sqlite3 module.

def sqlite_cases():
    A = "SQLite result codes (sqlite.org/rescode.html)"
    db = os.path.join(TMP, "t.db")
    schema = ("PRAGMA foreign_keys=ON;"
              "CREATE TABLE p(id INTEGER PRIMARY KEY);"
              "CREATE TABLE t(id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE, n INT CHECK(n > 0),"
              " p INT REFERENCES p(id));"
              "CREATE TABLE s(x INTEGER) STRICT;"
              "INSERT INTO p VALUES(1); INSERT INTO t VALUES(1,'a@example.org',1,1);")
    con = sqlite3.connect(db)
    con.executescript(schema)
    con.commit()
    con.close()
    cases = [
        ("unique", "INSERT INTO t VALUES(2,'a@example.org',1,1);", "already_exists", False),
        ("primary-key", "INSERT INTO t VALUES(1,'b@example.org',1,1);", "already_exists", False),
        ("not-null", "INSERT INTO t VALUES(3,NULL,1,1);", "invalid_argument", False),
        ("check", "INSERT INTO t VALUES(4,'c@example.org',-1,1);", "invalid_argument", False),
        ("foreign-key", "PRAGMA foreign_keys=ON; INSERT INTO t VALUES(5,'d@example.org',1,99);", "failed_precondition", False),
        ("syntax", "SELEC * FROM t;", "invalid_argument", False),
        ("no-table", "SELECT * FROM missing_table;", "not_found", False),
        ("no-column", "SELECT missing_column FROM t;", "not_found", False),
        ("strict-type", "INSERT INTO s VALUES('abc');", "invalid_argument", False),
    ]
    if shutil.which("sqlite3"):
        for name, sql, cat, rt in cases:
            rc, err, _ = run(["sqlite3", db, sql])
            record("sqlite3-" + name, err.splitlines()[0] if err else "", cat, rt, A)
        rc, err, _ = run(["sqlite3", "-readonly", db, "INSERT INTO p VALUES(7);"])
        record("sqlite3-readonly", err, "permission_denied", False, A + ": SQLITE_READONLY")
        # a writer holds the lock; the shell has no busy timeout
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        rc, err, _ = run(["sqlite3", db, "INSERT INTO p VALUES(8);"])
        record("sqlite3-locked", err, "aborted", True, A + ": SQLITE_BUSY is retried by a busy handler")
        holder.execute("ROLLBACK")
        holder.close()
        junk = os.path.join(TMP, "junk.db")
        with open(junk, "wb") as f:
            f.write(b"this is not a database file at all, just text" * 40)
        rc, err, _ = run(["sqlite3", junk, "SELECT * FROM sqlite_master;"])
        record("sqlite3-notadb", err, "failed_precondition", False, A + ": SQLITE_NOTADB")
        rc, err, _ = run(["sqlite3", "/nonexistent/dir/x.db", "SELECT 1;"])
        record("sqlite3-cantopen", err, "not_found", False, A + ": SQLITE_CANTOPEN")
    # Python's sqlite3 exposes the extended result code (3.11+).
    for name, sql, cat, rt in cases:
        con = sqlite3.connect(db)
        con.execute("PRAGMA foreign_keys=ON")
        try:
            con.executescript(sql)
        except sqlite3.Error as e:
            code = getattr(e, "sqlite_errorcode", None)
            record("python-sqlite-" + name, exc_line(e), cat, rt, A,
                   domain="sqlite" if code is not None else None, code=code)
        finally:
            con.close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    con = sqlite3.connect(db, timeout=0.1)
    try:
        con.execute("INSERT INTO p VALUES(9)")
    except sqlite3.Error as e:
        record("python-sqlite-locked", exc_line(e), "aborted", True, A + ": SQLITE_BUSY",
               domain="sqlite", code=getattr(e, "sqlite_errorcode", None))
    con.close()
    holder.execute("ROLLBACK")
    holder.close()


# --------------------------------------------------------------------------
# Node.js

NODE_SCRIPT = r"""
const fs = require('fs'), net = require('net'), dns = require('dns'), http = require('http');
const [base, closed] = [process.argv[1], Number(process.argv[2])];
const out = (name, e) => console.log(JSON.stringify({name, message: String(e), code: e && e.code}));
const cases = {
  'econnrefused': () => new Promise((res) => net.connect(closed, '127.0.0.1').on('error', (e) => { out('econnrefused', e); res(); })),
  'enotfound': () => new Promise((res) => dns.lookup('nonexistent.invalid', (e) => { out('enotfound', e); res(); })),
  'enoent': async () => { try { fs.readFileSync('/nonexistent/fl-corpus.json'); } catch (e) { out('enoent', e); } },
  'eacces': async () => { try { fs.writeFileSync('/sys/fl-corpus', 'x'); } catch (e) { out('eacces', e); } },
  'eexist': async () => { try { fs.mkdirSync('/tmp'); } catch (e) { out('eexist', e); } },
  'eisdir': async () => { try { fs.readFileSync('/tmp'); } catch (e) { out('eisdir', e); } },
  'enotdir': async () => { try { fs.readFileSync('/etc/passwd/x'); } catch (e) { out('enotdir', e); } },
  'enospc': async () => { try { fs.writeFileSync('/dev/full', 'x'); } catch (e) { out('enospc', e); } },
  'json': async () => { try { JSON.parse('{"a": tru'); } catch (e) { out('json', e); } },
  'json2': async () => { try { JSON.parse('abc'); } catch (e) { out('json2', e); } },
  'undefined-prop': async () => { try { const u = undefined; u.name; } catch (e) { out('undefined-prop', e); } },
  'reference': async () => { try { notDefinedAnywhere(); } catch (e) { out('reference', e); } },
  'array-length': async () => { try { new Array(-1); } catch (e) { out('array-length', e); } },
  'stack': async () => { const f = () => f(); try { f(); } catch (e) { out('stack', e); } },
  'eaddrinuse': () => new Promise((res) => { const a = net.createServer().listen(0, '127.0.0.1', () => {
      const b = net.createServer().on('error', (e) => { out('eaddrinuse', e); a.close(); res(); });
      b.listen(a.address().port, '127.0.0.1'); }); }),
  'econnreset': () => new Promise((res) => http.get(base + '/reset', () => res()).on('error', (e) => { out('econnreset', e); res(); })),
  'hangup': () => new Promise((res) => http.get(base + '/empty', () => res()).on('error', (e) => { out('hangup', e); res(); })),
  'fetch-refused': async () => { try { await fetch('http://127.0.0.1:' + closed + '/'); } catch (e) { out('fetch-refused', e); } },
  'timeout': async () => { try { await fetch(base + '/sleep', {signal: AbortSignal.timeout(200)}); } catch (e) { out('timeout', e); } },
  'abort': async () => { const c = new AbortController(); const p = fetch(base + '/sleep', {signal: c.signal}); c.abort();
      try { await p; } catch (e) { out('abort', e); } },
  'module': async () => { try { require('fl-no-such-module'); } catch (e) { out('module', e); } },
  'invalid-arg': async () => { try { fs.readFileSync(42.5); } catch (e) { out('invalid-arg', e); } },
};
(async () => { for (const k of Object.keys(cases)) await cases[k](); process.exit(0); })();
"""

NODE_LABELS = {
    "econnrefused": ("unavailable", True, "absl: ECONNREFUSED -> UNAVAILABLE"),
    "enotfound": ("unavailable.dns", True, "getaddrinfo ENOTFOUND; gRPC: name-resolution failure is UNAVAILABLE"),
    "enoent": ("not_found", False, "absl: ENOENT -> NOT_FOUND"),
    "eacces": ("permission_denied", False, "absl: EACCES -> PERMISSION_DENIED"),
    "eexist": ("already_exists", False, "absl: EEXIST -> ALREADY_EXISTS"),
    "eisdir": ("failed_precondition", False, "absl: EISDIR -> FAILED_PRECONDITION"),
    "enotdir": ("failed_precondition", False, "absl: ENOTDIR -> FAILED_PRECONDITION"),
    "enospc": ("resource_exhausted.storage_full", False, "absl: ENOSPC -> RESOURCE_EXHAUSTED"),
    "json": ("invalid_argument", False, "malformed input (SyntaxError from JSON.parse)"),
    "json2": ("invalid_argument", False, "malformed input (SyntaxError from JSON.parse)"),
    "undefined-prop": ("internal", False, "TypeError on undefined: a programming error"),
    "reference": ("internal", False, "ReferenceError: a programming error"),
    "array-length": ("out_of_range", False, "RangeError"),
    "stack": ("internal", False, "stack overflow: a programming error"),
    "eaddrinuse": ("failed_precondition", False, "absl: EADDRINUSE -> FAILED_PRECONDITION"),
    "econnreset": ("unavailable", True, "absl: ECONNRESET -> UNAVAILABLE"),
    "hangup": ("unavailable", True, "connection closed without a response: transient"),
    "fetch-refused": ("unavailable", True, "undici 'fetch failed': a network error"),
    "timeout": ("deadline_exceeded", True, "AbortSignal.timeout: TimeoutError"),
    "abort": ("cancelled", False, "AbortController.abort(): the caller cancelled"),
    "module": ("failed_precondition", False, "a missing dependency is a deployment precondition"),
    "invalid-arg": ("invalid_argument", False, "ERR_INVALID_ARG_TYPE"),
}


def node_cases():
    node = shutil.which("node") or shutil.which("nodejs")
    if not node:
        return
    rc, err, out = run([node, "-e", NODE_SCRIPT, BASE, str(CLOSED)], timeout=30)
    seen = set()
    for line in out.splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r["name"] not in NODE_LABELS:
            continue
        seen.add(r["name"])
        cat, rt, auth = NODE_LABELS[r["name"]]
        record("node-" + r["name"], r["message"], cat, rt, auth,
               domain="node" if r.get("code") else None, code=r.get("code"))
    for name in NODE_LABELS:
        if name not in seen:
            problem(f"node-{name}: no result (node exit {rc}: {err.splitlines()[-1] if err else ''})")


# --------------------------------------------------------------------------
# Shell utilities and psql.

def shell_cases():
    A = "absl::ErrnoToStatusCode"
    cases = [
        ("cat-missing", "cat /nonexistent/fl-corpus.txt", "not_found", False, A + ": ENOENT"),
        ("ls-missing", "ls /nonexistent/fl-corpus", "not_found", False, A + ": ENOENT"),
        ("touch-sys", "touch /sys/fl-corpus", "permission_denied", False, A + ": EACCES"),
        ("write-sys", "echo x > /sys/kernel/fl-corpus", "permission_denied", False, A + ": EACCES"),
        ("mkdir-exists", "mkdir /tmp", "already_exists", False, A + ": EEXIST"),
        ("cp-full", "cp /etc/hostname /dev/full", "resource_exhausted.storage_full", False, A + ": ENOSPC"),
        ("kill-missing", "kill 9999999", "not_found", False, A + ": ESRCH"),
        ("command-missing", "fl-no-such-command-xyz", "not_found", False, "POSIX shell: command not found (exit 127)"),
        ("rmdir-nonempty", f"mkdir -p {TMP}/ne/x && rmdir {TMP}/ne", "failed_precondition", False, A + ": ENOTEMPTY"),
        ("cat-dir", "cat /tmp", "failed_precondition", False, A + ": EISDIR"),
        ("ln-exists", f"touch {TMP}/lnk && ln -s /etc/hostname {TMP}/lnk", "already_exists", False, A + ": EEXIST"),
    ]
    for name, cmd, cat, rt, auth in cases:
        rc, err, _ = run(["sh", "-c", cmd])
        record("sh-" + name, err.splitlines()[0] if err else "", cat, rt, auth)
    if shutil.which("psql"):
        P = "libpq connection failure: SQLSTATE class 08 (connection exception) -> UNAVAILABLE"
        rc, err, _ = run(["psql", "-h", "127.0.0.1", "-p", str(CLOSED), "-c", "select 1"],
                         env=dict(os.environ, PGCONNECT_TIMEOUT="5"))
        record("psql-refused", err, "unavailable", True, P)
        rc, err, _ = run(["psql", "-h", "nonexistent.invalid", "-c", "select 1"],
                         env=dict(os.environ, PGCONNECT_TIMEOUT="5"))
        record("psql-dns", err, "unavailable.dns", True, P + "; name resolution")
    if shutil.which("git"):
        rc, err, _ = run(["git", "-C", "/nonexistent/fl-corpus", "status"])
        record("git-no-dir", err, "not_found", False, A + ": ENOENT")


def main():
    for f in (curl_cases, tls_cases, python_cases, sqlite_cases, node_cases, shell_cases):
        try:
            f()
        except Exception as e:  # one broken tool must not lose the rest
            problem(f"{f.__name__} failed: {exc_line(e)}")
    srv.shutdown()
    with open(OUT, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    shutil.rmtree(TMP, ignore_errors=True)
    print(f"generate: {len(events)} live events -> {OUT}", file=sys.stderr)
    if problems:
        print(f"generate: FAILED: {len(problems)} case(s) could not run (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
