"""Python runtime failures for capture.py: python3 pyrt.py TMPDIR HTTPBASE CLOSEDPORT SILENTPORT TLSURL"""
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


def nest(depth):
    return nest(depth + 1)


import urllib.request, urllib.error, json as J, decimal, struct, re, zlib, gzip, zipfile, tarfile, io
import datetime, math, ipaddress, base64, binascii, csv, configparser, shlex, subprocess, sqlite3
import http.client, ssl, uuid, fractions, xml.etree.ElementTree as ET, codecs, locale, pickle, asyncio
import lzma, bz2, urllib.parse, time, queue, concurrent.futures
try:
    import tomllib
except ImportError:
    tomllib = None
case("zero-division", lambda: 1 / 0)
case("int-parse", lambda: int("12a"))
case("float-parse", lambda: float("abc"))
case("key-error", lambda: {"a": 1}["user_id"])
case("index-error", lambda: [1, 2, 3][7])
case("file-not-found", lambda: open(os.path.join(tmp, "missing.txt")))
case("is-a-directory", lambda: open(tmp).read())
case("not-a-directory", lambda: open("/etc/hostname/x"))
case("permission", lambda: open("/etc/shadow"))
case("permission-write", lambda: open("/etc/fl-capture.conf", "w"))
case("file-exists", lambda: os.mkdir(tmp))
case("dir-not-empty", lambda: os.rmdir(os.path.join(tmp, "full")))
case("json-decode", lambda: J.loads('{"a": 1,'))
case("json-decode-empty", lambda: J.loads(""))
case("connection-refused", lambda: socket.create_connection(("127.0.0.1", closed), timeout=3))
case("dns", lambda: socket.getaddrinfo("api.fl-capture.invalid", 443))
case("socket-timeout", lambda: socket.create_connection(("127.0.0.1", silent), timeout=0.3).recv(1))
case("urllib-404", lambda: urllib.request.urlopen(base + "/status/404"))
case("urllib-500", lambda: urllib.request.urlopen(base + "/status/500"))
case("urllib-503", lambda: urllib.request.urlopen(base + "/status/503"))
case("urllib-429", lambda: urllib.request.urlopen(base + "/status/429"))
case("urllib-401", lambda: urllib.request.urlopen(base + "/status/401"))
case("urllib-403", lambda: urllib.request.urlopen(base + "/status/403"))
case("urllib-refused", lambda: urllib.request.urlopen("http://127.0.0.1:%d/" % closed, timeout=3))
case("urllib-dns", lambda: urllib.request.urlopen("http://api.fl-capture.invalid/", timeout=3))
case("urllib-timeout", lambda: urllib.request.urlopen(base + "/sleep", timeout=0.5))
case("urllib-tls", lambda: urllib.request.urlopen(tlsurl, timeout=3))
case("urllib-empty", lambda: urllib.request.urlopen(base + "/empty", timeout=3))
case("urllib-reset", lambda: urllib.request.urlopen(base + "/reset", timeout=3).read())
case("urllib-truncated", lambda: urllib.request.urlopen(base + "/truncated", timeout=3).read())
case("urllib-bad-url", lambda: urllib.request.urlopen("htp//nowhere"))
case("recursion", lambda: nest(0))
case("attribute", lambda: None.send())
case("name-error", lambda: undefined_helper())  # noqa: F821
case("type-error", lambda: "total: " + 5)
case("type-args", lambda: len(1, 2))
case("module-not-found", lambda: __import__("fl_capture_nonexistent_module"))
case("decimal", lambda: decimal.Decimal("1,5"))
case("struct", lambda: struct.unpack("<I", b"\x00\x01"))
case("regex", lambda: re.compile("(unclosed"))
case("regex-repeat", lambda: re.compile("a**"))
case("zlib", lambda: zlib.decompress(b"not compressed data"))
case("zlib-truncated", lambda: zlib.decompress(zlib.compress(b"hello world" * 100)[:20]))
case("gzip-bad", lambda: gzip.decompress(b"plain text, not gzip"))
case("gzip-truncated", lambda: gzip.decompress(gzip.compress(b"hello world" * 100)[:30]))
case("zip-bad", lambda: zipfile.ZipFile(io.BytesIO(b"not a zip file at all")))
case("tar-bad", lambda: tarfile.open(fileobj=io.BytesIO(b"not a tar archive" * 40)))
case("lzma-bad", lambda: lzma.decompress(b"not xz data"))
case("bz2-bad", lambda: bz2.decompress(b"not bz2 data"))
case("unicode-decode", lambda: b"\xff\xfe\xfa".decode("utf-8"))
case("unicode-encode", lambda: "caf\u00e9".encode("ascii"))
case("date-range", lambda: datetime.date(2024, 13, 1))
case("strptime", lambda: datetime.datetime.strptime("2024/01/01", "%Y-%m-%d"))
case("fromiso", lambda: datetime.datetime.fromisoformat("yesterday"))
case("math-domain", lambda: math.sqrt(-1))
case("math-range", lambda: math.exp(1000))
case("overflow", lambda: float(10 ** 400))
case("ip", lambda: ipaddress.ip_address("300.1.1.1"))
case("base64", lambda: base64.b64decode("abc", validate=True))
case("hex", lambda: binascii.unhexlify("zz"))
case("uuid", lambda: uuid.UUID("not-a-uuid"))
case("fraction", lambda: fractions.Fraction(1, 0))
case("xml", lambda: ET.fromstring("<a><b></a>"))
case("codec", lambda: codecs.lookup("no-such-codec"))
case("locale", lambda: locale.setlocale(locale.LC_ALL, "xx_YY.UTF-8"))
case("pickle", lambda: pickle.loads(b"garbage"))
case("configparser", lambda: configparser.ConfigParser().read_string("no section header"))
case("shlex", lambda: shlex.split('echo "unterminated'))
case("subprocess-missing", lambda: subprocess.run(["fl-capture-no-such-binary"]))
case("subprocess-check", lambda: subprocess.run(["false"], check=True))
case("subprocess-timeout", lambda: subprocess.run(["sleep", "5"], timeout=0.2))
case("sqlite-no-table", lambda: sqlite3.connect(":memory:").execute("SELECT * FROM users"))
case("sqlite-unique", lambda: (lambda c: (c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)"), c.execute("INSERT INTO t VALUES (1)"), c.execute("INSERT INTO t VALUES (1)")))(sqlite3.connect(":memory:")))
case("sqlite-syntax", lambda: sqlite3.connect(":memory:").execute("SELEC 1"))
case("sqlite-notadb", lambda: (open(os.path.join(tmp, "junk.db"), "w").write("junk" * 100), sqlite3.connect(os.path.join(tmp, "junk.db")).execute("SELECT 1")))
case("http-client-bad-status", lambda: (lambda c: (c.request("GET", "/"), c.getresponse()))(http.client.HTTPConnection("127.0.0.1", silent, timeout=0.3)))
case("not-implemented", lambda: (_ for _ in ()).throw(NotImplementedError("export to parquet is not implemented")))
case("assertion", lambda: (_ for _ in ()).throw(AssertionError("balance must not be negative")))
case("memory", lambda: bytearray(2 ** 46))
case("process-lookup", lambda: os.kill(4194000, 0))
case("child-process", lambda: os.waitpid(-1, 0))
case("bad-fd", lambda: os.close(987))
case("broken-pipe", lambda: (lambda r, w: (os.close(r), os.write(w, b"x")))(*os.pipe()))
case("no-space", lambda: open("/dev/full", "w").write("x") or open("/dev/full", "w").close() or os.write(os.open("/dev/full", os.O_WRONLY), b"x"))
case("name-too-long", lambda: open(os.path.join(tmp, "n" * 300)))
case("url-ipv6", lambda: urllib.parse.urlsplit("http://[::1/x"))
case("url-port", lambda: urllib.parse.urlsplit("http://host:99999/").port)
case("asyncio-timeout", lambda: asyncio.run(asyncio.wait_for(asyncio.sleep(2), 0.05)))
case("queue-full", lambda: (lambda q: (q.put(1), q.put(2, timeout=0.05)))(queue.Queue(1)))
case("future-timeout", lambda: concurrent.futures.ThreadPoolExecutor(1).submit(time.sleep, 1).result(timeout=0.05))
case("csv", lambda: list(csv.reader(['a,"b'], strict=True)))
case("keyboard", lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
case("cancelled", lambda: asyncio.run(asyncio.wait_for(asyncio.current_task().cancel() or asyncio.sleep(1), 1)) if False else (_ for _ in ()).throw(asyncio.CancelledError()))
case("stop-iteration", lambda: next(iter([])))
case("ssl-verify", lambda: ssl.create_default_context().wrap_socket(socket.create_connection(("127.0.0.1", int(tlsurl.rsplit(":", 1)[1].strip("/"))), timeout=3), server_hostname="fl-capture.test"))
case("unpack", lambda: (lambda a, b: None)(*[1, 2, 3]))
case("os-exec-format", lambda: os.execv("/etc/hostname", ["x"]))
case("xdev", lambda: os.rename("/proc/version", os.path.join(tmp, "v")))
if tomllib:
    case("toml", lambda: tomllib.loads("a = = 1"))
