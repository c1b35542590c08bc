"""Popular Python libraries failing for capture.py: python3 pylibs.py TMPDIR HTTPBASE CLOSED SILENT TLSURL"""
import json, sys, traceback
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
        n += 1
        print(json.dumps(o), flush=True)


import requests, yaml, httpx, toml
from cryptography.fernet import Fernet
from cryptography import x509


def rs(path, **kw):
    r = requests.get(base + path, timeout=kw.pop("timeout", 3), **kw)
    r.raise_for_status()


for st in (400, 401, 403, 404, 409, 429, 500, 502, 503, 504):
    case(f"requests-{st}", lambda st=st: rs(f"/status/{st}"))
case("requests-refused", lambda: requests.get(f"http://127.0.0.1:{closed}/", timeout=3))
case("requests-dns", lambda: requests.get("http://api.fl-capture.invalid/", timeout=3))
case("requests-read-timeout", lambda: rs("/sleep", timeout=0.3))
case("requests-connect-timeout", lambda: requests.get(f"http://127.0.0.1:{silent}/", timeout=(3, 0.3)))
case("requests-tls", lambda: requests.get(tlsurl, timeout=3))
case("requests-empty", lambda: requests.get(base + "/empty", timeout=3))
case("requests-reset", lambda: requests.get(base + "/reset", timeout=3))
case("requests-bad-url", lambda: requests.get("htp//nowhere"))
case("requests-no-schema", lambda: requests.get("127.0.0.1/x"))
case("requests-json", lambda: requests.get(base + "/json", timeout=3).json())
case("requests-redirects", lambda: requests.get(base + "/loop", timeout=3))
case("requests-truncated", lambda: requests.get(base + "/truncated", timeout=3).content)
for st in (400, 401, 403, 404, 429, 500, 503):
    case(f"httpx-{st}", lambda st=st: httpx.get(f"{base}/status/{st}").raise_for_status())
case("httpx-refused", lambda: httpx.get(f"http://127.0.0.1:{closed}/"))
case("httpx-dns", lambda: httpx.get("http://api.fl-capture.invalid/"))
case("httpx-timeout", lambda: httpx.get(base + "/sleep", timeout=0.3))
case("httpx-tls", lambda: httpx.get(tlsurl))
case("httpx-empty", lambda: httpx.get(base + "/empty"))
case("httpx-bad-url", lambda: httpx.get("htp//nowhere"))
case("yaml-scan", lambda: yaml.safe_load("a: b: c"))
case("yaml-parse", lambda: yaml.safe_load("- a\nb: c"))
case("yaml-constructor", lambda: yaml.safe_load("!!python/object:os.system x"))
case("toml", lambda: toml.loads("a = = 1"))
case("fernet", lambda: Fernet(Fernet.generate_key()).decrypt(b"gAAAAABnot-a-token"))
case("fernet-key", lambda: Fernet(b"short"))
case("x509", lambda: x509.load_pem_x509_certificate(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
