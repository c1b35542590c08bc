"""bench_python.py -- the Python package's figures, with tenacity's from the
same run (Debian python3-tenacity).  Prints; asserts nothing.

  decide       engine.decide(exc) on the stock pack: 1,000 distinct raised
               exceptions (traceback 3 frames deep) of a realistic mix, decided
               in turn; decisions/s, best of the rounds.  The stock pack reads
               no stack, so tracebacks are not sent; the same with one stack
               rule added (tracebacks sent), with stack=False, and dict events
  success      a guarded call whose function succeeds: overhead over the plain
               call, for @engine.guard (no admission objects; and with the
               engine's breaker) and tenacity's @retry (stop_after_attempt(3),
               wait_none(), retry on ConnectionRefusedError)
  retry        every call fails once (ConnectionRefusedError) and succeeds on
               the retry, zero delay in both; ns per call

Run by bench/python/run.sh (a venv with the package installed).
  python bench_python.py [seconds-per-round] [rounds]
"""
import errno
import gc
import os
import sys
import time

import faultline

HERE = os.path.dirname(os.path.abspath(__file__))


CLOCK = time.thread_time_ns  # CPU time of this thread: "on one core", and
                             # steadier than wall time on a shared machine


def best(fn, seconds, rounds, batch=1000):
    """Best ns per call of fn(i) over `rounds` rounds of about `seconds` of
    this thread's CPU time."""
    out = []
    for _ in range(rounds):
        n = 0
        t0 = CLOCK()
        while True:
            for i in range(batch):
                fn(i)
            n += batch
            dt = CLOCK() - t0
            if dt >= seconds * 1e9:
                break
        out.append(dt / n)
    return min(out)


def make_exceptions(n=1000):
    kinds = [
        lambda i: ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
        lambda i: TimeoutError("timed out"),
        lambda i: ValueError(f"invalid literal for int() with base 10: 'x{i}'"),
        lambda i: KeyError(f"user-{i}"),
        lambda i: OSError(errno.ENOSPC, "No space left on device"),
        lambda i: ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
        lambda i: PermissionError(errno.EACCES, "Permission denied", f"/var/data/{i}.db"),
        lambda i: RuntimeError(f"database is locked (request {i})"),
    ]

    def level3(i):
        raise kinds[i % len(kinds)](i)

    def level2(i):
        level3(i)

    def level1(i):
        try:
            level2(i)
        except Exception as exc:
            return exc

    return [level1(i) for i in range(n)]


def main():
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    import tenacity
    from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_none

    print(f"python {sys.version.split()[0]}, faultline {faultline.__version__} "
          f"(libfaultline {faultline.library_version()} at {faultline.LIBRARY_PATH}), "
          f"tenacity {getattr(tenacity, '__version__', '8')}; best of {rounds} rounds of {secs} s "
          f"thread CPU time; load average {os.getloadavg()[0]:.1f}")

    # -- decide ------------------------------------------------------------------
    stock = faultline.Engine()
    excs = make_exceptions()
    cats = {stock.decide(e).category for e in excs}
    m = len(excs)
    ns = best(lambda i: stock.decide(excs[i % m]), secs, rounds)
    print(f"decide(exc), stock pack, {len(cats)} categories        {ns:8.0f} ns   "
          f"{1e9 / ns:10,.0f} decisions/s   (target >= 300,000)")
    ns_ns = None
    stock_nostack = faultline.Engine(stack=False)
    ns_ns = best(lambda i: stock_nostack.decide(excs[i % m]), secs, rounds)
    print(f"decide(exc), stack=False                       {ns_ns:8.0f} ns   {1e9 / ns_ns:10,.0f} decisions/s")
    # A policy that reads the stack gets the traceback in every event.
    import shutil
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for f in os.listdir(faultline.stock_policy_dir()):
            if f.endswith(".lua"):
                shutil.copy(os.path.join(faultline.stock_policy_dir(), f), tmp)
        with open(os.path.join(tmp, "95-stack.lua"), "w") as f:
            f.write('rule "gateway" { when = { stack = re"in charge_gateway" }, '
                    'category = "unavailable", priority = 10000 }\n')
        stacked = faultline.Engine(tmp)
    ns_st = best(lambda i: stacked.decide(excs[i % m]), secs, rounds)
    print(f"decide(exc), stock pack + a stack rule          {ns_st:8.0f} ns   {1e9 / ns_st:10,.0f} decisions/s")
    stacked.close()
    dicts = [{"domain": "http", "code": 429 + (i % 2) * 74, "message": "Too Many Requests",
              "tags": {"retry_after": "2"}} for i in range(100)]
    ns_d = best(lambda i: stock.decide(dicts[i % 100]), secs, rounds)
    print(f"decide(dict event)                             {ns_d:8.0f} ns   {1e9 / ns_d:10,.0f} decisions/s")

    # -- guarded calls ------------------------------------------------------------
    eng = faultline.Engine(os.path.join(HERE, "policy"))

    def work(x):
        return x + 1

    t_retry = retry(stop=stop_after_attempt(3), wait=wait_none(),
                    retry=retry_if_exception_type(ConnectionRefusedError), reraise=True)
    g_plain = eng.guard(op="bench.call")
    g_breaker = eng.guard(op="bench.call", breaker="upstream", key="svc")

    plain = work
    ten = t_retry(work)
    fg = g_plain(work)
    fgb = g_breaker(work)
    for f in (plain, ten, fg, fgb):
        assert f(1) == 2
    base = best(plain, secs, rounds)
    t_ok = best(ten, secs, rounds)
    f_ok = best(fg, secs, rounds)
    fb_ok = best(fgb, secs, rounds)
    print(f"plain call                                     {base:8.0f} ns")
    print(f"success path, overhead over the plain call:")
    print(f"  tenacity @retry                              {t_ok - base:8.0f} ns")
    print(f"  @engine.guard                                {f_ok - base:8.0f} ns   "
          f"{(f_ok - base) / (t_ok - base):5.2f}x tenacity (target <= 0.5x)")
    print(f"  @engine.guard(breaker=...)                   {fb_ok - base:8.0f} ns   "
          f"{(fb_ok - base) / (t_ok - base):5.2f}x tenacity")

    def flaky_factory():
        state = [0]

        def flaky(x):
            state[0] += 1
            if state[0] & 1:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            return x + 1
        return flaky

    ten_f = t_retry(flaky_factory())
    fg_f = g_plain(flaky_factory())
    fgb_f = g_breaker(flaky_factory())
    raw = flaky_factory()

    def raw_twice(i):  # the function's own cost: one raise + one success
        try:
            raw(i)
        except ConnectionRefusedError:
            pass
        raw(i)
    for f in (ten_f, fg_f, fgb_f):
        assert f(1) == 2
    r_base = best(raw_twice, secs, rounds)
    t_r = best(ten_f, secs, rounds)
    f_r = best(fg_f, secs, rounds)
    fb_r = best(fgb_f, secs, rounds)
    print(f"fail once, retry with zero delay (function's own cost {r_base:.0f} ns):")
    print(f"  tenacity @retry                              {t_r:8.0f} ns/call")
    print(f"  @engine.guard                                {f_r:8.0f} ns/call   "
          f"{f_r / t_r:5.2f}x tenacity (target <= 0.25x)")
    print(f"  @engine.guard(breaker=...)                   {fb_r:8.0f} ns/call   {fb_r / t_r:5.2f}x tenacity")
    gc.collect()
    eng.close()
    stock.close()
    stock_nostack.close()


if __name__ == "__main__":
    main()
