"""Round-4 Python standard-library failures for capture.py:
python3 pyr4.py TMPDIR HTTPBASE CLOSEDPORT SILENTPORT TLSURL R4JSON

R4JSON: the round-4 fixtures (a CA file, TLS servers with an expired cert, a
cert for another host, one that demands a client cert, one that speaks only
TLS 1.3; a full tmpfs, a read-only tmpfs; a local SMTP and FTP responder).
One JSON object per failure on stdout: key, message (the last line of the
traceback), every other one with the whole trace, errno name when an OSError
carries one.
"""
import json, os, sys, socket, traceback
tmp, base, closed, silent, tlsurl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
R4 = json.loads(sys.argv[6])
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


import asyncio, concurrent.futures, csv, decimal, email.utils, fcntl, ftplib, io, mmap, pathlib, resource
import shutil, smtplib, sqlite3, ssl, subprocess, tarfile, urllib.request, uuid, zipfile, zlib
import xml.etree.ElementTree as ET, ipaddress, http.client, select, array, fractions, datetime

p = lambda *a: os.path.join(tmp, *a)  # noqa: E731
open(p("f.txt"), "w").write("hello\n" * 100)
os.makedirs(p("d", "sub"), exist_ok=True)


def urlget(path):
    return urllib.request.urlopen(base + path, timeout=5)


for st in R4["http"]:
    case(f"r4-urllib-{st}", lambda st=st: urlget(f"/status/{st}"))

# ---- TLS against local openssl s_server instances
def tls(port, ctx=None, host="localhost"):
    ctx = ctx or ssl.create_default_context(cafile=R4["ca"])
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t = ctx.wrap_socket(s, server_hostname=host)
    t.sendall(b"GET / HTTP/1.0\r\n\r\n")
    t.recv(100)
    t.recv(100)


def tls12():
    c = ssl.create_default_context(cafile=R4["ca"])
    c.maximum_version = ssl.TLSVersion.TLSv1_2
    return c


case("r4-tls-expired", lambda: tls(R4["tls_expired"]))
case("r4-tls-hostname", lambda: tls(R4["tls_wronghost"]))
case("r4-tls-client-cert", lambda: tls(R4["tls_clientcert"]))
case("r4-tls-version", lambda: tls(R4["tls_13only"], tls12()))
case("r4-tls-untrusted-ca", lambda: tls(R4["tls_ok"], ssl.create_default_context()))
case("r4-urllib-tls-expired", lambda: urllib.request.urlopen(f"https://localhost:{R4['tls_expired']}/", timeout=5,
                                                                context=ssl.create_default_context(cafile=R4["ca"])))
case("r4-ssl-load-missing-cert", lambda: ssl.create_default_context().load_cert_chain(p("nope.pem")))
case("r4-ssl-load-garbage-cert", lambda: (open(p("g.pem"), "w").write("garbage"), ssl.create_default_context().load_cert_chain(p("g.pem"))))

# ---- SMTP and FTP against local responders that refuse
def smtp_send(port, user=None):
    s = smtplib.SMTP("127.0.0.1", port, timeout=5)
    if user:
        s.login(user, "wrong")
    s.sendmail("a@fl-capture.test", ["nobody@fl-capture.test"], "Subject: x\r\n\r\nhi\r\n")


for k, port in sorted(R4["smtp"].items()):
    case(f"r4-smtp-{k}", lambda port=port, k=k: smtp_send(port, "bob" if k == "535" else None))
case("r4-smtp-refused", lambda: smtplib.SMTP("127.0.0.1", closed, timeout=5))
case("r4-smtp-disconnected", lambda: smtplib.SMTP(timeout=5).ehlo())
for k, port in sorted(R4["ftp"].items()):
    def ftp(port=port, k=k):
        f = ftplib.FTP(timeout=5)
        f.connect("127.0.0.1", port)
        f.login("bob", "wrong")
        f.retrbinary("RETR missing.txt", lambda b: None)
    case(f"r4-ftp-{k}", ftp)

# ---- file systems: a full tmpfs, a read-only tmpfs, ETXTBSY, ELOOP, EMLINK-ish, E2BIG
if R4.get("full"):
    def fill():
        with open(os.path.join(R4["full"], "py-big"), "wb") as f:
            for _ in range(200):
                f.write(b"x" * 4096)
                f.flush()
    case("r4-tmpfs-enospc", fill)
    case("r4-tmpfs-mkdir-enospc", lambda: [os.mkdir(os.path.join(R4["full"], "py-d%d" % i)) for i in range(100000)])
if R4.get("ro"):
    case("r4-erofs-open", lambda: open(os.path.join(R4["ro"], "x.txt"), "w"))
    case("r4-erofs-mkdir", lambda: os.mkdir(os.path.join(R4["ro"], "d")))
    case("r4-erofs-unlink", lambda: os.unlink(os.path.join(R4["ro"], "keep.txt")))
os.symlink(p("loop2"), p("loop1"))
os.symlink(p("loop1"), p("loop2"))
case("r4-eloop-open", lambda: open(p("loop1")))
case("r4-eloop-stat", lambda: os.stat(p("loop1", "x")))
exe = p("busy.sh")
wf = open(exe, "w")
wf.write("#!/bin/sh\necho hi\n")
wf.flush()
os.chmod(exe, 0o755)
case("r4-etxtbsy", lambda: subprocess.run([exe]))
wf.close()
case("r4-e2big", lambda: subprocess.run(["/bin/true", "x" * (200 * 1024)]))
case("r4-e2big-many", lambda: subprocess.run(["/bin/true"] + ["y" * 1000] * 3000))
case("r4-name-too-long-component", lambda: open(p("n" * 300), "w"))
case("r4-rmdir-dot", lambda: os.rmdir(p("d", ".")))
case("r4-rename-dir-into-sub", lambda: os.rename(p("d"), p("d", "sub", "x")))
case("r4-link-exists", lambda: os.link(p("f.txt"), p("f.txt")))
case("r4-symlink-exists", lambda: os.symlink("x", p("f.txt")))
case("r4-open-dir-write", lambda: open(p("d"), "w"))
case("r4-listdir-file", lambda: os.listdir(p("f.txt")))
case("r4-chdir-file", lambda: os.chdir(p("f.txt")))
case("r4-rename-file-over-dir", lambda: os.rename(p("f.txt"), p("d")))
case("r4-truncate-negative", lambda: os.truncate(p("f.txt"), -1))
case("r4-lseek-pipe", lambda: os.lseek(os.pipe()[0], 10, 0))
case("r4-setxattr-proc", lambda: os.setxattr("/proc/self/status", "user.x", b"1"))
case("r4-getxattr-missing", lambda: os.getxattr(p("f.txt"), "user.fl_capture_nosuch"))
case("r4-read-dir", lambda: os.read(os.open(p("d"), os.O_RDONLY), 10))
case("r4-write-rdonly-fd", lambda: os.write(os.open(p("f.txt"), os.O_RDONLY), b"x"))
case("r4-dup2-bad", lambda: os.dup2(987, 988))
case("r4-waitpid-nochild", lambda: os.waitpid(1, 0))
case("r4-killpg-missing", lambda: os.killpg(999999, 0))
case("r4-access-eacces-proc", lambda: open("/proc/1/environ"))
case("r4-unlink-root-owned", lambda: os.unlink("/etc/hostname"))
case("r4-utime-permission", lambda: os.utime("/etc/hostname", (0, 0)))
case("r4-mkfifo-exists", lambda: os.mkfifo(p("f.txt")))
case("r4-mknod-permission", lambda: os.mknod(p("dev"), 0o600 | 0o020000, os.makedev(1, 3)))
case("r4-flock-held", lambda: (fcntl.flock(open(p("f.txt")), fcntl.LOCK_EX), fcntl.flock(open(p("f.txt")), fcntl.LOCK_EX | fcntl.LOCK_NB)))
case("r4-mmap-empty", lambda: (open(p("empty"), "w").close(), mmap.mmap(os.open(p("empty"), os.O_RDONLY), 0, prot=mmap.PROT_READ)))
case("r4-select-bad-fd", lambda: select.select([4000], [], [], 0))
# ---- sockets
case("r4-bind-privileged", lambda: socket.socket().bind(("127.0.0.1", 81)))
case("r4-unix-refused", lambda: (lambda s: (s.bind(p("u.sock")), socket.socket(socket.AF_UNIX).connect(p("u.sock"))))(socket.socket(socket.AF_UNIX)))
case("r4-unix-path-too-long", lambda: socket.socket(socket.AF_UNIX).connect("/tmp/" + "u" * 200))
case("r4-udp-sendto-refused", lambda: (lambda s: (s.connect(("127.0.0.1", closed)), s.send(b"x"), s.settimeout(2), s.recv(10)))(socket.socket(socket.AF_INET, socket.SOCK_DGRAM)))
case("r4-getservbyname", lambda: socket.getservbyname("fl-capture-nosuch", "tcp"))
case("r4-inet-aton", lambda: socket.inet_aton("300.1.2.3"))
case("r4-recv-reset", lambda: (lambda s: (s.sendall(b"GET /reset HTTP/1.0\r\n\r\n"), s.recv(10), s.recv(10)))(socket.create_connection(("127.0.0.1", int(base.rsplit(":", 1)[1])), timeout=5)))
case("r4-http-client-remote-disconnected", lambda: (lambda c: (c.request("GET", "/empty"), c.getresponse()))(http.client.HTTPConnection("127.0.0.1", int(base.rsplit(":", 1)[1]), timeout=5)))
case("r4-http-client-timeout", lambda: (lambda c: (c.request("GET", "/"), c.getresponse()))(http.client.HTTPConnection("127.0.0.1", silent, timeout=1)))
# ---- asyncio and concurrent.futures
async def a_refused():
    await asyncio.open_connection("127.0.0.1", closed)


async def a_incomplete():
    r, w = await asyncio.open_connection("127.0.0.1", int(base.rsplit(":", 1)[1]))
    w.write(b"GET /empty HTTP/1.0\r\n\r\n")
    await r.readexactly(100)


async def a_invalid_state():
    f = asyncio.get_running_loop().create_future()
    f.result()


async def a_queue_empty():
    asyncio.Queue().get_nowait()


async def a_gather_cancel():
    t = asyncio.ensure_future(asyncio.sleep(5))
    asyncio.get_running_loop().call_later(0.1, t.cancel)
    await t


async def a_dns():
    await asyncio.open_connection("db.fl-capture.invalid", 5432)


async def a_limit():
    r = asyncio.StreamReader(limit=10)
    r.feed_data(b"x" * 100 + b"\n")
    await r.readline()


case("r4-asyncio-refused", lambda: asyncio.run(a_refused()))
case("r4-asyncio-incomplete-read", lambda: asyncio.run(a_incomplete()))
case("r4-asyncio-invalid-state", lambda: asyncio.run(a_invalid_state()))
case("r4-asyncio-task-cancelled", lambda: asyncio.run(a_gather_cancel()))
case("r4-asyncio-dns", lambda: asyncio.run(a_dns()))


def boom():
    raise RuntimeError("worker failed while processing batch 7")


case("r4-futures-cancelled", lambda: (lambda f: (f.cancel(), f.result()))(concurrent.futures.Future()))
case("r4-futures-shutdown", lambda: (lambda ex: (ex.shutdown(), ex.submit(print)))(concurrent.futures.ThreadPoolExecutor(1)))
# ---- sqlite3
db = sqlite3.connect(p("r4.db"), timeout=0.2)
db.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT) STRICT; INSERT INTO t VALUES (1, 'a');")
db.commit()
case("r4-sqlite-datatype-mismatch", lambda: db.execute("INSERT INTO t VALUES ('abc', 'x')"))
case("r4-sqlite-no-function", lambda: db.execute("SELECT no_such_fn(1)"))
case("r4-sqlite-too-many-terms", lambda: db.execute("SELECT " + "+".join(["1"] * 1100)))
case("r4-sqlite-bindings", lambda: db.execute("SELECT ?", (1, 2)))
case("r4-sqlite-too-big", lambda: (db.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1000), db.execute("SELECT ?", ("x" * 5000,))))
case("r4-sqlite-interrupted", lambda: (lambda c: (c.set_progress_handler(lambda: 1, 10), c.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r LIMIT 100000) SELECT count(*) FROM r").fetchall()))(sqlite3.connect(":memory:")))
open(p("corrupt.db"), "wb").write(open(p("r4.db"), "rb").read()[:100] + b"\x00" * 4000)
case("r4-sqlite-corrupt", lambda: sqlite3.connect(p("corrupt.db")).execute("SELECT * FROM t").fetchall())
case("r4-sqlite-cannot-commit-no-tx", lambda: sqlite3.connect(":memory:").execute("COMMIT"))
case("r4-sqlite-attach-missing-dir", lambda: db.execute(f"ATTACH '{p('nope', 'x.db')}' AS x"))
case("r4-sqlite-drop-missing", lambda: db.execute("DROP TABLE nope"))
case("r4-sqlite-readonly-uri", lambda: sqlite3.connect(f"file:{p('r4.db')}?mode=ro", uri=True).execute("INSERT INTO t VALUES (2, 'b')"))
case("r4-sqlite-programming-closed-cursor", lambda: (lambda c: (c.close(), c.execute("SELECT 1")))(db.cursor()))
# ---- archives and formats
zb = io.BytesIO()
with zipfile.ZipFile(zb, "w") as z:
    z.writestr("a.txt", "x" * 100)
case("r4-zipfile-member-missing", lambda: zipfile.ZipFile(io.BytesIO(zb.getvalue())).read("missing.txt"))
case("r4-zipfile-closed", lambda: (lambda z: (z.close(), z.read("a.txt")))(zipfile.ZipFile(io.BytesIO(zb.getvalue()))))
case("r4-zipfile-bad-mode", lambda: zipfile.ZipFile(io.BytesIO(), "q"))
tb = io.BytesIO()
with tarfile.open(fileobj=tb, mode="w:gz") as t:
    ti = tarfile.TarInfo("a.txt")
    ti.size = 3
    t.addfile(ti, io.BytesIO(b"abc"))
case("r4-tarfile-member-missing", lambda: tarfile.open(fileobj=io.BytesIO(tb.getvalue())).getmember("missing.txt"))
case("r4-tarfile-truncated-gz", lambda: tarfile.open(fileobj=io.BytesIO(tb.getvalue()[:30]), mode="r:gz").getmembers())
case("r4-tarfile-bad-compression", lambda: tarfile.open(p("x.tar"), "w:nope"))
csv.field_size_limit(100)
case("r4-csv-field-limit", lambda: list(csv.reader(io.StringIO("a," + "x" * 500 + "\n"))))
case("r4-csv-strict-quote", lambda: list(csv.reader(io.StringIO('a,"b"c\n'), strict=True)))
case("r4-csv-unknown-dialect", lambda: csv.get_dialect("fl-capture"))
case("r4-etree-unclosed", lambda: ET.fromstring("<a><b></a>"))
case("r4-etree-junk-after", lambda: ET.fromstring("<a/><b/>"))
case("r4-etree-undefined-entity", lambda: ET.fromstring("<a>&nope;</a>"))
case("r4-etree-parse-missing-file", lambda: ET.parse(p("missing.xml")))
case("r4-email-parsedate", lambda: email.utils.parsedate_to_datetime("not a date"))
case("r4-decimal-invalid-op", lambda: decimal.Decimal("abc"))
case("r4-decimal-overflow", lambda: decimal.Context(Emax=10, traps=[decimal.Overflow]).multiply(decimal.Decimal("9e10"), 10))
case("r4-ipaddress-v6", lambda: ipaddress.IPv6Address("2001:db8::g"))
case("r4-ipaddress-prefix", lambda: ipaddress.ip_network("10.0.0.0/33"))
case("r4-uuid-bad-hex", lambda: uuid.UUID("12345678-1234-1234-1234-1234567890zz"))
case("r4-uuid-bytes-len", lambda: uuid.UUID(bytes=b"short"))
case("r4-shutil-copytree-exists", lambda: shutil.copytree(p("d"), p("d")))
case("r4-shutil-rmtree-file", lambda: shutil.rmtree(p("f.txt")))
case("r4-shutil-disk-usage-missing", lambda: shutil.disk_usage(p("nope")))
case("r4-shutil-unpack-unknown", lambda: shutil.unpack_archive(p("f.txt"), p("out")))
case("r4-shutil-make-archive-format", lambda: shutil.make_archive(p("a"), "rar", p("d")))
case("r4-subprocess-cwd-missing", lambda: subprocess.run(["/bin/true"], cwd=p("nope")))
case("r4-subprocess-called-process-error", lambda: subprocess.run(["/bin/sh", "-c", "echo fail >&2; exit 3"], check=True, capture_output=True))
case("r4-subprocess-signal", lambda: subprocess.run(["/bin/sh", "-c", "kill -9 $$"], check=True))
case("r4-pathlib-relative", lambda: pathlib.Path("/a/b").relative_to("/c"))
case("r4-pathlib-with-suffix", lambda: pathlib.Path("/a/b").with_suffix("txt"))
case("r4-zlib-bad-wbits", lambda: zlib.decompressobj(wbits=99))
case("r4-zlib-stream-error", lambda: zlib.decompress(zlib.compress(b"abc" * 100), bufsize=-1))
case("r4-array-typecode", lambda: array.array("Q", [-1]))
case("r4-fraction-nan", lambda: fractions.Fraction(float("nan")))
case("r4-datetime-tz-naive", lambda: datetime.datetime.now() < datetime.datetime.now(datetime.timezone.utc))
case("r4-datetime-year-zero", lambda: datetime.date(0, 1, 1))
# last: these limits stay for the rest of the process
case("r4-fork-nproc", lambda: (resource.setrlimit(resource.RLIMIT_NPROC, (0, 0)), subprocess.run(["/bin/true"])))
case("r4-emfile-pipe", lambda: (resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64)), [os.pipe() for _ in range(100)]))
