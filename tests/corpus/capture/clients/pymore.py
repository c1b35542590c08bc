"""More Python standard-library failures for capture.py:
python3 pymore.py TMPDIR HTTPBASE CLOSEDPORT SILENTPORT TLSURL

One JSON object per failure on stdout: key, message (the last line of the
traceback), every other one with the whole trace, errno name when an OSError
carries one.
"""
import json, os, sys, socket, traceback
tmp, base, closed, silent, tlsurl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
n = 0


def case(key, fn):
    global n
    try:
        fn()
    except BaseException as e:
        o = {"key": key, "message": traceback.format_exception_only(type(e), e)[-1].rstrip("\n")}
        if n % 2 == 0:
            o["trace"] = traceback.format_exc().rstrip("\n")
        if isinstance(e, OSError) and e.errno:
            import errno
            o["errno"] = errno.errorcode.get(e.errno)
        print(json.dumps(o), flush=True)
    n += 1


def raise_(e):
    raise e


import array, ast, asyncio, base64, bz2, calendar, datetime, decimal, email.header, fractions, getopt, gzip
import hashlib, http.client, http.cookies, io, ipaddress, lzma, pickle, plistlib, re, resource, shutil, signal
import sqlite3, statistics, struct, tarfile, tempfile, threading, urllib.parse, urllib.request, wave, zipfile
import argparse, xml.dom.minidom, xml.etree.ElementTree as ET, importlib, pwd, grp
try:
    import tomllib
except ImportError:
    tomllib = None
try:
    import zoneinfo
except ImportError:
    zoneinfo = None

p = lambda *a: os.path.join(tmp, *a)  # noqa: E731
open(p("f.txt"), "w").write("hello\n" * 100)
os.makedirs(p("d", "sub"), exist_ok=True)
raw = ("hello world " * 500).encode()
gz = bytearray(gzip.compress(raw))
gz[-6] ^= 0xFF
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("a.txt", raw)
zb = bytearray(zbuf.getvalue())
zb[100] ^= 0xFF


def urlget(path):
    return urllib.request.urlopen(base + path, timeout=5)


for st in (400, 405, 408, 409, 410, 412, 413, 415, 416, 422, 501, 502, 504, 507):
    case(f"urllib-{st}", lambda st=st: urlget(f"/status/{st}"))
case("urllib-redirect-loop", lambda: urlget("/loop"))
case("urllib-unknown-scheme", lambda: urllib.request.urlopen("gopherx://x/"))
case("urllib-file-missing", lambda: urllib.request.urlopen("file:///nonexistent/fl-capture"))
case("http-client-invalid-url", lambda: http.client.HTTPConnection("127.0.0.1:abc"))
case("ssl-wrong-version", lambda: __import__("ssl").create_default_context().wrap_socket(socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=3), server_hostname="fl-capture.test"))
case("bind-in-use", lambda: socket.socket().bind(("127.0.0.1", silent)))
case("zipfile-crc", lambda: zipfile.ZipFile(io.BytesIO(bytes(zb))).read("a.txt"))
case("gzip-crc", lambda: gzip.decompress(bytes(gz)))
case("lzma-truncated", lambda: lzma.decompress(lzma.compress(raw)[:40]))
case("bz2-truncated", lambda: bz2.decompress(bz2.compress(raw)[:40]))
if zoneinfo:
    case("zoneinfo", lambda: zoneinfo.ZoneInfo("Nowhere/Capture_City"))
case("import-module", lambda: importlib.import_module("fl_capture_no_such_module"))
case("statistics-empty", lambda: statistics.mean([]))
case("json-encode", lambda: json.dumps({"when": object()}))
case("decimal-div", lambda: decimal.Decimal(1) / decimal.Decimal(0))
case("int-digits", lambda: int("9" * 5000))
case("fromtimestamp", lambda: datetime.datetime.fromtimestamp(1e20))
case("chr-range", lambda: chr(0x110000))
case("pop-empty", lambda: [].pop())
case("popitem-empty", lambda: {}.popitem())
case("set-remove", lambda: set().remove("session-7"))
case("str-index", lambda: "abc".index("z"))
case("list-remove", lambda: [1].remove(2))
case("getpwnam", lambda: pwd.getpwnam("fl-capture-nosuchuser"))
case("getgrnam", lambda: grp.getgrnam("fl-capture-nosuchgroup"))
case("plistlib", lambda: plistlib.loads(b"this is not a plist"))
case("wave", lambda: wave.open(io.BytesIO(b"this is not a wave file at all")))
if tomllib:
    case("toml-duplicate", lambda: tomllib.loads("a = 1\na = 2\n"))
case("ip-network-host-bits", lambda: ipaddress.ip_network("10.0.0.1/24"))
case("utf16-truncated", lambda: b"\x00".decode("utf-16-le"))
case("surrogate", lambda: "\ud800".encode("utf-8"))
case("struct-format", lambda: struct.pack("<Z", 1))
case("regex-lookbehind", lambda: re.compile(r"(?<=a+)b"))
case("regex-unbalanced", lambda: re.compile(r"a)"))
case("sqlite-readonly", lambda: (lambda c: c.execute("CREATE TABLE t (x)"))(sqlite3.connect("file:" + p("ro.db") + "?mode=ro", uri=True)) if (sqlite3.connect(p("ro.db")).execute("CREATE TABLE IF NOT EXISTS u (x)") or True) else None)


def sqlite_locked():
    a = sqlite3.connect(p("lock.db"), isolation_level=None)
    a.execute("CREATE TABLE IF NOT EXISTS t (x)")
    a.execute("BEGIN EXCLUSIVE")
    b = sqlite3.connect(p("lock.db"), timeout=0.05)
    b.execute("INSERT INTO t VALUES (1)")


case("sqlite-locked", sqlite_locked)
mem = sqlite3.connect(":memory:")
mem.execute("PRAGMA foreign_keys=ON")
mem.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
mem.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, p INT NOT NULL REFERENCES p(id), n INT CHECK (n >= 0))")
case("sqlite-fk", lambda: mem.execute("INSERT INTO c VALUES (1, 42, 1)"))
case("sqlite-notnull", lambda: mem.execute("INSERT INTO c VALUES (2, NULL, 1)"))
case("sqlite-check", lambda: (mem.execute("INSERT INTO p VALUES (1)"), mem.execute("INSERT INTO c VALUES (3, 1, -5)")))
case("sqlite-no-column", lambda: mem.execute("SELECT nosuch FROM p"))
case("sqlite-cantopen", lambda: sqlite3.connect(p("nope", "x.db")))
case("sqlite-closed", lambda: (lambda c: (c.close(), c.execute("SELECT 1")))(sqlite3.connect(":memory:")))
case("file-closed", lambda: (lambda f: (f.close(), f.read()))(open(p("f.txt"))))
case("thread-twice", lambda: (lambda t: (t.start(), t.start()))(threading.Thread(target=lambda: None)))
case("lock-release", lambda: threading.Lock().release())
case("dict-changed", lambda: (lambda d: [d.pop(k) for k in d])({"a": 1, "b": 2}))
case("loop-closed", lambda: (lambda lp: (lp.close(), lp.run_until_complete(asyncio.sleep(0))))(asyncio.new_event_loop()))
case("setuid", lambda: os.setuid(0))
case("chown", lambda: os.chown("/etc/hostname", 0, 0) if os.geteuid() else raise_(PermissionError(1, "Operation not permitted", "/etc/hostname")))
case("readlink-regular", lambda: os.readlink(p("f.txt")))


def emfile():
    resource.setrlimit(resource.RLIMIT_NOFILE, (16, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    fs = []
    try:
        for _ in range(64):
            fs.append(open(p("f.txt")))
    finally:
        for f in fs:
            f.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def efbig():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024, old[1]))
    try:
        with open(p("big.bin"), "wb", buffering=0) as f:
            f.write(b"x" * 4096)
            f.write(b"x" * 4096)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)


case("emfile", emfile)
case("efbig", efbig)
case("move-into-itself", lambda: shutil.move(p("d"), p("d", "sub")))
case("same-file", lambda: shutil.copy(p("f.txt"), p("f.txt")))
case("hash-unsupported", lambda: hashlib.new("fl-capture-hash"))
case("error-handler", lambda: "x".encode("utf-8", "fl-capture-handler"))
case("calendar-month", lambda: calendar.monthrange(2024, 13))
case("time-hour", lambda: datetime.time(25))
case("timedelta-overflow", lambda: datetime.timedelta(days=10 ** 9))
case("float-pow-overflow", lambda: 10.0 ** 400)
case("to-bytes", lambda: (300).to_bytes(1, "big"))
case("array-overflow", lambda: array.array("b", [300]))
case("xml-entity", lambda: ET.fromstring("<a>&nosuch;</a>"))
case("minidom", lambda: xml.dom.minidom.parseString("<order><id>1</order>"))
case("json-extra-data", lambda: json.loads('{"a": 1} {"b": 2}'))
case("literal-eval", lambda: ast.literal_eval("__import__('os').getcwd()"))
case("compile-syntax", lambda: compile("def (:", "<rule>", "exec"))
case("int-base", lambda: int("z", 37))
case("fromhex", lambda: bytes.fromhex("zz"))
case("fraction-parse", lambda: fractions.Fraction("1/x"))
case("complex-parse", lambda: complex("1+"))
case("netloc-nfkc", lambda: urllib.parse.urlsplit("http://a\uff03b/"))
case("cookie-key", lambda: http.cookies.SimpleCookie().__setitem__("bad key", "v"))
case("header-charset", lambda: email.header.Header("x", "fl-capture-charset"))
case("getopt", lambda: getopt.getopt(["--frobnicate"], "", ["verbose"]))


def argparse_bad():
    ap = argparse.ArgumentParser(exit_on_error=False)
    ap.add_argument("--workers", type=int)
    ap.parse_args(["--workers", "many"])


case("argparse", argparse_bad)
case("pickle-local", lambda: pickle.dumps(lambda: 0))
