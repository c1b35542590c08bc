"""engine.decide: events built from real failures, dict events, every field
of the contract, precise errors for bad input, PolicyError locations."""
import errno
import http.client
import json
import os
import socket
import sqlite3
import urllib.error
import urllib.request

import pytest

import faultline

CONTRACT = {"id", "category", "severity", "retryable", "action", "message", "message_id",
            "locale", "problem", "fingerprint", "rule", "policy"}


def raised(fn):
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def test_closed_port_is_refused_and_retried(stock, closed_port):
    exc = raised(lambda: socket.create_connection(("127.0.0.1", closed_port), timeout=2))
    assert isinstance(exc, ConnectionRefusedError)
    d = stock.decide(exc, op="db.connect")
    assert d.category == "unavailable.connection_refused"
    assert d.action == "retry" and d.delay_ms is not None and d.delay_ms >= 0
    assert d.retryable is True
    assert d.status == 0
    ev = d.to_dict()
    assert CONTRACT <= set(ev)
    assert ev["problem"]["status"] == 503
    assert ev["policy"]["name"] == "stock"
    # user messages never leak internals
    assert str(closed_port) not in d.message and "127.0.0.1" not in d.message


def test_dev_full_is_storage_full(stock):
    def write():
        with open("/dev/full", "w") as f:
            f.write("x" * 65536)
            f.flush()
    exc = raised(write)
    assert isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    d = stock.decide(exc)
    assert d.category.startswith("resource_exhausted")
    assert d.action == "fail"
    assert d.retryable is False


def test_sqlite_database_is_locked(stock, tmp_path):
    db = str(tmp_path / "t.db")
    a = sqlite3.connect(db, timeout=0, isolation_level=None)
    a.execute("create table t(x)")
    a.execute("begin exclusive")
    a.execute("insert into t values (1)")
    b = sqlite3.connect(db, timeout=0)
    exc = raised(lambda: b.execute("select * from t").fetchall())
    assert "database is locked" in str(exc)
    d = stock.decide(exc)
    assert d.category == "aborted.locked"
    assert d.retryable is True
    a.execute("rollback")
    a.close()
    b.close()


def test_urllib_429_retry_after(stock, http_url):
    exc = raised(lambda: urllib.request.urlopen(http_url + "/429", timeout=5))
    assert isinstance(exc, urllib.error.HTTPError)
    d = stock.decide(exc)
    assert d.category == "resource_exhausted.rate_limited"
    assert d.action == "retry"
    assert d.delay_ms >= 2000  # Retry-After: 2 honoured
    exc.close()


def test_urllib_503(stock, http_url):
    exc = raised(lambda: urllib.request.urlopen(http_url + "/503", timeout=5))
    d = stock.decide(exc)
    assert d.category.startswith("unavailable")
    assert d.problem["status"] == 503
    exc.close()


def test_http_client_response(stock, http_url):
    host, port = http_url[len("http://"):].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    c.request("GET", "/429")
    r = c.getresponse()
    d = stock.decide(r)
    assert d.category == "resource_exhausted.rate_limited"
    assert d.delay_ms >= 2000
    r.read()
    c.close()


def test_requests_http_error(stock, http_url):
    requests = pytest.importorskip("requests")
    r = requests.get(http_url + "/429", timeout=5)
    exc = raised(r.raise_for_status)
    d = stock.decide(exc)
    assert d.category == "resource_exhausted.rate_limited"
    assert d.delay_ms >= 2000
    d = stock.decide(requests.get(http_url + "/503", timeout=5))  # a response object
    assert d.category.startswith("unavailable")


def test_requests_connection_refused(stock, closed_port):
    requests = pytest.importorskip("requests")
    exc = raised(lambda: requests.get(f"http://127.0.0.1:{closed_port}/", timeout=5))
    d = stock.decide(exc)
    assert d.category.startswith("unavailable")
    assert d.retryable


def test_httpx_status_error(stock, http_url):
    httpx = pytest.importorskip("httpx")
    r = httpx.get(http_url + "/429", timeout=5)
    exc = raised(r.raise_for_status)
    d = stock.decide(exc)
    assert d.category == "resource_exhausted.rate_limited"
    assert d.delay_ms >= 2000
    exc = raised(lambda: httpx.get(http_url + "/503", timeout=5).raise_for_status())
    assert stock.decide(exc).category.startswith("unavailable")


def test_cause_chain_classifies_root_cause(stock, closed_port):
    class CheckoutFailed(Exception):
        pass

    def outer():
        try:
            socket.create_connection(("127.0.0.1", closed_port), timeout=2)
        except OSError as e:
            raise CheckoutFailed("checkout failed") from e
    exc = raised(outer)
    d = stock.decide(exc)
    assert d.category == "unavailable.connection_refused"
    # implicit context counts too, unless suppressed
    def implicit():
        try:
            socket.create_connection(("127.0.0.1", closed_port), timeout=2)
        except OSError:
            raise CheckoutFailed("while handling")
    assert stock.decide(raised(implicit)).category == "unavailable.connection_refused"

    def suppressed():
        try:
            socket.create_connection(("127.0.0.1", closed_port), timeout=2)
        except OSError:
            raise CheckoutFailed("suppressed") from None
    assert stock.decide(raised(suppressed)).category == "unknown"


def test_python_exception_event_shape(engine):
    exc = raised(lambda: int("x"))
    d = engine.decide(exc, op="form.parse", attempt=2, tags={"service": "web", "n": 3, "ok": True})
    assert d.category == "invalid_argument" and d.action == "fail"
    assert d.rule == "bad-input"
    assert d.message == "Some of the information provided is not valid."


def test_every_field(engine):
    d = engine.decide(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"), locale="fr")
    assert d.locale == "fr"
    assert d.message.startswith("Le service")
    assert d.message_id == "unavailable"
    assert d.severity == "error"
    assert d.attempts_left == 2
    assert d.fingerprint and len(d.fingerprint) == 16
    assert d.policy == {"name": "pytest", "version": "1.0.0", "id": d.policy_id}
    assert d.problem["type"].endswith("unavailable.connection_refused")
    assert d.error is None and d.params is None and d.fallback is None
    assert d.id
    js = json.loads(d.to_json())
    assert js["category"] == d.category and js["delay_ms"] == d.delay_ms == 0
    assert "delay_ms" not in engine.decide(ValueError("v")).to_dict()


def test_params_and_fallback_fields(engine):
    d = engine.decide(TimeoutError("slow"))
    assert d.action == "retry" and d.params == {"batch": 10}
    d = engine.decide(KeyError("user"), op="profile.load")
    assert d.action == "fallback" and d.fallback == {"name": "guest", "cached": True}


def test_dict_events(engine):
    d = engine.decide({"domain": "http", "code": 429, "message": "Too Many Requests",
                       "tags": {"retry_after": 1}})
    assert d.category == "resource_exhausted.rate_limited"
    assert d.delay_ms >= 1000
    d = engine.decide({"message": "outer", "cause": {"message": "Connection refused"}})
    assert d.category == "unavailable.connection_refused"
    d = engine.decide({"message": "x", "attempt": 3, "elapsed_ms": 5.5, "id": "evt-1",
                       "op": "a.b", "stack": "s", "time": "2026-01-01T00:00:00Z"})
    assert d.id == "evt-1"


@pytest.mark.parametrize("event,exc,field", [
    ({"attempt": "2"}, TypeError, "attempt"),
    ({"attempt": 0}, ValueError, "attempt"),
    ({"code": 1.5}, TypeError, "code"),
    ({"message": 3}, TypeError, "message"),
    ({"tags": ["a"]}, TypeError, "tags"),
    ({"tags": {"k": [1]}}, TypeError, "k"),
    ({"tags": {"": "v"}}, ValueError, "empty key"),
    ({"colour": "red"}, ValueError, "colour"),
    ({"elapsed_ms": -1}, ValueError, "elapsed_ms"),
    ({"elapsed_ms": float("nan")}, ValueError, "elapsed_ms"),
    ({"message": "a\x00b"}, ValueError, "message"),
    ({"message": "x" * (1 << 20 + 1)}, ValueError, "message"),
    ({"cause": "refused"}, TypeError, "cause"),
])
def test_bad_events_name_the_field(engine, event, exc, field):
    with pytest.raises(exc, match=field):
        engine.decide(event)


def test_bad_arguments(engine):
    with pytest.raises(TypeError, match="error"):
        engine.decide(42)
    with pytest.raises(TypeError, match="op"):
        engine.decide(ValueError(), op=3)
    with pytest.raises(ValueError, match="attempt"):
        engine.decide(ValueError(), attempt=0)
    with pytest.raises(TypeError, match="attempt"):
        engine.decide(ValueError(), attempt="1")
    with pytest.raises(TypeError, match="tags"):
        engine.decide(ValueError(), tags=[("a", "b")])
    with pytest.raises(TypeError, match="locale"):
        engine.decide(ValueError(), locale=5)
    with pytest.raises(ValueError, match="elapsed_ms"):
        engine.decide(ValueError(), elapsed_ms=-2)
    deep = {"message": "x"}
    for _ in range(9):
        deep = {"message": "x", "cause": deep}
    with pytest.raises(ValueError, match="cause"):
        engine.decide(deep)


def test_hostile_exceptions_do_not_crash(engine):
    class Unprintable(Exception):
        def __str__(self):
            raise RuntimeError("no")

    class Weird(Exception):
        response = object()  # no status
        sqlite_errorname = 5

    assert engine.decide(Unprintable()).category == "unknown"
    assert engine.decide(Weird("w")).category == "unknown"
    assert engine.decide(ValueError("nul\x00inside \udcff surrogate")).category == "invalid_argument"
    e = ValueError("cycle")
    e.__context__ = KeyError("k")
    e.__context__.__context__ = e  # a cycle
    assert engine.decide(e).category == "invalid_argument"


def test_policy_error_has_location(tmp_path):
    (tmp_path / "p.lua").write_text('policy { name = "x" }\nrule "r" {\n  when = { message = re"(" },\n'
                                    '  category = "internal" }\n')
    with pytest.raises(faultline.PolicyError) as ei:
        faultline.Engine(str(tmp_path))
    e = ei.value
    assert e.file.endswith("p.lua") and e.line == 2 and e.column > 0  # the rule's line
    assert "p.lua:2:" in str(e) and "pattern" in e.detail
    (tmp_path / "p.lua").write_text('rule "r" { category = \n')
    with pytest.raises(faultline.PolicyError) as ei:
        faultline.Engine(str(tmp_path))
    assert ei.value.line >= 1 and ei.value.file.endswith("p.lua")
    with pytest.raises(faultline.PolicyError):
        faultline.Engine(str(tmp_path / "missing"))
    with pytest.raises(TypeError, match="policy_dir"):
        faultline.Engine(42)
    with pytest.raises(ValueError, match="versions_kept"):
        faultline.Engine(versions_kept=-1)


def test_closed_engine_raises(engine):
    e = faultline.Engine(os.path.join(os.path.dirname(__file__), "policy"))
    d = e.decide(ValueError("x"))
    e.close()
    assert d.category == "invalid_argument"  # decisions outlive the engine
    with pytest.raises(RuntimeError, match="closed"):
        e.decide(ValueError("x"))
    with pytest.raises(RuntimeError, match="closed"):
        e.versions()
    e.close()  # twice is fine


def test_stack_sent_when_the_policy_reads_it(tmp_path, engine):
    """The traceback goes to the engine only when the serving version reads
    it (FL_DECIDE_STACK_ON_DEMAND); a stack rule therefore still sees it."""
    (tmp_path / "p.lua").write_text(
        'rule "gw" { when = { stack = re"in charge_gateway" }, category = "unavailable" }\n'
        'rule "any" { when = { message = re"boom" }, category = "internal" }\n')
    e = faultline.Engine(str(tmp_path))

    def charge_gateway():
        raise RuntimeError("boom")

    exc = raised(charge_gateway)
    assert e.decide(exc).rule == "gw"
    assert e.decide(RuntimeError("boom")).rule == "any"  # never raised: no traceback
    e2 = faultline.Engine(str(tmp_path), stack=False)
    assert e2.decide(exc).rule == "any"
    # a version without stack rules or handlers: decided without asking
    (tmp_path / "p.lua").write_text('rule "any" { when = { message = re"boom" }, category = "internal" }\n')
    e.reload()
    assert e.decide(exc).rule == "any"
    e.close()
    e2.close()
    # handlers see ev.stack: the test policy has handlers, its decisions get it
    assert engine.decide(raised(lambda: {}["k"]), op="profile.load").action == "fallback"
