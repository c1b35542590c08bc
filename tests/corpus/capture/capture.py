#!/usr/bin/python3
"""Capture a live error corpus: real programs and libraries failing for real.

Usage: /usr/bin/python3 capture.py OUTDIR [--round N STEP...]

With STEP names (e.g. `--round 2 python_more tools_more`), only those steps
run and their events are added to OUTDIR's files: the events already there
are kept as they are and only scenario keys a file does not hold yet are
appended, marked `"round": N` (a later capture round; the first round's
events carry no round).  test_corpus reports the held-out part of each round
on its own, so a round's figures are measured on failures its rules never saw.

Starts its own PostgreSQL, MariaDB and Redis servers (Debian packages) on
private ports under a temporary directory, a local HTTP(S) server, and makes
~25 programs and libraries fail against them: psql, psycopg2, PHP PDO and
JDBC (PostgreSQL); the mariadb client, PyMySQL, PHP PDO and MariaDB
Connector/J; redis-cli and redis-py (a primary, a replica whose primary is
down, a cluster node with no slots); the Python, Go, Java, Node.js, Ruby and
PHP runtimes; coreutils, tar, gzip/bzip2/xz/zstd, zip/unzip, openssl, ssh,
git, wget, curl, sqlite3 and the AWS CLI.

Each failure is labelled from the authority for what the program reported
(labels.py: SQLSTATE classes, MySQL error numbers, errno via
absl::ErrnoToStatusCode, HTTP via gRPC's mapping, RESP prefixes, each
runtime's exception semantics) and records the source of its label.  Every
event is written message-only (the common case: a log line); failures that
came with a code are written a second time with domain and code.

Each event is put in `tune` or `heldout` by a hash of its scenario key (the
same failure seen through several clients, or as a one-line message and a
multi-line trace, lands on one side), so rules written against `tune` are
measured on failures they were never written for.

Writes OUTDIR/<source>.jsonl.  Nothing leaves 127.0.0.1 (DNS failures use
the reserved .invalid TLD).
"""
import hashlib
import http.server
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labels as L  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUTDIR = sys.argv[1] if len(sys.argv) > 1 else "captured"
TMP = tempfile.mkdtemp(prefix="fl-capture-")
os.chmod(TMP, 0o755)
ROOT = os.geteuid() == 0
HELDOUT_SHARE = 40  # percent of scenario keys held out
ROUND = 1  # set by --round: the capture round new events belong to
events = {}
seen = set()


def split_of(key):
    h = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return "heldout" if h % 100 < HELDOUT_SHARE else "tune"


def add(source, key, message, cat, authority, domain=None, code=None, only_code=False):
    """Record a failure: message-only, and with domain/code when given."""
    if message is None:
        return
    message = message.strip("\n")
    if not message.strip() or cat is None:
        print(f"capture: {source} {key}: nothing captured / no label, skipped", file=sys.stderr)
        return
    cat = L.norm(cat)
    rec = {"expect": {"category": cat, "retryable": L.retryable(cat)}, "authority": authority,
           "source": source, "key": key, "split": split_of(key)}
    if ROUND > 1:
        rec["round"] = ROUND
    variants = []
    if not only_code:
        variants.append({"message": message})
    if domain is not None or code is not None:
        ev = {"message": message}
        if domain is not None:
            ev["domain"] = domain
        if code is not None:
            ev["code"] = code
        variants.append(ev)
    for ev in variants:
        sig = json.dumps([source, ev], sort_keys=True)
        if sig in seen:
            continue
        seen.add(sig)
        events.setdefault(source, []).append(dict(rec, event=ev))


SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def run(cmd, timeout=20, user=None, **kw):
    if user and ROOT:
        cmd = ["runuser", "-u", user, "--", "env", "PATH=" + SAFE_PATH, "HOME=" + TMP] + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, errors="replace", **kw)
        return p.returncode, p.stderr.strip("\n"), p.stdout.strip("\n")
    except subprocess.TimeoutExpired as e:
        return None, (e.stderr or b"").decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or ""), ""
    except OSError as e:
        return None, str(e), ""


def have(prog):
    return shutil.which(prog) is not None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30):
    t = time.time() + timeout
    while time.time() < t:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


def jsonl_client(cmd, timeout=300, **kw):
    """Run a client that prints one JSON object per failure."""
    rc, err, out = run(cmd, timeout=timeout, **kw)
    res = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                res.append(json.loads(line))
            except ValueError:
                pass
    if not res:
        print(f"capture: {cmd[:3]} produced nothing: {err[-400:]}", file=sys.stderr)
    return res


CLOSED = free_port()

# ------------------------------------------------------------------ local HTTP(S)
AWS_NEXT = {"status": 500, "body": b"", "ctype": "application/xml"}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *a):
        pass

    def reply(self, st, body=b"failing on purpose\n", ctype="text/plain", extra=()):
        self.send_response(st)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[0] == "status":
            st = int(parts[1])
            extra = [("Retry-After", "1")] if st in (429, 503) else []
            if st == 401:
                extra.append(("WWW-Authenticate", 'Basic realm="fl"'))
            self.reply(st, extra=extra)
        elif parts[0] == "sleep":
            time.sleep(3)
            self.reply(200, b"late\n")
        elif parts[0] == "empty":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif parts[0] == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            self.connection.close()
        elif parts[0] == "loop":
            self.reply(302, extra=[("Location", "/loop")])
        elif parts[0] == "truncated":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"x" * 100)
            self.close_connection = True
        elif parts[0] == "json":
            self.reply(200, b'{"a": [1, 2', "application/json")
        else:
            self.aws()

    def aws(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(n)
        self.reply(AWS_NEXT["status"], AWS_NEXT["body"], AWS_NEXT["ctype"],
                   extra=[("x-amzn-RequestId", "fl-capture"), ("x-amz-request-id", "fl-capture")])

    do_POST = do_PUT = do_DELETE = do_HEAD = do_GET


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


srv = Server(("127.0.0.1", 0), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()
HPORT = srv.server_address[1]
BASE = f"http://127.0.0.1:{HPORT}"

KEY, CRT = os.path.join(TMP, "k.pem"), os.path.join(TMP, "c.pem")
run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", KEY, "-out", CRT,
     "-days", "1", "-subj", "/CN=fl-capture.test"])
os.chmod(KEY, 0o644)
TLSPORT = None
if os.path.exists(CRT):
    _ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _ctx.load_cert_chain(CRT, KEY)
    tsrv = Server(("127.0.0.1", 0), Handler)
    tsrv.socket = _ctx.wrap_socket(tsrv.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=tsrv.serve_forever, daemon=True).start()
    TLSPORT = tsrv.server_address[1]
TLSURL = f"https://127.0.0.1:{TLSPORT}/"

# a port that accepts and never answers (timeouts)
_silent = socket.socket()
_silent.bind(("127.0.0.1", 0))
_silent.listen(64)
SILENT = _silent.getsockname()[1]

HTTP_STATUSES = [400, 401, 403, 404, 405, 408, 409, 410, 412, 413, 415, 416, 422, 429, 500,
                 501, 502, 503, 504, 507]
A_TLS = "certificate verification failure (gRPC surfaces handshake failures as UNAVAILABLE; docs/taxonomy.md: unavailable.tls, not transient)"
A_REFUSED = "absl::ErrnoToStatusCode: ECONNREFUSED -> UNAVAILABLE"
A_DNS = "name resolution failure: gRPC reports it as UNAVAILABLE"
A_TIMEOUT = "a deadline passed (gRPC DEADLINE_EXCEEDED)"
A_RESET = "absl::ErrnoToStatusCode: ECONNRESET -> UNAVAILABLE (peer dropped the connection)"

# ------------------------------------------------------------------ PostgreSQL
PG_FIXTURE = """
CREATE TABLE acct (id int PRIMARY KEY, name varchar(5) NOT NULL, bal int CHECK (bal >= 0), born date);
CREATE TABLE child (id int PRIMARY KEY, acct_id int REFERENCES acct(id));
INSERT INTO acct VALUES (1, 'a', 10, '2000-01-01'), (2, 'b', 20, NULL);
INSERT INTO child VALUES (1, 1);
CREATE TABLE held (id int PRIMARY KEY, v int); INSERT INTO held VALUES (1, 0);
CREATE VIEW v_acct AS SELECT * FROM acct;
CREATE ROLE reader LOGIN;
CREATE ROLE alice LOGIN PASSWORD 'secret';
CREATE ROLE limited LOGIN CONNECTION LIMIT 0;
CREATE SEQUENCE seq1 MINVALUE 0 MAXVALUE 1 START 1; SELECT nextval('seq1');
CREATE TABLE ro_target (id int);
CREATE SCHEMA app;
CREATE TABLE parts (id int) PARTITION BY RANGE (id);
CREATE TABLE parts_1 PARTITION OF parts FOR VALUES FROM (0) TO (10);
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE TABLE booking (room int, during tstzrange, EXCLUDE USING gist (room WITH =, during WITH &&));
INSERT INTO booking VALUES (1, '[2020-01-01,2020-01-02)');
CREATE DATABASE busydb;
"""
PG_CASES = [
    ("div-zero", "SELECT 1/0"),
    ("int-syntax", "SELECT 'abc'::int"),
    ("int-range", "SELECT 2147483647::int + 1"),
    ("bigint-range", "SELECT 9223372036854775807::bigint * 2"),
    ("numeric-range", "SELECT 10::numeric(2,0) * 100::numeric(3,0)::numeric(2,0)"),
    ("varchar-long", "INSERT INTO acct VALUES (9, 'toolongname', 1)"),
    ("unique", "INSERT INTO acct VALUES (1, 'x', 1)"),
    ("not-null", "INSERT INTO acct VALUES (3, NULL, 1)"),
    ("check", "INSERT INTO acct VALUES (4, 'c', -5)"),
    ("fk-insert", "INSERT INTO child VALUES (2, 99)"),
    ("fk-delete", "DELETE FROM acct WHERE id = 1"),
    ("exclusion", "INSERT INTO booking VALUES (1, '[2020-01-01 12:00,2020-01-03)')"),
    ("undefined-table", "SELECT * FROM no_such_table"),
    ("undefined-column", "SELECT no_such_col FROM acct"),
    ("undefined-function", "SELECT no_such_fn(1)"),
    ("syntax", "SELEC 1"),
    ("syntax-near", "SELECT * FROM acct WHERE"),
    ("duplicate-table", "CREATE TABLE acct (id int)"),
    ("duplicate-schema", "CREATE SCHEMA app"),
    ("duplicate-role", "CREATE ROLE alice"),
    ("duplicate-database", "CREATE DATABASE busydb"),
    ("duplicate-column", "ALTER TABLE acct ADD COLUMN name text"),
    ("duplicate-prepared", "PREPARE p AS SELECT 1; PREPARE p AS SELECT 2"),
    ("duplicate-cursor", "BEGIN; DECLARE c CURSOR FOR SELECT 1; DECLARE c CURSOR FOR SELECT 2"),
    ("undefined-prepared", "EXECUTE nope"),
    ("undefined-cursor", "FETCH 1 FROM nocursor"),
    ("undefined-schema", "CREATE TABLE nosuchschema.t (id int)"),
    ("undefined-object", "DROP TYPE no_such_type"),
    ("undefined-parameter", "SET no_such_param = 1"),
    ("invalid-parameter-value", "SET work_mem = 'lots'"),
    ("permission-table", "SET ROLE reader; SELECT * FROM acct"),
    ("permission-schema", "SET ROLE reader; CREATE TABLE app.t (id int)"),
    ("permission-function", "SET ROLE reader; SELECT pg_read_file('/etc/hostname')"),
    ("must-be-owner", "SET ROLE reader; DROP TABLE acct"),
    ("datetime-range", "SELECT '2020-13-45'::date"),
    ("datetime-format", "SELECT 'yesterday-ish'::timestamp"),
    ("uuid-syntax", "SELECT 'not-a-uuid'::uuid"),
    ("json-syntax", "SELECT '{bad json'::json"),
    ("regex", "SELECT 'a' ~ '('"),
    ("cardinality", "SELECT (SELECT id FROM acct)"),
    ("datatype-mismatch", "SELECT * FROM acct WHERE id = 'a'::text"),
    ("ambiguous-column", "SELECT id FROM acct, child"),
    ("grouping", "SELECT id, count(*) FROM acct"),
    ("cannot-coerce", "SELECT '1'::text::point"),
    ("read-only-tx", "BEGIN READ ONLY; INSERT INTO ro_target VALUES (1)"),
    ("in-failed-tx", "BEGIN; SELECT 1/0; SELECT 1"),
    ("active-tx", "BEGIN; CREATE DATABASE otherdb"),
    ("object-in-use", "DROP DATABASE fl"),
    ("dependent-objects", "DROP TABLE acct"),
    ("raise-exception", "DO $$ BEGIN RAISE EXCEPTION 'custom failure in batch job'; END $$"),
    ("assert", "DO $$ BEGIN ASSERT 1 = 2, 'invariant broken'; END $$"),
    ("no-data-found", "DO $$ DECLARE r int; BEGIN SELECT id INTO STRICT r FROM acct WHERE id = 99; END $$"),
    ("too-many-rows", "DO $$ DECLARE r int; BEGIN SELECT id INTO STRICT r FROM acct; END $$"),
    ("feature-not-supported", "SELECT count(*) FROM acct FOR UPDATE"),
    ("statement-timeout", "SET statement_timeout = '100ms'; SELECT pg_sleep(2)"),
    ("lock-nowait", "SELECT * FROM held WHERE id = 1 FOR UPDATE NOWAIT"),
    ("lock-timeout", "SET lock_timeout = '100ms'; UPDATE held SET v = v + 1 WHERE id = 1"),
    ("sequence-limit", "SELECT nextval('seq1')"),
    ("array-subscript", "UPDATE acct SET name = name WHERE id = (ARRAY[1,2])[1:2][5]"),
    ("negative-limit", "SELECT * FROM acct LIMIT -1"),
    ("log-zero", "SELECT ln(0)"),
    ("substring", "SELECT substring('abc', 1, -1)"),
    ("untranslatable", "SELECT convert_from('\\xff'::bytea, 'UTF8')"),
    ("null-array-element", "SELECT array_fill(1, ARRAY[NULL]::int[])"),
    ("undefined-file", "COPY acct FROM '/nonexistent/fl-capture.csv'"),
    ("copy-format", "COPY acct FROM PROGRAM 'echo 1,2,3,4,5,6'  WITH (FORMAT csv)"),
    ("partition-none", "INSERT INTO parts VALUES (50)"),
    ("invalid-table-def", "CREATE TABLE bad (id int PRIMARY KEY, id2 int PRIMARY KEY)"),
    ("reserved-name", "CREATE TABLE pg_bad (id int); CREATE SCHEMA pg_nope"),
    ("generated-always", "CREATE TABLE g (a int, b int GENERATED ALWAYS AS (a * 2) STORED); INSERT INTO g VALUES (1, 2)"),
    ("invalid-escape", "SELECT 'a' LIKE 'a' ESCAPE 'xx'"),
    ("width-bucket", "SELECT width_bucket(1, 0, 10, 0)"),
    ("invalid-regex-flags", "SELECT regexp_replace('a', 'a', 'b', 'z')"),
    ("terminated", "SELECT pg_terminate_backend(pg_backend_pid())"),
    ("cancel-self", "SELECT pg_cancel_backend(pg_backend_pid()), pg_sleep(1)"),
    ("invalid-tablespace", "CREATE TABLE t_ts (id int) TABLESPACE nope"),
    ("too-many-columns", "SELECT " + ", ".join(str(i) for i in range(1700)) + " INTO TEMP wide"),
    ("index-on-missing", "CREATE INDEX ON acct (nope)"),
    ("xml-off", "SELECT xmlparse(document '<a>')"),
    ("bad-interval", "SELECT interval '1 fortnight'"),
    ("bad-bool", "SELECT 'maybe'::boolean"),
    ("bad-inet", "SELECT '300.1.1.1'::inet"),
    ("string-to-bytea", "SELECT decode('zz', 'hex')"),
]
# connection-level failures: (key, user, password, db, host-kind)
PG_CONN = [
    ("no-database", "postgres", None, "nodb", "unix"),
    ("no-role", "nobodyhere", None, "fl", "unix"),
    ("bad-password", "alice", "wrong", "fl", "tcp"),
    ("no-password", "alice", None, "fl", "tcp-nopw"),
    ("connection-limit", "limited", None, "fl", "unix"),
    ("refused", "postgres", None, "fl", "closed"),
    ("dns", "postgres", None, "fl", "dns"),
    ("timeout", "postgres", None, "fl", "silent"),
]
PG = {}


def pg_start():
    pgbin = None
    for v in ("17", "16", "15", "14", "13"):
        if os.path.exists(f"/usr/lib/postgresql/{v}/bin/initdb"):
            pgbin = f"/usr/lib/postgresql/{v}/bin"
            break
    if not pgbin:
        print("capture: no PostgreSQL server, skipped", file=sys.stderr)
        return False
    d = os.path.join(TMP, "pg")
    os.makedirs(d)
    user = None
    if ROOT:
        shutil.chown(d, "postgres")
        user = "postgres"
    port = free_port()
    rc, err, _ = run([pgbin + "/initdb", "-D", d + "/data", "-A", "trust", "-U", "postgres"], user=user, timeout=120)
    if rc != 0:
        print("capture: initdb failed: " + err[-300:], file=sys.stderr)
        return False
    with open(d + "/data/pg_hba.conf", "w") as f:
        f.write("local all all trust\nhost all postgres 127.0.0.1/32 trust\n"
                "host all all 127.0.0.1/32 scram-sha-256\n")
    rc, err, _ = run([pgbin + "/pg_ctl", "-D", d + "/data", "-w", "-l", d + "/log", "-o",
                      f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c max_connections=20"
                      " -c shared_buffers=16MB", "start"], user=user, timeout=60)
    if rc != 0:
        print("capture: pg_ctl start failed: " + err[-300:], file=sys.stderr)
        return False
    PG.update(bin=pgbin, dir=d, port=port, user=user)
    run(["psql", "-h", d, "-p", str(port), "-U", "postgres", "-X", "-q", "-c", "CREATE DATABASE fl"])
    rc, err, _ = run(["psql", "-h", d, "-p", str(port), "-U", "postgres", "-d", "fl", "-X", "-q",
                      "-v", "ON_ERROR_STOP=1", "-f", "-"], input=PG_FIXTURE)
    if rc != 0:
        print("capture: fixture: " + err, file=sys.stderr)
    return True


def pg_stop():
    if PG:
        run([PG["bin"] + "/pg_ctl", "-D", PG["dir"] + "/data", "-m", "immediate", "stop"], user=PG["user"])


def pg_cases_file(pg_cases, pg_conn):
    cases = [{"key": k, "sql": s} for k, s in pg_cases]
    for k, u, pw, db, kind in pg_conn:
        host, port = PG["dir"], PG["port"]
        if kind.startswith("tcp"):
            host = "127.0.0.1"
        elif kind == "closed":
            host, port = "127.0.0.1", CLOSED
        elif kind == "dns":
            host = "db.fl-capture.invalid"
        elif kind == "silent":
            host, port = "127.0.0.1", SILENT
        cases.append({"key": k, "user": u, "password": pw, "db": db, "host": host, "port": port,
                      "sql": "SELECT 1"})
    path = os.path.join(TMP, "pg_cases.json")
    with open(path, "w") as f:
        json.dump({"host": PG["dir"], "port": PG["port"], "db": "fl", "user": "postgres",
                   "cases": cases}, f)
    os.chmod(path, 0o644)
    return path


def pg_label_msg(state, msg):
    return L.pg_label(state, msg)


CONN_LABEL = {
    "refused": ("unavailable", A_REFUSED), "dns": ("unavailable", A_DNS),
    "timeout": ("deadline_exceeded", A_TIMEOUT),
}


# The server's condition for failures that libpq reports before a session
# exists (the client sees no SQLSTATE, or only 08006).
PG_CONN_STATE = {"no-database": "3D000", "no-role": "28000", "bad-password": "28P01",
                 "no-password": "28P01", "connection-limit": "53300", "terminated": "57P01"}


def pg_record(source, r):
    key, msg, code = r.get("key"), r.get("message"), r.get("code")
    if key in CONN_LABEL:
        cat, auth = CONN_LABEL[key]
        add(source, "pg:" + key, msg, cat, auth)
        if r.get("trace"):
            add(source, "pg:" + key, r["trace"], cat, auth)
        return
    if key in PG_CONN_STATE and code != PG_CONN_STATE[key]:
        cat, auth = L.pg_label(PG_CONN_STATE[key])
        auth += " (the server's condition; the client reported " + repr(code) + ")"
        add(source, "pg:" + key, msg, cat, auth)
        if r.get("trace"):
            add(source, "pg:" + key, r["trace"], cat, auth)
        return
    cat, auth = L.pg_label(code, msg or "")
    if not cat:
        print(f"capture: {source} pg:{key}: no label for SQLSTATE {code!r}: {msg!r:.120}", file=sys.stderr)
        return
    add(source, "pg:" + key, msg, cat, auth, domain="postgres", code=code)
    if r.get("trace"):
        add(source, "pg:" + key, r["trace"], cat, auth)


def java_cp(jar_glob):
    import glob
    jars = sorted(glob.glob(jar_glob))
    return jars[0] if jars else None


def pg_capture():
    if not pg_start():
        return
    import psycopg2
    holder = psycopg2.connect(host=PG["dir"], port=PG["port"], user="postgres", dbname="fl")
    hc = holder.cursor()
    hc.execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")  # held for the whole run
    busy = psycopg2.connect(host=PG["dir"], port=PG["port"], user="postgres", dbname="busydb")
    pg_clients(PG_CASES, PG_CONN)
    pg_concurrency()
    holder.close()
    busy.close()


def pg_clients(pg_cases, pg_conn):
    """Each case through psql (default and verbose), psycopg2, PHP PDO and JDBC."""
    cases = pg_cases_file(pg_cases, pg_conn)
    # psql: default and verbose error verbosity
    for k, s in pg_cases:
        base = ["psql", "-h", PG["dir"], "-p", str(PG["port"]), "-U", "postgres", "-d", "fl", "-X", "-q"]
        rc, err, _ = run(base + ["-c", s])
        rc2, err2, _ = run(base + ["-v", "VERBOSITY=verbose", "-c", s])
        m = re.search(r"(?:ERROR|FATAL):  ([0-9A-Z]{5}):", err2)
        code = m.group(1) if m else None
        cat, auth = L.pg_label(code, err2)
        if not cat:
            print(f"capture: psql {k}: no SQLSTATE: {err2[:200]!r}", file=sys.stderr)
            continue
        add("psql", "pg:" + k, err, cat, auth, domain="postgres", code=code)
        add("psql", "pg:" + k, err2, cat, auth)
        rc3, err3, _ = run(base + ["-f", "-"], input=s + ";\n")
        add("psql", "pg:" + k, err3, cat, auth)
    for k, u, pw, db, kind in pg_conn:
        host, port = PG["dir"], PG["port"]
        if kind.startswith("tcp"):
            host = "127.0.0.1"
        elif kind == "closed":
            host, port = "127.0.0.1", CLOSED
        elif kind == "dns":
            host = "db.fl-capture.invalid"
        elif kind == "silent":
            host, port = "127.0.0.1", SILENT
        env = dict(os.environ, PGCONNECT_TIMEOUT="2")
        if pw:
            env["PGPASSWORD"] = pw
        rc, err, _ = run(["psql", "-w", "-h", host, "-p", str(port), "-U", u, "-d", db, "-X", "-c", "SELECT 1"], env=env)
        if k in CONN_LABEL:
            cat, auth = CONN_LABEL[k]
            add("psql", "pg:" + k, err, cat, auth)
        else:
            code = {"no-database": "3D000", "no-role": "28000", "bad-password": "28P01",
                    "no-password": "28P01", "connection-limit": "53300"}[k]
            cat, auth = L.pg_label(code)
            add("psql", "pg:" + k, err, cat, auth + " (the server's code for this failure)", domain="postgres", code=code)
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "dbclient.py"), "psycopg2", cases]):
        pg_record("psycopg2", r)
    if have("php"):
        for r in jsonl_client(["php", os.path.join(HERE, "clients", "PdoClient.php"), "pgsql", cases]):
            pg_record("php-pdo-pgsql", r)
    jar = java_cp("/usr/share/java/postgresql*.jar")
    if jar and have("java"):
        for r in jsonl_client(["java", "-cp", jar, os.path.join(HERE, "clients", "JdbcClient.java"), "pg", cases]):
            pg_record("jdbc-postgresql", r)


# Capture round 2: SQLSTATEs and conditions the first round did not produce.
PG_CASES2 = [
    ("generate-series-step", "SELECT generate_series(1, 10, 0)"),
    ("negative-offset", "SELECT 1 OFFSET -1"),
    ("invalid-byte-sequence", "SELECT convert_from('\\xc3'::bytea, 'UTF8') || E'\\xff'"),
    ("json-path-strict", "SELECT jsonb_path_query('{}', 'strict $.a')"),
    ("distinct-order-by", "SELECT DISTINCT id FROM acct ORDER BY name"),
    ("indeterminate-parameter", "PREPARE q AS SELECT $1"),
    ("fk-no-unique", "CREATE TABLE fkbad (x text REFERENCES acct(name))"),
    ("varchar-zero", "CREATE TABLE vz (x varchar(0))"),
    ("function-return-type", "CREATE FUNCTION frt() RETURNS int AS 'SELECT ''a''::text' LANGUAGE sql"),
    ("duplicate-alias", "SELECT * FROM acct a, child a"),
    ("window-without-over", "SELECT row_number() FROM acct"),
    ("not-a-sequence", "SELECT nextval('acct')"),
    ("index-not-immutable", "CREATE INDEX ON acct ((random()))"),
    ("savepoint-outside-tx", "SAVEPOINT s1"),
    ("rollback-to-missing-savepoint", "BEGIN; ROLLBACK TO SAVEPOINT nope"),
    ("currval-undefined", "SELECT currval('seq1')"),
    ("stack-depth", "SELECT " + "(" * 20000 + "1" + ")" * 20000),
    ("too-many-arguments", "SELECT concat(" + ", ".join(["1"] * 101) + ")"),
    ("no-return", "CREATE OR REPLACE FUNCTION nr() RETURNS int AS $$ BEGIN END $$ LANGUAGE plpgsql; SELECT nr()"),
    ("set-missing-role", "SET ROLE nosuchrole"),
    ("like-trailing-escape", "SELECT 'a' LIKE 'a\\'"),
    ("interval-overflow", "SELECT interval '100000000000 years'"),
    ("missing-parameter", "SELECT $1"),
    ("duplicate-function", "CREATE FUNCTION df() RETURNS int AS 'SELECT 1' LANGUAGE sql; CREATE FUNCTION df() RETURNS int AS 'SELECT 1' LANGUAGE sql"),
    ("duplicate-type", "CREATE TYPE dt AS (a int); CREATE TYPE dt AS (a int)"),
    ("bad-time-zone", "SET TIME ZONE 'Nowhere/Capture_City'"),
    ("view-not-table", "ALTER TABLE v_acct ADD COLUMN z int"),
    ("drop-missing-index", "DROP INDEX no_such_index"),
    ("truncate-referenced", "TRUNCATE acct"),
    ("numeric-precision", "SELECT 1.5::numeric(1000, 0)"),
    ("bad-point", "SELECT '(1,2'::point"),
    ("xml-function", "SELECT xml_is_well_formed('<a>')"),
    ("cursor-outside-tx", "DECLARE c CURSOR FOR SELECT 1"),
    ("nextval-readonly", "BEGIN READ ONLY; SELECT nextval('seq1')"),
    ("to-date-format", "SELECT to_date('2024-99-99', 'YYYY-MM-DD')"),
    ("sqrt-negative", "SELECT sqrt(-1)"),
    ("power-zero-negative", "SELECT power(0, -1)"),
    ("smallint-range", "SELECT 40000::smallint"),
]


def pg_more_capture():
    if not PG and not pg_start():
        return
    pg_clients(PG_CASES2, [])


def pg_concurrency():
    """Deadlock and serialization failures need two sessions (psycopg2)."""
    import psycopg2
    import traceback

    def conn():
        c = psycopg2.connect(host=PG["dir"], port=PG["port"], user="postgres", dbname="fl")
        return c
    setup = conn()
    setup.autocommit = True
    setup.cursor().execute("CREATE TABLE IF NOT EXISTS dl (id int PRIMARY KEY, v int);"
                           "INSERT INTO dl VALUES (1, 0), (2, 0) ON CONFLICT DO NOTHING")
    for n in range(3):
        a, b = conn(), conn()
        errs = []

        def worker(c, first, second):
            try:
                cur = c.cursor()
                cur.execute(f"UPDATE dl SET v = v + 1 WHERE id = {first}")
                time.sleep(0.3)
                cur.execute(f"UPDATE dl SET v = v + 1 WHERE id = {second}")
                c.commit()
            except Exception as e:
                errs.append(e)
                c.rollback()
        t1 = threading.Thread(target=worker, args=(a, 1, 2))
        t2 = threading.Thread(target=worker, args=(b, 2, 1))
        t1.start(); t2.start(); t1.join(); t2.join()
        for e in errs:
            cat, auth = L.pg_label(e.pgcode)
            line = traceback.format_exception_only(type(e), e)[-1].rstrip()
            add("psycopg2", "pg:deadlock", "".join(traceback.format_exception_only(type(e), e)).rstrip(),
                cat, auth, domain="postgres", code=e.pgcode)
            add("psycopg2", "pg:deadlock", line, cat, auth)
        a.close(); b.close()
    a, b = conn(), conn()
    a.set_session(isolation_level="SERIALIZABLE")
    b.set_session(isolation_level="SERIALIZABLE")
    try:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("SELECT sum(v) FROM dl"); cb.execute("SELECT sum(v) FROM dl")
        ca.execute("UPDATE dl SET v = 1 WHERE id = 1"); cb.execute("UPDATE dl SET v = 1 WHERE id = 2")
        a.commit(); b.commit()
    except Exception as e:
        cat, auth = L.pg_label(getattr(e, "pgcode", None))
        add("psycopg2", "pg:serialization", "".join(traceback.format_exception_only(type(e), e)).rstrip(),
            cat, auth, domain="postgres", code=e.pgcode)
    a.close(); b.close()


# ------------------------------------------------------------------ MariaDB
MY_FIXTURE = """
CREATE DATABASE fl;
USE fl;
CREATE TABLE acct (id INT PRIMARY KEY, name VARCHAR(5) NOT NULL, bal INT CHECK (bal >= 0), tiny TINYINT, born DATE) ENGINE=InnoDB;
CREATE TABLE child (id INT PRIMARY KEY, acct_id INT, FOREIGN KEY (acct_id) REFERENCES acct(id)) ENGINE=InnoDB;
INSERT INTO acct VALUES (1, 'a', 10, 1, '2000-01-01'), (2, 'b', 20, 2, NULL);
INSERT INTO child VALUES (1, 1);
CREATE TABLE held (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO held VALUES (1, 0);
CREATE USER 'reader'@'%'; CREATE USER 'reader'@'localhost';
CREATE USER 'alice'@'%' IDENTIFIED BY 'secret'; CREATE USER 'alice'@'localhost' IDENTIFIED BY 'secret';
CREATE USER 'lim'@'localhost' WITH MAX_QUERIES_PER_HOUR 1; GRANT SELECT ON fl.* TO 'lim'@'localhost';
CREATE USER 'lim'@'%' WITH MAX_QUERIES_PER_HOUR 1; GRANT SELECT ON fl.* TO 'lim'@'%';
GRANT SELECT ON fl.child TO 'reader'@'%'; GRANT SELECT ON fl.child TO 'reader'@'localhost';
CREATE PROCEDURE fl.boom() SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'custom failure in batch job';
"""
MY_CASES = [
    ("div-zero", "SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO';\nINSERT INTO acct (id, name, bal) VALUES (7, 'z', 1/0)"),
    ("unique", "INSERT INTO acct (id, name) VALUES (1, 'x')"),
    ("not-null", "INSERT INTO acct (id, name) VALUES (3, NULL)"),
    ("no-default", "INSERT INTO acct (id) VALUES (3)"),
    ("check", "INSERT INTO acct (id, name, bal) VALUES (4, 'c', -5)"),
    ("fk-insert", "INSERT INTO child VALUES (2, 99)"),
    ("fk-delete", "DELETE FROM acct WHERE id = 1"),
    ("too-long", "INSERT INTO acct (id, name) VALUES (9, 'toolongname')"),
    ("out-of-range", "INSERT INTO acct (id, name, tiny) VALUES (10, 'r', 1000)"),
    ("bigint-range", "SELECT 18446744073709551615 + 1"),
    ("bad-integer", "INSERT INTO acct (id, name, bal) VALUES (11, 'q', 'abc')"),
    ("bad-date", "INSERT INTO acct (id, name, born) VALUES (12, 'd', '2020-13-45')"),
    ("undefined-table", "SELECT * FROM no_such_table"),
    ("undefined-column", "SELECT no_such_col FROM acct"),
    ("undefined-function", "SELECT no_such_fn(1)"),
    ("undefined-db", "USE no_such_db"),
    ("syntax", "SELEC 1"),
    ("syntax-near", "SELECT * FROM acct WHERE"),
    ("empty-query", " "),
    ("duplicate-table", "CREATE TABLE acct (id INT)"),
    ("duplicate-db", "CREATE DATABASE fl"),
    ("drop-missing-db", "DROP DATABASE no_such_db"),
    ("drop-missing-table", "DROP TABLE no_such_table"),
    ("duplicate-column", "ALTER TABLE acct ADD COLUMN name TEXT"),
    ("duplicate-key-name", "CREATE INDEX k1 ON acct (bal);\nCREATE INDEX k1 ON acct (bal)"),
    ("drop-missing-index", "ALTER TABLE acct DROP INDEX no_such_index"),
    ("multiple-pk", "CREATE TABLE bad (a INT PRIMARY KEY, b INT PRIMARY KEY)"),
    ("column-count", "INSERT INTO acct VALUES (1)"),
    ("subquery-rows", "SELECT (SELECT id FROM acct)"),
    ("derived-alias", "SELECT * FROM (SELECT 1)"),
    ("union-columns", "SELECT 1 UNION SELECT 1, 2"),
    ("group-function", "SELECT * FROM acct WHERE count(*) > 1"),
    ("operand-columns", "SELECT (1, 2) = 1"),
    ("update-target-in-from", "UPDATE acct SET bal = 1 WHERE id IN (SELECT id FROM acct)"),
    ("unknown-variable", "SET @@no_such_var = 1"),
    ("bad-variable-value", "SET autocommit = 'maybe'"),
    ("wrong-arguments", "SELECT substring()"),
    ("permission-table", "SELECT * FROM fl.acct", "reader"),
    ("permission-insert", "INSERT INTO fl.child VALUES (5, 1)", "reader"),
    ("permission-db", "CREATE DATABASE other", "reader"),
    ("need-super", "SET GLOBAL max_connections = 50", "reader"),
    ("kill-unknown", "KILL 987654"),
    ("read-only-tx", "START TRANSACTION READ ONLY;\nINSERT INTO acct (id, name) VALUES (20, 'r')"),
    ("lock-wait", "SET innodb_lock_wait_timeout = 1;\nUPDATE held SET v = v + 1 WHERE id = 1"),
    ("lock-nowait", "SELECT * FROM held WHERE id = 1 FOR UPDATE NOWAIT"),
    ("statement-time", "SET max_statement_time = 0.1;\nSELECT SLEEP(2) FROM acct"),
    ("signal", "CALL boom()"),
    ("missing-procedure", "CALL no_such_proc()"),
    ("quota", "SELECT 1;\nSELECT 2;\nSELECT 3", "lim"),
    ("safe-updates", "SET sql_safe_updates = 1;\nDELETE FROM acct"),
    ("bad-default", "CREATE TABLE bd (a INT DEFAULT 'x')"),
    ("key-too-long", "CREATE TABLE kl (a VARCHAR(5000), KEY (a)) ENGINE=InnoDB CHARSET=utf8mb4"),
    ("zero-columns", "CREATE TABLE nocols ()"),
    ("row-too-large", "CREATE TABLE big (" + ", ".join(f"c{i} VARCHAR(400)" for i in range(60)) + ") CHARSET=latin1 ENGINE=InnoDB"),
    ("blob-default", "CREATE TABLE bb (a BLOB DEFAULT 'x')"),
    ("bad-regex", "SELECT 'a' REGEXP '('"),
    ("json-invalid", "SELECT JSON_EXTRACT('{bad', '$.a')"),
    ("cannot-alter-view", "CREATE VIEW vv AS SELECT 1;\nCREATE VIEW vv AS SELECT 2"),
    ("no-such-user-grant", "GRANT SELECT ON fl.* TO 'nouser'@'nohost'"),
    ("create-user-exists", "CREATE USER 'alice'@'%'"),
    ("unknown-storage-engine", "SET default_storage_engine = nosuchengine"),
    ("unknown-charset", "SELECT CONVERT('a' USING nosuchcharset)"),
    ("unknown-timezone", "SET time_zone = 'Nowhere/Nope'"),
    ("unknown-collation", "SELECT 'a' COLLATE nosuchcollation"),
    ("xa-unknown", "XA COMMIT 'nosuchxid'"),
    ("lock-tables", "LOCK TABLES acct READ;\nINSERT INTO child VALUES (9, 1)"),
    ("cursor-none", "SELECT * FROM acct PROCEDURE nosuch()"),
]
MY_CONN = [
    ("no-database", "root", None, "nodb", "unix"),
    ("bad-password", "alice", "wrong", "fl", "tcp"),
    ("no-user", "nobodyhere", "x", "fl", "tcp"),
    ("refused", "root", None, "fl", "closed"),
    ("dns", "root", None, "fl", "dns"),
    ("too-many", "root", None, "fl", "unix"),
]
MY = {}


def my_start():
    mariadbd = shutil.which("mariadbd") or shutil.which("mysqld") or (
        "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None)
    if not mariadbd or not have("mariadb-install-db"):
        print("capture: no MariaDB server, skipped", file=sys.stderr)
        return False
    d = os.path.join(TMP, "my")
    os.makedirs(d)
    user = "root" if ROOT else os.environ.get("USER", "nobody")
    rc, err, _ = run(["mariadb-install-db", "--no-defaults", f"--datadir={d}/data", f"--user={user}",
                      "--auth-root-authentication-method=normal", "--skip-test-db"], timeout=180)
    if rc != 0:
        print("capture: mariadb-install-db failed: " + err[-300:], file=sys.stderr)
        return False
    port = free_port()
    sock = d + "/sock"
    proc = subprocess.Popen([mariadbd, "--no-defaults", f"--datadir={d}/data", f"--socket={sock}",
                             f"--port={port}", "--bind-address=127.0.0.1", f"--user={user}",
                             "--max-connections=12", "--innodb-buffer-pool-size=16M",
                             f"--pid-file={d}/pid", f"--log-error={d}/err.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_port(port, 60):
        print("capture: mariadbd did not start", file=sys.stderr)
        proc.kill()
        return False
    MY.update(proc=proc, dir=d, port=port, sock=sock)
    rc, err, _ = run(["mariadb", "--no-defaults", "-S", sock, "-u", "root"], input=MY_FIXTURE)
    if rc != 0:
        print("capture: mariadb fixture: " + err, file=sys.stderr)
    return True


def my_stop():
    if MY:
        MY["proc"].terminate()
        try:
            MY["proc"].wait(20)
        except subprocess.TimeoutExpired:
            MY["proc"].kill()


def my_record(source, r):
    key, msg, code = r.get("key"), r.get("message"), r.get("code")
    if key in CONN_LABEL and (not code or str(code) in ("0", "2002", "2003", "2005", "-1", "None")):
        cat, auth = CONN_LABEL[key]
        if str(code) in ("2002", "2003", "2005"):
            cat, auth = L.my_label(code)
        add(source, "my:" + key, msg, cat, auth, domain="mysql" if code and str(code) != "0" else None,
            code=int(code) if code and str(code).isdigit() and str(code) != "0" else None)
        return
    cat, auth = L.my_label(code)
    if not cat:
        print(f"capture: {source} my:{key}: no label for error {code!r}: {msg!r:.140}", file=sys.stderr)
        return
    add(source, "my:" + key, msg, cat, auth, domain="mysql", code=int(code))
    if r.get("trace"):
        add(source, "my:" + key, r["trace"], cat, auth)


def my_cases_file():
    cases = [{"key": c[0], "sql": c[1], **({"user": c[2]} if len(c) > 2 else {})} for c in MY_CASES]
    for k, u, pw, db, kind in MY_CONN:
        host, port = MY["sock"], MY["port"]
        if kind == "tcp":
            host = "127.0.0.1"
        elif kind == "closed":
            host, port = "127.0.0.1", CLOSED
        elif kind == "dns":
            host = "db.fl-capture.invalid"
        if k == "too-many":
            continue
        cases.append({"key": k, "user": u, "password": pw, "db": db, "host": host, "port": port, "sql": "SELECT 1"})
    path = os.path.join(TMP, "my_cases.json")
    with open(path, "w") as f:
        json.dump({"host": MY["sock"], "port": MY["port"], "db": "fl", "user": "root", "cases": cases}, f)
    os.chmod(path, 0o644)
    return path


def my_capture():
    if not my_start():
        return
    import pymysql
    holder = pymysql.connect(unix_socket=MY["sock"], user="root", database="fl", autocommit=False)
    holder.cursor().execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")
    cases = my_cases_file()
    cli = shutil.which("mariadb") or shutil.which("mysql")
    for c in MY_CASES:
        k, s = c[0], c[1]
        u = c[2] if len(c) > 2 else "root"
        rc, err, _ = run([cli, "--no-defaults", "-S", MY["sock"], "-u", u, "fl", "-e", s.replace(";\n", "; ")])
        m = re.search(r"ERROR (\d+) \(", err)
        if not m:
            print(f"capture: mariadb {k}: {err[:200]!r}", file=sys.stderr)
            continue
        cat, auth = L.my_label(m.group(1))
        if not cat:
            print(f"capture: mariadb {k}: no label for {m.group(1)}: {err[:160]!r}", file=sys.stderr)
            continue
        add("mariadb-client", "my:" + k, err, cat, auth, domain="mysql", code=int(m.group(1)))
        rc, err2, _ = run([cli, "--no-defaults", "-S", MY["sock"], "-u", u, "fl"], input=s + ";\n")
        add("mariadb-client", "my:" + k, err2, cat, auth)
    for k, u, pw, db, kind in MY_CONN:
        if k == "too-many":
            continue
        args = [cli, "--no-defaults", "--connect-timeout=2", "-u", u]
        if kind == "unix":
            args += ["-S", MY["sock"]]
        elif kind == "tcp":
            args += ["-h", "127.0.0.1", "-P", str(MY["port"])]
        elif kind == "closed":
            args += ["-h", "127.0.0.1", "-P", str(CLOSED)]
        elif kind == "dns":
            args += ["-h", "db.fl-capture.invalid"]
        if pw:
            args.append("-p" + pw)
        rc, err, _ = run(args + [db, "-e", "SELECT 1"])
        m = re.search(r"ERROR (\d+) \(", err)
        if m and L.my_label(m.group(1))[0]:
            cat, auth = L.my_label(m.group(1))
            add("mariadb-client", "my:" + k, err, cat, auth, domain="mysql", code=int(m.group(1)))
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "dbclient.py"), "pymysql", cases]):
        my_record("pymysql", r)
    if have("php"):
        for r in jsonl_client(["php", os.path.join(HERE, "clients", "PdoClient.php"), "mysql", cases]):
            my_record("php-pdo-mysql", r)
    jar = java_cp("/usr/share/java/mariadb-java-client*.jar")
    if jar and have("java"):
        for r in jsonl_client(["java", "-cp", jar, os.path.join(HERE, "clients", "JdbcClient.java"), "mysql", cases]):
            my_record("jdbc-mariadb", r)
    # too many connections: exhaust max_connections (12 + 1 for SUPER) with pymysql
    held = []
    try:
        for _ in range(20):
            held.append(pymysql.connect(host="127.0.0.1", port=MY["port"], user="reader", connect_timeout=2))
    except Exception as e:
        import traceback
        line = traceback.format_exception_only(type(e), e)[-1].rstrip()
        cat, auth = L.my_label(e.args[0] if e.args else None)
        add("pymysql", "my:too-many", line, cat, auth, domain="mysql", code=e.args[0] if e.args else None)
        rc, err, _ = run([cli, "--no-defaults", "-h", "127.0.0.1", "-P", str(MY["port"]), "-u", "reader", "-e", "SELECT 1"])
        m = re.search(r"ERROR (\d+) \(", err)
        if m:
            cat, auth = L.my_label(m.group(1))
            add("mariadb-client", "my:too-many", err, cat, auth, domain="mysql", code=int(m.group(1)))
    for c in held:
        c.close()
    my_deadlock()
    holder.close()


def my_deadlock():
    import pymysql
    import traceback
    s = pymysql.connect(unix_socket=MY["sock"], user="root", database="fl", autocommit=True)
    s.cursor().execute("CREATE TABLE IF NOT EXISTS dl (id INT PRIMARY KEY, v INT) ENGINE=InnoDB")
    s.cursor().execute("INSERT IGNORE INTO dl VALUES (1, 0), (2, 0)")
    s.close()
    for n in range(2):
        a = pymysql.connect(unix_socket=MY["sock"], user="root", database="fl")
        b = pymysql.connect(unix_socket=MY["sock"], user="root", database="fl")
        errs = []

        def worker(c, first, second):
            try:
                cur = c.cursor()
                cur.execute(f"UPDATE dl SET v = v + 1 WHERE id = {first}")
                time.sleep(0.3)
                cur.execute(f"UPDATE dl SET v = v + 1 WHERE id = {second}")
                c.commit()
            except Exception as e:
                errs.append(e)
                c.rollback()
        t1 = threading.Thread(target=worker, args=(a, 1, 2))
        t2 = threading.Thread(target=worker, args=(b, 2, 1))
        t1.start(); t2.start(); t1.join(); t2.join()
        for e in errs:
            cat, auth = L.my_label(e.args[0])
            add("pymysql", "my:deadlock", traceback.format_exception_only(type(e), e)[-1].rstrip(), cat, auth,
                domain="mysql", code=e.args[0])
        a.close(); b.close()


# ------------------------------------------------------------------ Redis
A_RESP = "Redis error reply prefixes (redis.io/docs/reference/protocol-spec), meaning per the command reference"
REDIS_CASES = [
    # key, args, category, note   (run against the primary unless the key says otherwise)
    ("wrongtype", ["LPUSH", "str", "x"], "failed_precondition", "WRONGTYPE: the key's current type"),
    ("not-integer", ["INCR", "str"], "invalid_argument", "ERR value is not an integer"),
    ("overflow", ["INCRBY", "big", "9223372036854775807"], "out_of_range", "ERR increment would overflow"),
    ("arity", ["GET"], "invalid_argument", "ERR wrong number of arguments"),
    ("unknown-command", ["FROBNICATE", "x"], "unimplemented", "ERR unknown command"),
    ("unknown-subcommand", ["CLIENT", "FROBNICATE"], "unimplemented", "ERR unknown subcommand"),
    ("syntax", ["SET", "k", "v", "BOGUS"], "invalid_argument", "ERR syntax error"),
    ("no-such-key", ["RENAME", "nokey", "other"], "not_found", "ERR no such key"),
    ("db-range", ["SELECT", "99"], "out_of_range", "ERR DB index is out of range"),
    ("bad-expire", ["EXPIRE", "str", "notanumber"], "invalid_argument", "ERR value is not an integer"),
    ("lset-range", ["LSET", "list", "99", "x"], "out_of_range", "ERR index out of range"),
    ("not-float", ["ZADD", "z", "abc", "m"], "invalid_argument", "ERR value is not a valid float"),
    ("bit-offset", ["SETBIT", "bits", "-1", "1"], "invalid_argument", "ERR bit offset is not an integer or out of range"),
    ("noscript", ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"], "not_found", "NOSCRIPT: no script with that SHA1"),
    ("script-error", ["EVAL", "return redis.call('nosuchcmd')", "0"], "invalid_argument", "the script sent is wrong"),
    ("script-global", ["EVAL", "return undefined_global", "0"], "invalid_argument", "the script sent is wrong"),
    ("exec-without-multi", ["EXEC"], "failed_precondition", "ERR EXEC without MULTI"),
    ("discard-without-multi", ["DISCARD"], "failed_precondition", "ERR DISCARD without MULTI"),
    ("cluster-disabled", ["CLUSTER", "INFO"], "failed_precondition", "ERR This instance has cluster support disabled"),
    ("noproto", ["HELLO", "9"], "unimplemented", "NOPROTO: unsupported protocol version"),
    ("noauth-user", ["AUTH", "nouser", "pw"], "unauthenticated", "WRONGPASS"),
    ("noperm", None, "permission_denied", "NOPERM: ACL user lacks the permission"),
    ("noauth", None, "unauthenticated", "NOAUTH: authentication required"),
    ("oom", None, "resource_exhausted.memory", "OOM command not allowed when used memory > maxmemory"),
    ("readonly", None, "unavailable", "READONLY: writes against a replica (clients reconnect to the new primary after a failover)"),
    ("masterdown", None, "unavailable", "MASTERDOWN: link with the primary is down"),
    ("clusterdown", None, "unavailable", "CLUSTERDOWN: hash slot not served (cluster spec: retry later)"),
    ("refused", None, "unavailable", A_REFUSED),
    ("maxclients", None, "resource_exhausted", "ERR max number of clients reached: slots free up"),
    ("busy", None, "unavailable", "BUSY: a script is running (retry after it ends or is killed)"),
    ("string-size", ["SETRANGE", "str", "536870912", "x"], "out_of_range", "ERR string exceeds maximum allowed size"),
    ("watch-in-multi", None, "failed_precondition", "ERR WATCH inside MULTI is not allowed"),
]
RD = {}


def redis_start(port, *extra):
    d = os.path.join(TMP, f"redis-{port}")
    os.makedirs(d, exist_ok=True)
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", d,
                          "--save", "", "--appendonly", "no", *extra],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    RD.setdefault("procs", []).append(p)
    wait_port(port, 20)
    return p


def redis_capture():
    if not have("redis-server") or not have("redis-cli"):
        print("capture: no redis-server, skipped", file=sys.stderr)
        return
    P, R, C, A, M = free_port(), free_port(), free_port(), free_port(), free_port()
    redis_start(P, "--lua-time-limit", "100")
    redis_start(R, "--replicaof", "127.0.0.1", str(CLOSED), "--replica-serve-stale-data", "yes")
    M2 = free_port()
    redis_start(M2, "--replicaof", "127.0.0.1", str(CLOSED), "--replica-serve-stale-data", "no")
    redis_start(C, "--cluster-enabled", "yes", "--cluster-config-file", os.path.join(TMP, f"nodes-{C}.conf"))
    redis_start(A, "--requirepass", "sekret", "--maxclients", "3")
    redis_start(M, "--maxmemory", "1", "--maxmemory-policy", "noeviction")
    cli = ["redis-cli", "-h", "127.0.0.1"]
    run(cli + ["-p", str(P), "SET", "str", "hello"])
    run(cli + ["-p", str(P), "SET", "big", "1"])
    run(cli + ["-p", str(P), "RPUSH", "list", "a"])
    run(cli + ["-p", str(P), "ACL", "SETUSER", "ro", "on", ">pw", "~*", "+get"])
    special = {
        "noperm": ["-p", str(P), "--user", "ro", "--pass", "pw", "--no-auth-warning", "SET", "a", "1"],
        "noauth": ["-p", str(A), "GET", "a"],
        "oom": ["-p", str(M), "SET", "a", "1"],
        "readonly": ["-p", str(R), "SET", "a", "1"],
        "masterdown": ["-p", str(M2), "GET", "a"],
        "clusterdown": ["-p", str(C), "GET", "a"],
        "refused": ["-p", str(CLOSED), "GET", "a"],
    }
    spec = []
    for key, args, cat, note in REDIS_CASES:
        a = special.get(key) or (["-p", str(P)] + args if args else None)
        if a is None:
            continue
        rc, err, out = run(cli + a)
        msg = (out + "\n" + err).strip()
        if msg and ("ERR" in msg or msg.split()[0].isupper() or "Could not connect" in msg):
            first = msg.split()[0]
            code = first if first.isupper() and first.isalpha() else None
            add("redis-cli", "redis:" + key, msg, cat, A_RESP + ": " + note,
                domain="redis" if code else None, code=code)
        spec.append({"key": key, "port": int(a[a.index("-p") + 1]), "args": a[a.index("-p") + 2:]})
    # redis-py: the same failures and a few that need a client library
    code = r'''
import json, sys, time, threading, traceback
import redis
spec = json.loads(sys.argv[1]); P, A, M = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def out(key, e, i):
    o = {"key": key, "message": traceback.format_exception_only(type(e), e)[-1].rstrip()}
    if i % 3 == 0:
        o["trace"] = traceback.format_exc().rstrip()
    print(json.dumps(o), flush=True)
for i, c in enumerate(spec):
    args = c["args"]
    kw = {}
    if "--user" in args:
        kw = dict(username=args[args.index("--user") + 1], password=args[args.index("--pass") + 1])
        args = args[args.index("--no-auth-warning") + 1:]
    r = redis.Redis(host="127.0.0.1", port=c["port"], socket_timeout=3, **kw)
    try:
        r.execute_command(*args)
    except Exception as e:
        out(c["key"], e, i)
r = redis.Redis(host="127.0.0.1", port=P)
try:
    with r.pipeline() as p:
        p.watch("w"); p.multi(); r.set("w", "changed"); p.set("w", "mine"); p.execute()
except Exception as e:
    out("watch-conflict", e, 0)
try:
    p = r.pipeline(transaction=True); p.multi(); p.watch("x")
except Exception as e:
    out("watch-in-multi", e, 1)
held = []
try:
    for _ in range(8):
        c = redis.Redis(host="127.0.0.1", port=A, password="sekret"); c.ping(); held.append(c)
except Exception as e:
    out("maxclients", e, 0)
for c in held: c.close()
def slow():
    redis.Redis(host="127.0.0.1", port=P).eval("local t = redis.call('TIME')[1] + 2 while tonumber(redis.call('TIME')[1]) < t do end return 1", 0)
t = threading.Thread(target=slow); t.start(); time.sleep(0.5)
try:
    redis.Redis(host="127.0.0.1", port=P).get("a")
except Exception as e:
    out("busy", e, 0)
t.join()
try:
    redis.Redis(host="127.0.0.1", port=P, socket_timeout=0.2).blpop("nolist", 0)
except Exception as e:
    out("timeout", e, 1)
try:
    redis.Redis(host="fl-capture.invalid", port=P, socket_connect_timeout=2).ping()
except Exception as e:
    out("dns", e, 0)
try:
    redis.Redis.from_url("redis://127.0.0.1:%d/abc" % P).ping()
except Exception as e:
    out("bad-url", e, 1)
'''
    extra = {"watch-conflict": ("aborted", "redis-py WatchError: a WATCHed key changed, the transaction was not run (retry it)"),
             "timeout": ("deadline_exceeded", A_TIMEOUT),
             "dns": ("unavailable", A_DNS),
             "bad-url": ("invalid_argument", "a malformed URL argument"),
             "maxclients": ("resource_exhausted", "ERR max number of clients reached: slots free up")}
    labels = {k: (c, A_RESP + ": " + n) for k, _, c, n in REDIS_CASES}
    labels.update(extra)
    # redis-py checks the connection limit through redis-cli's limit of 3 clients on A
    for r in jsonl_client(["/usr/bin/python3", "-I", "-c", code, json.dumps(spec), str(P), str(A), str(M)]):
        cat, auth = labels.get(r["key"], (None, None))
        add("redis-py", "redis:" + r["key"], r["message"], cat, auth)
        if r.get("trace"):
            add("redis-py", "redis:" + r["key"], r["trace"], cat, auth)
    # redis-cli busy and maxclients
    t = threading.Thread(target=lambda: run(cli + ["-p", str(P), "EVAL",
        "local t = redis.call('TIME')[1] + 2 while tonumber(redis.call('TIME')[1]) < t do end return 1", "0"]))
    t.start()
    time.sleep(0.5)
    rc, err, out = run(cli + ["-p", str(P), "GET", "a"])
    add("redis-cli", "redis:busy", (out + "\n" + err).strip(), *labels["busy"], domain="redis", code="BUSY")
    t.join()
    for p in RD.get("procs", []):
        p.terminate()


# ------------------------------------------------------------------ runtimes
E = "absl::ErrnoToStatusCode: "
PY = "Python built-in exceptions / library docs: "
BUG = "a programming error: gRPC INTERNAL (invariants broken)"
PARSE = "malformed input: gRPC INVALID_ARGUMENT (fails the same way regardless of state)"
CORRUPT = "corrupt or truncated data: gRPC DATA_LOSS (zlib Z_DATA_ERROR: input data was corrupted)"
NOTFMT = "input is not in the expected format at all: gRPC INVALID_ARGUMENT"
PY_LABELS = {
    "zero-division": ("invalid_argument", PY + "ArithmeticError on the values given"),
    "int-parse": ("invalid_argument", PARSE), "float-parse": ("invalid_argument", PARSE),
    "key-error": ("not_found", PY + "KeyError: the mapping has no such key"),
    "index-error": ("out_of_range", PY + "IndexError: sequence subscript out of range (gRPC OUT_OF_RANGE)"),
    "file-not-found": ("not_found", E + "ENOENT"), "is-a-directory": ("failed_precondition", E + "EISDIR"),
    "not-a-directory": ("failed_precondition", E + "ENOTDIR"), "permission": ("permission_denied", E + "EACCES"),
    "permission-write": ("permission_denied", E + "EACCES"), "file-exists": ("already_exists", E + "EEXIST"),
    "dir-not-empty": ("failed_precondition", E + "ENOTEMPTY"),
    "json-decode": ("invalid_argument", PARSE), "json-decode-empty": ("invalid_argument", PARSE),
    "connection-refused": ("unavailable", A_REFUSED), "dns": ("unavailable", A_DNS),
    "socket-timeout": ("deadline_exceeded", A_TIMEOUT),
    "urllib-404": L.HTTP[404], "urllib-500": L.HTTP[500], "urllib-503": L.HTTP[503],
    "urllib-429": L.HTTP[429], "urllib-401": L.HTTP[401], "urllib-403": L.HTTP[403],
    "urllib-refused": ("unavailable", A_REFUSED), "urllib-dns": ("unavailable", A_DNS),
    "urllib-timeout": ("deadline_exceeded", A_TIMEOUT), "urllib-tls": ("unavailable.tls", A_TLS),
    "urllib-empty": ("unavailable", "the peer closed the connection without a response: UNAVAILABLE"),
    "urllib-reset": ("unavailable", A_RESET),
    "urllib-truncated": ("unavailable", "the peer closed the connection mid-response (IncompleteRead): UNAVAILABLE"),
    "urllib-bad-url": ("invalid_argument", PARSE),
    "recursion": ("internal", BUG), "attribute": ("internal", BUG), "name-error": ("internal", BUG),
    "type-error": ("internal", BUG), "type-args": ("internal", BUG), "unpack": ("internal", BUG),
    "module-not-found": ("failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    "decimal": ("invalid_argument", PARSE), "struct": ("invalid_argument", PY + "struct.error: buffer of the wrong size"),
    "regex": ("invalid_argument", PARSE), "regex-repeat": ("invalid_argument", PARSE),
    "zlib": ("invalid_argument", NOTFMT + " (incorrect header check)"),
    "zlib-truncated": ("data_loss", CORRUPT), "gzip-bad": ("invalid_argument", NOTFMT),
    "gzip-truncated": ("data_loss", CORRUPT), "zip-bad": ("invalid_argument", NOTFMT),
    "tar-bad": ("invalid_argument", NOTFMT), "lzma-bad": ("invalid_argument", NOTFMT),
    "bz2-bad": ("invalid_argument", NOTFMT),
    "unicode-decode": ("invalid_argument", PARSE), "unicode-encode": ("invalid_argument", PY + "UnicodeError"),
    "date-range": ("invalid_argument", PY + "ValueError: an invalid field value"),
    "strptime": ("invalid_argument", PARSE), "fromiso": ("invalid_argument", PARSE),
    "math-domain": ("invalid_argument", E + "EDOM"), "math-range": ("out_of_range", E + "ERANGE"),
    "overflow": ("out_of_range", E + "ERANGE (OverflowError)"),
    "ip": ("invalid_argument", PARSE), "base64": ("invalid_argument", PARSE), "hex": ("invalid_argument", PARSE),
    "uuid": ("invalid_argument", PARSE), "fraction": ("invalid_argument", PY + "ZeroDivisionError"),
    "xml": ("invalid_argument", PARSE), "codec": ("invalid_argument", PY + "LookupError: unknown encoding name given"),
    "locale": ("failed_precondition", "the locale is not installed: the environment must be fixed"),
    "pickle": ("invalid_argument", PARSE), "configparser": ("invalid_argument", PARSE),
    "shlex": ("invalid_argument", PARSE), "csv": ("invalid_argument", PARSE),
    "subprocess-missing": ("not_found", E + "ENOENT"),
    "subprocess-check": ("unknown", "a child exited non-zero without saying why: gRPC UNKNOWN"),
    "subprocess-timeout": ("deadline_exceeded", A_TIMEOUT),
    "sqlite-no-table": ("not_found", "sqlite3_errstr: no such table"),
    "sqlite-unique": ("already_exists", "SQLITE_CONSTRAINT_UNIQUE"),
    "sqlite-syntax": ("invalid_argument", "SQLITE_ERROR: syntax error"),
    "sqlite-notadb": ("invalid_argument", "SQLITE_NOTADB: the file is not a database"),
    "http-client-bad-status": ("deadline_exceeded", A_TIMEOUT),
    "not-implemented": ("unimplemented", PY + "NotImplementedError"),
    "assertion": ("internal", BUG), "memory": ("resource_exhausted.memory", PY + "MemoryError"),
    "process-lookup": ("not_found", E + "ESRCH"), "child-process": ("failed_precondition", E + "ECHILD"),
    "bad-fd": ("failed_precondition", E + "EBADF"), "broken-pipe": ("unavailable", E + "EPIPE (docs/taxonomy.md deviation)"),
    "no-space": ("resource_exhausted.storage_full", E + "ENOSPC"),
    "name-too-long": ("invalid_argument", E + "ENAMETOOLONG"),
    "url-ipv6": ("invalid_argument", PARSE), "url-port": ("invalid_argument", PARSE),
    "asyncio-timeout": ("deadline_exceeded", A_TIMEOUT), "future-timeout": ("deadline_exceeded", A_TIMEOUT),
    "queue-full": ("resource_exhausted", "a bounded queue is full: RESOURCE_EXHAUSTED, retry later"),
    "keyboard": ("cancelled", "the user interrupted: gRPC CANCELLED"),
    "cancelled": ("cancelled", "asyncio.CancelledError: gRPC CANCELLED"),
    "stop-iteration": ("out_of_range", "iteration past the end: gRPC OUT_OF_RANGE"),
    "ssl-verify": ("unavailable.tls", A_TLS),
    "os-exec-format": ("failed_precondition", "ENOEXEC: the file is not an executable (state of the file)"),
    "xdev": ("unimplemented", E + "EXDEV"), "toml": ("invalid_argument", PARSE),
}


def runtime_record(source, prefix, labels, r, errno_domain=True):
    key = r.get("key")
    cat, auth = labels.get(key, (None, None))
    en = r.get("errno") or (r.get("code") if isinstance(r.get("code"), str) else None)
    if en and "SSL" in (r.get("message") or ""):
        en = None  # ssl errors carry errno 1 without meaning EPERM
        r = dict(r, errno=None)
    if cat is not None and en and L.errno_label(en)[0] and L.norm(L.errno_label(en)[0]) != L.norm(cat):
        # the program reported an errno: its meaning is the authority
        cat, auth = L.errno_label(en)
    if cat is None:
        print(f"capture: {source} {key}: no label: {r.get('message', '')[:120]!r}", file=sys.stderr)
        return
    code = r.get("errno") or r.get("code")
    dom = None
    if code and errno_domain:
        dom = "posix" if r.get("errno") else r.get("domain")
    add(source, prefix + key, r.get("message"), cat, auth, domain=dom, code=code if dom else None)
    if r.get("trace"):
        add(source, prefix + key, r["trace"], cat, auth)


def rt_dir(name):
    """A world-writable work directory with a non-empty subdirectory `full`."""
    d = os.path.join(TMP, name)
    os.makedirs(os.path.join(d, "full", "x"))
    for p in (d, os.path.join(d, "full"), os.path.join(d, "full", "x")):
        os.chmod(p, 0o777)
    return d


def as_user():
    return "nobody" if ROOT else None


PYLIB = "requests/httpx/PyYAML/toml/cryptography documentation: "
PYLIB_LABELS = {f"requests-{st}": L.HTTP[st] for st in (400, 401, 403, 404, 409, 429, 500, 502, 503, 504)}
PYLIB_LABELS.update({f"httpx-{st}": L.HTTP[st] for st in (400, 401, 403, 404, 429, 500, 503)})
PYLIB_LABELS.update({
    "requests-refused": ("unavailable", A_REFUSED), "requests-dns": ("unavailable", A_DNS),
    "requests-read-timeout": ("deadline_exceeded", A_TIMEOUT), "requests-connect-timeout": ("deadline_exceeded", A_TIMEOUT),
    "requests-tls": ("unavailable.tls", A_TLS), "requests-empty": ("unavailable", "the peer closed the connection: UNAVAILABLE"),
    "requests-reset": ("unavailable", A_RESET), "requests-bad-url": ("invalid_argument", PARSE),
    "requests-no-schema": ("invalid_argument", PARSE), "requests-json": ("invalid_argument", PARSE),
    "requests-redirects": ("failed_precondition", "a redirect loop: repeating the request follows the same loop"),
    "requests-truncated": ("unavailable", "the peer closed the connection mid-body: UNAVAILABLE"),
    "httpx-refused": ("unavailable", A_REFUSED), "httpx-dns": ("unavailable", A_DNS),
    "httpx-timeout": ("deadline_exceeded", A_TIMEOUT), "httpx-tls": ("unavailable.tls", A_TLS),
    "httpx-empty": ("unavailable", "the peer closed the connection: UNAVAILABLE"), "httpx-bad-url": ("invalid_argument", PARSE),
    "yaml-scan": ("invalid_argument", PARSE), "yaml-parse": ("invalid_argument", PARSE),
    "yaml-constructor": ("invalid_argument", PYLIB + "the document uses a tag safe_load refuses"),
    "toml": ("invalid_argument", PARSE),
    "fernet": ("invalid_argument", PYLIB + "InvalidToken: the token is malformed or was not made with this key"),
    "fernet-key": ("invalid_argument", PYLIB + "the key is malformed"), "x509": ("invalid_argument", PARSE),
})


def pylibs_capture():
    d = rt_dir("pylibs")
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "pylibs.py"), d, BASE, str(CLOSED),
                           str(SILENT), TLSURL], user=as_user()):
        src = "python-" + r["key"].split("-")[0] if r["key"].split("-")[0] in ("requests", "httpx") else "python-libs"
        runtime_record(src, "pylib:", PYLIB_LABELS, r)


def python_capture():
    d = rt_dir("py")
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "pyrt.py"), d, BASE, str(CLOSED),
                           str(SILENT), TLSURL], user=as_user()):
        runtime_record("python", "py:", PY_LABELS, r)


FAILED_STATE = "the object is not in a state that allows the operation: gRPC FAILED_PRECONDITION"
PYMORE_LABELS = {f"urllib-{st}": L.HTTP[st] for st in (400, 405, 408, 409, 410, 412, 413, 415, 416, 422, 501, 502, 504, 507)}
PYMORE_LABELS.update({
    "urllib-redirect-loop": ("failed_precondition", "a redirect loop: repeating the request follows the same loop"),
    "urllib-unknown-scheme": ("unimplemented", "the URL scheme is not supported (as CURLE_UNSUPPORTED_PROTOCOL): gRPC UNIMPLEMENTED"),
    "urllib-file-missing": ("not_found", E + "ENOENT"),
    "http-client-invalid-url": ("invalid_argument", PARSE),
    "ssl-wrong-version": ("unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
    "bind-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "zipfile-crc": ("data_loss", CORRUPT), "gzip-crc": ("data_loss", CORRUPT),
    "lzma-truncated": ("data_loss", CORRUPT),
    "bz2-truncated": ("data_loss", CORRUPT),
    "zoneinfo": ("not_found", PY + "ZoneInfoNotFoundError: no time zone with that key (a KeyError)"),
    "import-module": ("failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    "statistics-empty": ("invalid_argument", PY + "StatisticsError (a ValueError): no data points given"),
    "json-encode": ("internal", BUG), "pickle-local": ("internal", BUG), "dict-changed": ("internal", BUG),
    "decimal-div": ("invalid_argument", PY + "decimal.DivisionByZero: ArithmeticError on the values given"),
    "int-digits": ("invalid_argument", PY + "ValueError: the string exceeds the conversion limit"),
    "fromtimestamp": ("out_of_range", E + "ERANGE (OverflowError: beyond time_t)"),
    "chr-range": ("out_of_range", PY + "ValueError: code point outside range(0x110000) (gRPC OUT_OF_RANGE)"),
    "pop-empty": ("out_of_range", PY + "IndexError: sequence subscript out of range (gRPC OUT_OF_RANGE)"),
    "popitem-empty": ("not_found", PY + "KeyError: the mapping has no such key"),
    "set-remove": ("not_found", PY + "KeyError: the set has no such element"),
    "str-index": ("not_found", PY + "ValueError: the substring is not there (entity not found)"),
    "list-remove": ("not_found", PY + "ValueError: the element is not in the list (entity not found)"),
    "getpwnam": ("not_found", PY + "KeyError: no such user in the password database"),
    "getgrnam": ("not_found", PY + "KeyError: no such group in the group database"),
    "plistlib": ("invalid_argument", NOTFMT), "wave": ("invalid_argument", NOTFMT),
    "toml-duplicate": ("invalid_argument", PARSE), "ip-network-host-bits": ("invalid_argument", PARSE),
    "utf16-truncated": ("invalid_argument", PARSE),
    "surrogate": ("invalid_argument", PY + "UnicodeError"), "struct-format": ("invalid_argument", PY + "struct.error: bad format"),
    "regex-lookbehind": ("invalid_argument", PARSE), "regex-unbalanced": ("invalid_argument", PARSE),
    "sqlite-readonly": ("permission_denied", "sqlite.org/rescode.html: SQLITE_READONLY"),
    "sqlite-locked": ("aborted", "sqlite.org/rescode.html: SQLITE_BUSY (database is locked)"),
    "sqlite-fk": ("failed_precondition", "sqlite.org/rescode.html: SQLITE_CONSTRAINT_FOREIGNKEY"),
    "sqlite-notnull": ("invalid_argument", "sqlite.org/rescode.html: SQLITE_CONSTRAINT_NOTNULL"),
    "sqlite-check": ("invalid_argument", "sqlite.org/rescode.html: SQLITE_CONSTRAINT_CHECK"),
    "sqlite-no-column": ("not_found", "sqlite3_errstr: no such column"),
    "sqlite-cantopen": ("not_found", "sqlite.org/rescode.html: SQLITE_CANTOPEN (the directory does not exist)"),
    "sqlite-closed": ("failed_precondition", FAILED_STATE + " (a closed connection)"),
    "file-closed": ("failed_precondition", FAILED_STATE + " (a closed file)"),
    "thread-twice": ("failed_precondition", FAILED_STATE + " (a thread already started)"),
    "lock-release": ("failed_precondition", FAILED_STATE + " (a lock not held)"),
    "loop-closed": ("failed_precondition", FAILED_STATE + " (a closed event loop)"),
    "setuid": ("permission_denied", E + "EPERM"),
    "chown": ("permission_denied", E + "EPERM"), "readlink-regular": ("invalid_argument", E + "EINVAL"),
    "emfile": ("resource_exhausted.file_descriptors", E + "EMFILE"), "efbig": ("out_of_range", E + "EFBIG"),
    "move-into-itself": ("invalid_argument", "moving a directory into itself: the arguments are wrong"),
    "same-file": ("invalid_argument", "source and destination are the same file"),
    "hash-unsupported": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "calendar-month": ("invalid_argument", PY + "ValueError: an invalid field value"),
    "time-hour": ("invalid_argument", PY + "ValueError: an invalid field value"),
    "timedelta-overflow": ("out_of_range", E + "ERANGE (OverflowError)"),
    "float-pow-overflow": ("out_of_range", E + "ERANGE (OverflowError)"),
    "to-bytes": ("out_of_range", E + "ERANGE (OverflowError)"), "array-overflow": ("out_of_range", E + "ERANGE (OverflowError)"),
    "xml-entity": ("invalid_argument", PARSE), "minidom": ("invalid_argument", PARSE),
    "json-extra-data": ("invalid_argument", PARSE), "literal-eval": ("invalid_argument", PARSE),
    "compile-syntax": ("invalid_argument", PARSE), "int-base": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "fromhex": ("invalid_argument", PARSE), "fraction-parse": ("invalid_argument", PARSE),
    "complex-parse": ("invalid_argument", PARSE), "netloc-nfkc": ("invalid_argument", PARSE),
    "cookie-key": ("invalid_argument", PY + "CookieError: an illegal key"),
    "header-charset": ("invalid_argument", PY + "LookupError: unknown encoding name given"),
    "getopt": ("invalid_argument", "unrecognized option"), "argparse": ("invalid_argument", PARSE),
})


def python_more_capture():
    d = rt_dir("pymore")
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "pymore.py"), d, BASE, str(CLOSED),
                           str(SILENT), TLSURL], user=as_user()):
        runtime_record("python", "py:", PYMORE_LABELS, r)


NODE = "Node.js Errors / common system errors: "
NODE_LABELS = {
    "json-parse": ("invalid_argument", PARSE), "json-parse-empty": ("invalid_argument", PARSE),
    "null-property": ("internal", BUG), "undefined-property": ("internal", BUG), "not-function": ("internal", BUG),
    "reference": ("internal", BUG), "recursion": ("internal", BUG),
    "array-length": ("invalid_argument", "RangeError for an impossible argument: INVALID_ARGUMENT"),
    "enoent": ("not_found", E + "ENOENT"), "eexist": ("already_exists", E + "EEXIST"),
    "enotempty": ("failed_precondition", E + "ENOTEMPTY"), "eisdir": ("failed_precondition", E + "EISDIR"),
    "enotdir": ("failed_precondition", E + "ENOTDIR"), "eacces": ("permission_denied", E + "EACCES"),
    "eacces-write": ("permission_denied", E + "EACCES"), "enospc": ("resource_exhausted.storage_full", E + "ENOSPC"),
    "esrch": ("not_found", E + "ESRCH"), "enametoolong": ("invalid_argument", E + "ENAMETOOLONG"),
    "invalid-url": ("invalid_argument", PARSE), "buffer-size": ("out_of_range", NODE + "ERR_OUT_OF_RANGE (value out of range, ERANGE)"),
    "arg-type": ("invalid_argument", NODE + "ERR_INVALID_ARG_TYPE"),
    "module": ("failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    "zlib-bad": ("invalid_argument", NOTFMT + " (incorrect header check)"), "zlib-truncated": ("data_loss", CORRUPT),
    "inflate-bad": ("invalid_argument", NOTFMT + " (incorrect header check)"),
    "digest": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "bigint-json": ("internal", BUG), "assert": ("internal", BUG),
    "exec": ("unknown", "a child exited non-zero without saying why: gRPC UNKNOWN"),
    "spawn-missing": ("not_found", E + "ENOENT"), "decode-uri": ("invalid_argument", PARSE),
    "invalid-date": ("invalid_argument", "RangeError: Invalid time value (a malformed date)"),
    "regex": ("invalid_argument", PARSE), "bigint-conv": ("invalid_argument", PARSE),
    "to-fixed": ("invalid_argument", "RangeError: an impossible argument"), "symbol": ("internal", BUG),
    "const-assign": ("internal", BUG), "structured-clone": ("invalid_argument", "DataCloneError: the value cannot be cloned"),
    "textdecoder": ("invalid_argument", PARSE), "readonly-prop": ("internal", BUG), "json-circular": ("internal", BUG),
    "unimplemented": ("unimplemented", NODE + "ERR_METHOD_NOT_IMPLEMENTED"),
    "fetch-refused": ("unavailable", A_REFUSED + " (the cause of undici's 'fetch failed')"),
    "fetch-dns": ("unavailable", A_DNS + " (the cause of undici's 'fetch failed')"),
    "fetch-tls": ("unavailable.tls", A_TLS + " (the cause of undici's 'fetch failed')"),
    "fetch-timeout": ("deadline_exceeded", A_TIMEOUT), "fetch-abort": ("cancelled", "AbortError: the caller aborted (CANCELLED)"),
    "fetch-reset": ("unavailable", A_RESET), "fetch-empty": ("unavailable", "the peer closed the connection: UNAVAILABLE"),
    "fetch-bad-url": ("invalid_argument", PARSE), "fetch-json": ("invalid_argument", PARSE),
    "net-refused": ("unavailable", A_REFUSED), "net-timeout": ("deadline_exceeded", A_TIMEOUT),
    "dns": ("unavailable", A_DNS), "http-reset": ("unavailable", A_RESET), "http-timeout": ("deadline_exceeded", A_TIMEOUT),
    "eaddrinuse": ("failed_precondition", E + "EADDRINUSE"), "fs-promise": ("not_found", E + "ENOENT"),
}
GO = "Go standard library: "
GO_LABELS = {
    "atoi": ("invalid_argument", PARSE), "parseint-range": ("out_of_range", GO + "strconv.ErrRange (ERANGE)"),
    "parsefloat": ("invalid_argument", PARSE), "parsebool": ("invalid_argument", PARSE),
    "open-missing": ("not_found", E + "ENOENT"), "read-dir": ("failed_precondition", E + "EISDIR"),
    "permission": ("permission_denied", E + "EACCES"), "permission-write": ("permission_denied", E + "EACCES"),
    "mkdir-exists": ("already_exists", E + "EEXIST"), "remove-nonempty": ("failed_precondition", E + "ENOTEMPTY"),
    "no-space": ("resource_exhausted.storage_full", E + "ENOSPC"), "dial-refused": ("unavailable", A_REFUSED),
    "dial-dns": ("unavailable", A_DNS), "dial-timeout": ("deadline_exceeded", A_TIMEOUT),
    "http-client-timeout": ("deadline_exceeded", A_TIMEOUT), "http-refused": ("unavailable", A_REFUSED),
    "http-dns": ("unavailable", A_DNS), "http-tls": ("unavailable.tls", A_TLS), "http-tls-name": ("unavailable.tls", A_TLS),
    "http-eof": ("unavailable", "the peer closed the connection: UNAVAILABLE"), "http-reset": ("unavailable", A_RESET),
    "http-truncated": ("unavailable", "the peer closed the connection mid-body: UNAVAILABLE"),
    "http-bad-url": ("invalid_argument", PARSE), "http-bad-method": ("invalid_argument", GO + "net/http: invalid method"),
    "http-ctx-deadline": ("deadline_exceeded", GO + "context.DeadlineExceeded"),
    "http-ctx-cancel": ("cancelled", GO + "context.Canceled"), "ctx-deadline": ("deadline_exceeded", GO + "context.DeadlineExceeded"),
    "read-timeout": ("deadline_exceeded", A_TIMEOUT), "json-syntax": ("invalid_argument", PARSE),
    "json-eof": ("invalid_argument", PARSE), "json-type": ("invalid_argument", PARSE),
    "url-parse": ("invalid_argument", PARSE), "url-ipv6": ("invalid_argument", PARSE), "regexp": ("invalid_argument", PARSE),
    "time-parse": ("invalid_argument", PARSE), "time-range": ("invalid_argument", PARSE), "duration": ("invalid_argument", PARSE),
    "gzip-header": ("invalid_argument", NOTFMT + " (gzip: invalid header)"), "gzip-truncated": ("data_loss", CORRUPT),
    "zip-bad": ("invalid_argument", NOTFMT), "base64": ("invalid_argument", PARSE), "hex": ("invalid_argument", PARSE),
    "exec-missing": ("not_found", GO + "exec.ErrNotFound (ENOENT in $PATH)"),
    "exec-exit": ("unknown", "a child exited non-zero without saying why: gRPC UNKNOWN"),
    "listen-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "readfull-unexpected-eof": ("out_of_range", "reading past the end of the input: gRPC OUT_OF_RANGE"),
    "name-too-long": ("invalid_argument", E + "ENAMETOOLONG"), "signal-missing": ("not_found", GO + "os: process already finished (ESRCH)"),
}
for _k in ("nil-map", "index", "nil-pointer", "divide", "stack", "custom",
           "type-assert", "closed-channel", "makeslice"):
    GO_LABELS["panic:" + _k] = ("internal", "a Go runtime panic / fatal error: a program bug (gRPC INTERNAL)")
JV = "Java SE API: "
JAVA_LABELS = {
    "npe": ("internal", BUG), "aioobe": ("out_of_range", JV + "IndexOutOfBoundsException (gRPC OUT_OF_RANGE)"),
    "sioobe": ("out_of_range", JV + "IndexOutOfBoundsException (gRPC OUT_OF_RANGE)"),
    "nfe": ("invalid_argument", PARSE), "nfe-range": ("invalid_argument", PARSE),
    "arith": ("invalid_argument", JV + "ArithmeticException on the values given"), "cce": ("internal", BUG),
    "iae": ("invalid_argument", JV + "IllegalArgumentException"), "ise": ("failed_precondition", JV + "IllegalStateException"),
    "uoe": ("unimplemented", JV + "UnsupportedOperationException"), "nsee": ("not_found", JV + "NoSuchElementException"),
    "cme": ("internal", BUG), "so": ("internal", BUG), "oom": ("resource_exhausted.memory", JV + "OutOfMemoryError"),
    "nase": ("invalid_argument", JV + "NegativeArraySizeException"), "fnf": ("not_found", E + "ENOENT"),
    "nsfe": ("not_found", E + "ENOENT"), "ade": ("permission_denied", E + "EACCES"), "fae": ("already_exists", E + "EEXIST"),
    "dne": ("failed_precondition", E + "ENOTEMPTY"), "isdir": ("failed_precondition", E + "EISDIR"),
    "nospace": ("resource_exhausted.storage_full", E + "ENOSPC"), "connect-refused": ("unavailable", A_REFUSED),
    "unknown-host": ("unavailable", A_DNS), "socket-timeout": ("deadline_exceeded", A_TIMEOUT),
    "connect-timeout": ("deadline_exceeded", A_TIMEOUT), "http-refused": ("unavailable", A_REFUSED),
    "http-timeout": ("deadline_exceeded", A_TIMEOUT), "http-tls": ("unavailable.tls", A_TLS), "http-dns": ("unavailable", A_DNS),
    "http-eof": ("unavailable", "the peer closed the connection: UNAVAILABLE"),
    "urlconn-404": L.HTTP[404], "urlconn-500": L.HTTP[500], "urlconn-503": L.HTTP[503], "urlconn-401": L.HTTP[401],
    "urlconn-tls": ("unavailable.tls", A_TLS), "malformed-url": ("invalid_argument", PARSE), "uri-syntax": ("invalid_argument", PARSE),
    "zip-bad": ("invalid_argument", NOTFMT), "gzip-bad": ("invalid_argument", NOTFMT), "gzip-truncated": ("data_loss", CORRUPT),
    "inflater": ("invalid_argument", NOTFMT + " (incorrect header check)"),
    "eof": ("out_of_range", "reading past the end of the input: gRPC OUT_OF_RANGE"),
    "malformed-input": ("invalid_argument", PARSE), "charset": ("invalid_argument", "an unknown charset name given"),
    "date-parse": ("invalid_argument", PARSE), "date-range": ("invalid_argument", PARSE), "pattern": ("invalid_argument", PARSE),
    "class-not-found": ("failed_precondition", "a missing class: the deployment must be fixed (FAILED_PRECONDITION)"),
    "future-timeout": ("deadline_exceeded", A_TIMEOUT), "interrupted": ("cancelled", JV + "InterruptedException: the caller cancelled"),
    "cancellation": ("cancelled", JV + "CancellationException"),
    "execution": ("unavailable", "ExecutionException wrapping ECONNRESET: the cause decides (absl ECONNRESET -> UNAVAILABLE)"),
    "bind": ("failed_precondition", E + "EADDRINUSE"), "process": ("not_found", E + "ENOENT"),
    "assertion": ("internal", BUG), "unsupported-encoding": ("invalid_argument", "an unknown encoding name given"),
    "input-mismatch": ("invalid_argument", PARSE), "number-format-decimal": ("invalid_argument", PARSE),
    "arraystore": ("internal", BUG),
}
RB = "Ruby core/stdlib exceptions: "
RUBY_LABELS = {
    "zero-division": ("invalid_argument", RB + "ZeroDivisionError on the values given"),
    "no-method-nil": ("internal", BUG), "no-method": ("internal", BUG), "name-error": ("internal", BUG),
    "argument": ("invalid_argument", PARSE), "argument-count": ("internal", BUG), "type-error": ("internal", BUG),
    "key-error": ("not_found", RB + "KeyError"), "index-error": ("out_of_range", RB + "IndexError"),
    "enoent": ("not_found", E + "ENOENT"), "eacces": ("permission_denied", E + "EACCES"),
    "eacces-write": ("permission_denied", E + "EACCES"), "eexist": ("already_exists", E + "EEXIST"),
    "enotempty": ("failed_precondition", E + "ENOTEMPTY"), "eisdir": ("failed_precondition", E + "EISDIR"),
    "enospc": ("resource_exhausted.storage_full", E + "ENOSPC"), "esrch": ("not_found", E + "ESRCH"),
    "econnrefused": ("unavailable", A_REFUSED), "socket-dns": ("unavailable", A_DNS),
    "net-http-refused": ("unavailable", A_REFUSED), "net-http-timeout": ("deadline_exceeded", A_TIMEOUT),
    "net-http-open-timeout": ("deadline_exceeded", A_TIMEOUT), "net-http-tls": ("unavailable.tls", A_TLS),
    "net-http-eof": ("unavailable", "the peer closed the connection: UNAVAILABLE"), "net-http-reset": ("unavailable", A_RESET),
    "json-parse": ("invalid_argument", PARSE), "timeout": ("deadline_exceeded", A_TIMEOUT),
    "eof": ("out_of_range", "reading past the end of the input: gRPC OUT_OF_RANGE"),
    "eof-io": ("out_of_range", "reading past the end of the input: gRPC OUT_OF_RANGE"),
    "zlib-data": ("invalid_argument", NOTFMT + " (incorrect header check)"), "zlib-gzip": ("invalid_argument", NOTFMT),
    "zlib-truncated": ("data_loss", CORRUPT), "uri": ("invalid_argument", PARSE), "date": ("invalid_argument", PARSE),
    "date-range": ("invalid_argument", PARSE), "deadlock": ("internal", "a thread deadlock in the program: a bug (gRPC INTERNAL)"),
    "stack": ("internal", BUG), "frozen": ("internal", BUG), "not-implemented": ("unimplemented", RB + "NotImplementedError"),
    "range": ("out_of_range", RB + "Math::DomainError/RangeError") , "float-domain": ("invalid_argument", RB + "FloatDomainError"),
    "encoding": ("invalid_argument", PARSE), "encoding-compat": ("invalid_argument", PARSE), "invalid-byte": ("invalid_argument", PARSE),
    "load-error": ("failed_precondition", "a missing library: the environment must be fixed (FAILED_PRECONDITION)"),
    "regexp": ("invalid_argument", PARSE), "bigdecimal": ("invalid_argument", PARSE),
    "stop-iteration": ("out_of_range", "iteration past the end: gRPC OUT_OF_RANGE"),
    "system-exit-spawn": ("not_found", E + "ENOENT"), "interrupt": ("cancelled", "the user interrupted: gRPC CANCELLED"),
    "ssl-verify": ("unavailable.tls", A_TLS), "addr-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "frozen-hash": ("internal", BUG), "closed-stream": ("failed_precondition", RB + "IOError: closed stream (EBADF-like)"),
    "thread-error": ("failed_precondition", RB + "ClosedQueueError: the queue is closed"),
}
PH = "PHP manual: "
PHP_LABELS = {
    "div-zero": ("invalid_argument", PH + "DivisionByZeroError on the values given"),
    "modulo-zero": ("invalid_argument", PH + "DivisionByZeroError on the values given"),
    "type-error": ("internal", BUG), "value-error": ("invalid_argument", PH + "ValueError"),
    "json": ("invalid_argument", PARSE), "file-missing": ("not_found", E + "ENOENT"),
    "file-permission": ("permission_denied", E + "EACCES"), "file-write-permission": ("permission_denied", E + "EACCES"),
    "mkdir-exists": ("already_exists", E + "EEXIST"), "rmdir-nonempty": ("failed_precondition", E + "ENOTEMPTY"),
    "undefined-function": ("internal", BUG), "undefined-method": ("internal", BUG), "null-method": ("internal", BUG),
    "argument-count": ("internal", BUG), "fsock-refused": ("unavailable", A_REFUSED), "fsock-dns": ("unavailable", A_DNS),
    "http-404": L.HTTP[404], "http-500": L.HTTP[500], "http-503": L.HTTP[503], "http-refused": ("unavailable", A_REFUSED),
    "http-timeout": ("deadline_exceeded", A_TIMEOUT), "http-tls": ("unavailable.tls", A_TLS),
    "date": ("invalid_argument", PARSE), "gzuncompress": ("data_loss", CORRUPT + " (zlib reports data error)"),
    "gzdecode": ("data_loss", CORRUPT + " (zlib reports data error)"), "unserialize": ("invalid_argument", PARSE),
    "match": ("internal", BUG), "arith": ("out_of_range", PH + "ArithmeticError: result out of the integer range"),
    "memory": ("resource_exhausted.memory", PH + "memory_limit exhausted"), "regex": ("invalid_argument", PARSE),
    "array-key": ("internal", "an undefined array key read: a program bug"), "undefined-var": ("internal", BUG),
    "class-missing": ("internal", BUG), "readonly": ("internal", BUG),
    "enum": ("invalid_argument", PH + "ValueError"), "spl-out-of-range": ("out_of_range", PH + "OutOfBoundsException/RuntimeException: index out of range"),
    "spl-stack": ("out_of_range", PH + "RuntimeException: can't pop from an empty datastructure"),
    "intl-format": ("invalid_argument", PH + "ValueError: unknown format specifier"),
}


def node_capture():
    if not have("node"):
        return
    d = rt_dir("node")
    for r in jsonl_client(["node", os.path.join(HERE, "clients", "nodert.js"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        runtime_record("node", "node:", NODE_LABELS, r, errno_domain=False)
        if isinstance(r.get("code"), str) and r["code"].startswith("E") and L.errno_label(r["code"])[0]:
            cat, auth = NODE_LABELS.get(r["key"], (None, None))
            add("node", "node:" + r["key"], r["message"], cat, auth, domain="node", code=r["code"], only_code=True)


NODEMORE_LABELS = {
    "readlink-regular": ("invalid_argument", E + "EINVAL"), "rm-dir": ("failed_precondition", E + "EISDIR"),
    "cp-into-self": ("invalid_argument", "copying a directory into itself: the arguments are wrong (EINVAL)"),
    "chdir-missing": ("not_found", E + "ENOENT"), "setuid": ("permission_denied", E + "EPERM"),
    "kill-init": ("permission_denied", E + "EPERM"), "exec-permission": ("permission_denied", E + "EACCES"),
    "mkdtemp-missing": ("not_found", E + "ENOENT"), "link-dir": ("permission_denied", E + "EPERM"),
    "rename-xdev": ("unimplemented", E + "EXDEV"),
    "brotli-bad": ("invalid_argument", NOTFMT),
    "cipher-key": ("invalid_argument", NODE + "ERR_CRYPTO_INVALID_KEYLEN: a key of the wrong length"),
    "bad-decrypt": ("invalid_argument", "bad decrypt: wrong key or not ciphertext"),
    "public-key": ("invalid_argument", NOTFMT),
    "buffer-read": ("out_of_range", NODE + "ERR_BUFFER_OUT_OF_BOUNDS (gRPC OUT_OF_RANGE: reading past the end)"),
    "repeat-count": ("invalid_argument", "RangeError for an impossible argument: INVALID_ARGUMENT"),
    "normalize-form": ("invalid_argument", "RangeError for an impossible argument: INVALID_ARGUMENT"),
    "time-zone": ("invalid_argument", "RangeError for an impossible argument: INVALID_ARGUMENT"),
    "json-trailing": ("invalid_argument", PARSE), "json-undefined": ("invalid_argument", PARSE),
    "require-bad-json": ("invalid_argument", PARSE), "function-syntax": ("invalid_argument", PARSE),
    "file-url-scheme": ("invalid_argument", NODE + "ERR_INVALID_URL_SCHEME"),
    "vm-timeout": ("deadline_exceeded", A_TIMEOUT),
    "parse-args": ("invalid_argument", "unrecognized option"),
    "unknown-encoding": ("invalid_argument", NODE + "ERR_UNKNOWN_ENCODING"),
    "header-char": ("invalid_argument", NODE + "ERR_INVALID_CHAR"), "http-method": ("invalid_argument", NODE + "ERR_INVALID_HTTP_TOKEN"),
    "called-on-null": ("internal", BUG), "not-extensible": ("internal", BUG), "class-without-new": ("internal", BUG),
    "http-hang-up": ("unavailable", "the peer closed the connection without a response: UNAVAILABLE"),
    "https-self-signed": ("unavailable.tls", A_TLS),
    "https-plain-peer": ("unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
    "fetch-redirect-loop": ("failed_precondition", "a redirect loop: repeating the request follows the same loop"),
    "resolve4": ("unavailable", A_DNS),
}


def node_more_capture():
    if not have("node"):
        return
    d = rt_dir("nodemore")
    for r in jsonl_client(["node", os.path.join(HERE, "clients", "nodemore.js"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        runtime_record("node", "node:", NODEMORE_LABELS, r, errno_domain=False)
        if isinstance(r.get("code"), str) and r["code"].startswith("E") and L.errno_label(r["code"])[0]:
            cat, auth = NODEMORE_LABELS.get(r["key"], (None, None))
            add("node", "node:" + r["key"], r["message"], cat, auth, domain="node", code=r["code"], only_code=True)


def go_capture():
    if not have("go"):
        return
    d = rt_dir("go")
    exe = os.path.join(d, "gort")
    env = dict(os.environ, GOCACHE=os.path.join(TMP, "gocache"), GOPATH=os.path.join(TMP, "gopath"),
               GO111MODULE="off", GOFLAGS="")
    rc, err, _ = run(["go", "build", "-o", exe, os.path.join(HERE, "clients", "gort.go")], timeout=300, env=env)
    if rc != 0:
        print("capture: go build failed: " + err[-400:], file=sys.stderr)
        return
    os.chmod(exe, 0o755)
    for r in jsonl_client([exe, d, BASE, str(CLOSED), str(SILENT), TLSURL], user=as_user()):
        runtime_record("go", "go:", GO_LABELS, r)
    dead = os.path.join(d, "godead")
    run(["go", "build", "-o", dead, os.path.join(HERE, "clients", "godead.go")], timeout=300, env=env)
    for arg in ("ch", "wg"):
        rc, err, _ = run([dead, arg], timeout=30)
        cat, auth = "internal", "all goroutines asleep: a program bug the runtime detected (gRPC INTERNAL)"
        add("go", "go:deadlock-" + arg, "\n".join(err.splitlines()[:30]), cat, auth)
        add("go", "go:deadlock-" + arg, err.splitlines()[0] if err else "", cat, auth)
    for k in [k for k in GO_LABELS if k.startswith("panic:")]:
        rc, err, _ = run([exe, k], timeout=60)
        cat, auth = GO_LABELS[k]
        lines = err.splitlines()
        head = [l for l in lines if l.startswith(("panic:", "fatal error:", "runtime:"))]
        add("go", "go:" + k, "\n".join(lines[:40]), cat, auth)
        if head:
            add("go", "go:" + k, head[0], cat, auth)


GOMORE_LABELS = {
    "chdir-missing": ("not_found", E + "ENOENT"), "readlink-regular": ("invalid_argument", E + "EINVAL"),
    "rename-xdev": ("unimplemented", E + "EXDEV"), "chmod-permission": ("permission_denied", E + "EPERM"),
    "truncate-dir": ("failed_precondition", E + "EISDIR"),
    "listen-bad-port": ("invalid_argument", PARSE), "parse-cidr": ("invalid_argument", PARSE),
    "dial-unix-missing": ("not_found", E + "ENOENT"), "dial-missing-port": ("invalid_argument", PARSE),
    "dial-unknown-network": ("invalid_argument", GO + "net.UnknownNetworkError: the network name given is not one Go knows"),
    "http-redirect-loop": ("failed_precondition", "a redirect loop: repeating the request follows the same loop"),
    "https-plain-peer": ("unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
    "tls-dial-plain": ("unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
    "json-unsupported-type": ("internal", BUG), "json-unknown-field": ("invalid_argument", PARSE),
    "xml-syntax": ("invalid_argument", PARSE), "csv-quote": ("invalid_argument", PARSE),
    "load-location": ("not_found", GO + "time.LoadLocation: no time zone with that name"),
    "unquote": ("invalid_argument", PARSE), "gzip-crc": ("data_loss", CORRUPT),
    "zlib-header": ("invalid_argument", NOTFMT), "tar-header": ("invalid_argument", NOTFMT),
    "zip-crc": ("data_loss", CORRUPT), "x509-parse": ("invalid_argument", NOTFMT), "tls-keypair": ("invalid_argument", NOTFMT),
    "exec-permission": ("permission_denied", E + "EACCES"), "glob-pattern": ("invalid_argument", PARSE),
    "read-eio": ("internal.io", E + "EIO (docs/taxonomy.md deviation)"), "query-escape": ("invalid_argument", PARSE),
}


def go_more_capture():
    if not have("go"):
        return
    d = rt_dir("gomore")
    exe = os.path.join(d, "gomore")
    env = dict(os.environ, GOCACHE=os.path.join(TMP, "gocache"), GOPATH=os.path.join(TMP, "gopath"),
               GO111MODULE="off", GOFLAGS="")
    rc, err, _ = run(["go", "build", "-o", exe, os.path.join(HERE, "clients", "gomore.go")], timeout=300, env=env)
    if rc != 0:
        print("capture: go build failed: " + err[-400:], file=sys.stderr)
        return
    os.chmod(exe, 0o755)
    for r in jsonl_client([exe, d, BASE, str(CLOSED), str(SILENT), TLSURL], user=as_user()):
        runtime_record("go", "go:", GOMORE_LABELS, r)


def java_capture():
    if not have("java"):
        return
    d = rt_dir("java")
    for r in jsonl_client(["java", "-Xmx256m", "-Xss512k", os.path.join(HERE, "clients", "JavaRt.java"), d, BASE, str(CLOSED),
                           str(SILENT), TLSURL], user=as_user(), timeout=300):
        runtime_record("java", "java:", JAVA_LABELS, r)


JAVAMORE_LABELS = {
    "not-link": ("invalid_argument", E + "EINVAL (NotLinkException: the file is not a symbolic link)"),
    "not-directory": ("failed_precondition", E + "ENOTDIR"),
    "symlink-loop": ("failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
    "gzip-crc": ("data_loss", CORRUPT), "zip-crc": ("data_loss", CORRUPT),
    "base64": ("invalid_argument", PARSE), "uuid": ("invalid_argument", PARSE),
    "local-date": ("invalid_argument", JV + "DateTimeException: an invalid field value"),
    "zone-id": ("not_found", JV + "ZoneRulesException: no time zone with that ID"),
    "duration-parse": ("invalid_argument", PARSE),
    "bigint-divide": ("invalid_argument", JV + "ArithmeticException on the values given"),
    "add-exact": ("out_of_range", E + "ERANGE (integer overflow)"),
    "capacity": ("invalid_argument", JV + "IllegalArgumentException"),
    "require-non-null": ("internal", BUG),
    "executor-shutdown": ("failed_precondition", "the executor has been shut down: gRPC FAILED_PRECONDITION"),
    "queue-full": ("resource_exhausted", "a bounded queue is full: RESOURCE_EXHAUSTED, retry later"),
    "https-plain-peer": ("unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
    "certificate": ("invalid_argument", NOTFMT),
    "digest": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "bad-padding": ("invalid_argument", "bad decrypt: wrong key or not ciphertext"),
    "format": ("internal", BUG),
    "no-driver": ("failed_precondition", "no JDBC driver for the URL: the environment must be fixed (FAILED_PRECONDITION)"),
    "process-permission": ("permission_denied", E + "EACCES"),
    "properties": ("invalid_argument", PARSE),
    "stream-reuse": ("failed_precondition", JV + "IllegalStateException"),
}
JAVAMORE_LABELS.update({f"urlconn-{st}": L.HTTP[st] for st in (400, 403, 429, 502)})


def java_more_capture():
    if not have("java"):
        return
    d = rt_dir("javamore")
    for r in jsonl_client(["java", "-Xmx256m", os.path.join(HERE, "clients", "JavaMore.java"), d, BASE, str(CLOSED),
                           str(SILENT), TLSURL], user=as_user(), timeout=300):
        runtime_record("java", "java:", JAVAMORE_LABELS, r)


def ruby_capture():
    if not have("ruby"):
        return
    d = rt_dir("ruby")
    for r in jsonl_client(["ruby", os.path.join(HERE, "clients", "rubyrt.rb"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        runtime_record("ruby", "ruby:", RUBY_LABELS, r)


RUBYMORE_LABELS = {
    "enotdir": ("failed_precondition", E + "ENOTDIR"),
    "eloop": ("failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
    "eperm": ("permission_denied", E + "EPERM"), "einval-readlink": ("invalid_argument", E + "EINVAL"),
    "exdev": ("unimplemented", E + "EXDEV"), "enametoolong": ("invalid_argument", E + "ENAMETOOLONG"),
    "unix-socket-missing": ("not_found", E + "ENOENT"), "echild": ("failed_precondition", E + "ECHILD"),
    "ebadf": ("failed_precondition", E + "EBADF"),
    "csv": ("invalid_argument", PARSE), "yaml": ("invalid_argument", PARSE),
    "yaml-class": ("invalid_argument", "the document uses a class safe_load refuses"),
    "json-nan": ("invalid_argument", "the value cannot be represented in JSON: INVALID_ARGUMENT"),
    "json-nesting": ("invalid_argument", "the document nests deeper than the parser accepts: INVALID_ARGUMENT"),
    "float-parse": ("invalid_argument", PARSE), "time-parse": ("invalid_argument", PARSE),
    "date-strptime": ("invalid_argument", PARSE), "ipaddr": ("invalid_argument", PARSE),
    "base64": ("invalid_argument", PARSE),
    "negative-size": ("invalid_argument", RB + "ArgumentError: an impossible argument"),
    "radix": ("invalid_argument", RB + "ArgumentError: an impossible argument"),
    "compare": ("internal", BUG), "struct-size": ("internal", BUG), "const-missing": ("internal", BUG),
    "uri-component": ("invalid_argument", PARSE),
    "bad-decrypt": ("invalid_argument", "bad decrypt: wrong key or not ciphertext"),
    "pkey": ("invalid_argument", NOTFMT), "x509": ("invalid_argument", NOTFMT),
    "fiber-dead": ("failed_precondition", "the fiber has terminated: gRPC FAILED_PRECONDITION"),
    "mutex-unlock": ("failed_precondition", "the mutex is not locked: gRPC FAILED_PRECONDITION"),
    "not-opened-for-writing": ("failed_precondition", "the stream is not open for writing: gRPC FAILED_PRECONDITION"),
    "chr-range": ("out_of_range", RB + "RangeError: outside the character range (gRPC OUT_OF_RANGE)"),
    "converter": ("invalid_argument", "an unknown encoding name given: INVALID_ARGUMENT"),
    "no-pattern": ("internal", BUG), "uncaught-throw": ("internal", BUG), "no-block": ("internal", BUG),
}
RUBYMORE_LABELS.update({f"net-http-value-{st}": L.HTTP[st] for st in (404, 500, 503, 429, 401, 403)})
RUBYMORE_LABELS.update({f"open-uri-{st}": L.HTTP[st] for st in (404, 500, 503, 400)})


def ruby_more_capture():
    if not have("ruby"):
        return
    d = rt_dir("rubymore")
    for r in jsonl_client(["ruby", os.path.join(HERE, "clients", "rubymore.rb"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        runtime_record("ruby", "ruby:", RUBYMORE_LABELS, r)


def php_capture():
    if not have("php"):
        return
    d = rt_dir("php")
    for r in jsonl_client(["php", os.path.join(HERE, "clients", "phprt.php"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        if r.get("message") == "returned false":
            continue
        runtime_record("php", "php:", PHP_LABELS, r)


PHPMORE_LABELS = {
    "mkdir-missing-parent": ("not_found", E + "ENOENT"), "rename-missing": ("not_found", E + "ENOENT"),
    "copy-missing": ("not_found", E + "ENOENT"), "unlink-dir": ("failed_precondition", E + "EISDIR"),
    "opendir-missing": ("not_found", E + "ENOENT"), "chdir-missing": ("not_found", E + "ENOENT"),
    "touch-permission": ("permission_denied", E + "EACCES"),
    "fopen-mode": ("invalid_argument", PH + "fopen(): not a valid mode (an invalid argument)"),
    "json-depth": ("invalid_argument", "the document nests deeper than the parser accepts: INVALID_ARGUMENT"),
    "json-utf8": ("invalid_argument", PARSE), "datetime": ("invalid_argument", PARSE),
    "timezone": ("not_found", PH + "DateTimeZone: no time zone with that name"),
    "dateinterval": ("invalid_argument", PARSE),
    "gzinflate": ("data_loss", CORRUPT + " (zlib reports data error)"),
    "unpack": ("invalid_argument", PH + "unpack(): the input is shorter than the format needs"),
    "array-combine": ("invalid_argument", PH + "ValueError"), "random-range": ("invalid_argument", PH + "ValueError"),
    "array-fill": ("invalid_argument", PH + "ValueError"), "invalid-arg-exception": ("invalid_argument", PH + "ValueError"),
    "undefined-constant": ("internal", BUG), "abstract": ("internal", BUG),
    "iterator": ("out_of_range", PH + "OutOfBoundsException (gRPC OUT_OF_RANGE)"),
    "stream-socket": ("unavailable", A_REFUSED), "stream-socket-dns": ("unavailable", A_DNS),
    "sodium-key": ("invalid_argument", PH + "SodiumException: a key of the wrong length"),
}
PHPMORE_LABELS.update({f"http-{st}": L.HTTP[st] for st in (401, 403, 429, 502, 400)})


def php_more_capture():
    if not have("php"):
        return
    d = rt_dir("phpmore")
    for r in jsonl_client(["php", os.path.join(HERE, "clients", "phpmore.php"), d, BASE, str(CLOSED), str(SILENT), TLSURL],
                          user=as_user()):
        if r.get("message") == "returned false":
            continue
        runtime_record("php", "php:", PHPMORE_LABELS, r)


# ------------------------------------------------------------------ command-line tools
def tools_setup():
    d = rt_dir("tools")
    w = lambda p, data, mode="w": open(os.path.join(d, p), mode).write(data)  # noqa: E731
    w("plain.txt", "hello world\n" * 200)
    w("garbage.gz", "this is not gzip data at all\n")
    w("garbage.tar", "this is not a tar archive\n" * 40)
    w("garbage.zip", "this is not a zip file\n")
    w("garbage.bz2", "not bz2\n")
    w("garbage.xz", "not xz\n")
    w("garbage.zst", "not zstd\n")
    w("garbage.pem", "-----BEGIN CERTIFICATE-----\nnot base64 !!\n-----END CERTIFICATE-----\n")
    run(["gzip", "-k", os.path.join(d, "plain.txt")])
    data = open(os.path.join(d, "plain.txt.gz"), "rb").read()
    w("trunc.gz", data[:len(data) // 2], "wb")
    bad = bytearray(data)
    bad[-6] ^= 0xFF
    w("crc.gz", bytes(bad), "wb")
    run(["tar", "czf", os.path.join(d, "ok.tgz"), "-C", d, "plain.txt"])
    tg = open(os.path.join(d, "ok.tgz"), "rb").read()
    w("trunc.tgz", tg[:len(tg) // 2], "wb")
    for comp, ext in (("bzip2", "bz2"), ("xz", "xz"), ("zstd", "zst")):
        if have(comp):
            run([comp, "-k", "-q", "-f", os.path.join(d, "plain.txt")])
            cd = open(os.path.join(d, "plain.txt." + ext), "rb").read()
            w("trunc." + ext, cd[:len(cd) // 2], "wb")
            cb = bytearray(cd)
            cb[len(cb) // 2] ^= 0xFF
            w("corrupt." + ext, bytes(cb), "wb")
    run(["zip", "-q", os.path.join(d, "ok.zip"), os.path.join(d, "plain.txt")])
    if os.path.exists(os.path.join(d, "ok.zip")):
        z = bytearray(open(os.path.join(d, "ok.zip"), "rb").read())
        z[60] ^= 0xFF
        w("crc.zip", bytes(z), "wb")
        w("trunc.zip", bytes(z[: len(z) // 2]), "wb")
    os.makedirs(os.path.join(d, "dir", "sub"))
    os.symlink("loop2", os.path.join(d, "loop1"))
    os.symlink("loop1", os.path.join(d, "loop2"))
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            try:
                os.chmod(os.path.join(root, n), 0o777)
            except OSError:
                pass
    return d


def tool(source, key, cmd, cat, auth, user=None, domain=None, code=None, first=False, timeout=20, cwd=None, env=None):
    rc, err, out = run(cmd, user=user, timeout=timeout, cwd=cwd, env=env)
    msg = err or out
    if source == "git" and out and err:
        msg = err + "\n" + out  # git reports merge conflicts on stdout
    if rc == 0 and not err:
        print(f"capture: {source} {key}: did not fail", file=sys.stderr)
        return None
    if first and msg:
        msg = msg.splitlines()[0]
    add(source, source + ":" + key, msg, cat, auth, domain=domain, code=code)
    return msg


def tools_capture():
    d = tools_setup()
    NB = as_user()
    t = lambda *p: os.path.join(d, *p)  # noqa: E731
    # coreutils (as an unprivileged user where permissions matter)
    CU = [
        ("cat-missing", ["cat", t("missing.txt")], "not_found", E + "ENOENT"),
        ("cat-dir", ["cat", t("dir")], "failed_precondition", E + "EISDIR"),
        ("cat-permission", ["cat", "/etc/shadow"], "permission_denied", E + "EACCES"),
        ("cp-permission", ["cp", t("plain.txt"), "/etc/fl-capture.txt"], "permission_denied", E + "EACCES"),
        ("cp-missing", ["cp", t("missing.txt"), t("x")], "not_found", E + "ENOENT"),
        ("cp-dir", ["cp", t("dir"), t("dir2")], "invalid_argument", "cp: -r not specified: the arguments are wrong"),
        ("cp-same", ["cp", t("plain.txt"), t("plain.txt")], "invalid_argument", "source and destination are the same file"),
        ("mkdir-exists", ["mkdir", t("dir")], "already_exists", E + "EEXIST"),
        ("mkdir-missing-parent", ["mkdir", t("nope", "child")], "not_found", E + "ENOENT"),
        ("mkdir-long", ["mkdir", t("n" * 300)], "invalid_argument", E + "ENAMETOOLONG"),
        ("rmdir-nonempty", ["rmdir", t("dir")], "failed_precondition", E + "ENOTEMPTY"),
        ("rm-dir", ["rm", t("dir")], "failed_precondition", E + "EISDIR"),
        ("rm-missing", ["rm", t("missing.txt")], "not_found", E + "ENOENT"),
        ("rm-permission", ["rm", "-f", "/etc/hostname"], "permission_denied", E + "EACCES"),
        ("mv-into-itself", ["mv", t("dir"), t("dir", "sub")], "invalid_argument", "mv: moving a directory into itself: the arguments are wrong"),
        ("mv-missing", ["mv", t("missing.txt"), t("y")], "not_found", E + "ENOENT"),
        ("ln-exists", ["ln", "-s", t("plain.txt"), t("plain.txt.gz")], "already_exists", E + "EEXIST"),
        ("touch-missing-dir", ["touch", t("nope", "f")], "not_found", E + "ENOENT"),
        ("touch-permission", ["touch", "/etc/fl-capture"], "permission_denied", E + "EACCES"),
        ("ls-missing", ["ls", t("missing")], "not_found", E + "ENOENT"),
        ("stat-loop", ["stat", "-L", t("loop1")], "failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
        ("cat-loop", ["cat", t("loop1")], "failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
        ("head-bad-count", ["head", "-n", "x1", t("plain.txt")], "invalid_argument", "invalid option value"),
        ("sort-bad-option", ["sort", "--frobnicate"], "invalid_argument", "unrecognized option"),
        ("date-bad", ["date", "-d", "yesterday-ish nonsense"], "invalid_argument", PARSE),
        ("sleep-bad", ["sleep", "abc"], "invalid_argument", PARSE),
        ("kill-missing", ["kill", "4194000"], "not_found", E + "ESRCH"),
        ("kill-permission", ["kill", "1"], "permission_denied", E + "EPERM"),
        ("chown-permission", ["chown", "root", t("plain.txt")], "permission_denied", E + "EPERM"),
        ("chmod-missing", ["chmod", "644", t("missing")], "not_found", E + "ENOENT"),
        ("dd-full", ["dd", "if=/dev/zero", "of=/dev/full", "bs=1k", "count=1"], "resource_exhausted.storage_full", E + "ENOSPC"),
        ("cp-full", ["cp", t("plain.txt"), "/dev/full"], "resource_exhausted.storage_full", E + "ENOSPC"),
        ("tee-full", ["sh", "-c", f"echo hi | tee /dev/full >/dev/null"], "resource_exhausted.storage_full", E + "ENOSPC"),
        ("readlink-missing", ["readlink", "-e", t("missing")], None, None),
        ("wc-dir", ["wc", t("dir")], "failed_precondition", E + "EISDIR"),
        ("split-bad", ["split", "-b", "0", t("plain.txt")], "invalid_argument", "invalid option value"),
        ("truncate-bad", ["truncate", "-s", "lots", t("plain.txt")], "invalid_argument", PARSE),
        ("numfmt-bad", ["numfmt", "abc"], "invalid_argument", PARSE),
        ("seq-bad", ["seq", "a"], "invalid_argument", PARSE),
        ("timeout-missing", ["timeout", "1", "fl-capture-no-such-binary"], "not_found", E + "ENOENT"),
        ("env-missing", ["env", "fl-capture-no-such-binary"], "not_found", E + "ENOENT"),
        ("sh-missing", ["sh", "-c", "fl-capture-no-such-binary"], "not_found", "the shell: command not found (ENOENT in PATH)"),
        ("bash-missing", ["bash", "-c", "fl-capture-no-such-binary"], "not_found", "the shell: command not found (ENOENT in PATH)"),
        ("cd-missing", ["sh", "-c", f"cd {t('missing')}"], "not_found", E + "ENOENT"),
        ("mktemp-bad", ["mktemp", "-p", t("missing"), "xXXXXXX"], "not_found", E + "ENOENT"),
        ("install-missing", ["install", t("missing"), t("z")], "not_found", E + "ENOENT"),
        ("shred-missing", ["shred", t("missing")], "not_found", E + "ENOENT"),
        ("df-missing", ["df", t("missing")], "not_found", E + "ENOENT"),
        ("find-missing", ["find", t("missing")], "not_found", E + "ENOENT"),
        ("find-permission", ["find", "/root", "-maxdepth", "1"], "permission_denied", E + "EACCES"),
        ("grep-missing", ["grep", "x", t("missing")], "not_found", E + "ENOENT"),
        ("grep-regex", ["grep", "-E", "(", t("plain.txt")], "invalid_argument", PARSE),
        ("sed-bad", ["sed", "s/a", t("plain.txt")], "invalid_argument", PARSE),
        ("awk-bad", ["awk", "{ print $", t("plain.txt")], "invalid_argument", PARSE),
        ("sha-check", ["sh", "-c", f"echo '0000000000000000000000000000000000000000000000000000000000000000  {t('plain.txt')}' | sha256sum -c"], "data_loss", "checksum mismatch: the data is not what was written (gRPC DATA_LOSS)"),
        ("base64-bad", ["sh", "-c", "echo '!!!' | base64 -d"], "invalid_argument", PARSE),
        ("iconv-bad", ["sh", "-c", "printf '\\377' | iconv -f utf-8 -t ascii"], "invalid_argument", PARSE),
        ("su-permission", ["su", "-c", "true", "root"], "unauthenticated", "su: authentication failure"),
    ]
    for key, cmd, cat, auth in CU:
        if cat:
            tool("coreutils", key, cmd, cat, auth, user=NB)
    # tar and compressors
    AR = [
        ("tar", "missing", ["tar", "xf", t("missing.tar")], "not_found", E + "ENOENT"),
        ("tar", "garbage", ["tar", "xf", t("garbage.tar"), "-C", t("dir")], "invalid_argument", NOTFMT),
        ("tar", "truncated", ["tar", "xzf", t("trunc.tgz"), "-C", t("dir")], "data_loss", CORRUPT),
        ("tar", "not-in-archive", ["tar", "xzf", t("ok.tgz"), "-C", t("dir"), "nope.txt"], "not_found", "the member named is not in the archive"),
        ("tar", "gzip-garbage", ["tar", "xzf", t("garbage.gz"), "-C", t("dir")], "invalid_argument", NOTFMT),
        ("tar", "create-permission", ["tar", "czf", "/etc/fl-capture.tgz", t("plain.txt")], "permission_denied", E + "EACCES"),
        ("tar", "create-missing", ["tar", "czf", t("out.tgz"), t("missing")], "not_found", E + "ENOENT"),
        ("gzip", "garbage", ["gzip", "-t", t("garbage.gz")], "invalid_argument", NOTFMT),
        ("gzip", "truncated", ["gzip", "-t", t("trunc.gz")], "data_loss", CORRUPT),
        ("gzip", "crc", ["gzip", "-t", t("crc.gz")], "data_loss", CORRUPT),
        ("gzip", "missing", ["gzip", t("missing")], "not_found", E + "ENOENT"),
        ("gzip", "stdout-full", ["sh", "-c", f"gzip -c {t('plain.txt')} > /dev/full"], "resource_exhausted.storage_full", E + "ENOSPC"),
        ("bzip2", "garbage", ["bzip2", "-t", t("garbage.bz2")], "invalid_argument", NOTFMT),
        ("bzip2", "truncated", ["bzip2", "-t", t("trunc.bz2")], "data_loss", CORRUPT),
        ("bzip2", "corrupt", ["bzip2", "-t", t("corrupt.bz2")], "data_loss", CORRUPT),
        ("xz", "garbage", ["xz", "-t", t("garbage.xz")], "invalid_argument", NOTFMT),
        ("xz", "truncated", ["xz", "-t", t("trunc.xz")], "data_loss", CORRUPT),
        ("xz", "corrupt", ["xz", "-t", t("corrupt.xz")], "data_loss", CORRUPT),
        ("zstd", "garbage", ["zstd", "-t", t("garbage.zst")], "invalid_argument", NOTFMT),
        ("zstd", "truncated", ["zstd", "-t", t("trunc.zst")], "data_loss", CORRUPT),
        ("zstd", "corrupt", ["zstd", "-t", t("corrupt.zst")], "data_loss", CORRUPT),
        ("unzip", "garbage", ["unzip", "-t", t("garbage.zip")], "invalid_argument", NOTFMT),
        ("unzip", "missing", ["unzip", t("missing.zip")], "not_found", E + "ENOENT"),
        ("unzip", "crc", ["unzip", "-t", t("crc.zip")], "data_loss", CORRUPT),
        ("unzip", "member-missing", ["unzip", "-o", t("ok.zip"), "nope.txt", "-d", t("dir")], "not_found", "the member named is not in the archive"),
        ("zip", "missing", ["zip", t("out.zip"), t("missing")], "not_found", E + "ENOENT"),
        ("zip", "permission", ["zip", "/etc/fl-capture.zip", t("plain.txt")], "permission_denied", E + "EACCES"),
    ]
    for src, key, cmd, cat, auth in AR:
        if have(src):
            tool(src, key, cmd, cat, auth, user=NB)
    # openssl
    OS = [
        ("x509-garbage", ["openssl", "x509", "-in", t("garbage.pem"), "-noout"], "invalid_argument", NOTFMT),
        ("x509-missing", ["openssl", "x509", "-in", t("missing.pem"), "-noout"], "not_found", E + "ENOENT"),
        ("verify-self-signed", ["openssl", "verify", CRT], "unavailable.tls", A_TLS),
        ("s-client-refused", ["openssl", "s_client", "-connect", f"127.0.0.1:{CLOSED}"], "unavailable", A_REFUSED),
        ("s-client-plain", ["openssl", "s_client", "-connect", f"127.0.0.1:{HPORT}"], "unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again"),
        ("s-client-verify", ["openssl", "s_client", "-verify_return_error", "-connect", f"127.0.0.1:{TLSPORT}"], "unavailable.tls", A_TLS),
        ("s-client-dns", ["openssl", "s_client", "-connect", "api.fl-capture.invalid:443"], "unavailable", A_DNS),
        ("dgst-unknown", ["openssl", "dgst", "-nosuchdigest", t("plain.txt")], "invalid_argument", "unknown option/algorithm"),
        ("enc-bad-decrypt", ["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-pass", "pass:x", "-in", t("plain.txt.gz")], "invalid_argument", "bad decrypt: wrong key or not ciphertext"),
        ("rsa-garbage", ["openssl", "rsa", "-in", t("plain.txt"), "-noout"], "invalid_argument", NOTFMT),
        ("req-bad-subj", ["openssl", "req", "-new", "-key", t("missing.key")], "not_found", E + "ENOENT"),
    ]
    for key, cmd, cat, auth in OS:
        tool("openssl", key, cmd, cat, auth, user=NB, timeout=10)
    # ssh
    SSH = ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
           "-o", "ConnectTimeout=2"]
    for key, extra, cat, auth in [
        ("refused", ["-p", str(CLOSED), "127.0.0.1", "true"], "unavailable", A_REFUSED),
        ("dns", ["host.fl-capture.invalid", "true"], "unavailable", A_DNS),
        ("timeout", ["-p", str(SILENT), "127.0.0.1", "true"], "deadline_exceeded", A_TIMEOUT),
        ("not-ssh", ["-p", str(HPORT), "127.0.0.1", "true"], "unavailable", "the peer closed the connection during the handshake: UNAVAILABLE"),
        ("config-missing", ["-F", t("missing.conf"), "127.0.0.1", "true"], "not_found", E + "ENOENT"),
        ("bad-option", ["-o", "NoSuchOption=yes", "127.0.0.1", "true"], "invalid_argument", "unsupported option"),
    ]:
        if have("ssh"):
            tool("ssh", key, SSH + extra, cat, auth, user=NB, timeout=15)
    git_capture(d)
    net_tools_capture(d)
    sqlite_capture(d)


def git_capture(d):
    if not have("git"):
        return
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=d, GIT_AUTHOR_NAME="fl", GIT_AUTHOR_EMAIL="fl@x",
               GIT_COMMITTER_NAME="fl", GIT_COMMITTER_EMAIL="fl@x", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    g = lambda *a, cwd=None: run(["git", *a], cwd=cwd, env=env)  # noqa: E731
    repo, bare, other = os.path.join(d, "repo"), os.path.join(d, "bare.git"), os.path.join(d, "other")
    g("init", "-q", "-b", "main", repo)
    open(os.path.join(repo, "f.txt"), "w").write("one\n")
    g("add", ".", cwd=repo); g("commit", "-qm", "one", cwd=repo)
    g("clone", "-q", "--bare", repo, bare)
    g("clone", "-q", bare, other)
    open(os.path.join(other, "f.txt"), "w").write("other\n")
    g("commit", "-qam", "other", cwd=other); g("push", "-q", "origin", "main", cwd=other)
    g("remote", "add", "origin", bare, cwd=repo)
    open(os.path.join(repo, "f.txt"), "w").write("mine\n")
    g("commit", "-qam", "mine", cwd=repo)
    g("branch", "feature", cwd=repo)
    g("tag", "v1", cwd=repo)
    GF = "failed_precondition"
    cases = [
        ("not-a-repo", ["status"], d, GF, "git: not a repository: the working directory must be fixed (FAILED_PRECONDITION)"),
        ("unknown-revision", ["show", "nosuchrev"], repo, "not_found", "git: the revision named does not exist"),
        ("rev-parse", ["rev-parse", "--verify", "nosuchrev^{commit}"], repo, "not_found", "git: the revision named does not exist"),
        ("checkout-missing", ["checkout", "nosuchbranch"], repo, "not_found", "git: pathspec/branch not known"),
        ("branch-exists", ["branch", "feature"], repo, "already_exists", "git: a branch of that name exists"),
        ("tag-exists", ["tag", "v1"], repo, "already_exists", "git: the tag exists"),
        ("remote-exists", ["remote", "add", "origin", bare], repo, "already_exists", "git: the remote exists"),
        ("merge-missing", ["merge", "nosuchbranch"], repo, "not_found", "git: the branch to merge does not exist"),
        ("push-rejected", ["push", "origin", "main"], repo, GF, "git: non-fast-forward push rejected; fetch and merge first (FAILED_PRECONDITION, not a transient conflict)"),
        ("pull-conflict", ["pull", "--no-rebase", "origin", "main"], repo, GF, "git: merge conflict; must be resolved by hand (FAILED_PRECONDITION)"),
        ("clone-missing", ["clone", os.path.join(d, "nosuchrepo"), os.path.join(d, "c1")], d, "not_found", "git: the repository does not exist"),
        ("clone-http-404", ["clone", f"{BASE}/status/404", os.path.join(d, "c2")], d, "not_found", L.HTTP[404][1]),
        ("clone-refused", ["clone", f"http://127.0.0.1:{CLOSED}/r.git", os.path.join(d, "c3")], d, "unavailable", A_REFUSED),
        ("clone-dns", ["clone", "http://git.fl-capture.invalid/r.git", os.path.join(d, "c4")], d, "unavailable", A_DNS),
        ("clone-exists", ["clone", bare, repo], d, "already_exists", "git: the destination exists and is not empty"),
        ("config-bad-key", ["config", "nosection", "x"], repo, "invalid_argument", "git: invalid key"),
        ("apply-garbage", ["apply", os.path.join(d, "plain.txt")], repo, "invalid_argument", "git: no valid patch in the input"),
        ("stash-none", ["stash", "pop"], repo, "not_found", "git: no stash entries"),
        ("bad-option", ["log", "--frobnicate"], repo, "invalid_argument", "git: unrecognized argument"),
        ("unknown-command", ["frobnicate"], repo, "invalid_argument", "git: not a git command"),
    ]
    for key, args, cwd, cat, auth in cases:
        tool("git", key, ["git", *args], cat, auth, cwd=cwd, env=env)
    # local changes would be overwritten
    g("merge", "--abort", cwd=repo)
    g("reset", "-q", "--hard", cwd=repo)
    g("checkout", "-q", "-b", "side", cwd=repo)
    open(os.path.join(repo, "f.txt"), "w").write("side\n")
    g("commit", "-qam", "side", cwd=repo)
    g("checkout", "-q", "main", cwd=repo)
    open(os.path.join(repo, "f.txt"), "w").write("dirty\n")
    tool("git", "would-overwrite", ["git", "checkout", "side"], GF, "git: local changes would be overwritten (FAILED_PRECONDITION)", cwd=repo, env=env)
    tool("git", "rebase-dirty", ["git", "rebase", "side"], GF, "git: unstaged changes (FAILED_PRECONDITION)", cwd=repo, env=env)
    g("checkout", "-q", "--", "f.txt", cwd=repo)
    patch = os.path.join(d, "p.diff")
    open(patch, "w").write("--- a/f.txt\n+++ b/f.txt\n@@ -1 +1 @@\n-nothing like this\n+x\n")
    tool("git", "patch-does-not-apply", ["git", "apply", patch], GF, "git: the patch does not apply to this tree (FAILED_PRECONDITION)", cwd=repo, env=env)
    open(os.path.join(repo, ".git", "index.lock"), "w").close()
    tool("git", "index-lock", ["git", "add", "f.txt"], "aborted", "git: another process holds index.lock (a lock conflict: ABORTED, retry)", cwd=repo, env=env)


def tools_more_setup():
    d = rt_dir("tools2")
    w = lambda p, data, mode="w": open(os.path.join(d, p), mode).write(data)  # noqa: E731
    w("f.txt", "one\ntwo\nthree\n")
    w("garbage.txt", "this is not in any format a tool expects\n" * 20)
    w("Makefile", "all: nosuchprereq\n\techo hi\n")
    w("bad.mk", "all:\necho no tab here\n")
    w("early.mk", "\techo recipe before target\n")
    w("cmd.mk", "all:\n\tfl-capture-no-such-command --now\n")
    w("syntax.c", "int main(void) { return 0 }\n")
    w("undeclared.c", "int main(void) { return missing_variable; }\n")
    w("header.c", "#include <fl_capture_nosuch.h>\nint main(void) { return 0; }\n")
    w("undef.c", "int fl_capture_nosuch(void);\nint main(void) { return fl_capture_nosuch(); }\n")
    w("ok.c", "int main(void) { return 0; }\n")
    w("bad.json", '{"orders": [1, 2,')
    w("bad.xml", "<order><id>1</id></orders>\n")
    w("reject.diff", "--- f.txt\n+++ f.txt\n@@ -1,3 +1,3 @@\n-alpha\n+beta\n gamma\n delta\n")
    run(["lz4", "-q", "-f", os.path.join(d, "garbage.txt"), os.path.join(d, "g.lz4")])
    if os.path.exists(os.path.join(d, "g.lz4")):
        data = open(os.path.join(d, "g.lz4"), "rb").read()
        w("trunc.lz4", data[: len(data) // 2], "wb")
    w("garbage.lz4", "not lz4 at all\n")
    w("garbage.deb", "not a debian package\n")
    w("key.pub", "ssh-rsa this-is-not-base64\n")
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o777)
    return d


NF = "the thing named does not exist: gRPC NOT_FOUND"
SRC = "the input (a source file, a program text, a makefile) is malformed: gRPC INVALID_ARGUMENT"


def tools_more_capture():
    d = tools_more_setup()
    NB = as_user()
    t = lambda *p: os.path.join(d, *p)  # noqa: E731
    cc = ["gcc", "-o", t("a.out")]
    cases = [
        ("make", "no-rule", ["make", "-C", d], "not_found", "GNU make: no rule to make a target named (" + NF + ")"),
        ("make", "no-target", ["make", "-C", d, "fl-capture-nosuch"], "not_found", "GNU make: no rule to make a target named (" + NF + ")"),
        ("make", "missing-separator", ["make", "-f", t("bad.mk")], "invalid_argument", SRC),
        ("make", "recipe-before-target", ["make", "-f", t("early.mk")], "invalid_argument", SRC),
        ("make", "command-missing", ["make", "-f", t("cmd.mk")], "not_found", "the shell: command not found (ENOENT in PATH)"),
        ("make", "makefile-missing", ["make", "-f", t("nope.mk")], "not_found", E + "ENOENT"),
        ("make", "no-makefile", ["make", "-C", t("full")], "not_found", "GNU make: no makefile found (" + NF + ")"),
        ("gcc", "syntax", cc + [t("syntax.c")], "invalid_argument", SRC),
        ("gcc", "undeclared", cc + [t("undeclared.c")], "invalid_argument", SRC),
        ("gcc", "header-missing", cc + [t("header.c")], "not_found", E + "ENOENT (the header)"),
        ("gcc", "input-missing", cc + [t("nope.c")], "not_found", E + "ENOENT"),
        ("gcc", "bad-option", ["gcc", "--fl-capture-frobnicate", t("ok.c")], "invalid_argument", "unrecognized option"),
        ("gcc", "undefined-reference", cc + [t("undef.c")], "not_found", "ld: the symbol has no definition in any input (" + NF + ")"),
        ("gcc", "library-missing", cc + [t("ok.c"), "-lflcapturenosuch"], "not_found", E + "ENOENT (ld: cannot find the library)"),
        ("gcc", "output-permission", ["gcc", "-o", "/etc/fl-capture.out", t("ok.c")], "permission_denied", E + "EACCES"),
        ("rsync", "source-missing", ["rsync", "-a", t("nope"), t("full")], "not_found", E + "ENOENT"),
        ("rsync", "dest-permission", ["rsync", "-a", t("f.txt"), "/etc/fl-capture/"], "permission_denied", E + "EACCES"),
        ("rsync", "daemon-refused", ["rsync", f"rsync://127.0.0.1:{CLOSED}/m/"], "unavailable", A_REFUSED),
        ("rsync", "ssh-refused", ["rsync", "-e", f"ssh -p {CLOSED} -o BatchMode=yes", t("f.txt"), "127.0.0.1:/tmp/x"], "unavailable", A_REFUSED),
        ("rsync", "bad-option", ["rsync", "--fl-capture-frobnicate", t("f.txt"), t("g")], "invalid_argument", "unrecognized option"),
        ("dpkg", "superuser", ["dpkg", "--purge", "fl-capture-nosuch"], "permission_denied", "dpkg: the operation requires superuser privilege (EPERM)"),
        ("dpkg", "query-missing", ["dpkg-query", "-W", "fl-capture-nosuch"], "not_found", "dpkg-query: no package of that name (" + NF + ")"),
        ("dpkg", "status-missing", ["dpkg", "-s", "fl-capture-nosuch"], "not_found", "dpkg-query: no package of that name (" + NF + ")"),
        ("dpkg", "deb-garbage", ["dpkg-deb", "-I", t("garbage.deb")], "invalid_argument", NOTFMT),
        ("dpkg", "deb-missing", ["dpkg-deb", "-I", t("nope.deb")], "not_found", E + "ENOENT"),
        ("apt", "lock-permission", ["apt-get", "install", "-y", "fl-capture-nosuch"], "permission_denied", E + "EACCES (the dpkg lock file)"),
        ("apt", "locate-missing", ["apt-get", "install", "-s", "fl-capture-nosuch"], "not_found", "apt: no package of that name (" + NF + ")"),
        ("apt", "cache-show-missing", ["apt-cache", "show", "fl-capture-nosuch"], "not_found", "apt: no package of that name (" + NF + ")"),
        ("apt", "bad-option", ["apt-get", "--fl-capture-frobnicate", "update"], "invalid_argument", "unrecognized option"),
        ("jq", "input-parse", ["jq", ".", t("bad.json")], "invalid_argument", PARSE),
        ("jq", "program-syntax", ["jq", ".a |", t("f.txt")], "invalid_argument", PARSE),
        ("jq", "cannot-index", ["sh", "-c", "echo 1 | jq .orders"], "invalid_argument", "the input is not of the type the program indexes: INVALID_ARGUMENT"),
        ("jq", "file-missing", ["jq", ".", t("nope.json")], "not_found", E + "ENOENT"),
        ("xmllint", "mismatch", ["xmllint", "--noout", t("bad.xml")], "invalid_argument", PARSE),
        ("xmllint", "missing", ["xmllint", "--noout", t("nope.xml")], "not_found", E + "ENOENT"),
        ("perl", "module-missing", ["perl", "-e", "use Fl::Capture::Nosuch;"], "failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
        ("perl", "open-missing", ["perl", "-e", f"open(my $f, '<', '{t('nope.txt')}') or die \"Cannot open {t('nope.txt')}: $!\\n\";"], "not_found", E + "ENOENT"),
        ("perl", "division", ["perl", "-e", "my $n = 0; print 1 / $n;"], "invalid_argument", "ArithmeticError on the values given"),
        ("perl", "undef-method", ["perl", "-e", "my $x; $x->save();"], "internal", BUG),
        ("perl", "undef-sub", ["perl", "-e", "fl_capture_nosuch();"], "internal", BUG),
        ("luajit", "index-nil", ["luajit", "-e", "local t = nil; print(t.x)"], "internal", BUG),
        ("luajit", "call-nil", ["luajit", "-e", "fl_capture_nosuch()"], "internal", BUG),
        ("luajit", "arith-nil", ["luajit", "-e", "local n; print(n + 1)"], "internal", BUG),
        ("luajit", "module-missing", ["luajit", "-e", "require('fl_capture_nosuch')"], "failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
        ("luajit", "file-missing", ["luajit", t("nope.lua")], "not_found", E + "ENOENT"),
        ("patch", "hunk-failed", ["patch", "--dry-run", t("f.txt"), t("reject.diff")], "failed_precondition", "the patch does not apply to this tree (FAILED_PRECONDITION)"),
        ("patch", "garbage", ["patch", "--dry-run", t("f.txt"), t("garbage.txt")], "invalid_argument", "no valid patch in the input"),
        ("patch", "missing", ["patch", "--dry-run", t("f.txt"), t("nope.diff")], "not_found", E + "ENOENT"),
        ("lz4", "garbage", ["lz4", "-t", t("garbage.lz4")], "invalid_argument", NOTFMT),
        ("lz4", "truncated", ["lz4", "-t", t("trunc.lz4")], "data_loss", CORRUPT),
        ("lz4", "missing", ["lz4", "-t", t("nope.lz4")], "not_found", E + "ENOENT"),
        ("gpg", "no-openpgp-data", ["gpg", "--homedir", t("full"), "--batch", "--verify", t("garbage.txt")], "invalid_argument", NOTFMT),
        ("gpg", "missing", ["gpg", "--homedir", t("full"), "--batch", "--verify", t("nope.sig")], "not_found", E + "ENOENT"),
        ("ssh-keygen", "not-a-key", ["ssh-keygen", "-l", "-f", t("key.pub")], "invalid_argument", NOTFMT),
        ("ssh-keygen", "missing", ["ssh-keygen", "-l", "-f", t("nope.pub")], "not_found", E + "ENOENT"),
        ("socat", "refused", ["socat", "-", f"TCP:127.0.0.1:{CLOSED}"], "unavailable", A_REFUSED),
        ("socat", "dns", ["socat", "-", "TCP:db.fl-capture.invalid:5432"], "unavailable", A_DNS),
        ("socat", "listen-in-use", ["socat", f"TCP-LISTEN:{SILENT},bind=127.0.0.1", "-"], "failed_precondition", E + "EADDRINUSE"),
        ("openssl", "pkcs12-garbage", ["openssl", "pkcs12", "-in", t("garbage.txt"), "-noout", "-passin", "pass:x"], "invalid_argument", NOTFMT),
    ]
    for src, key, cmd, cat, auth in cases + tools_more_cases2(d, t):
        if have(cmd[0]):
            tool(src, key, cmd, cat, auth, user=NB, timeout=20, cwd=d)
    git_more_capture(d)


def tools_more_cases2(d, t):
    """coreutils, archive, TLS and HTTP tool failures of capture round 2."""
    EPERM = E + "EPERM"
    SAME = "a TLS handshake against a non-TLS peer fails the same way again"
    LOOP = "a redirect loop: repeating the request follows the same loop"
    return [
        ("coreutils", "ln-hard-dir", ["ln", t("full"), t("hard")], "permission_denied", EPERM + " (hard links to directories)"),
        ("coreutils", "cp-into-itself", ["cp", "-r", t("full"), t("full", "x")], "invalid_argument", "cp: copying a directory into itself: the arguments are wrong"),
        ("coreutils", "mv-dir-onto-file", ["mv", t("full"), t("f.txt")], "failed_precondition", E + "ENOTDIR (a directory cannot replace a file)"),
        ("coreutils", "cat-eio", ["cat", "/proc/self/mem"], "internal.io", E + "EIO (docs/taxonomy.md deviation)"),
        ("coreutils", "renice-permission", ["renice", "-n", "-5", "-p", "1"], "permission_denied", E + "EACCES"),
        ("coreutils", "touch-bad-date", ["touch", "-d", "yesterday-ish nonsense", t("f.txt")], "invalid_argument", PARSE),
        ("coreutils", "sort-bad-key", ["sort", "-k", "x", t("f.txt")], "invalid_argument", "invalid option value"),
        ("coreutils", "cut-field-zero", ["cut", "-f", "0", t("f.txt")], "invalid_argument", "invalid option value"),
        ("coreutils", "tr-missing-operand", ["tr"], "invalid_argument", "a required argument is missing"),
        ("coreutils", "expr-non-integer", ["expr", "a", "+", "1"], "invalid_argument", PARSE),
        ("coreutils", "id-no-user", ["id", "fl-capture-nosuch"], "not_found", "the user named does not exist"),
        ("coreutils", "date-set-permission", ["date", "-s", "2020-01-01"], "permission_denied", EPERM),
        ("coreutils", "hostname-permission", ["hostname", "fl-capture"], "permission_denied", EPERM),
        ("coreutils", "chroot-permission", ["chroot", "/", "true"], "permission_denied", EPERM),
        ("coreutils", "unshare-permission", ["unshare", "-m", "true"], "permission_denied", EPERM),
        ("tar", "bad-option", ["tar", "--fl-capture-frobnicate"], "invalid_argument", "unrecognized option"),
        ("gzip", "unknown-suffix", ["gzip", "-d", t("f.txt")], "invalid_argument", "gzip: the file name has no compressed suffix (the arguments are wrong)"),
        ("gzip", "is-directory", ["gzip", t("full")], "failed_precondition", E + "EISDIR"),
        ("openssl", "genrsa-small", ["openssl", "genrsa", "256"], "invalid_argument", "the key size is below the minimum: INVALID_ARGUMENT"),
        ("openssl", "enc-unknown-cipher", ["openssl", "enc", "-aes-999", "-in", t("f.txt")], "invalid_argument", "unknown option/algorithm"),
        ("openssl", "rand-bad-number", ["openssl", "rand", "-hex", "x"], "invalid_argument", PARSE),
        ("ssh", "bad-port", ["ssh", "-p", "99999", "127.0.0.1", "true"], "invalid_argument", PARSE),
        ("curl", "http3-unsupported", ["curl", "-sS", "--http3", f"{BASE}/"], "unimplemented", "the installed libcurl does not support the option: UNIMPLEMENTED"),
        ("curl", "max-redirs", ["curl", "-sS", "-L", "--max-redirs", "3", "-o", "/dev/null", f"{BASE}/loop"], "failed_precondition", LOOP),
        ("curl", "bad-port", ["curl", "-sS", "http://127.0.0.1:99999/"], "invalid_argument", "CURLE_URL_MALFORMAT"),
        ("wget", "bad-port", ["wget", "--tries=1", "-O", "/dev/null", "http://127.0.0.1:99999/"], "invalid_argument", PARSE),
        ("wget", "unsupported-scheme", ["wget", "--tries=1", "-O", "/dev/null", "gopherx://x/"], "unimplemented", "the URL scheme is not supported (as CURLE_UNSUPPORTED_PROTOCOL): gRPC UNIMPLEMENTED"),
        ("wget", "max-redirect", ["wget", "--tries=1", "--max-redirect=2", "-O", "/dev/null", f"{BASE}/loop"], "failed_precondition", LOOP),
        ("wget", "reset", ["wget", "--tries=1", "-O", "/dev/null", f"{BASE}/reset"], "unavailable", A_RESET),
        ("wget", "output-permission", ["wget", "--tries=1", "-O", "/etc/fl-capture.out", f"{BASE}/json"], "permission_denied", E + "EACCES"),
        ("wget", "https-plain-peer", ["wget", "--tries=1", "-O", "/dev/null", f"https://127.0.0.1:{HPORT}/"], "unavailable.tls", SAME),
    ]


def git_more_capture_cases(repo, bare, d):
    GF = "failed_precondition"
    return [
        ("show-path-missing", ["show", "HEAD:fl-capture-nosuch.txt"], repo, "not_found", "git: the path does not exist in that revision"),
        ("rm-pathspec", ["rm", "fl-capture-nosuch.txt"], repo, "not_found", "git: the pathspec matches no file"),
        ("nothing-to-commit", ["commit", "-m", "x"], repo, GF, "git: nothing to commit (the tree's state: FAILED_PRECONDITION)"),
        ("cherry-pick-bad", ["cherry-pick", "fl-capture-nosuch"], repo, "not_found", "git: the revision named does not exist"),
        ("branch-delete-missing", ["branch", "-d", "fl-capture-nosuch"], repo, "not_found", "git: no such branch"),
        ("tag-delete-missing", ["tag", "-d", "fl-capture-nosuch"], repo, "not_found", "git: no such tag"),
        ("remote-remove-missing", ["remote", "remove", "fl-capture-nosuch"], repo, "not_found", "git: no such remote"),
        ("fetch-ref-missing", ["fetch", "origin", "fl-capture-nosuch"], repo, "not_found", "git: the remote has no such ref"),
        ("clone-http-500", ["clone", f"{BASE}/status/500", os.path.join(d, "g5")], d, "internal.server_error", L.HTTP[500][1]),
        ("clone-http-403", ["clone", f"{BASE}/status/403", os.path.join(d, "g6")], d, "permission_denied", L.HTTP[403][1]),
        ("clone-tls", ["clone", TLSURL + "r.git", os.path.join(d, "g7")], d, "unavailable.tls", A_TLS),
        ("blame-missing", ["blame", "fl-capture-nosuch.txt"], repo, "not_found", "git: no such path in HEAD"),
    ]


def git_more_capture(d):
    if not have("git"):
        return
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=d, GIT_AUTHOR_NAME="fl", GIT_AUTHOR_EMAIL="fl@x",
               GIT_COMMITTER_NAME="fl", GIT_COMMITTER_EMAIL="fl@x", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    g = lambda *a, cwd=None: run(["git", *a], cwd=cwd, env=env)  # noqa: E731
    repo, bare = os.path.join(d, "grepo"), os.path.join(d, "gbare.git")
    g("init", "-q", "-b", "main", repo)
    open(os.path.join(repo, "f.txt"), "w").write("one\n")
    g("add", ".", cwd=repo); g("commit", "-qm", "one", cwd=repo)
    g("clone", "-q", "--bare", repo, bare)
    g("remote", "add", "origin", bare, cwd=repo)
    g("branch", "feature", cwd=repo)
    for key, args, cwd, cat, auth in git_more_capture_cases(repo, bare, d):
        tool("git", key, ["git", *args], cat, auth, cwd=cwd, env=env)


def net_tools_capture(d):
    if have("wget"):
        for st in HTTP_STATUSES:
            cat, auth = L.HTTP[st]
            tool("wget", f"http-{st}", ["wget", "-q", "--tries=1", "-O", "/dev/null", "-S", f"{BASE}/status/{st}"], cat, auth)
            tool("wget", f"http-{st}", ["wget", "--tries=1", "-O", "/dev/null", f"{BASE}/status/{st}"], cat, auth)
        for key, args, cat, auth in [
            ("refused", [f"http://127.0.0.1:{CLOSED}/"], "unavailable", A_REFUSED),
            ("dns", ["http://www.fl-capture.invalid/"], "unavailable", A_DNS),
            ("timeout", ["--timeout=1", f"{BASE}/sleep"], "deadline_exceeded", A_TIMEOUT),
            ("tls", [TLSURL], "unavailable.tls", A_TLS),
            ("empty", [f"{BASE}/empty"], "unavailable", "the peer closed the connection: UNAVAILABLE"),
            ("output-missing-dir", ["-O", t_ := os.path.join(d, "nope", "out"), f"{BASE}/json"], "not_found", E + "ENOENT"),
        ]:
            cmd = ["wget", "--tries=1"] + (["-O", "/dev/null"] if "-O" not in args else []) + args
            tool("wget", key, cmd, cat, auth, timeout=15)
    if have("curl"):
        for st in HTTP_STATUSES:
            cat, auth = L.HTTP[st]
            tool("curl", f"http-{st}", ["curl", "-sS", "-f", "-o", "/dev/null", f"{BASE}/status/{st}"], cat,
                 "curl (22) carries the HTTP status; " + auth, domain="curl", code=22)
            tool("curl", f"http-{st}", ["curl", "-sS", "--fail-with-body", "-o", "/dev/null", f"{BASE}/status/{st}"], cat,
                 "curl (22) carries the HTTP status; " + auth)
        for key, args, cat, auth, code in [
            ("refused", [f"http://127.0.0.1:{CLOSED}/"], "unavailable", A_REFUSED, 7),
            ("dns", ["http://www.fl-capture.invalid/"], "unavailable", A_DNS, 6),
            ("timeout", ["--max-time", "0.5", f"{BASE}/sleep"], "deadline_exceeded", A_TIMEOUT, 28),
            ("empty", [f"{BASE}/empty"], "unavailable", "CURLE_GOT_NOTHING: the peer closed the connection", 52),
            ("reset", [f"{BASE}/reset"], "unavailable", A_RESET, 56),
            ("tls", [TLSURL], "unavailable.tls", A_TLS, 60),
            ("tls-plain", [f"https://127.0.0.1:{HPORT}/"], "unavailable.tls", "a TLS handshake against a non-TLS peer fails the same way again", 35),
            ("bad-url", ["http://[::1"], "invalid_argument", "CURLE_URL_MALFORMAT", 3),
            ("protocol", ["gopherx://x/"], "unimplemented", "CURLE_UNSUPPORTED_PROTOCOL", 1),
            ("file-missing", ["file:///nonexistent/fl-capture"], "not_found", "CURLE_FILE_COULDNT_READ_FILE", 37),
            ("truncated", [f"{BASE}/truncated"], "unavailable", "CURLE_PARTIAL_FILE: the transfer ended early", 18),
            ("proxy-refused", ["-x", f"http://127.0.0.1:{CLOSED}", f"{BASE}/"], "unavailable", A_REFUSED, 7),
            ("max-filesize", ["--max-filesize", "10", f"{BASE}/truncated"], "invalid_argument", "CURLE_FILESIZE_EXCEEDED: the response is larger than the limit set", 63),
        ]:
            tool("curl", key, ["curl", "-sS", "-o", "/dev/null"] + args, cat, auth, domain="curl", code=code, timeout=15)


def sqlite_capture(d):
    if not have("sqlite3"):
        return
    db = os.path.join(d, "s.db")
    run(["sqlite3", db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INT CHECK (n >= 0));"
         "CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INT REFERENCES t(id));"
         "CREATE TABLE s (x INT) STRICT; INSERT INTO t VALUES (1, 'a', 1);"])
    S = "sqlite.org/rescode.html: "
    for key, sql, cat, auth, extra in [
        ("unique", "INSERT INTO t VALUES (2, 'a', 1)", "already_exists", S + "SQLITE_CONSTRAINT_UNIQUE", []),
        ("primary-key", "INSERT INTO t VALUES (1, 'b', 1)", "already_exists", S + "SQLITE_CONSTRAINT_PRIMARYKEY", []),
        ("not-null", "INSERT INTO t VALUES (3, NULL, 1)", "invalid_argument", S + "SQLITE_CONSTRAINT_NOTNULL", []),
        ("check", "INSERT INTO t VALUES (4, 'd', -1)", "invalid_argument", S + "SQLITE_CONSTRAINT_CHECK", []),
        ("foreign-key", "PRAGMA foreign_keys=ON; INSERT INTO c VALUES (1, 99)", "failed_precondition", S + "SQLITE_CONSTRAINT_FOREIGNKEY", []),
        ("no-table", "SELECT * FROM nosuch", "not_found", S + "SQLITE_ERROR: no such table", []),
        ("no-column", "SELECT nosuch FROM t", "not_found", S + "SQLITE_ERROR: no such column", []),
        ("no-function", "SELECT nosuch(1)", "not_found", S + "SQLITE_ERROR: no such function", []),
        ("syntax", "SELEC 1", "invalid_argument", S + "SQLITE_ERROR: syntax error", []),
        ("exists", "CREATE TABLE t (x)", "already_exists", S + "SQLITE_ERROR: table already exists", []),
        ("strict", "INSERT INTO s VALUES ('abc')", "invalid_argument", S + "SQLITE_CONSTRAINT_DATATYPE", []),
        ("readonly", "INSERT INTO t VALUES (5, 'e', 1)", "permission_denied", S + "SQLITE_READONLY", ["-readonly"]),
    ]:
        tool("sqlite3", key, ["sqlite3", *extra, db, sql], cat, auth)
    tool("sqlite3", "not-a-db", ["sqlite3", os.path.join(d, "plain.txt"), "SELECT * FROM sqlite_master"], "invalid_argument", S + "SQLITE_NOTADB")
    tool("sqlite3", "cantopen", ["sqlite3", os.path.join(d, "nope", "x.db"), "SELECT 1"], "not_found", S + "SQLITE_CANTOPEN (the directory does not exist)")
    lock = subprocess.Popen(["sqlite3", db], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    lock.stdin.write("BEGIN EXCLUSIVE; INSERT INTO t VALUES (9, 'z', 1);\n")
    lock.stdin.flush()
    time.sleep(0.5)
    tool("sqlite3", "locked", ["sqlite3", db, "INSERT INTO t VALUES (10, 'y', 1)"], "aborted", S + "SQLITE_BUSY (database is locked)")
    lock.stdin.close()
    lock.wait()


def aws_capture():
    if not have("aws"):
        return
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIAFLCAPTURE", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1",
               AWS_MAX_ATTEMPTS="1", AWS_RETRY_MODE="standard", AWS_PAGER="", AWS_EC2_METADATA_DISABLED="true",
               AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    A = "AWS SDK standard retry mode / service error reference: "
    s3 = lambda code, st, msg: ("application/xml", st,  # noqa: E731
                                f"<?xml version=\"1.0\"?><Error><Code>{code}</Code><Message>{msg}</Message><RequestId>1</RequestId></Error>")
    ddb = lambda code, st, msg: ("application/x-amz-json-1.0", st,  # noqa: E731
                                 json.dumps({"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": msg}))
    cases = [
        ("s3-nosuchbucket", ["s3api", "list-objects-v2", "--bucket", "b"], s3("NoSuchBucket", 404, "The specified bucket does not exist"), "not_found"),
        ("s3-nosuchkey", ["s3api", "get-object", "--bucket", "b", "--key", "k", "/dev/null"], s3("NoSuchKey", 404, "The specified key does not exist."), "not_found"),
        ("s3-accessdenied", ["s3api", "list-objects-v2", "--bucket", "b"], s3("AccessDenied", 403, "Access Denied"), "permission_denied"),
        ("s3-slowdown", ["s3api", "list-objects-v2", "--bucket", "b"], s3("SlowDown", 503, "Please reduce your request rate."), "resource_exhausted"),
        ("s3-internal", ["s3api", "list-objects-v2", "--bucket", "b"], s3("InternalError", 500, "We encountered an internal error. Please try again."), "internal.server_error"),
        ("s3-invalidkey", ["s3api", "list-objects-v2", "--bucket", "b"], s3("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."), "unauthenticated"),
        ("s3-signature", ["s3api", "list-objects-v2", "--bucket", "b"], s3("SignatureDoesNotMatch", 403, "The request signature we calculated does not match the signature you provided."), "unauthenticated"),
        ("s3-bucket-exists", ["s3api", "create-bucket", "--bucket", "b"], s3("BucketAlreadyOwnedByYou", 409, "Your previous request to create the named bucket succeeded and you already own it."), "already_exists"),
        ("s3-precondition", ["s3api", "get-object", "--bucket", "b", "--key", "k", "--if-match", "x", "/dev/null"], s3("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"), "failed_precondition"),
        ("ddb-throttling", ["dynamodb", "list-tables"], ddb("ThrottlingException", 400, "Rate of requests exceeds the allowed throughput."), "resource_exhausted"),
        ("ddb-provisioned", ["dynamodb", "list-tables"], ddb("ProvisionedThroughputExceededException", 400, "The level of configured provisioned throughput for the table was exceeded."), "resource_exhausted"),
        ("ddb-notfound", ["dynamodb", "describe-table", "--table-name", "orders"], ddb("ResourceNotFoundException", 400, "Requested resource not found: Table: t not found"), "not_found"),
        ("ddb-conditional", ["dynamodb", "list-tables"], ddb("ConditionalCheckFailedException", 400, "The conditional request failed"), "failed_precondition"),
        ("ddb-validation", ["dynamodb", "list-tables"], ddb("ValidationException", 400, "1 validation error detected: Value 'x' at 'tableName' failed to satisfy constraint"), "invalid_argument"),
        ("ddb-unrecognized", ["dynamodb", "list-tables"], ddb("UnrecognizedClientException", 400, "The security token included in the request is invalid."), "unauthenticated"),
        ("ddb-inuse", ["dynamodb", "list-tables"], ddb("ResourceInUseException", 400, "Table already exists: t"), "already_exists"),
        ("ddb-limit", ["dynamodb", "list-tables"], ddb("LimitExceededException", 400, "Subscriber limit exceeded: Only 10 tables can be created simultaneously"), "resource_exhausted"),
        ("ddb-txcanceled", ["dynamodb", "list-tables"], ddb("TransactionConflictException", 400, "Transaction is ongoing for the item"), "aborted"),
        ("ddb-internal", ["dynamodb", "list-tables"], ddb("InternalServerError", 500, "Internal server error"), "internal.server_error"),
        ("ddb-unavailable", ["dynamodb", "list-tables"], ddb("ServiceUnavailable", 503, "Service unavailable"), "unavailable"),
    ]
    for key, args, (ctype, st, body), cat in cases:
        AWS_NEXT.update(status=st, body=body.encode(), ctype=ctype)
        code = re.search(r"<Code>(\w+)<|#(\w+)\"", body)
        code = code.group(1) or code.group(2)
        tool("aws-cli", key, ["aws", "--endpoint-url", BASE, *args], cat, A + code, env=env, timeout=60,
             domain="aws", code=code)
    tool("aws-cli", "refused", ["aws", "--endpoint-url", f"http://127.0.0.1:{CLOSED}", "s3api", "list-buckets"],
         "unavailable", A_REFUSED, env=env, timeout=60)
    env2 = dict(env)
    env2.pop("AWS_ACCESS_KEY_ID"); env2.pop("AWS_SECRET_ACCESS_KEY")
    tool("aws-cli", "no-credentials", ["aws", "--endpoint-url", BASE, "s3api", "list-buckets"], "unauthenticated",
         "botocore NoCredentialsError: no credentials to sign with (UNAUTHENTICATED)", env=env2, timeout=60)
    tool("aws-cli", "bad-param", ["aws", "--endpoint-url", BASE, "s3api", "list-objects-v2"], "invalid_argument",
         "a required parameter is missing", env=env, timeout=60)


# ------------------------------------------------------------------ round 3
# Programs and command-line modules no earlier round drove (sed, grep, find,
# diff, iconv, bc, xxd, more coreutils, Python's `-m` tools), labelled by the
# errno they report or by their documented meaning, to measure the pack on
# families its rules were not written for (`--round 3 tools_r3`).
USAGE = "wrong usage or arguments: gRPC INVALID_ARGUMENT (fails the same way regardless of state)"


def tools_r3_capture():
    d = tools_setup()
    NB = as_user()
    t = lambda *p: os.path.join(d, *p)  # noqa: E731
    open(t("bad.json"), "w").write("{'single': 'quotes'}\n")
    open(t("bad.py"), "w").write("def f(:\n    pass\n")
    open(t("latin1.txt"), "wb").write(b"caf\xe9\n")
    open(t("sums.md5"), "w").write("d41d8cd98f00b204e9800998ecf8427e  " + t("missing.txt") + "\n")
    cases = [
        ("sed", "missing-file", ["sed", "s/a/b/", t("missing.txt")], "not_found", E + "ENOENT"),
        ("sed", "unterminated-s", ["sed", "s/a/b", t("plain.txt")], "invalid_argument", USAGE),
        ("sed", "unknown-command", ["sed", "k", t("plain.txt")], "invalid_argument", USAGE),
        ("sed", "inplace-readonly-dir", ["sed", "-i", "s/a/b/", "/etc/hostname"], "permission_denied", E + "EACCES"),
        ("grep", "missing-file", ["grep", "x", t("missing.txt")], "not_found", E + "ENOENT"),
        ("grep", "unmatched-bracket", ["grep", "[a", t("plain.txt")], "invalid_argument", PARSE),
        ("grep", "invalid-backref", ["grep", "\\(a\\)\\2", t("plain.txt")], "invalid_argument", PARSE),
        ("grep", "permission", ["grep", "x", "/etc/shadow"], "permission_denied", E + "EACCES"),
        ("grep", "unknown-option", ["grep", "--frobnicate", "x"], "invalid_argument", USAGE),
        ("find", "missing-start", ["find", t("missing")], "not_found", E + "ENOENT"),
        ("find", "unknown-predicate", ["find", d, "-frobnicate"], "invalid_argument", USAGE),
        ("find", "bad-type", ["find", d, "-type", "q"], "invalid_argument", USAGE),
        ("find", "permission", ["find", "/root"], "permission_denied", E + "EACCES"),
        ("diff", "missing-file", ["diff", t("plain.txt"), t("missing.txt")], "not_found", E + "ENOENT"),
        ("diff", "missing-operand", ["diff", t("plain.txt")], "invalid_argument", USAGE),
        ("iconv", "unsupported-encoding", ["iconv", "-f", "NO-SUCH-CHARSET", "-t", "UTF-8", t("plain.txt")], "invalid_argument",
         "an unknown encoding name given: INVALID_ARGUMENT"),
        ("iconv", "illegal-sequence", ["iconv", "-f", "UTF-8", "-t", "ASCII", t("latin1.txt")], "invalid_argument", PARSE),
        ("iconv", "missing-file", ["iconv", "-f", "UTF-8", "-t", "ASCII", t("missing.txt")], "not_found", E + "ENOENT"),
        ("bc", "syntax", ["bc", "-q", t("bad.py")], "invalid_argument", PARSE),
        ("xxd", "missing-file", ["xxd", t("missing.txt")], "not_found", E + "ENOENT"),
        ("xxd", "bad-option", ["xxd", "-c", "x", t("plain.txt")], "invalid_argument", USAGE),
        ("coreutils", "r3-rmdir-not-empty", ["rmdir", t("dir")], "failed_precondition", E + "ENOTEMPTY"),
        ("coreutils", "r3-rmdir-not-dir", ["rmdir", t("plain.txt")], "failed_precondition", E + "ENOTDIR"),
        ("coreutils", "r3-mkdir-under-file", ["mkdir", t("plain.txt", "sub")], "failed_precondition", E + "ENOTDIR"),
        ("coreutils", "r3-tee-permission", ["tee", "/etc/fl-capture-r3"], "permission_denied", E + "EACCES"),
        ("coreutils", "r3-truncate-bad-size", ["truncate", "-s", "12Q", t("plain.txt")], "invalid_argument", USAGE),
        ("coreutils", "r3-mktemp-few-x", ["mktemp", t("abXX")], "invalid_argument", USAGE),
        ("coreutils", "r3-mktemp-missing-dir", ["mktemp", t("missing", "fileXXXXXX")], "not_found", E + "ENOENT"),
        ("coreutils", "r3-realpath-missing", ["realpath", "-e", t("missing.txt")], "not_found", E + "ENOENT"),
        ("coreutils", "r3-shuf-range", ["shuf", "-i", "9-1"], "invalid_argument", USAGE),
        ("coreutils", "r3-tr-reverse-range", ["tr", "z-a", "x"], "invalid_argument", USAGE),
        ("coreutils", "r3-fold-width", ["fold", "-w", "0", t("plain.txt")], "invalid_argument", USAGE),
        ("coreutils", "r3-numfmt-suffix", ["numfmt", "--from=si", "12Q"], "invalid_argument", PARSE),
        ("coreutils", "r3-base32-garbage", ["base32", "-d", t("bad.json")], "invalid_argument", PARSE),
        ("coreutils", "r3-md5sum-missing", ["md5sum", "-c", t("sums.md5")], "not_found", E + "ENOENT"),
        ("coreutils", "r3-od-missing", ["od", t("missing.txt")], "not_found", E + "ENOENT"),
        ("coreutils", "r3-touch-permission", ["touch", "/etc/fl-capture-r3"], "permission_denied", E + "EACCES"),
        ("coreutils", "r3-touch-bad-date", ["touch", "-d", "not a date", t("plain.txt")], "invalid_argument", PARSE),
        ("coreutils", "r3-ln-exists", ["ln", "-s", t("x"), t("plain.txt")], "already_exists", E + "EEXIST"),
        ("coreutils", "r3-du-missing", ["du", t("missing")], "not_found", E + "ENOENT"),
        ("coreutils", "r3-join-missing", ["join", t("plain.txt"), t("missing.txt")], "not_found", E + "ENOENT"),
        ("python", "r3-json-tool", ["/usr/bin/python3", "-m", "json.tool", t("bad.json")], "invalid_argument", PARSE),
        ("python", "r3-py-compile", ["/usr/bin/python3", "-m", "py_compile", t("bad.py")], "invalid_argument", PARSE),
        ("python", "r3-zipfile-list", ["/usr/bin/python3", "-m", "zipfile", "-l", t("garbage.zip")], "invalid_argument", NOTFMT),
        ("python", "r3-tarfile-list", ["/usr/bin/python3", "-m", "tarfile", "-l", t("garbage.tar")], "invalid_argument", NOTFMT),
        ("python", "r3-gzip-decompress", ["/usr/bin/python3", "-m", "gzip", "-d", t("garbage.gz")], "invalid_argument", NOTFMT),
        ("python", "r3-base64-decode", ["/usr/bin/python3", "-m", "base64", "-d", t("bad.py")], "invalid_argument", PARSE),
        ("python", "r3-script-missing", ["/usr/bin/python3", t("missing.py")], "not_found", E + "ENOENT"),
        ("python", "r3-module-missing", ["/usr/bin/python3", "-m", "no_such_module_r3"], "failed_precondition",
         "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    ]
    for src, key, cmd, cat, auth in cases:
        tool(src, key, cmd, cat, auth, user=NB)


# ------------------------------------------------------------------ round 4
# Failure families no earlier round drove: TLS servers with bad certificates
# (an expired one, one for another host, one that demands a client
# certificate, one that speaks only TLS 1.3), SMTP and FTP servers that refuse
# with their reply codes, a full tmpfs (ENOSPC) and a read-only one (EROFS),
# ETXTBSY/E2BIG/ELOOP/EAGAIN, HTTP statuses no earlier round asked for, new
# SQLSTATEs and MariaDB errors, Perl (IO, DBI with DBD::SQLite, DBD::Pg and
# DBD::MariaDB, HTTP::Tiny, Net::SMTP/FTP) and command-line tools not driven
# before (`--round 4 r4_python r4_node r4_ruby r4_go r4_java r4_php r4_perl
# r4_tools r4_db`).
CLEANUP = []
R4 = {}
R4_HTTP = {
    411: ("invalid_argument", "RFC 9110 15.5.12 Length Required: the request must change"),
    414: ("invalid_argument", "RFC 9110 15.5.15 URI Too Long: the request must change"),
    423: ("aborted.locked", "RFC 4918 11.3 Locked: the resource is locked (docs/taxonomy.md: HTTP 423 -> aborted.locked)"),
    431: ("invalid_argument", "RFC 6585 5 Request Header Fields Too Large: the request must change"),
    451: ("permission_denied", "RFC 7725 3 Unavailable For Legal Reasons: access denied"),
    505: ("unimplemented", "RFC 9110 15.6.6 HTTP Version Not Supported (as 501: not supported by the server)"),
    511: ("unauthenticated", "RFC 6585 6 Network Authentication Required: the client must authenticate first"),
}
A_TLS_VERSION = "TLS protocol version mismatch: the handshake fails the same way again (unavailable.tls)"
A_TLS_CLIENT = "the server demands a client certificate: the handshake fails the same way until one is configured (unavailable.tls)"
R5321 = "RFC 5321 4.2.2/4.2.3 reply code "
SMTP_REPLIES = {
    "421": ("421 4.3.2 Service not available, closing transmission channel", "greet",
            "unavailable", R5321 + "421 Service not available: a 4yz transient negative reply"),
    "450": ("450 4.2.1 <nobody@fl-capture.test>: Recipient address rejected: mailbox busy, try again later", "RCPT",
            "unavailable", R5321 + "450 mailbox unavailable (busy): a 4yz transient negative reply"),
    "452": ("452 4.3.1 Insufficient system storage", "RCPT",
            "resource_exhausted", R5321 + "452 insufficient system storage: a 4yz transient negative reply"),
    "530": ("530 5.7.0 Authentication required", "MAIL",
            "unauthenticated", "RFC 4954 6: 530 5.7.0 Authentication required"),
    "535": ("535 5.7.8 Authentication credentials invalid", "AUTH",
            "unauthenticated", "RFC 4954 6: 535 5.7.8 Authentication credentials invalid"),
    "550": ("550 5.1.1 <nobody@fl-capture.test>: Recipient address rejected: User unknown in local recipient table", "RCPT",
            "not_found", R5321 + "550 mailbox unavailable; RFC 3463 5.1.1 bad destination mailbox address"),
    "552": ("552 5.2.2 Requested mail action aborted: exceeded storage allocation", "DATA.",
            "resource_exhausted.storage_full", R5321 + "552 exceeded storage allocation (a 5yz permanent reply)"),
    "553": ("553 5.1.3 Requested action not taken: mailbox name not allowed", "RCPT",
            "invalid_argument", R5321 + "553 mailbox name not allowed (syntax)"),
}
R959 = "RFC 959 4.2 reply code "
FTP_REPLIES = {
    "421": ("421 Service not available, closing control connection.", "greet",
            "unavailable", R959 + "421 Service not available (4yz transient)"),
    "425": ("425 Can't open data connection.", "PASV",
            "unavailable", R959 + "425 Can't open data connection (4yz transient)"),
    "530": ("530 Login incorrect.", "PASS", "unauthenticated", R959 + "530 Not logged in"),
    "550": ("550 missing.txt: No such file or directory", "RETR",
            "not_found", R959 + "550 Requested action not taken: file unavailable (not found)"),
}


def _line_server(handler):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(16)

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            threading.Thread(target=handler, args=(c,), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()
    return s.getsockname()[1]


def _smtp_handler(code):
    reply, stage = SMTP_REPLIES[code][:2]

    def h(c):
        f = c.makefile("rwb", buffering=0)
        w = lambda t: f.write(t.encode() + b"\r\n")  # noqa: E731
        try:
            if stage == "greet":
                w(reply)
                return
            w("220 mail.fl-capture.test ESMTP ready")
            data = False
            for line in f:
                cmd = line.decode(errors="replace").strip()
                u = cmd.upper()
                if data:
                    if cmd == ".":
                        data = False
                        w(reply if stage == "DATA." else "250 2.0.0 Ok: queued")
                    continue
                if u.startswith("EHLO"):
                    w("250-mail.fl-capture.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME")
                elif u.startswith("HELO"):
                    w("250 mail.fl-capture.test")
                elif u.startswith("AUTH"):
                    w(reply if stage == "AUTH" else "235 2.7.0 ok")
                elif u.startswith("MAIL"):
                    w(reply if stage == "MAIL" else "250 2.1.0 Ok")
                elif u.startswith("RCPT"):
                    w(reply if stage == "RCPT" else "250 2.1.5 Ok")
                elif u == "DATA":
                    w("354 End data with <CR><LF>.<CR><LF>")
                    data = True
                elif u == "QUIT":
                    w("221 2.0.0 Bye")
                    return
                elif u == "RSET" or u == "NOOP":
                    w("250 2.0.0 Ok")
                else:
                    w("502 5.5.2 Error: command not recognized")
        except OSError:
            pass
        finally:
            c.close()
    return h


def _ftp_handler(code):
    reply, stage = FTP_REPLIES[code][:2]

    def h(c):
        f = c.makefile("rwb", buffering=0)
        w = lambda t: f.write(t.encode() + b"\r\n")  # noqa: E731
        keep = []
        try:
            if stage == "greet":
                w(reply)
                return
            w("220 (fl-capture FTP)")
            for line in f:
                cmd = line.decode(errors="replace").strip()
                u = cmd.upper().split(" ")[0]
                if u == "USER":
                    w("331 Please specify the password.")
                elif u == "PASS":
                    w(reply if stage == "PASS" else "230 Login successful.")
                elif u == "TYPE":
                    w("200 Switching to Binary mode.")
                elif u in ("PASV", "EPSV"):
                    if stage == "PASV":
                        w(reply)
                        continue
                    ds = socket.socket()
                    ds.bind(("127.0.0.1", 0))
                    ds.listen(1)
                    keep.append(ds)
                    port = ds.getsockname()[1]
                    if u == "EPSV":
                        w(f"229 Entering Extended Passive Mode (|||{port}|)")
                    else:
                        w(f"227 Entering Passive Mode (127,0,0,1,{port >> 8},{port & 255}).")
                elif u in ("RETR", "STOR", "LIST", "NLST", "SIZE", "CWD"):
                    w(reply if stage == "RETR" else "550 Failed.")
                elif u == "QUIT":
                    w("221 Goodbye.")
                    return
                else:
                    w("200 OK")
        except OSError:
            pass
        finally:
            for k in keep:
                k.close()
            c.close()
    return h


def _r4_certs(d):
    import datetime
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    import ipaddress
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    def pem_key(k, path):
        open(path, "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))

    cak = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("fl-capture test CA")).issuer_name(name("fl-capture test CA"))
          .public_key(cak.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - day).not_valid_after(now + 30 * day)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(cak, hashes.SHA256()))
    open(os.path.join(d, "ca.pem"), "wb").write(ca.public_bytes(serialization.Encoding.PEM))

    def leaf(tag, sans, nb, na):
        k = ec.generate_private_key(ec.SECP256R1())
        c = (x509.CertificateBuilder().subject_name(name(sans[0] if isinstance(sans[0], str) else "127.0.0.1"))
             .issuer_name(ca.subject).public_key(k.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(nb).not_valid_after(na)
             .add_extension(x509.SubjectAlternativeName([x509.DNSName(s) if isinstance(s, str) else x509.IPAddress(s)
                                                         for s in sans]), critical=False)
             .sign(cak, hashes.SHA256()))
        open(os.path.join(d, tag + ".crt"), "wb").write(c.public_bytes(serialization.Encoding.PEM))
        pem_key(k, os.path.join(d, tag + ".key"))

    lo = [("localhost"), ipaddress.ip_address("127.0.0.1")]
    leaf("ok", lo, now - day, now + 30 * day)
    leaf("expired", lo, now - 400 * day, now - 35 * day)
    leaf("wronghost", ["wrong.fl-capture.test"], now - day, now + 30 * day)
    leaf("client", ["client.fl-capture.test"], now - day, now + 30 * day)


def r4_fixtures():
    if R4:
        return R4
    d = os.path.join(TMP, "r4")
    os.makedirs(d)
    R4["http"] = sorted(R4_HTTP)
    try:
        _r4_certs(d)
        R4["ca"] = os.path.join(d, "ca.pem")
        R4["client_crt"], R4["client_key"] = os.path.join(d, "client.crt"), os.path.join(d, "client.key")
        for tag, cert, extra in (("tls_ok", "ok", []), ("tls_expired", "expired", []), ("tls_wronghost", "wronghost", []),
                                 ("tls_clientcert", "ok", ["-Verify", "1", "-CAfile", os.path.join(d, "ca.pem")]),
                                 ("tls_13only", "ok", ["-tls1_3"])):
            port = free_port()
            p = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", os.path.join(d, cert + ".crt"),
                                  "-key", os.path.join(d, cert + ".key"), "-www", "-quiet"] + extra,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            CLEANUP.append(p.kill)
            wait_port(port, 10)
            R4[tag] = port
    except Exception as e:  # no cryptography: the TLS cases are skipped
        print(f"capture: r4 certificates: {e}", file=sys.stderr)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            os.chmod(os.path.join(root, n), 0o755)
    os.chmod(d, 0o755)
    R4["smtp"] = {k: _line_server(_smtp_handler(k)) for k in SMTP_REPLIES}
    R4["ftp"] = {k: _line_server(_ftp_handler(k)) for k in FTP_REPLIES}
    if ROOT:
        full, ro = os.path.join(d, "full"), os.path.join(d, "ro")
        os.makedirs(full)
        os.makedirs(ro)
        if run(["mount", "-t", "tmpfs", "-o", "size=256k,nr_inodes=64,mode=1777", "tmpfs", full])[0] == 0:
            CLEANUP.append(lambda: run(["umount", "-l", full]))
            R4["full"] = full
            # a database made while there is room, for SQLITE_FULL once the file system fills
            run(["sqlite3", os.path.join(full, "full.db"), "CREATE TABLE t (b BLOB)"])
            if os.path.exists(os.path.join(full, "full.db")):
                os.chmod(os.path.join(full, "full.db"), 0o666)
        if run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=1777", "tmpfs", ro])[0] == 0:
            CLEANUP.append(lambda: run(["umount", "-l", ro]))
            open(os.path.join(ro, "keep.txt"), "w").write("kept\n")
            os.chmod(os.path.join(ro, "keep.txt"), 0o666)
            run(["mount", "-o", "remount,ro", ro])
            R4["ro"] = ro
    return R4


def r4_args(name):
    d = rt_dir(name)
    return d, [d, BASE, str(CLOSED), str(SILENT), TLSURL, json.dumps(r4_fixtures())]


def r4_record(source, prefix, labels, r, errno_domain=True):
    """runtime_record, and a domain/code variant for an HTTP status or an SMTP/FTP reply code."""
    key = r.get("key", "")
    runtime_record(source, prefix, labels, r, errno_domain=errno_domain)
    cat, auth = labels.get(key, (None, None))
    if cat is None:
        return
    m = re.search(r"-(\d{3})$", key)
    if m and any(t in key for t in ("http", "urllib", "uri", "smtp", "ftp", "urlconn", "tiny")):
        dom = "smtp" if "smtp" in key else "ftp" if "ftp" in key else "http"
        add(source, prefix + key, r.get("message"), cat, auth, domain=dom, code=int(m.group(1)), only_code=True)
    elif errno_domain is False and isinstance(r.get("code"), str) and L.errno_label(r["code"])[0]:
        ecat, eauth = L.errno_label(r["code"])
        add(source, prefix + key, r.get("message"), ecat, eauth, domain="node", code=r["code"], only_code=True)


def _http_labels(prefix):
    return {f"{prefix}-{st}": R4_HTTP[st] for st in R4_HTTP}


def _smtp_ftp_labels(prefix):
    lab = {f"{prefix}smtp-{k}": v[2:] for k, v in SMTP_REPLIES.items()}
    lab.update({f"{prefix}ftp-{k}": v[2:] for k, v in FTP_REPLIES.items()})
    return lab


def _tls_labels(prefix):
    return {f"{prefix}tls-expired": ("unavailable.tls", A_TLS), f"{prefix}tls-hostname": ("unavailable.tls", A_TLS),
            f"{prefix}tls-client-cert": ("unavailable.tls", A_TLS_CLIENT), f"{prefix}tls-version": ("unavailable.tls", A_TLS_VERSION),
            f"{prefix}tls-untrusted-ca": ("unavailable.tls", A_TLS)}


FS_R4 = {
    "r4-tmpfs-enospc": ("resource_exhausted.storage_full", E + "ENOSPC"),
    "r4-tmpfs-mkdir-enospc": ("resource_exhausted.storage_full", E + "ENOSPC"),
    "r4-erofs-open": ("permission_denied.read_only", E + "EROFS"), "r4-erofs-mkdir": ("permission_denied.read_only", E + "EROFS"),
    "r4-erofs-unlink": ("permission_denied.read_only", E + "EROFS"),
    "r4-eloop-open": ("failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
    "r4-eloop-stat": ("failed_precondition", "ELOOP: too many symbolic links (a broken link structure)"),
    "r4-etxtbsy": ("failed_precondition", E + "ETXTBSY"), "r4-e2big": ("invalid_argument", E + "E2BIG"),
    "r4-e2big-many": ("invalid_argument", E + "E2BIG"),
    "r4-emfile": ("resource_exhausted.file_descriptors", E + "EMFILE"),
    "r4-flock-held": ("unavailable", E + "EAGAIN (EWOULDBLOCK: the lock is held; flock(2))"),
}
SQLITE = "sqlite.org/rescode.html: "
PYR4_LABELS = dict(FS_R4)
PYR4_LABELS.update(_http_labels("r4-urllib"))
PYR4_LABELS.update(_tls_labels("r4-"))
PYR4_LABELS.update(_smtp_ftp_labels("r4-"))
PYR4_LABELS.update({
    "r4-urllib-tls-expired": ("unavailable.tls", A_TLS),
    "r4-ssl-load-missing-cert": ("not_found", E + "ENOENT"),
    "r4-ssl-load-garbage-cert": ("invalid_argument", PARSE),
    "r4-smtp-refused": ("unavailable", A_REFUSED),
    "r4-smtp-disconnected": ("failed_precondition", FAILED_STATE + " (smtplib: not connected; run connect() first)"),
    "r4-name-too-long-component": ("invalid_argument", E + "ENAMETOOLONG"),
    "r4-rmdir-dot": ("invalid_argument", E + "EINVAL"), "r4-rename-dir-into-sub": ("invalid_argument", E + "EINVAL"),
    "r4-link-exists": ("already_exists", E + "EEXIST"), "r4-symlink-exists": ("already_exists", E + "EEXIST"),
    "r4-open-dir-write": ("failed_precondition", E + "EISDIR"), "r4-listdir-file": ("failed_precondition", E + "ENOTDIR"),
    "r4-chdir-file": ("failed_precondition", E + "ENOTDIR"), "r4-rename-file-over-dir": ("failed_precondition", E + "EISDIR"),
    "r4-truncate-negative": ("invalid_argument", E + "EINVAL"), "r4-lseek-pipe": ("invalid_argument", E + "ESPIPE"),
    "r4-setxattr-proc": ("permission_denied", E + "EACCES"),
    "r4-getxattr-missing": ("not_found", "getxattr(2) ENODATA: the named attribute does not exist"),
    "r4-read-dir": ("failed_precondition", E + "EISDIR"), "r4-write-rdonly-fd": ("failed_precondition", E + "EBADF"),
    "r4-dup2-bad": ("failed_precondition", E + "EBADF"), "r4-waitpid-nochild": ("failed_precondition", E + "ECHILD"),
    "r4-killpg-missing": ("not_found", E + "ESRCH"), "r4-access-eacces-proc": ("permission_denied", E + "EACCES"),
    "r4-unlink-root-owned": ("permission_denied", E + "EACCES"), "r4-utime-permission": ("permission_denied", E + "EPERM"),
    "r4-mkfifo-exists": ("already_exists", E + "EEXIST"), "r4-mknod-permission": ("permission_denied", E + "EPERM"),
    "r4-mmap-empty": ("invalid_argument", PY + "ValueError: cannot mmap an empty file"),
    "r4-emfile-pipe": ("resource_exhausted.file_descriptors", E + "EMFILE"),
    "r4-fork-nproc": ("unavailable", E + "EAGAIN (fork(2): RLIMIT_NPROC reached)"),
    "r4-select-bad-fd": ("invalid_argument", PY + "ValueError: file descriptor out of range"),
    "r4-bind-privileged": ("permission_denied", E + "EACCES"),
    "r4-unix-refused": ("unavailable", A_REFUSED),
    "r4-unix-path-too-long": ("invalid_argument", "unix(7): the path does not fit sun_path (an invalid argument)"),
    "r4-send-not-connected": ("failed_precondition", E + "ENOTCONN"),
    "r4-udp-sendto-refused": ("unavailable", A_REFUSED),
    "r4-getservbyname": ("not_found", "getservbyname(3): no such service in the services database"),
    "r4-inet-aton": ("invalid_argument", PARSE),
    "r4-recv-reset": ("unavailable", A_RESET),
    "r4-http-client-remote-disconnected": ("unavailable", "the peer closed the connection without a response: UNAVAILABLE"),
    "r4-http-client-timeout": ("deadline_exceeded", A_TIMEOUT),
    "r4-asyncio-refused": ("unavailable", A_REFUSED),
    "r4-asyncio-incomplete-read": ("unavailable", "the peer closed the stream before the expected bytes (IncompleteReadError): UNAVAILABLE"),
    "r4-asyncio-invalid-state": ("failed_precondition", FAILED_STATE + " (a future whose result is not set)"),
    "r4-asyncio-task-cancelled": ("cancelled", "asyncio.CancelledError: gRPC CANCELLED"),
    "r4-asyncio-dns": ("unavailable", A_DNS),
    "r4-futures-cancelled": ("cancelled", "concurrent.futures.CancelledError: gRPC CANCELLED"),
    "r4-futures-shutdown": ("failed_precondition", FAILED_STATE + " (an executor already shut down)"),
    "r4-sqlite-datatype-mismatch": ("invalid_argument", SQLITE + "SQLITE_MISMATCH (datatype mismatch)"),
    "r4-sqlite-no-function": ("not_found", SQLITE + "SQLITE_ERROR: no such function"),
    "r4-sqlite-too-many-terms": ("invalid_argument", "sqlite.org/limits.html: the expression exceeds SQLITE_MAX_EXPR_DEPTH (the statement must change)"),
    "r4-sqlite-bindings": ("invalid_argument", PY + "sqlite3.ProgrammingError: wrong number of bindings supplied"),
    "r4-sqlite-too-big": ("invalid_argument", SQLITE + "SQLITE_TOOBIG: the value exceeds the length limit (the same value fails again)"),
    "r4-sqlite-interrupted": ("cancelled", SQLITE + "SQLITE_INTERRUPT: the operation was interrupted (the caller gave up)"),
    "r4-sqlite-corrupt": ("data_loss", SQLITE + "SQLITE_CORRUPT: the database file is malformed"),
    "r4-sqlite-cannot-commit-no-tx": ("failed_precondition", FAILED_STATE + " (no transaction is active)"),
    "r4-sqlite-attach-missing-dir": ("not_found", SQLITE + "SQLITE_CANTOPEN (the directory does not exist)"),
    "r4-sqlite-drop-missing": ("not_found", SQLITE + "SQLITE_ERROR: no such table"),
    "r4-sqlite-readonly-uri": ("permission_denied.read_only", SQLITE + "SQLITE_READONLY"),
    "r4-sqlite-programming-closed-cursor": ("failed_precondition", FAILED_STATE + " (a closed cursor)"),
    "r4-zipfile-member-missing": ("not_found", PY + "KeyError: no such member in the archive"),
    "r4-zipfile-closed": ("failed_precondition", FAILED_STATE + " (a closed archive)"),
    "r4-zipfile-bad-mode": ("invalid_argument", PY + "ValueError: an invalid mode argument"),
    "r4-tarfile-member-missing": ("not_found", PY + "KeyError: no such member in the archive"),
    "r4-tarfile-truncated-gz": ("data_loss", CORRUPT),
    "r4-tarfile-bad-compression": ("invalid_argument", "an unknown compression name given: INVALID_ARGUMENT"),
    "r4-csv-field-limit": ("invalid_argument", PY + "csv.Error: the field exceeds field_size_limit (the same input fails again)"),
    "r4-csv-strict-quote": ("invalid_argument", PARSE),
    "r4-csv-unknown-dialect": ("invalid_argument", "an unknown dialect name given: INVALID_ARGUMENT"),
    "r4-etree-unclosed": ("invalid_argument", PARSE), "r4-etree-junk-after": ("invalid_argument", PARSE),
    "r4-etree-undefined-entity": ("invalid_argument", PARSE), "r4-etree-parse-missing-file": ("not_found", E + "ENOENT"),
    "r4-email-parsedate": ("invalid_argument", PARSE), "r4-decimal-invalid-op": ("invalid_argument", PARSE),
    "r4-decimal-overflow": ("out_of_range", PY + "decimal.Overflow: the exponent exceeds Emax (ERANGE)"),
    "r4-ipaddress-v6": ("invalid_argument", PARSE), "r4-ipaddress-prefix": ("invalid_argument", PARSE),
    "r4-uuid-bad-hex": ("invalid_argument", PARSE), "r4-uuid-bytes-len": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-shutil-copytree-exists": ("already_exists", E + "EEXIST"), "r4-shutil-rmtree-file": ("failed_precondition", E + "ENOTDIR"),
    "r4-shutil-disk-usage-missing": ("not_found", E + "ENOENT"),
    "r4-shutil-unpack-unknown": ("invalid_argument", NOTFMT),
    "r4-shutil-make-archive-format": ("invalid_argument", "an unknown archive format name given: INVALID_ARGUMENT"),
    "r4-subprocess-cwd-missing": ("not_found", E + "ENOENT"),
    "r4-subprocess-called-process-error": ("unknown", "a child exited non-zero without saying why: gRPC UNKNOWN"),
    "r4-subprocess-signal": ("unknown", "a child killed by a signal without saying why: gRPC UNKNOWN"),
    "r4-pathlib-relative": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-pathlib-with-suffix": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-zlib-bad-wbits": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-zlib-stream-error": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-array-typecode": ("out_of_range", E + "ERANGE (OverflowError)"),
    "r4-fraction-nan": ("invalid_argument", PY + "ValueError: an invalid argument value"),
    "r4-datetime-tz-naive": ("internal", BUG),
    "r4-datetime-year-zero": ("invalid_argument", PY + "ValueError: an invalid field value"),
})


def r4_python_capture():
    d, args = r4_args("pyr4")
    for r in jsonl_client(["/usr/bin/python3", os.path.join(HERE, "clients", "pyr4.py")] + args, user=as_user(), timeout=300):
        r4_record("python", "py:", PYR4_LABELS, r)


NODER4_LABELS = dict(FS_R4)
NODER4_LABELS.update(_tls_labels("r4-"))
NODER4_LABELS.update({
    "r4-https-expired": ("unavailable.tls", A_TLS), "r4-https-hostname": ("unavailable.tls", A_TLS),
    "r4-fetch-expired": ("unavailable.tls", A_TLS),
    "r4-fetch-refused": ("unavailable", A_REFUSED), "r4-fetch-dns": ("unavailable", A_DNS),
    "r4-fetch-abort-timeout": ("deadline_exceeded", A_TIMEOUT + " (AbortSignal.timeout)"),
    "r4-fetch-abort": ("cancelled", "the caller aborted the request (AbortError): gRPC CANCELLED"),
    "r4-fetch-bad-url": ("invalid_argument", PARSE), "r4-fetch-reset": ("unavailable", A_RESET),
    "r4-fetch-empty": ("unavailable", "the peer closed the connection without a response: UNAVAILABLE"),
    "r4-fetch-json": ("invalid_argument", PARSE),
    "r4-net-refused": ("unavailable", A_REFUSED), "r4-net-unix-missing": ("not_found", E + "ENOENT"),
    "r4-net-dns": ("unavailable", A_DNS), "r4-listen-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "r4-listen-privileged": ("permission_denied", E + "EACCES"),
    "r4-dns-resolver-refused": ("unavailable", A_REFUSED + " (the configured resolver refuses)"),
    "r4-dns-lookup-missing": ("unavailable", A_DNS),
    "r4-dns-bad-server": ("invalid_argument", NODE + "ERR_INVALID_IP_ADDRESS: an invalid argument"),
    "r4-promises-opendir-file": ("failed_precondition", E + "ENOTDIR"),
    "r4-promises-rmdir-nonempty": ("failed_precondition", E + "ENOTEMPTY"),
    "r4-promises-copyfile-excl": ("already_exists", E + "EEXIST"),
    "r4-promises-utimes-permission": ("permission_denied", E + "EPERM"),
    "r4-promises-truncate-dir": ("failed_precondition", E + "EISDIR"),
    "r4-promises-access-missing": ("not_found", E + "ENOENT"),
    "r4-promises-chmod-permission": ("permission_denied", E + "EPERM"),
    "r4-spawn-timeout": ("deadline_exceeded", E + "ETIMEDOUT (the child outlived its timeout)"),
    "r4-spawn-cwd-missing": ("not_found", E + "ENOENT"),
    "r4-spawn-signal": ("unknown", "a child killed by a signal without saying why: gRPC UNKNOWN"),
    "r4-gunzip-truncated": ("data_loss", CORRUPT + " (Z_BUF_ERROR: the stream ends early)"),
    "r4-gunzip-crc": ("data_loss", CORRUPT), "r4-inflate-raw-bad": ("data_loss", CORRUPT),
    "r4-crypto-pbkdf2-digest": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "r4-crypto-sign-bad-key": ("invalid_argument", PARSE),
    "r4-crypto-gcm-auth": ("invalid_argument", "bad decrypt: the authentication tag does not match (wrong key or not this ciphertext)"),
    "r4-crypto-scrypt-params": ("invalid_argument", NODE + "ERR_CRYPTO_INVALID_SCRYPT_PARAMS: an invalid argument"),
    "r4-crypto-x509-garbage": ("invalid_argument", PARSE),
    "r4-worker-missing": ("failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    "r4-worker-oom": ("resource_exhausted.memory", NODE + "ERR_WORKER_OUT_OF_MEMORY: the worker ran out of memory"),
    "r4-stream-write-after-end": ("failed_precondition", FAILED_STATE + " (a stream already ended)"),
    "r4-events-unhandled": ("internal", BUG),
    "r4-url-canparse": ("invalid_argument", PARSE),
})


def r4_node_capture():
    if not have("node"):
        return
    d, args = r4_args("noder4")
    for r in jsonl_client(["node", os.path.join(HERE, "clients", "noder4.js")] + args, user=as_user(), timeout=300):
        r4_record("node", "node:", NODER4_LABELS, r, errno_domain=False)


RUBYR4_LABELS = dict(FS_R4)
RUBYR4_LABELS.update(_http_labels("r4-open-uri"))
RUBYR4_LABELS.update(_tls_labels("r4-"))
RUBYR4_LABELS.update(_smtp_ftp_labels("r4-"))
RUBYR4_LABELS.update({
    "r4-spawn-missing-cwd": ("not_found", E + "ENOENT"),
    "r4-system-exit-status": ("unknown", "a child exited non-zero without saying why: gRPC UNKNOWN"),
    "r4-rename-dir-into-sub": ("invalid_argument", E + "EINVAL"), "r4-link-exists": ("already_exists", E + "EEXIST"),
    "r4-dir-children-file": ("failed_precondition", E + "ENOTDIR"), "r4-utime-permission": ("permission_denied", E + "EPERM"),
    "r4-lseek-pipe": ("invalid_argument", E + "ESPIPE"), "r4-fileutils-cp-missing": ("not_found", E + "ENOENT"),
    "r4-fileutils-mkdir-p-file": ("failed_precondition", E + "ENOTDIR"),
    "r4-fileutils-rm-r-permission": ("permission_denied", E + "EACCES"),
    "r4-bind-privileged": ("permission_denied", E + "EACCES"), "r4-unix-refused": ("unavailable", A_REFUSED),
    "r4-getservbyname": ("not_found", "getservbyname(3): no such service in the services database"),
    "r4-etc-getpwnam": ("not_found", RB + "Etc.getpwnam: no such user in the password database"),
    "r4-connect-unroutable": ("unavailable", "absl::ErrnoToStatusCode: ECONNREFUSED/ENETUNREACH -> UNAVAILABLE"),
    "r4-queue-closed": ("failed_precondition", FAILED_STATE + " (a closed queue)"),
    "r4-sized-queue-nonblock": ("resource_exhausted", "a bounded queue is full: RESOURCE_EXHAUSTED, retry later"),
    "r4-marshal-garbage": ("invalid_argument", NOTFMT), "r4-file-mode": ("invalid_argument", RB + "ArgumentError: an invalid access mode"),
    "r4-stringio-closed": ("failed_precondition", FAILED_STATE + " (a stream closed for reading)"),
    "r4-openssl-digest": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "r4-openssl-cipher-name": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "r4-gzip-crc": ("data_loss", CORRUPT), "r4-integer-sqrt-negative": ("invalid_argument", E + "EDOM (Math::DomainError)"),
    "r4-sleep-negative": ("invalid_argument", RB + "ArgumentError: an invalid argument value"),
})


def r4_ruby_capture():
    if not have("ruby"):
        return
    d, args = r4_args("rubyr4")
    for r in jsonl_client(["ruby", os.path.join(HERE, "clients", "rubyr4.rb")] + args, user=as_user(), timeout=300):
        r4_record("ruby", "ruby:", RUBYR4_LABELS, r)


GOR4_LABELS = dict(FS_R4)
GOR4_LABELS.update(_tls_labels("r4-"))
GOR4_LABELS.update(_smtp_ftp_labels("r4-"))
GOR4_LABELS.update({
    "r4-http-tls-expired": ("unavailable.tls", A_TLS), "r4-http-tls-hostname": ("unavailable.tls", A_TLS),
    "r4-smtp-refused": ("unavailable", A_REFUSED),
    "r4-exec-lookpath": ("not_found", GO + "exec.ErrNotFound: no such executable in $PATH"),
    "r4-exec-dir-missing": ("not_found", E + "ENOENT"),
    "r4-rename-dir-into-sub": ("invalid_argument", E + "EINVAL"), "r4-link-exists": ("already_exists", E + "EEXIST"),
    "r4-chtimes-permission": ("permission_denied", E + "EPERM"), "r4-remove-root-owned": ("permission_denied", E + "EACCES"),
    "r4-readdir-file": ("failed_precondition", E + "ENOTDIR"), "r4-seek-pipe": ("invalid_argument", E + "ESPIPE"),
    "r4-listen-privileged": ("permission_denied", E + "EACCES"),
    "r4-listen-unix-path-too-long": ("invalid_argument", E + "EINVAL"),
    "r4-resolver-refused": ("unavailable", A_REFUSED + " (the configured resolver refuses)"),
    "r4-resolver-timeout": ("deadline_exceeded", A_TIMEOUT + " (the resolver did not answer in time)"),
    "r4-lookup-port": ("not_found", "getservbyname(3): no such service in the services database"),
    "r4-netip-parse": ("invalid_argument", PARSE), "r4-netip-prefix": ("invalid_argument", PARSE),
    "r4-mail-address": ("invalid_argument", PARSE), "r4-mime-media-type": ("invalid_argument", PARSE),
    "r4-parse-mac": ("invalid_argument", PARSE), "r4-asn1": ("invalid_argument", PARSE),
    "r4-x509-truncated": ("invalid_argument", PARSE),
    "r4-bzip2-garbage": ("invalid_argument", NOTFMT), "r4-flate-corrupt": ("data_loss", CORRUPT + " (flate: corrupt input)"),
    "r4-csv-field-count": ("invalid_argument", PARSE), "r4-template-parse": ("invalid_argument", PARSE),
    "r4-template-missing-key": ("not_found", GO + "text/template missingkey=error: the map has no entry for the key"),
    "r4-template-exec": ("internal", BUG), "r4-json-unmarshal-nonpointer": ("internal", BUG),
    "r4-parseuint-negative": ("invalid_argument", PARSE),
    "r4-user-lookup": ("not_found", GO + "user.UnknownUserError: no such user"),
    "r4-group-lookup": ("not_found", GO + "user.UnknownGroupError: no such group"),
    "r4-readfull-short": ("data_loss", GO + "io.ErrUnexpectedEOF: the data ends in the middle of a fixed-size block (truncated)"),
})


def r4_go_capture():
    if not have("go"):
        return
    d, args = r4_args("gor4")
    exe = os.path.join(d, "gor4")
    env = dict(os.environ, GOCACHE=os.path.join(TMP, "gocache"), GOPATH=os.path.join(TMP, "gopath"),
               GO111MODULE="off", GOFLAGS="")
    rc, err, _ = run(["nice", "-n", "19", "go", "build", "-o", exe, os.path.join(HERE, "clients", "gor4.go")], timeout=600, env=env)
    if rc != 0:
        print("capture: go build failed: " + err[-400:], file=sys.stderr)
        return
    os.chmod(exe, 0o755)
    for r in jsonl_client([exe] + args, user=as_user(), timeout=300):
        r4_record("go", "go:", GOR4_LABELS, r)


JAVAR4_LABELS = dict(FS_R4)
JAVAR4_LABELS.update(_http_labels("r4-urlconn"))
JAVAR4_LABELS.update(_tls_labels("r4-"))
JAVAR4_LABELS.update({
    "r4-httpclient-tls-expired": ("unavailable.tls", A_TLS),
    "r4-atomic-move-xdev": ("unimplemented", E + "EXDEV (AtomicMoveNotSupportedException: no atomic move across file systems)"),
    "r4-process-dir-missing": ("not_found", E + "ENOENT"),
    "r4-set-mtime-permission": ("permission_denied", E + "EPERM"),
    "r4-overlapping-lock": ("failed_precondition", JV + "OverlappingFileLockException: this JVM already holds an overlapping lock"),
    "r4-non-writable-channel": ("failed_precondition", FAILED_STATE + " (a channel not open for writing)"),
    "r4-closed-channel": ("failed_precondition", FAILED_STATE + " (a closed channel)"),
    "r4-bind-privileged": ("permission_denied", E + "EACCES"),
    "r4-async-channel-refused": ("unavailable", A_REFUSED),
    "r4-datagram-port-unreachable": ("unavailable", A_REFUSED + " (ICMP port unreachable)"),
    "r4-unix-socket-missing": ("not_found", E + "ENOENT"),
    "r4-instant-overflow": ("out_of_range", JV + "DateTimeException: the instant exceeds Instant.MAX (ERANGE)"),
    "r4-zone-offset-range": ("invalid_argument", JV + "DateTimeException: an invalid field value"),
    "r4-formatter-pattern": ("invalid_argument", PARSE),
    "r4-bigdecimal-nonterminating": ("invalid_argument", JV + "ArithmeticException on the values given"),
    "r4-biginteger-negative-exponent": ("invalid_argument", JV + "ArithmeticException on the values given"),
    "r4-matcher-no-match": ("failed_precondition", FAILED_STATE + " (no match has been found yet)"),
    "r4-unmappable-char": ("invalid_argument", "the text cannot be encoded in the charset: INVALID_ARGUMENT"),
    "r4-cipher-unknown": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "r4-gcm-tag-mismatch": ("invalid_argument", "bad decrypt: the authentication tag does not match (wrong key or not this ciphertext)"),
    "r4-keyspec-garbage": ("invalid_argument", PARSE),
    "r4-xml-unclosed": ("invalid_argument", PARSE), "r4-xpath-syntax": ("invalid_argument", PARSE),
    "r4-jar-garbage": ("invalid_argument", NOTFMT),
})


def r4_java_capture():
    if not have("java"):
        return
    d, _ = r4_args("javar4")
    R = r4_fixtures()
    if "ca" not in R:
        return
    args = [d, BASE, str(CLOSED), str(SILENT), R["ca"]] + [str(R[k]) for k in ("tls_expired", "tls_wronghost", "tls_clientcert",
                                                                           "tls_13only", "tls_ok")]
    args += [R.get("full", "-"), R.get("ro", "-"), ",".join(str(s) for s in R["http"])]
    for r in jsonl_client(["nice", "-n", "19", "java", "-Xmx256m", os.path.join(HERE, "clients", "JavaR4.java")] + args,
                          user=as_user(), timeout=300):
        r4_record("java", "java:", JAVAR4_LABELS, r)


PHPR4_LABELS = dict(FS_R4)
PHPR4_LABELS.update(_http_labels("r4-http"))
PHPR4_LABELS.update(_tls_labels("r4-"))
PHPR4_LABELS.update(_smtp_ftp_labels("r4-"))
PHPR4_LABELS.update({
    "r4-link-exists": ("already_exists", E + "EEXIST"), "r4-rename-dir-into-sub": ("invalid_argument", E + "EINVAL"),
    "r4-chmod-permission": ("permission_denied", E + "EPERM"), "r4-touch-mtime-permission": ("permission_denied", E + "EPERM"),
    "r4-posix-mkfifo-exists": ("already_exists", E + "EEXIST"), "r4-posix-setuid": ("permission_denied", E + "EPERM"),
    "r4-pcntl-exec-missing": ("not_found", E + "ENOENT"),
    "r4-socket-connect-refused": ("unavailable", A_REFUSED), "r4-socket-bind-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "r4-socket-listen-privileged": ("permission_denied", E + "EACCES"), "r4-socket-unix-missing": ("not_found", E + "ENOENT"),
    "r4-stream-server-in-use": ("failed_precondition", E + "EADDRINUSE"),
    "r4-simplexml-unclosed": ("invalid_argument", PARSE), "r4-dom-loadxml": ("invalid_argument", PARSE),
    "r4-iconv-illegal": ("invalid_argument", PARSE),
    "r4-mb-encoding": ("invalid_argument", "an unknown encoding name given: INVALID_ARGUMENT"),
    "r4-openssl-x509-garbage": ("invalid_argument", PARSE),
    "r4-openssl-unknown-cipher": ("invalid_argument", "an unknown algorithm name given: INVALID_ARGUMENT"),
    "r4-phar-garbage": ("invalid_argument", NOTFMT), "r4-exif-not-image": ("invalid_argument", NOTFMT),
    "r4-splqueue-empty": ("out_of_range", PH + "RuntimeException: nothing left to take (as IndexError on an empty sequence: gRPC OUT_OF_RANGE)"),
    "r4-splfixedarray-index": ("out_of_range", PH + "RuntimeException: index out of range (gRPC OUT_OF_RANGE)"),
    "r4-spl-heap-empty": ("out_of_range", PH + "RuntimeException: nothing left to take (as IndexError on an empty sequence: gRPC OUT_OF_RANGE)"),
    "r4-date-create-immutable": ("invalid_argument", PARSE),
    "r4-intdiv-min": ("out_of_range", E + "ERANGE (ArithmeticError: the result overflows an integer)"),
    "r4-str-repeat-negative": ("invalid_argument", PH + "ValueError"), "r4-array-chunk-zero": ("invalid_argument", PH + "ValueError"),
})


def r4_php_capture():
    if not have("php"):
        return
    d, args = r4_args("phpr4")
    for r in jsonl_client(["php", os.path.join(HERE, "clients", "phpr4.php")] + args, user=as_user(), timeout=300):
        if r.get("message") == "returned false":
            print(f"capture: php {r.get('key')}: returned false without a message", file=sys.stderr)
            continue
        r4_record("php", "php:", PHPR4_LABELS, r)


SQ = "sqlite.org/rescode.html: "
PERLR4_LABELS = dict(FS_R4)
PERLR4_LABELS.update(_http_labels("r4-tiny"))
PERLR4_LABELS.update(_tls_labels("r4-"))
PERLR4_LABELS.update(_smtp_ftp_labels("r4-"))
PERLR4_LABELS.update({
    "r4-tiny-refused": ("unavailable", A_REFUSED), "r4-tiny-dns": ("unavailable", A_DNS),
    "r4-tiny-timeout": ("deadline_exceeded", A_TIMEOUT), "r4-tiny-tls-expired": ("unavailable.tls", A_TLS),
    "r4-smtp-refused": ("unavailable", A_REFUSED),
    "r4-smtp-auth-sasl-missing": ("failed_precondition", "a missing module (Authen::SASL): the environment must be fixed (FAILED_PRECONDITION)"),
    "r4-mkdir-exists": ("already_exists", E + "EEXIST"), "r4-rmdir-nonempty": ("failed_precondition", E + "ENOTEMPTY"),
    "r4-rename-missing": ("not_found", E + "ENOENT"), "r4-rename-dir-into-sub": ("invalid_argument", E + "EINVAL"),
    "r4-unlink-permission": ("permission_denied", E + "EACCES"), "r4-open-write-permission": ("permission_denied", E + "EACCES"),
    "r4-opendir-missing": ("not_found", E + "ENOENT"), "r4-opendir-file": ("failed_precondition", E + "ENOTDIR"),
    "r4-chdir-missing": ("not_found", E + "ENOENT"), "r4-kill-missing": ("not_found", E + "ESRCH"),
    "r4-kill-init": ("permission_denied", E + "EPERM"), "r4-symlink-exists": ("already_exists", E + "EEXIST"),
    "r4-link-dir": ("permission_denied", E + "EPERM"), "r4-utime-permission": ("permission_denied", E + "EPERM"),
    "r4-chown-permission": ("permission_denied", E + "EPERM"), "r4-copy-missing": ("not_found", E + "ENOENT"),
    "r4-move-missing": ("not_found", E + "ENOENT"), "r4-make-path-file": ("already_exists", E + "EEXIST"),
    "r4-exec-missing": ("not_found", E + "ENOENT"), "r4-pipe-open-missing": ("not_found", E + "ENOENT"),
    "r4-sysopen-excl": ("already_exists", E + "EEXIST"), "r4-seek-pipe": ("invalid_argument", E + "ESPIPE"),
    "r4-read-dir": ("failed_precondition", E + "EISDIR"),
    "r4-connect-refused": ("unavailable", A_REFUSED), "r4-connect-dns": ("unavailable", A_DNS),
    "r4-bind-in-use": ("failed_precondition", E + "EADDRINUSE"), "r4-bind-privileged": ("permission_denied", E + "EACCES"),
    "r4-unix-missing": ("not_found", E + "ENOENT"),
    "r4-dbd-sqlite-unique": ("already_exists", SQ + "SQLITE_CONSTRAINT_UNIQUE"),
    "r4-dbd-sqlite-pk": ("already_exists", SQ + "SQLITE_CONSTRAINT_PRIMARYKEY"),
    "r4-dbd-sqlite-notnull": ("invalid_argument", SQ + "SQLITE_CONSTRAINT_NOTNULL"),
    "r4-dbd-sqlite-check": ("invalid_argument", SQ + "SQLITE_CONSTRAINT_CHECK"),
    "r4-dbd-sqlite-fk": ("failed_precondition", SQ + "SQLITE_CONSTRAINT_FOREIGNKEY"),
    "r4-dbd-sqlite-no-table": ("not_found", SQ + "SQLITE_ERROR: no such table"),
    "r4-dbd-sqlite-no-column": ("not_found", SQ + "SQLITE_ERROR: no such column"),
    "r4-dbd-sqlite-syntax": ("invalid_argument", SQ + "SQLITE_ERROR: syntax error"),
    "r4-dbd-sqlite-exists": ("already_exists", SQ + "SQLITE_ERROR: table already exists"),
    "r4-dbd-sqlite-cantopen": ("not_found", SQ + "SQLITE_CANTOPEN (the directory does not exist)"),
    "r4-dbd-sqlite-notadb": ("invalid_argument", SQ + "SQLITE_NOTADB"),
    "r4-dbd-sqlite-busy": ("aborted", SQ + "SQLITE_BUSY (database is locked)"),
    "r4-dbd-sqlite-readonly": ("permission_denied.read_only", SQ + "SQLITE_READONLY"),
    "r4-dbi-driver-missing": ("failed_precondition", "a missing module: the environment must be fixed (FAILED_PRECONDITION)"),
    "r4-die-in-eval-json": ("invalid_argument", PARSE), "r4-sprintf-numeric": ("invalid_argument", PARSE),
    "r4-substr-outside": ("out_of_range", "perlfunc substr: beyond the end of the string (gRPC OUT_OF_RANGE)"),
    "r4-sort-undef-sub": ("internal", BUG),
    "r4-require-version": ("failed_precondition", "the interpreter is older than the script requires: the environment must be fixed"),
    "r4-deep-recursion-fatal": ("internal", BUG),
})


def _errno_in_message(r):
    """Perl's $! can hold a stale value after a failure that set none: keep
    the errno only when its text is what the message reports."""
    import errno as _errno
    en = r.get("errno")
    if en and hasattr(_errno, en) and os.strerror(getattr(_errno, en)) not in (r.get("message") or ""):
        r = dict(r, errno=None)
    return r


def r4_perl_capture():
    d, args = r4_args("perlr4")
    for r in jsonl_client(["perl", os.path.join(HERE, "clients", "perlr4.pl")] + args, user=as_user(), timeout=300):
        r4_record("perl", "perl:", PERLR4_LABELS, _errno_in_message(r))


def _tool_if(source, key, cmd, cat, auth, must=None, **kw):
    """tool(), kept only when the message shows what the label is about (`must`)."""
    rc, err, out = run(cmd, user=kw.get("user"), timeout=kw.get("timeout", 20), cwd=kw.get("cwd"), env=kw.get("env"))
    msg = (err or out).strip("\n")
    if rc == 0:
        print(f"capture: {source} {key}: did not fail", file=sys.stderr)
        return None
    if must and not re.search(must, msg):
        print(f"capture: {source} {key}: not the failure labelled ({must!r}): {msg[:160]!r}", file=sys.stderr)
        return None
    add(source, source + ":" + key, msg, cat, auth, domain=kw.get("domain"), code=kw.get("code"))
    return msg


def r4_tools_capture():
    d = tools_setup()
    R = r4_fixtures()
    NB = as_user()
    t = lambda *p: os.path.join(d, *p)  # noqa: E731
    full, ro = R.get("full"), R.get("ro")
    open(t("big.bin"), "wb").write(os.urandom(1 << 20))
    os.chmod(t("big.bin"), 0o644)
    open(t("bad.tcl"), "w").write('proc load_config {path} {\n    set f [open $path r]\n    return [read $f]\n}\nload_config /nonexistent/fl-capture.conf\n')
    open(t("div.tcl"), "w").write('proc ratio {a b} { expr {$a / $b} }\nputs [ratio 1 0]\n')
    open(t("sock.tcl"), "w").write(f'set s [socket 127.0.0.1 {CLOSED}]\n')
    open(t("cmd.tcl"), "w").write('proc main {} { frobnicate_config 1 }\nmain\n')
    open(t("bad.s"), "w").write("\tfrobnicate %eax, %ebx\n")
    open(t("ok.c"), "w").write("int main(void) { return 0; }\n")
    os.makedirs(t("cm-bad"))
    open(t("cm-bad", "CMakeLists.txt"), "w").write("cmake_minimum_required(VERSION 3.13\nproject(x C)\n")
    os.makedirs(t("cm-pkg"))
    open(t("cm-pkg", "CMakeLists.txt"), "w").write("cmake_minimum_required(VERSION 3.13)\nproject(x NONE)\nfind_package(FlCaptureNosuch REQUIRED)\n")
    os.makedirs(t("nj"))
    open(t("nj", "build.ninja"), "w").write("rule cc\n  command = false\nbuild out: cc in\n")
    open(t("nj", "in"), "w").write("x\n")
    open(t("fail.mk"), "w").write("all:\n\t@sh -c 'echo \"build step failed\" >&2; exit 2'\n")
    open(t("notdb.db"), "w").write("this is not a database\n" * 100)
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            try:
                os.chmod(os.path.join(root, n), 0o777)
            except OSError:
                pass
    # file systems that are full or read-only (ENOSPC, EROFS) through coreutils and friends
    if full:
        for key, cmd in [
            ("r4-cp-enospc", ["cp", t("big.bin"), os.path.join(full, "cp-big")]),
            ("r4-sort-enospc", ["sort", "-o", os.path.join(full, "sorted"), t("big.bin")]),
            ("r4-fallocate-enospc", ["fallocate", "-l", "8M", os.path.join(full, "falloc")]),
            ("r4-tar-enospc", ["tar", "-cf", os.path.join(full, "x.tar"), "-C", d, "big.bin"]),
            ("r4-gcc-enospc", ["gcc", "-o", os.path.join(full, "a.out"), t("ok.c")]),
            ("r4-sqlite3-full", ["sqlite3", os.path.join(full, "full.db"),
                                 "PRAGMA journal_mode = MEMORY; INSERT INTO t VALUES (randomblob(2000000));"]),
            ("r4-rsync-enospc", ["rsync", t("big.bin"), os.path.join(full, "rsync-big")]),
            ("r4-git-init-enospc", ["git", "init", "-q", os.path.join(full, "repo")]),
        ]:
            src = key.split("-")[1] if key.split("-")[1] in ("tar", "gcc", "sqlite3", "rsync", "git") else "coreutils"
            if key == "r4-fallocate-enospc":
                src = "util-linux"
            auth = E + "ENOSPC"
            if src == "sqlite3":
                auth = "sqlite.org/rescode.html: SQLITE_FULL (database or disk is full)"
            _tool_if(src, key, cmd, "resource_exhausted.storage_full", auth, must=r"(?i)no space|disk is full", user=NB)
    if ro:
        for src, key, cmd in [
            ("coreutils", "r4-mkdir-erofs", ["mkdir", os.path.join(ro, "d")]),
            ("coreutils", "r4-touch-erofs", ["touch", os.path.join(ro, "t")]),
            ("coreutils", "r4-rm-erofs", ["rm", "-f", os.path.join(ro, "keep.txt")]),
            ("coreutils", "r4-ln-erofs", ["ln", "-s", "x", os.path.join(ro, "l")]),
            ("coreutils", "r4-split-erofs", ["split", "-b", "100k", t("big.bin"), os.path.join(ro, "part")]),
            ("coreutils", "r4-cp-erofs", ["cp", t("plain.txt"), ro]),
            ("tar", "r4-extract-erofs", ["tar", "-xzf", t("ok.tgz"), "-C", ro]),
            ("unzip", "r4-extract-erofs", ["unzip", "-o", t("ok.zip"), "-d", ro]),
            ("gcc", "r4-output-erofs", ["gcc", "-o", os.path.join(ro, "a.out"), t("ok.c")]),
            ("git", "r4-init-erofs", ["git", "init", "-q", os.path.join(ro, "repo")]),
            ("rsync", "r4-dest-erofs", ["rsync", t("plain.txt"), os.path.join(ro, "p.txt")]),
            ("bash", "r4-redirect-erofs", ["bash", "-c", f"echo x > {ro}/b.txt"]),
            ("sqlite3", "r4-create-erofs", ["sqlite3", os.path.join(ro, "new.db"), "CREATE TABLE t (x)"]),
        ]:
            _tool_if(src, key, cmd, "permission_denied.read_only", E + "EROFS", must=r"(?i)read-only|readonly|read only", user=NB)
    # resource limits through the shell (as an unprivileged user: RLIMIT_NPROC binds)
    _tool_if("bash", "r4-ulimit-nofile", ["bash", "-c", f"ulimit -n 3; echo x > {t('fd.txt')}"],
             "resource_exhausted.file_descriptors", E + "EMFILE", must=r"(?i)too many open files", user=NB)
    _tool_if("bash", "r4-ulimit-fsize", ["bash", "-c", f"ulimit -f 1; cat {t('big.bin')} > {t('fsize.bin')}"],
             "out_of_range", E + "EFBIG (SIGXFSZ: the file size limit)", must=r"(?i)file size limit", user=NB)
    _tool_if("bash", "r4-ulimit-nproc", ["bash", "-c", "ulimit -u 1; /bin/true; /bin/true & wait"],
             "unavailable", E + "EAGAIN (fork(2): RLIMIT_NPROC reached)", must=r"(?i)resource temporarily unavailable", user=NB)
    _tool_if("bash", "r4-etxtbsy", ["bash", "-c", f"exec 3>{t('busy.sh')}; echo '#!/bin/sh' >&3; chmod +x {t('busy.sh')}; {t('busy.sh')}"],
             "failed_precondition", E + "ETXTBSY", must=r"(?i)text file busy", user=NB)
    _tool_if("bash", "r4-e2big", ["bash", "-c", "/bin/true $(head -c 300000 /dev/zero | tr '\\0' x)"],
             "invalid_argument", E + "E2BIG", must=r"(?i)argument list too long", user=NB)
    rc, err, _ = run(["xargs", "-s", "20", "echo"], input="x" * 100 + "\n", user=NB)
    add("xargs", "xargs:r4-arg-too-long", err, "invalid_argument", "an argument longer than the command-line limit: the same input fails again")
    rc, err, _ = run(["xargs", "fl-capture-no-such-cmd"], input="a\n", user=NB)
    add("xargs", "xargs:r4-command-missing", err, "not_found", E + "ENOENT")
    _tool_if("util-linux", "r4-mount-unprivileged", ["mount", "-t", "tmpfs", "tmpfs", t("dir")], "permission_denied",
             "mount(8): only the superuser may mount (EPERM)", must=r"(?i)root|superuser|permission|not permitted", user=NB)
    _tool_if("util-linux", "r4-chattr-permission", ["chattr", "+i", t("plain.txt")], "permission_denied", E + "EPERM",
             must=r"(?i)not permitted", user=NB)
    # TLS against local openssl s_server instances: openssl, curl, wget, git
    if "ca" in R:
        ca = R["ca"]
        for key, port, extra, cat, auth, must in [
            ("r4-tls-expired", R["tls_expired"], [], "unavailable.tls", A_TLS, "expired"),
            ("r4-tls-hostname", R["tls_wronghost"], ["-verify_hostname", "localhost"], "unavailable.tls", A_TLS, "(?i)hostname"),
            ("r4-tls-client-cert", R["tls_clientcert"], [], "unavailable.tls", A_TLS_CLIENT, "(?i)certificate required"),
            ("r4-tls-version", R["tls_13only"], ["-tls1_2"], "unavailable.tls", A_TLS_VERSION, "(?i)protocol version"),
        ]:
            rc, err, out = run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca, "-verify_return_error",
                                "-servername", "localhost", "-brief"] + extra, input="GET / HTTP/1.0\r\n\r\n", user=NB, timeout=15)
            msg = err.strip()
            if re.search(must, msg):
                add("openssl", "openssl:" + key, msg, cat, auth)
        _tool_if("openssl", "r4-verify-expired", ["openssl", "verify", "-CAfile", ca, os.path.join(TMP, "r4", "expired.crt")],
                 "unavailable.tls", "X509_V_ERR_CERT_HAS_EXPIRED: a certificate that fails verification fails again",
                 must="expired", user=NB)
        _tool_if("openssl", "r4-verify-untrusted", ["openssl", "verify", os.path.join(TMP, "r4", "ok.crt")],
                 "unavailable.tls", "X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY: a certificate that fails verification fails again",
                 must="issuer", user=NB)
        for key, url, extra, cat, auth, code in [
            ("r4-tls-expired", f"https://127.0.0.1:{R['tls_expired']}/", [], "unavailable.tls", A_TLS, 60),
            ("r4-tls-hostname", f"https://localhost:{R['tls_wronghost']}/", ["--resolve", f"localhost:{R['tls_wronghost']}:127.0.0.1"],
             "unavailable.tls", A_TLS, 60),
            ("r4-tls-client-cert", f"https://localhost:{R['tls_clientcert']}/", ["--resolve", f"localhost:{R['tls_clientcert']}:127.0.0.1"],
             "unavailable.tls", A_TLS_CLIENT, 56),
            ("r4-tls-version", f"https://localhost:{R['tls_13only']}/", ["--tls-max", "1.2", "--resolve", f"localhost:{R['tls_13only']}:127.0.0.1"],
             "unavailable.tls", A_TLS_VERSION, 35),
        ]:
            msg = _tool_if("curl", key, ["curl", "-sS", "-o", "/dev/null", "--cacert", ca] + extra + [url], cat, auth, user=NB, timeout=15)
            if msg and re.match(r"curl: \((\d+)\)", msg):
                add("curl", "curl:" + key, msg, cat, auth, domain="curl", code=int(re.match(r"curl: \((\d+)\)", msg).group(1)), only_code=True)
            _tool_if("wget", key, ["wget", "--tries=1", "-O", "/dev/null", "--ca-certificate", ca, url.replace("localhost", "127.0.0.1")],
                     cat, auth, must=r"ERROR|does not match|invalidated|handshake failed|Unable to establish", user=NB, timeout=15)
            env = dict(os.environ, GIT_SSL_CAINFO=ca, GIT_TERMINAL_PROMPT="0", HOME=TMP)
            _tool_if("git", key, ["git", "ls-remote", f"https://127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}/repo.git"], cat, auth,
                     must=r"(?i)ssl|tls|certificate|alert", timeout=15, env=env)
    # HTTP statuses round 4 adds, through curl and wget
    for st, (cat, auth) in sorted(R4_HTTP.items()):
        tool("curl", f"r4-http-{st}", ["curl", "-sS", "-f", "-o", "/dev/null", f"{BASE}/status/{st}"], cat,
             "curl (22) carries the HTTP status; " + auth, domain="curl", code=22)
        tool("wget", f"r4-http-{st}", ["wget", "--tries=1", "-O", "/dev/null", f"{BASE}/status/{st}"], cat, auth)
    # SMTP and FTP through curl (its exit code and the server's reply)
    open(t("mail.txt"), "w").write("Subject: x\r\n\r\nhi\r\n")
    for k, port in sorted(R["smtp"].items()):
        reply, stage, cat, auth = SMTP_REPLIES[k]
        cmd = ["curl", "-sS", f"smtp://127.0.0.1:{port}", "--mail-from", "a@fl-capture.test", "--mail-rcpt", "nobody@fl-capture.test",
               "-T", t("mail.txt")]
        if k == "535":
            cmd += ["-u", "bob:wrong"]
        msg = _tool_if("curl", f"r4-smtp-{k}", cmd, cat, auth + ("; CURLE_LOGIN_DENIED" if k == "535" else ""),
                       must=k + ("|Login denied" if k == "535" else ""), timeout=15)
        if msg and re.match(r"curl: \((\d+)\)", msg):
            add("curl", f"curl:r4-smtp-{k}", msg, cat, auth, domain="curl", code=int(re.match(r"curl: \((\d+)\)", msg).group(1)), only_code=True)
    for k, port in sorted(R["ftp"].items()):
        reply, stage, cat, auth = FTP_REPLIES[k]
        msg = _tool_if("curl", f"r4-ftp-{k}", ["curl", "-sS", "-o", "/dev/null", f"ftp://bob:wrong@127.0.0.1:{port}/missing.txt"],
                       cat, auth, must=k + "|" + re.escape(reply.split(" ", 1)[1][:20]) + ("|does not exist" if k == "550" else ""), timeout=15)
        if msg and re.match(r"curl: \((\d+)\)", msg):
            add("curl", f"curl:r4-ftp-{k}", msg, cat, auth, domain="curl", code=int(re.match(r"curl: \((\d+)\)", msg).group(1)), only_code=True)
        _tool_if("wget", f"r4-ftp-{k}", ["wget", "--tries=1", "-O", "/dev/null", f"ftp://bob:wrong@127.0.0.1:{port}/missing.txt"],
                 cat, auth, must={"530": "Login incorrect", "550": "No such file", "425": "PASV|data connection"}.get(k, "^$"), timeout=15)
    # programs no earlier round drove
    cases = [
        ("tclsh", "r4-open-missing", ["tclsh", t("bad.tcl")], "not_found", E + "ENOENT (Tcl errorCode POSIX ENOENT)", "no such file"),
        ("tclsh", "r4-divide-by-zero", ["tclsh", t("div.tcl")], "invalid_argument", "Tcl errorCode ARITH DIVZERO: ArithmeticError on the values given", "divide by zero"),
        ("tclsh", "r4-socket-refused", ["tclsh", t("sock.tcl")], "unavailable", A_REFUSED, "refused"),
        ("tclsh", "r4-invalid-command", ["tclsh", t("cmd.tcl")], "internal", BUG, "invalid command name"),
        ("gawk", "r4-division-by-zero", ["gawk", "BEGIN { x = 0; print 1 / x }"], "invalid_argument", "ArithmeticError on the values given", "division by zero"),
        ("gawk", "r4-source-missing", ["gawk", "-f", t("missing.awk")], "not_found", E + "ENOENT", "No such file"),
        ("gawk", "r4-getline-dir", ["gawk", "BEGIN { while ((getline line < \"/etc\") > 0) n++; if (ERRNO) { print \"gawk: getline /etc: \" ERRNO > \"/dev/stderr\"; exit 2 } }"],
         "failed_precondition", E + "EISDIR", "directory"),
        ("cmake", "r4-source-missing", ["cmake", "-S", t("nope"), "-B", t("build1")], "not_found", NF, "does not exist"),
        ("cmake", "r4-parse-error", ["cmake", "-S", t("cm-bad"), "-B", t("build2")], "invalid_argument", SRC, "Parse error|parse"),
        ("cmake", "r4-package-missing", ["cmake", "-S", t("cm-pkg"), "-B", t("build3")], "not_found",
         "the package named is not installed (as gcc:library-missing: NOT_FOUND)", "FlCaptureNosuch"),
        ("ninja", "r4-no-build-file", ["ninja", "-C", t("dir")], "not_found", E + "ENOENT", "build.ninja"),
        ("ninja", "r4-unknown-target", ["ninja", "-C", t("nj"), "fl-capture-nosuch"], "not_found", "ninja: no such target (" + NF + ")", "unknown target"),
        ("ninja", "r4-command-failed", ["ninja", "-C", t("nj")], "unknown", "a build command exited non-zero without saying why: gRPC UNKNOWN", "FAILED"),
        ("make", "r4-recipe-failed", ["make", "-f", t("fail.mk")], "unknown", "a recipe exited non-zero without saying why: gRPC UNKNOWN", "Error 2"),
        ("pkg-config", "r4-package-missing", ["pkg-config", "--cflags", "fl-capture-nosuch"], "not_found",
         "the package named is not installed (as gcc:library-missing: NOT_FOUND)", "not found"),
        ("binutils", "r4-ld-input-missing", ["ld", "-o", t("ld.out"), t("missing.o")], "not_found", E + "ENOENT", "No such file|cannot find"),
        ("binutils", "r4-ld-not-object", ["ld", "-o", t("ld.out"), t("plain.txt")], "invalid_argument", NOTFMT, "format not recognized|file format"),
        ("binutils", "r4-as-syntax", ["as", "-o", t("x.o"), t("bad.s")], "invalid_argument", SRC, "Error"),
        ("binutils", "r4-ar-not-archive", ["ar", "t", t("plain.txt")], "invalid_argument", NOTFMT, "format not recognized"),
        ("binutils", "r4-readelf-not-elf", ["readelf", "-h", t("plain.txt")], "invalid_argument", NOTFMT, "ELF"),
        ("binutils", "r4-objdump-missing", ["objdump", "-d", t("missing.o")], "not_found", E + "ENOENT", "No such file"),
        ("binutils", "r4-strip-not-object", ["strip", t("garbage.tar")], "invalid_argument", NOTFMT, "format not recognized"),
        ("cpio", "r4-garbage", ["cpio", "-t", "-F", t("garbage.tar")], "invalid_argument", NOTFMT, "cpio"),
        ("cpio", "r4-archive-missing", ["cpio", "-t", "-F", t("missing.cpio")], "not_found", E + "ENOENT", "No such file"),
        ("scp", "r4-refused", ["scp", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-P", str(CLOSED), t("plain.txt"),
                               "127.0.0.1:/tmp/x"], "unavailable", A_REFUSED, "refused"),
        ("scp", "r4-source-missing", ["scp", t("missing.txt"), t("x.txt")], "not_found", E + "ENOENT", "No such file"),
        ("scp", "r4-dns", ["scp", "-o", "BatchMode=yes", t("plain.txt"), "db.fl-capture.invalid:/tmp/x"], "unavailable", A_DNS, "resolve"),
        ("sqlite3", "r4-corrupt", ["sqlite3", t("notdb.db"), "PRAGMA integrity_check"], "invalid_argument",
         "sqlite.org/rescode.html: SQLITE_NOTADB", "not a database"),
        ("sqlite3", "r4-read-missing", ["sqlite3", t("s4.db"), f".read {t('missing.sql')}"], "not_found", E + "ENOENT", "cannot open"),
        ("sqlite3", "r4-no-collation", ["sqlite3", t("s4.db"), "SELECT 'a' < 'b' COLLATE nosuch"], "not_found",
         "sqlite.org/rescode.html: SQLITE_ERROR: no such collation sequence", "collation"),
        ("sqlite3", "r4-too-many-terms", ["sqlite3", t("s4.db"), "SELECT " + "+".join(["1"] * 1100)], "invalid_argument",
         "sqlite.org/limits.html: the expression exceeds SQLITE_MAX_EXPR_DEPTH (the statement must change)", "too large"),
        ("python", "r4-pip-no-index", ["/usr/bin/python3", "-m", "pip", "download", "--no-index", "--no-cache-dir", "-d", t("pipdl"),
                                       "fl-capture-nosuch-pkg"], "not_found", "pip: no distribution with that name is available (NOT_FOUND)",
         "No matching distribution"),
        ("git", "r4-commit-no-identity", ["sh", "-c", f"cd {t('gitid')} && git init -q . && git commit -q --allow-empty -m x"],
         "failed_precondition", "git: no committer identity configured (the environment must be fixed)", "identity|ident name"),
    ]
    os.makedirs(t("gitid"))
    os.chmod(t("gitid"), 0o777)
    env_noid = dict(os.environ, HOME=t("gitid"), GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="", GIT_COMMITTER_NAME="",
                    EMAIL="", GIT_AUTHOR_EMAIL="", GIT_COMMITTER_EMAIL="")
    for src, key, cmd, cat, auth, must in cases:
        if not have(cmd[0]):
            continue
        env = env_noid if key == "r4-commit-no-identity" else None
        _tool_if(src, key, cmd, cat, auth, must=must, user=None if env else NB, env=env, timeout=60)


R4_PG_FIXTURE = """
CREATE TYPE r4_mood AS ENUM ('ok', 'sad');
CREATE DOMAIN r4_posint AS int CHECK (VALUE > 0);
CREATE TABLE r4_parent (id int PRIMARY KEY); INSERT INTO r4_parent VALUES (1);
CREATE TABLE r4_child (id int, p int REFERENCES r4_parent(id) ON DELETE RESTRICT); INSERT INTO r4_child VALUES (1, 1);
CREATE FUNCTION r4_f(int) RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE FUNCTION r4_f(bigint) RETURNS int LANGUAGE sql AS 'SELECT 2';
CREATE ROLE r4_owner; CREATE TABLE r4_owned (x int); ALTER TABLE r4_owned OWNER TO r4_owner;
"""


def r4_pg_cases():
    full = R4.get("full")
    ro = R4.get("ro")
    cases = [
        ("r4-string-length-mismatch", "SELECT B'101'::bit(3) & B'1'::bit(1)"),
        ("r4-ntile-zero", "SELECT ntile(0) OVER () FROM acct"),
        ("r4-nth-value-zero", "SELECT nth_value(id, 0) OVER () FROM acct"),
        ("r4-window-frame-negative", "SELECT sum(id) OVER (ORDER BY id ROWS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM acct"),
        ("r4-tablesample", "SELECT * FROM acct TABLESAMPLE BERNOULLI (200)"),
        ("r4-cant-change-runtime-param", "SET shared_buffers = '32MB'"),
        ("r4-invalid-recursion", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT r1.n FROM r r1, r r2) SELECT * FROM r"),
        ("r4-ambiguous-function", "SELECT r4_f(NULL)"),
        ("r4-order-by-position", "SELECT id FROM acct ORDER BY 5"),
        ("r4-invalid-txn-termination", "BEGIN; DO $$ BEGIN COMMIT; END $$"),
        ("r4-collation-mismatch", "SELECT 'a' COLLATE \"C\" < 'b' COLLATE \"POSIX\""),
        ("r4-time-zone-displacement", "SELECT '2020-01-01 00:00+25'::timestamptz"),
        ("r4-restrict-violation", "DELETE FROM r4_parent"),
        ("r4-temp-file-limit", "SET work_mem = '64kB'; SET temp_file_limit = '64kB'; "
         "SELECT count(*) FROM (SELECT g FROM generate_series(1, 300000) g ORDER BY g DESC) s"),
        ("r4-lock-table-full", "BEGIN; DO $$ BEGIN FOR i IN 1..8000 LOOP "
         "EXECUTE format('CREATE TEMP TABLE r4_t%s (x int)', i); END LOOP; END $$"),
        ("r4-cursor-no-scroll", "BEGIN; DECLARE r4c NO SCROLL CURSOR FOR SELECT * FROM acct; FETCH 2 FROM r4c; FETCH PRIOR FROM r4c"),
        ("r4-prepared-param-count", "PREPARE r4q(int) AS SELECT $1; EXECUTE r4q(1, 2)"),
        ("r4-large-object-missing", "SELECT lo_get(987654)"),
        ("r4-enum-invalid", "SELECT 'happy'::r4_mood"),
        ("r4-domain-check", "SELECT (-1)::r4_posint"),
        ("r4-array-dims-mismatch", "SELECT ARRAY[[1,2],[3]]"),
        ("r4-make-date", "SELECT make_date(2023, 2, 30)"),
        ("r4-range-bounds", "SELECT int4range(5, 1)"),
        ("r4-role-owns-objects", "DROP ROLE r4_owner"),
        ("r4-json-null-key", "SELECT json_object_agg(NULL::text, 1)"),
        ("r4-setval-range", "SELECT setval('seq1', 99)"),
    ]
    if ro:
        cases.append(("r4-copy-to-readonly", f"COPY acct TO '{ro}/pg-acct.csv'"))
    if full:
        cases.append(("r4-copy-disk-full", f"COPY (SELECT repeat('x', 1000) FROM generate_series(1, 2000)) TO '{full}/pg-copy.csv'"))
    out = [{"key": k, "sql": s} for k, s in cases]
    out.append({"key": "r4-idle-in-tx-timeout", "pre": ["SET idle_in_transaction_session_timeout = 300", "BEGIN", "SELECT 1"],
                "sleep": 1, "sql": "SELECT 1"})
    out.append({"key": "r4-idle-session-timeout", "pre": ["SET idle_session_timeout = 300"], "sleep": 1, "sql": "SELECT 1"})
    return out


# the server's condition when the client only sees the connection drop
R4_PG_DROPPED = {"r4-idle-in-tx-timeout": "25P03", "r4-idle-session-timeout": "57P05"}


def r4_pg_record(source, r):
    key, msg = r.get("key"), r.get("message")
    # DBD::Pg's err is libpq's result status; its state is the SQLSTATE
    code = next((str(v) for v in (r.get("code"), r.get("state")) if v and re.fullmatch(r"[0-9A-Z]{5}", str(v))), None)
    if key in R4_PG_DROPPED and code != R4_PG_DROPPED[key]:
        if not re.search(r"(?i)timeout|terminat|closed", msg or ""):
            print(f"capture: {source} pg:{key}: not the failure labelled: {msg!r:.160}", file=sys.stderr)
            return
        cat, auth = L.pg_label(R4_PG_DROPPED[key])
        auth += " (the server's condition; the client saw the connection drop)"
        add(source, "pg:" + key, msg, cat, auth)
        if r.get("trace"):
            add(source, "pg:" + key, r["trace"], cat, auth)
        return
    cat, auth = L.pg_label(code, msg or "")
    if not cat:
        print(f"capture: {source} pg:{key}: no label for SQLSTATE {code!r}: {msg!r:.120}", file=sys.stderr)
        return
    add(source, "pg:" + key, msg, cat, auth, domain="postgres", code=code)
    if r.get("trace"):
        add(source, "pg:" + key, r["trace"], cat, auth)


R4_MY_FIXTURE = """
USE fl;
SET SESSION max_heap_table_size = 16384;
CREATE TABLE r4_heap (id INT, v VARCHAR(200)) ENGINE=MEMORY;
CREATE TABLE r4_e (e ENUM('a', 'b'));
CREATE TRIGGER r4_trg BEFORE INSERT ON r4_e FOR EACH ROW SET @r4 = 1;
CREATE DEFINER='ghost'@'%' VIEW r4_ghost AS SELECT 1 AS one;
DELIMITER //
CREATE PROCEDURE r4_many() BEGIN DECLARE x INT; SELECT id INTO x FROM acct; END //
CREATE PROCEDURE r4_fetch() BEGIN DECLARE x INT; DECLARE c CURSOR FOR SELECT id FROM acct WHERE id < 0; OPEN c; FETCH c INTO x; END //
DELIMITER ;
"""


def r4_my_cases():
    cases = [
        ("r4-select-into-many-rows", "CALL r4_many()"),
        ("r4-cursor-no-data", "CALL r4_fetch()"),
        ("r4-tx-characteristics", "START TRANSACTION; SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
        ("r4-locked-tables", "LOCK TABLES acct READ; FLUSH TABLES WITH READ LOCK"),
        ("r4-data-truncated-enum", "INSERT INTO r4_e VALUES ('z')"),
        ("r4-variable-arg-type", "SET GLOBAL max_connections = 'abc'"),
        ("r4-procedure-exists", "CREATE PROCEDURE r4_many() SELECT 1"),
        ("r4-trigger-exists", "CREATE TRIGGER r4_trg BEFORE INSERT ON r4_e FOR EACH ROW SET @r4 = 2"),
        ("r4-trigger-missing", "DROP TRIGGER r4_nosuch"),
        ("r4-set-password-no-user", "SET PASSWORD FOR 'r4_nosuch'@'%' = PASSWORD('x')"),
        ("r4-show-grants-no-user", "SHOW GRANTS FOR 'r4_nosuch'@'%'"),
        ("r4-definer-missing", "SELECT * FROM r4_ghost"),
        ("r4-undeclared-variable", "SELECT 1 INTO r4_nosuchvar"),
        ("r4-table-full", "INSERT INTO r4_heap SELECT seq, REPEAT('x', 200) FROM seq_1_to_20000"),
    ]
    out = [{"key": k, "sql": s} for k, s in cases]
    out.append({"key": "r4-execute-denied", "sql": "CALL fl.boom()", "user": "alice", "password": "secret"})
    out.append({"key": "r4-wait-timeout", "pre": ["SET SESSION wait_timeout = 1"], "sleep": 3, "sql": "SELECT 1"})
    return out


def r4_my_record(source, r):
    key, msg, code = r.get("key"), r.get("message"), r.get("code")
    cat, auth = L.my_label(code)
    if not cat:
        print(f"capture: {source} my:{key}: no label for error {code!r}: {msg!r:.140}", file=sys.stderr)
        return
    add(source, "my:" + key, msg, cat, auth, domain="mysql", code=int(code))
    if r.get("trace"):
        add(source, "my:" + key, r["trace"], cat, auth)


def r4_db_capture():
    r4_fixtures()
    if not PG:
        pg_start()
    if not MY:
        my_start()
    if PG:
        base = ["psql", "-h", PG["dir"], "-p", str(PG["port"]), "-U", "postgres", "-d", "fl", "-X", "-q"]
        run(base + ["-v", "ON_ERROR_STOP=1", "-f", "-"], input=R4_PG_FIXTURE)
        cases = r4_pg_cases()
        # psql: default and verbose verbosity; the timeouts through a script that sleeps in between
        for c in cases:
            script = "".join(s + ";\n" for s in c.get("pre", []))
            if c.get("sleep"):
                script += f"\\! sleep {c['sleep']}\n"
            script += c["sql"] + ";\n"
            rc, err, _ = run(base + ["-v", "VERBOSITY=verbose", "-f", "-"], input=script, timeout=120)
            m = re.search(r"(?:ERROR|FATAL):  ([0-9A-Z]{5}):", err)
            r4_pg_record("psql", {"key": c["key"], "message": err, "code": m.group(1) if m else None})
            if not c.get("pre"):
                rc, err, _ = run(base + ["-c", c["sql"]], timeout=120)
                r4_pg_record("psql", {"key": c["key"], "message": err, "code": m.group(1) if m else None})
        # psycopg2
        import psycopg2
        import traceback
        for i, c in enumerate(cases):
            try:
                conn = psycopg2.connect(host=PG["dir"], port=PG["port"], user="postgres", dbname="fl")
                conn.autocommit = True
                cur = conn.cursor()
                for s in c.get("pre", []):
                    cur.execute(s)
                time.sleep(c.get("sleep", 0))
                cur.execute(c["sql"])
                conn.close()
            except Exception as e:
                r = {"key": c["key"], "message": traceback.format_exception_only(type(e), e)[-1].strip(),
                     "code": getattr(e, "pgcode", None)}
                if i % 2 == 0:
                    r["trace"] = traceback.format_exc().strip()
                r4_pg_record("psycopg2", r)
        path = os.path.join(TMP, "r4_pg_cases.json")
        with open(path, "w") as f:
            json.dump({"dsn": f"dbi:Pg:host={PG['dir']};port={PG['port']};dbname=fl", "user": "postgres", "password": "",
                       "host": PG["dir"], "port": PG["port"], "db": "fl", "cases": cases}, f)
        os.chmod(path, 0o644)
        for r in jsonl_client(["perl", os.path.join(HERE, "clients", "perldbi.pl"), path], timeout=600):
            r4_pg_record("perl-dbd-pg", r)
        for r in jsonl_client(["php", os.path.join(HERE, "clients", "phpdb.php"), "pgsql", path], timeout=600):
            r4_pg_record("php-pgsql", r)
    if MY:
        cli = shutil.which("mariadb") or shutil.which("mysql")
        run([cli, "--no-defaults", "-S", MY["sock"], "-u", "root"], input=R4_MY_FIXTURE)
        run([cli, "--no-defaults", "-S", MY["sock"], "-u", "root", "-e", "GRANT SELECT ON fl.* TO 'alice'@'%'; GRANT SELECT ON fl.* TO 'alice'@'localhost'"])
        cases = r4_my_cases()
        for c in cases:
            u = [f"-u{c.get('user', 'root')}"] + ([f"-p{c['password']}"] if c.get("password") else [])
            script = "".join(s + ";\n" for s in c.get("pre", []))
            if c.get("sleep"):
                script += f"\\! sleep {c['sleep']}\n"
            script += c["sql"] + ";\n"
            rc, err, _ = run([cli, "--no-defaults", "-S", MY["sock"]] + u + ["fl"], input=script, timeout=120)
            m = re.search(r"ERROR (\d+) \(", err)
            r4_my_record("mariadb-client", {"key": c["key"], "message": err, "code": m.group(1) if m else None})
            if not c.get("pre"):
                rc, err, _ = run([cli, "--no-defaults", "-S", MY["sock"]] + u + ["fl", "-e", c["sql"]], timeout=120)
                m = re.search(r"ERROR (\d+) \(", err)
                r4_my_record("mariadb-client", {"key": c["key"], "message": err, "code": m.group(1) if m else None})
        import pymysql
        import traceback
        for i, c in enumerate(cases):
            try:
                conn = pymysql.connect(unix_socket=MY["sock"], user=c.get("user", "root"), password=c.get("password", ""),
                                       database="fl", autocommit=True, client_flag=pymysql.constants.CLIENT.MULTI_STATEMENTS)
                cur = conn.cursor()
                for s in c.get("pre", []):
                    cur.execute(s)
                time.sleep(c.get("sleep", 0))
                cur.execute(c["sql"])
                while cur.nextset():
                    pass
                conn.close()
            except Exception as e:
                r = {"key": c["key"], "message": traceback.format_exception_only(type(e), e)[-1].strip(),
                     "code": e.args[0] if e.args and isinstance(e.args[0], int) else None}
                if i % 2 == 0:
                    r["trace"] = traceback.format_exc().strip()
                r4_my_record("pymysql", r)
        path = os.path.join(TMP, "r4_my_cases.json")
        with open(path, "w") as f:
            json.dump({"dsn": f"dbi:MariaDB:database=fl;mariadb_socket={MY['sock']}", "user": "root", "password": "",
                       "host": "localhost", "port": MY["port"], "socket": MY["sock"], "db": "fl", "cases": cases}, f)
        os.chmod(path, 0o644)
        for r in jsonl_client(["perl", os.path.join(HERE, "clients", "perldbi.pl"), path], timeout=600):
            r4_my_record("perl-dbd-mariadb", r)
        for r in jsonl_client(["php", os.path.join(HERE, "clients", "phpdb.php"), "mysqli", path], timeout=600):
            r4_my_record("php-mysqli", r)


# ------------------------------------------------------------------ round 5
# Capture round 5: the popular client libraries of each language (none driven
# before) failing against the same local servers: PostgreSQL (psycopg 3,
# SQLAlchemy, asyncpg, node-postgres, ruby-pg, lib/pq, pgx, HikariCP over
# pgJDBC), MariaDB (mysqlclient, aiomysql, SQLAlchemy, mysql2 for Node and
# Ruby, go-sql-driver/mysql), Redis (ioredis, node-redis, redis-rb, Perl
# Redis, phpredis), HTTP(S) (aiohttp, urllib3, axios, got, node-fetch, undici,
# ws, Faraday, rest-client, LWP, PHP curl) and SSH (paramiko).  Every key
# starts with `r5-`; one scenario key per failure, shared by every library
# that saw it.  npm packages are installed by r5_npm() into a temporary
# directory at capture time (nothing is installed into the repository).
R5 = {}
R5_PG_FIXTURE = """
CREATE TABLE r5_dl (id int PRIMARY KEY, v int); INSERT INTO r5_dl VALUES (1, 0), (2, 0);
CREATE TABLE r5_ser (id int PRIMARY KEY, v int); INSERT INTO r5_ser VALUES (1, 0);
ALTER ROLE limited PASSWORD 'lim';
"""
R5_MY_FIXTURE = """
USE fl;
CREATE TABLE r5_dl (id INT PRIMARY KEY, v INT) ENGINE=InnoDB; INSERT INTO r5_dl VALUES (1, 0), (2, 0);
CREATE USER 'r5'@'%' IDENTIFIED BY 'r5pw'; GRANT ALL ON *.* TO 'r5'@'%';
CREATE USER 'r5'@'localhost' IDENTIFIED BY 'r5pw'; GRANT ALL ON *.* TO 'r5'@'localhost';
SET PASSWORD FOR 'reader'@'%' = PASSWORD('rpw'); SET PASSWORD FOR 'reader'@'localhost' = PASSWORD('rpw');
"""
# (case, pre-statements, statement, the SQLSTATE the server raises)
R5_PG_CASES = [
    ("syntax", [], "SELEC 1", "42601"),
    ("unique", [], "INSERT INTO acct VALUES (1, 'x', 1)", "23505"),
    ("undefined-table", [], "SELECT * FROM r5_no_such_table", "42P01"),
    ("undefined-column", [], "SELECT no_such_col FROM acct", "42703"),
    ("undefined-function", [], "SELECT r5_no_such_fn(1)", "42883"),
    ("div-zero", [], "SELECT 1/0", "22012"),
    ("not-null", [], "INSERT INTO acct VALUES (3, NULL, 1)", "23502"),
    ("fk", [], "INSERT INTO child VALUES (2, 99)", "23503"),
    ("check", [], "INSERT INTO acct VALUES (4, 'c', -5)", "23514"),
    ("invalid-text", [], "SELECT 'abc'::int", "22P02"),
    ("numeric-range", [], "SELECT 2147483647::int + 1", "22003"),
    ("varchar-long", [], "INSERT INTO acct VALUES (9, 'toolongname', 1)", "22001"),
    ("duplicate-table", [], "CREATE TABLE acct (id int)", "42P07"),
    ("read-only-tx", ["SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"], "INSERT INTO ro_target VALUES (1)", "25006"),
    ("permission", ["SET ROLE reader"], "SELECT * FROM acct", "42501"),
    ("statement-timeout", ["SET statement_timeout = 200"], "SELECT pg_sleep(3)", "57014"),
    ("lock-timeout", ["SET lock_timeout = 200"], "UPDATE held SET v = v + 1 WHERE id = 1", "55P03"),
    ("lock-nowait", [], "SELECT * FROM held WHERE id = 1 FOR UPDATE NOWAIT", "55P03"),
    ("terminated", [], "SELECT pg_terminate_backend(pg_backend_pid())", "57P01"),
    ("raise", [], "DO $$ BEGIN RAISE EXCEPTION 'r5 nightly batch failed'; END $$", "P0001"),
]
R5_MY_CASES = [
    ("syntax", [], "SELEC 1", 1064),
    ("unique", [], "INSERT INTO acct (id, name) VALUES (1, 'x')", 1062),
    ("no-table", [], "SELECT * FROM r5_no_such_table", 1146),
    ("no-column", [], "SELECT no_such_col FROM acct", 1054),
    ("not-null", [], "INSERT INTO acct (id, name) VALUES (5, NULL)", 1048),
    ("fk", [], "INSERT INTO child VALUES (2, 99)", 1452),
    ("fk-delete", [], "DELETE FROM acct WHERE id = 1", 1451),
    ("out-of-range", ["SET sql_mode = 'STRICT_ALL_TABLES'"], "INSERT INTO acct (id, name, tiny) VALUES (6, 'q', 999)", 1264),
    ("too-long", ["SET sql_mode = 'STRICT_ALL_TABLES'"], "INSERT INTO acct (id, name) VALUES (6, 'toolongname')", 1406),
    ("check", [], "INSERT INTO acct (id, name, bal) VALUES (7, 'c', -5)", 4025),
    ("duplicate-table", [], "CREATE TABLE acct (id INT)", 1050),
    ("lock-wait", ["SET innodb_lock_wait_timeout = 1"], "UPDATE held SET v = v + 1 WHERE id = 1", 1205),
    ("read-only-tx", ["START TRANSACTION READ ONLY"], "INSERT INTO held VALUES (9, 9)", 1792),
    ("signal", [], "CALL boom()", 1644),
    ("statement-timeout", [], "SET STATEMENT max_statement_time = 0.2 FOR SELECT SLEEP(3)", 1969),
    ("killed", [], "KILL CONNECTION_ID()", 1927),
]
A_TRUNC = "the peer closed the connection mid-body: UNAVAILABLE"
A_EMPTY = "the peer closed the connection without a response: UNAVAILABLE"
A_PLAIN = "a TLS handshake against a non-TLS peer fails the same way again (unavailable.tls)"
A_POOL = ("the client's connection pool had no free connection within its wait time (SQLAlchemy QueuePool "
          "TimeoutError, HikariCP connectionTimeout, pg.Pool connectionTimeoutMillis): a pool slot frees up, "
          "gRPC RESOURCE_EXHAUSTED (docs/taxonomy.md resource_exhausted.connections)")
R5_NET = {
    "refused": ("unavailable", A_REFUSED), "dns": ("unavailable", A_DNS), "timeout": ("deadline_exceeded", A_TIMEOUT),
    "reset": ("unavailable", A_RESET), "empty": ("unavailable", A_EMPTY), "truncated": ("unavailable", A_TRUNC),
    "tls-untrusted": ("unavailable.tls", A_TLS), "tls-expired": ("unavailable.tls", A_TLS),
    "tls-hostname": ("unavailable.tls", A_TLS), "ssl-required": ("unavailable.tls", A_PLAIN),
    "redirect-loop": ("failed_precondition", "a redirect loop: repeating the request follows the same loop"),
    "pool-timeout": ("resource_exhausted", A_POOL),
}
R5_PG_CONN = {"bad-password": "28P01", "no-database": "3D000", "connection-limit": "53300", "no-role": "28P01"}
R5_MY_CONN = {"bad-password": 1045, "no-database": 1049, "permission": 1142}
R5_REDIS = {
    "wrongtype": ("failed_precondition", "WRONGTYPE: the key holds another type"),
    "not-integer": ("invalid_argument", "ERR value is not an integer"),
    "unknown-command": ("unimplemented", "ERR unknown command"),
    "syntax": ("invalid_argument", "ERR syntax error"),
    "noscript": ("not_found", "NOSCRIPT: no script with that SHA1"),
    "script-error": ("invalid_argument", "the script sent is wrong"),
    "db-range": ("out_of_range", "ERR DB index is out of range"),
    "noauth": ("unauthenticated", "NOAUTH: authentication required"),
    "wrongpass": ("unauthenticated", "WRONGPASS: invalid username-password pair"),
    "noperm": ("permission_denied", "NOPERM: ACL user lacks the permission"),
    "oom": ("resource_exhausted.memory", "OOM command not allowed when used memory > maxmemory"),
    "readonly": ("unavailable", "READONLY: writes against a replica (clients reconnect to the new primary after a failover)"),
    "masterdown": ("unavailable", "MASTERDOWN: link with the primary is down"),
    "clusterdown": ("unavailable", "CLUSTERDOWN: hash slot not served (cluster spec: retry later)"),
}
R5_WS = {"ws-404": L.HTTP[404], "ws-500": L.HTTP[500]}
R5_SSH = {
    "ssh-bad-key": ("invalid_argument", PARSE + " (the private key file is not a key)"),
    "ssh-key-missing": ("not_found", E + "ENOENT"),
    "ssh-banner-timeout": ("deadline_exceeded", A_TIMEOUT + " (no SSH banner before the timeout)"),
}


R5_RESP = {"wrongtype": "WRONGTYPE", "not-integer": "ERR", "unknown-command": "ERR", "syntax": "ERR", "noscript": "NOSCRIPT",
           "script-error": "ERR", "db-range": "ERR", "noauth": "NOAUTH", "wrongpass": "WRONGPASS", "noperm": "NOPERM",
           "oom": "OOM", "readonly": "READONLY", "masterdown": "MASTERDOWN", "clusterdown": "CLUSTERDOWN"}


def r5_label(key, code, msg=""):
    """(category, authority, domain, code) for a round-5 failure; the code only when the library reported one."""
    fam, case = key[3:].split("-", 1)
    if fam == "pg":
        state = str(code) if code and re.fullmatch(r"[0-9A-Z]{5}", str(code)) else None
        if case in R5_NET:
            return R5_NET[case] + (None, None)
        want = dict((c[0], c[3]) for c in R5_PG_CASES).get(case) or R5_PG_CONN.get(case)
        if state:
            cat, auth = L.pg_label(state, "statement timeout" if case == "statement-timeout" else "")
            if want and L.norm(cat) != L.norm(L.pg_label(want, "statement timeout" if case == "statement-timeout" else "")[0]):
                return None, f"SQLSTATE {state} is not the failure the scenario is about ({want})", None, None
            return cat, auth, "postgres", state
        cat, auth = L.pg_label(want, "statement timeout" if case == "statement-timeout" else "")
        return cat, (auth + " (the server's condition; the library reported no SQLSTATE)") if auth else None, None, None
    if fam == "my":
        num = int(code) if isinstance(code, int) or (isinstance(code, str) and code.isdigit()) else None
        want = dict((c[0], c[3]) for c in R5_MY_CASES).get(case) or R5_MY_CONN.get(case)
        if case in R5_NET:
            # the network failure is what happened; the client's error number is kept when it says the same
            cat, auth = R5_NET[case]
            same = num and L.my_label(num)[0] and L.norm(L.my_label(num)[0]) == L.norm(cat)
            return cat, auth, "mysql" if same else None, num if same else None
        if num and L.my_label(num)[0]:
            cat, auth = L.my_label(num)
            if want and L.norm(cat) != L.norm(L.my_label(want)[0]) and not (case == "wait-timeout"):
                return None, f"error {num} is not the failure the scenario is about ({want})", None, None
            return cat, auth, "mysql", num
        if case == "wait-timeout":
            return "unavailable", "MariaDB/MySQL error reference: 2006/2013/4031, the server closed an idle session (the library reported no error number)", None, None
        cat, auth = L.my_label(want)
        return cat, (auth + " (the server's condition; the library reported no error number)") if auth else None, None, None
    if fam == "redis":
        if case in R5_NET:
            return R5_NET[case] + (None, None)
        if case in R5_REDIS:
            cat, note = R5_REDIS[case]
            if R5_RESP[case] not in (msg or ""):
                return None, f"the reply {R5_RESP[case]} is not in the text", None, None
            pre = code if isinstance(code, str) and code.isupper() else None
            return cat, A_RESP + ": " + note, "redis" if pre else None, pre
    if fam == "http":
        if case.isdigit():
            cat, auth = L.HTTP[int(case)]
            return cat, auth, "http" if code else None, int(case) if code else None
        if case in R5_NET:
            return R5_NET[case] + (None, None)
        if case in R5_WS:
            return R5_WS[case] + ("http" if code else None, int(case[3:]) if code else None)
    if fam == "ssh":
        if case in R5_NET:
            return R5_NET[case] + (None, None)
        return R5_SSH.get("ssh-" + case, (None, None)) + (None, None)
    return None, None, None, None


def r5_record(r):
    src, key, msg = r.get("source"), r.get("key", ""), r.get("message")
    if not src or not key.startswith("r5-"):
        return
    cat, auth, dom, code = r5_label(key, r.get("code"), msg)
    if cat is None:
        print(f"capture: {src} {key}: no label for {r.get('code')!r} ({auth}): {msg!r:.140}", file=sys.stderr)
        return
    must = r5_must(key)
    # the local server's paths (/reset, /truncated, ...) name the scenario: they must not be what matches
    shown = re.sub(r"https?://\S+|/(?:reset|empty|truncated|loop|status/\d+)\b", "", (msg or "") + "\n" + (r.get("trace") or ""))
    if must and not re.search(must, shown, re.I):
        print(f"capture: {src} {key}: not the failure labelled: {msg!r:.200}", file=sys.stderr)
        return
    add(src, key, msg, cat, auth, domain=dom, code=code)
    if r.get("trace"):
        add(src, key, r["trace"], cat, auth)


# A network failure is kept only when the text shows it (a library that failed
# for another reason is skipped rather than mislabelled).
R5_MUST = {
    "refused": r"refused|ECONNREFUSED|2003|Can't connect|Couldn't connect|Cannot connect|Unable to connect|Connect call failed|Connection error|connect\(\)",
    "dns": r"resolve|getaddrinfo|ENOTFOUND|EAI_|not known|no such host|2005|name|lookup|DNS|Unknown server host|SocketError",
    "timeout": r"time.?out|timed out|ETIMEDOUT|deadline|system error: 110",
    "reset": r"reset|ECONNRESET|hang up|closed|EOF|aborted|disconnect|Connection|terminated",
    "empty": r"hang up|closed|EOF|empty|disconnect|Connection|reset|no response|terminated|Server",
    "truncated": r"premature|incomplete|content.length|EOF|closed|aborted|truncat|Payload|terminated|less|partial|hang|Connection",
    "tls-untrusted": r"certif|self.signed|SSL|TLS|verify|x509",
    "tls-expired": r"expired|certif|SSL|TLS|verify|x509",
    "tls-hostname": r"host|name|altname|match|certif|SSL|TLS|verify|x509",
    "ssl-required": r"SSL|TLS|encrypt",
    "pool-timeout": r"time.?out|timed out|deadline|not available|pool|acquire|queue limit|maximum size",
    "redirect-loop": r"redirect",
    "banner-timeout": r"time.?out|banner",
}


def r5_must(key):
    case = key.split("-", 2)[2] if key.count("-") >= 2 else ""
    return R5_MUST.get(case)


def r5_fixtures():
    if R5:
        return R5
    r4_fixtures()
    if not PG:
        pg_start()
    if not MY:
        my_start()
    cfg = {"http": BASE, "tls": TLSURL, "closed": CLOSED, "silent": SILENT, "dns": "r5.fl-capture.invalid",
           "ca": R4.get("ca"), "tls_expired": R4.get("tls_expired"), "tls_wronghost": R4.get("tls_wronghost")}
    if PG:
        run(["psql", "-h", PG["dir"], "-p", str(PG["port"]), "-U", "postgres", "-d", "fl", "-X", "-q", "-f", "-"],
            input=R5_PG_FIXTURE)
        import psycopg2
        holder = psycopg2.connect(host=PG["dir"], port=PG["port"], user="postgres", dbname="fl")
        holder.cursor().execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")
        CLEANUP.insert(0, holder.close)
        cfg["pg"] = {"host": "127.0.0.1", "port": PG["port"], "user": "postgres", "password": "", "db": "fl",
                     "socket": PG["dir"],
                     "cases": [{"case": c, "pre": pre, "sql": s} for c, pre, s, _ in R5_PG_CASES],
                     "conn": [{"case": "bad-password", "user": "alice", "password": "wrong", "db": "fl"},
                              {"case": "no-role", "user": "r5_nobody", "password": "x", "db": "fl"},
                              {"case": "no-database", "user": "postgres", "password": "", "db": "r5_nodb"},
                              {"case": "connection-limit", "user": "limited", "password": "lim", "db": "fl"},
                              {"case": "refused", "port": CLOSED}, {"case": "dns", "host": cfg["dns"]},
                              {"case": "timeout", "port": SILENT}, {"case": "ssl-required", "ssl": True}]}
    if MY:
        cli = shutil.which("mariadb") or shutil.which("mysql")
        run([cli, "--no-defaults", "-S", MY["sock"], "-u", "root"], input=R5_MY_FIXTURE)
        import pymysql
        holder = pymysql.connect(unix_socket=MY["sock"], user="root", database="fl", autocommit=False)
        holder.cursor().execute("SELECT * FROM held WHERE id = 1 FOR UPDATE")
        CLEANUP.insert(0, holder.close)
        cfg["my"] = {"host": "127.0.0.1", "port": MY["port"], "user": "r5", "password": "r5pw", "db": "fl",
                     "socket": MY["sock"],
                     "cases": [{"case": c, "pre": pre, "sql": s} for c, pre, s, _ in R5_MY_CASES],
                     "conn": [{"case": "bad-password", "user": "alice", "password": "wrong", "db": "fl"},
                              {"case": "no-database", "db": "r5_nodb"},
                              {"case": "permission", "user": "reader", "password": "rpw", "db": "fl", "sql": "SELECT * FROM acct"},
                              {"case": "refused", "port": CLOSED}, {"case": "dns", "host": cfg["dns"]},
                              {"case": "timeout", "port": SILENT}]}
    if have("redis-server"):
        P, A, M, R, M2, C = (free_port() for _ in range(6))
        redis_start(P)
        redis_start(A, "--requirepass", "sekret")
        redis_start(M, "--maxmemory", "1", "--maxmemory-policy", "noeviction")
        redis_start(R, "--replicaof", "127.0.0.1", str(CLOSED), "--replica-serve-stale-data", "yes")
        redis_start(M2, "--replicaof", "127.0.0.1", str(CLOSED), "--replica-serve-stale-data", "no")
        # the cluster bus port defaults to port + 10000, which a high private port would overflow
        redis_start(C, "--cluster-enabled", "yes", "--cluster-config-file", os.path.join(TMP, f"nodes-{C}.conf"),
                    "--cluster-port", str(free_port()))
        cli = ["redis-cli", "-h", "127.0.0.1", "-p", str(P)]
        run(cli + ["SET", "str", "hello"])
        run(cli + ["ACL", "SETUSER", "ro", "on", ">pw", "~*", "+get"])
        cfg["redis"] = {"P": P, "A": A, "M": M, "R": R, "M2": M2, "C": C, "password": "sekret"}
    R5.update(cfg)
    path = os.path.join(TMP, "r5.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    os.chmod(path, 0o644)
    R5["path"] = path
    return R5


def r5_npm():
    """The npm packages round 5 drives, installed into a temporary directory (never into the repository)."""
    if "npm" in R5:
        return R5["npm"]
    d = os.path.join(TMP, "npm")
    os.makedirs(d, exist_ok=True)
    rc, err, _ = run(["npm", "install", "--no-audit", "--no-fund", "--prefix", d, "pg@8", "mysql2@3", "ioredis@5",
                      "redis@4", "axios@1", "got@11", "node-fetch@2", "undici@6", "ws@8"], timeout=600)
    if rc != 0:
        print("capture: npm install failed: " + err[-400:], file=sys.stderr)
    R5["npm"] = os.path.join(d, "node_modules")
    return R5["npm"]


def _r5_client(cmd, timeout=900, **kw):
    for r in jsonl_client(cmd, timeout=timeout, **kw):
        r5_record(r)


def r5_python_capture():
    cfg = r5_fixtures()
    _r5_client(["/usr/bin/python3", os.path.join(HERE, "clients", "pyr5.py"), cfg["path"], TMP])


def r5_node_capture():
    cfg = r5_fixtures()
    env = dict(os.environ, NODE_PATH=r5_npm())
    _r5_client(["node", os.path.join(HERE, "clients", "noder5.js"), cfg["path"]], env=env)


def r5_ruby_capture():
    cfg = r5_fixtures()
    _r5_client(["ruby", os.path.join(HERE, "clients", "rubyr5.rb"), cfg["path"]])


def r5_php_capture():
    cfg = r5_fixtures()
    _r5_client(["php", os.path.join(HERE, "clients", "phpr5.php"), cfg["path"]])


def r5_perl_capture():
    cfg = r5_fixtures()
    _r5_client(["perl", os.path.join(HERE, "clients", "perlr5.pl"), cfg["path"]])


def r5_go_capture():
    cfg = r5_fixtures()
    d = os.path.join(TMP, "gor5")
    os.makedirs(d, exist_ok=True)
    shutil.copy(os.path.join(HERE, "clients", "gor5.go"), os.path.join(d, "main.go"))
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOCACHE=os.path.join(TMP, "gocache"),
               GOFLAGS="")
    rc, err, _ = run(["go", "build", "-o", os.path.join(d, "gor5"), os.path.join(d, "main.go")], timeout=600, env=env)
    if rc != 0:
        print("capture: gor5 build failed: " + err[-600:], file=sys.stderr)
        return
    _r5_client([os.path.join(d, "gor5"), cfg["path"]])


def r5_java_capture():
    cfg = r5_fixtures()
    jars = [java_cp(g) for g in ("/usr/share/java/HikariCP.jar", "/usr/share/java/slf4j-api.jar",
                                 "/usr/share/java/slf4j-nop.jar", "/usr/share/java/postgresql.jar",
                                 "/usr/share/java/mariadb-java-client.jar")]
    if None in jars or not have("java"):
        print("capture: r5 java: missing jars", file=sys.stderr)
        return
    _r5_client(["java", "-cp", ":".join(jars), os.path.join(HERE, "clients", "JavaR5.java"), cfg["path"]])


# ------------------------------------------------------------------ main
STEPS = [v for k, v in list(globals().items())
         if k.endswith("_capture") and callable(v) and v.__code__.co_argcount == 0]


def merge_existing():
    """Steps named on the command line add to OUTDIR instead of replacing it:
    a source's file keeps its events as they are, and only the events of
    scenario keys it does not hold yet are appended (a recaptured scenario
    would differ in paths and timings, not in what it tests)."""
    for source in list(events):
        path = os.path.join(OUTDIR, source + ".jsonl")
        if not os.path.exists(path):
            continue
        old = [json.loads(line) for line in open(path) if line.strip()]
        keys = {e["key"] for e in old}
        new = [e for e in events[source] if e["key"] not in keys]
        print(f"capture: {source}: {len(old)} kept, {len(new)} added", file=sys.stderr)
        events[source] = old + new


def main():
    # Debian's programs first (a pyenv/npm/local install earlier on PATH is not
    # what the corpus documents).
    os.environ["PATH"] = SAFE_PATH + ":" + os.environ.get("PATH", "")
    global ROUND
    args = sys.argv[2:]
    if args[:1] == ["--round"]:
        ROUND = int(args[1])
        args = args[2:]
    only = set(args)
    try:
        for step in STEPS:
            name = step.__name__[:-8]
            if only and name not in only:
                continue
            t = time.time()
            try:
                step()
            except Exception as e:  # a step that breaks must not lose the others
                import traceback
                print(f"capture: step {name} failed: {e}\n{traceback.format_exc()}", file=sys.stderr)
            print(f"capture: {name}: {time.time() - t:.1f}s", file=sys.stderr)
    finally:
        for f in CLEANUP:
            f()
        pg_stop()
        my_stop()
        for p in RD.get("procs", []):
            p.kill()
    os.makedirs(OUTDIR, exist_ok=True)
    if only:
        merge_existing()
    total = 0
    for source, evs in sorted(events.items()):
        with open(os.path.join(OUTDIR, source + ".jsonl"), "w") as f:
            for e in evs:
                f.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")
        total += len(evs)
    mo = sum(1 for evs in events.values() for e in evs if set(e["event"]) == {"message"})
    ho = sum(1 for evs in events.values() for e in evs if e["split"] == "heldout")
    print(f"capture: {total} events from {len(events)} sources; {mo} message-only; {ho} held out",
          file=sys.stderr)
    shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    main()
