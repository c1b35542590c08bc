"""tenacity_bench.py -- the executor scenario in tenacity (Debian
python3-tenacity): 3 attempts, zero wait, retry on the "unavailable" error.
tenacity has no circuit breaker or retry budget, so it does less than the
fl_call scenario in bench_executor.c.
  success  every call succeeds at the first attempt
  retry    every call fails once and succeeds on the retry
Run by bench/executor/run.sh with /usr/bin/python3.
"""
import sys
import time

import tenacity
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_none


class Unavailable(Exception):
    pass


def measure(name, make_fn, seconds):
    retrying = Retrying(stop=stop_after_attempt(3), wait=wait_none(),
                        retry=retry_if_exception_type(Unavailable), reraise=True)
    n = 0
    t0 = time.perf_counter_ns()
    while True:
        for _ in range(200):
            retrying(make_fn())
        n += 200
        dt = time.perf_counter_ns() - t0
        if dt >= seconds * 1e9:
            print(f"{name:<58} {dt / n:8.1f} ns/call")
            return


def ok():
    return lambda: 1


def flaky():
    state = {"n": 0}

    def fn():
        state["n"] += 1
        if state["n"] == 1:
            raise Unavailable()
        return 1
    return fn


if __name__ == "__main__":
    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    version = getattr(tenacity, "__version__", "8")
    measure(f"tenacity {version} success path", ok, secs)
    measure("tenacity fail once, retry with zero delay", flaky, secs)
