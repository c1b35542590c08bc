"""engine.guard: retries after the decided delay, params into the next
attempt, fallback, ignore, Failure; sync and asyncio; `with` / `async with`;
admission through the engine's breakers, limiters and bulkheads."""
import asyncio
import socket
import threading
import time
import urllib.request

import pytest

import faultline


class BenignError(Exception):
    pass


def listener():
    """A TCP listener that accepts (and closes) connections in a thread."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(64)

    def accept():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            c.close()
    threading.Thread(target=accept, daemon=True).start()
    return s


def test_retry_until_the_port_opens(engine, closed_port):
    """Attempts 1 and 2 hit a closed port (real ECONNREFUSED); attempt 3
    reaches a listener."""
    srv = listener()
    ports = [closed_port, closed_port, srv.getsockname()[1]]
    calls = []

    @engine.guard(op="db.connect")
    def connect():
        port = ports[len(calls)]
        calls.append(port)
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return "connected"

    assert connect() == "connected"
    assert calls == ports
    assert connect.__name__ == "connect"  # functools.wraps
    srv.close()


def test_gives_up_with_failure(engine, closed_port):
    calls = []

    @engine.guard(op="db.connect")
    def connect():
        calls.append(1)
        socket.create_connection(("127.0.0.1", closed_port), timeout=2)

    with pytest.raises(faultline.Failure) as ei:
        connect()
    f = ei.value
    assert len(calls) == 3  # max_attempts = 3
    assert isinstance(f.__cause__, ConnectionRefusedError)
    assert f.message == "The service is temporarily unavailable. Please try again in a moment."
    assert f.problem["status"] == 503
    assert f.decision.action == "fail"
    assert f.decision.reason == "attempts_exhausted"
    assert f.category == "unavailable.connection_refused"


def test_not_retryable_fails_at_once(engine):
    calls = []

    @engine.guard()
    def parse(s):
        calls.append(s)
        return int(s)

    assert parse("12") == 12
    with pytest.raises(faultline.Failure) as ei:
        parse("x")
    assert calls == ["12", "x"]
    assert isinstance(ei.value.__cause__, ValueError)
    assert ei.value.message == "Some of the information provided is not valid."


def test_params_go_to_the_next_attempt(engine):
    seen = []

    @engine.guard(op="report.build")
    def build(n, *, batch=100):
        seen.append(batch)
        if batch > 10:
            raise TimeoutError("too slow")
        return n * batch

    assert build(3) == 30
    assert seen == [100, 10]

    seen.clear()

    @engine.guard(op="report.build")
    def build_noparam(n):  # does not accept `batch`: not passed
        seen.append(n)
        if len(seen) == 1:
            raise TimeoutError("too slow")
        return n

    assert build_noparam(5) == 5
    assert seen == [5, 5]


def test_fallback_and_ignore(engine):
    @engine.guard(op="profile.load")
    def load(uid):
        return {"alice": {"name": "Alice"}}[uid]

    assert load("alice") == {"name": "Alice"}
    assert load("bob") == {"name": "guest", "cached": True}

    @engine.guard()
    def benign():
        raise BenignError("nothing to worry about")

    assert benign() is None


def test_retry_waits_the_decided_delay(engine, http_url):
    """A real 429 with Retry-After: 2 from the local server... the test policy
    caps nothing, so the guard waits at least 2 s before attempt 2."""
    urls = [http_url + "/429", http_url + "/ok"]
    times = []

    @engine.guard(op="api.get")
    def get():
        times.append(time.monotonic())
        with urllib.request.urlopen(urls[len(times) - 1], timeout=5) as r:
            return r.status

    assert get() == 200
    assert times[1] - times[0] >= 1.9


def test_base_exceptions_pass_through(engine):
    calls = []

    @engine.guard()
    def interrupted():
        calls.append(1)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    assert calls == [1]


def test_context_manager(engine, closed_port):
    with engine.guard(op="profile.load") as g:
        {}["missing"]
    assert g.suppressed and g.fallback == {"name": "guest", "cached": True}
    with engine.guard() as g:
        raise BenignError("fine")
    assert g.suppressed and g.fallback is None
    with engine.guard() as g:
        pass
    assert g.decision is None and not g.suppressed
    with pytest.raises(faultline.Failure) as ei:
        with engine.guard(op="db.connect"):
            socket.create_connection(("127.0.0.1", closed_port), timeout=2)
    # one attempt only in a block: the decision says retry, the caller decides
    assert ei.value.decision.action == "retry"
    assert isinstance(ei.value.__cause__, ConnectionRefusedError)


def test_async_retry_does_not_block_the_loop(engine, closed_port):
    srv = listener()
    ports = [closed_port, srv.getsockname()[1]]
    calls = []
    at = []

    @engine.guard(op="api.fetch")
    async def fetch(*, batch=100):
        calls.append(batch)
        at.append(time.monotonic())
        if len(calls) == 1:
            raise TimeoutError("slow")  # retry after 30 ms with batch=10
        r, w = await asyncio.open_connection("127.0.0.1", ports[1])
        w.close()
        await w.wait_closed()
        return "ok"

    async def ticker(stop, ticks):
        while not stop.is_set():
            await asyncio.sleep(0.001)
            ticks.append(time.monotonic())

    async def main():
        stop = asyncio.Event()
        ticks = []
        t = asyncio.create_task(ticker(stop, ticks))
        await asyncio.sleep(0)
        r = await fetch()
        stop.set()
        await t
        return r, ticks

    assert asyncio.iscoroutinefunction(fetch)
    r, ticks = asyncio.run(main())
    assert r == "ok" and calls == [100, 10]
    assert at[1] - at[0] >= 0.029  # the decided delay was waited
    # the loop kept running during the wait: other tasks ran between the attempts
    assert any(at[0] < t < at[1] for t in ticks)
    srv.close()


def test_async_failure_and_fallback(engine, closed_port):
    @engine.guard(op="db.connect")
    async def connect():
        r, w = await asyncio.open_connection("127.0.0.1", closed_port)

    @engine.guard(op="profile.load")
    async def load():
        return {}["x"]

    async def main():
        with pytest.raises(faultline.Failure) as ei:
            await connect()
        assert isinstance(ei.value.__cause__, ConnectionRefusedError)
        assert await load() == {"name": "guest", "cached": True}
        async with engine.guard() as g:
            raise BenignError("x")
        assert g.suppressed
    asyncio.run(main())


def test_async_cancellation_passes_through(engine):
    @engine.guard(op="api.fetch")
    async def slow():
        await asyncio.sleep(10)

    async def main():
        t = asyncio.create_task(slow())
        await asyncio.sleep(0.01)
        t.cancel()
        with pytest.raises(asyncio.CancelledError):
            await t
    asyncio.run(main())


def test_breaker_opens_and_refuses(engine, closed_port):
    """Real refusals feed the engine's breaker `upstream` (key "svc-a");
    once open, calls are refused without running and end in Failure chained
    to faultline.Refused.  Other keys are unaffected."""
    ran = []

    @engine.guard(op="upstream.call", breaker="upstream", key=lambda svc: svc, tags={"service": "svc-a"})
    def call(svc):
        ran.append(svc)
        socket.create_connection(("127.0.0.1", closed_port), timeout=2)

    for _ in range(3):
        with pytest.raises(faultline.Failure):
            call("svc-a")
    st = engine.breaker("upstream", "svc-a")
    assert st["state"] == "open", st
    before = len(ran)
    with pytest.raises(faultline.Failure) as ei:
        call("svc-a")
    assert len(ran) == before  # refused before running
    assert isinstance(ei.value.__cause__, faultline.Refused)
    assert ei.value.__cause__.reason == "breaker_open:upstream"
    assert ei.value.message == "The service is refusing calls for now."
    assert engine.breaker("upstream", "svc-b")["state"] == "closed"
    engine.set_breaker("upstream", "closed")
    assert engine.breaker("upstream", "svc-a")["state"] == "closed"
    with pytest.raises(ValueError, match="state"):
        engine.set_breaker("upstream", "open")
    with pytest.raises(LookupError, match="nope"):
        engine.breaker("nope")


def test_bulkhead_is_shared_across_threads(engine):
    inside = threading.Event()
    release = threading.Event()

    @engine.guard(bulkhead="single")
    def hold():
        inside.set()
        release.wait(5)
        return "held"

    out = []
    t = threading.Thread(target=lambda: out.append(hold()))
    t.start()
    assert inside.wait(5)
    with pytest.raises(faultline.Failure) as ei:
        hold()
    assert ei.value.__cause__.reason == "bulkhead_full:single"
    release.set()
    t.join()
    assert out == ["held"]
    assert hold.__wrapped__  # the plain function stays reachable


def test_retry_budget(engine, closed_port):
    """The policy's rule spends the engine's retry budget `calls` on the
    guard's retries: min_retries 1 in the window, so the second retry is
    refused and the call fails on the budget (before max_attempts)."""
    calls = []

    @engine.guard(op="budget.op")
    def connect():
        calls.append(1)
        socket.create_connection(("127.0.0.1", closed_port), timeout=2)

    with pytest.raises(faultline.Failure) as ei:
        connect()
    assert len(calls) == 2  # one retry allowed, not two (max_attempts would allow 3)
    assert ei.value.decision.rule == "retry_budget:calls"
    assert ei.value.decision.reason == "retry_budget_exhausted"


def test_limiter(engine):
    @engine.guard(limiter="tight")
    def f():
        return 1

    results = []
    for _ in range(5):
        try:
            results.append(f())
        except faultline.Failure as e:
            results.append(e.__cause__.reason)
    assert results[:2] == [1, 1]
    assert "rate_limited:tight" in results


def test_guard_bad_arguments(engine):
    with pytest.raises(LookupError, match="nosuch"):
        engine.guard(breaker="nosuch")
    with pytest.raises(TypeError, match="op"):
        engine.guard(op=5)
    with pytest.raises(TypeError, match="key"):
        engine.guard(key=5)
    with pytest.raises(ValueError, match="max_attempts"):
        engine.guard(max_attempts=0)
    with pytest.raises(TypeError):
        engine.guard()(42)
    with pytest.raises(TypeError):
        engine.guard(budget="calls")  # budgets are spent by the policy's rules

    @engine.guard(breaker="upstream", key=lambda: 5)
    def f():
        return 1
    with pytest.raises(TypeError, match="key"):
        f()
    with pytest.raises(TypeError, match="key"):
        with engine.guard(breaker="upstream", key=lambda: "k"):
            pass


def test_max_attempts_cap(engine, closed_port):
    calls = []

    @engine.guard(op="db.connect", max_attempts=2)
    def connect():
        calls.append(1)
        socket.create_connection(("127.0.0.1", closed_port), timeout=2)

    with pytest.raises(faultline.Failure):
        connect()
    assert len(calls) == 2


def test_guards_from_many_threads(engine, closed_port):
    srv = listener()
    good = srv.getsockname()[1]
    errors = []

    @engine.guard(op="db.connect")
    def connect(i, state):
        state.append(i)
        port = closed_port if len(state) == 1 else good
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return i

    def worker(i):
        try:
            for k in range(20):
                assert connect(i, []) == i
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    srv.close()
    assert errors == []
