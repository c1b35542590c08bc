"""Guarding calls: the engine-driven retry loop, in Python.

The loop is the one the C executor runs (admission, attempt, decide, act).
Guard._step decides about one failed attempt and reports its outcome to the
admission permit; _sync_loop and the async wrapper drive the attempts.  A C
pipeline (fl_call with fl_decide as its decide callback) can replace the sync
driver later without changing the public API.
"""
from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import json
import time
from typing import Any, Callable, Mapping, Optional, TypeVar, Union

from ._decision import Decision, _give
from ._errors import Failure, Refused
from ._ffi import FL_ENOENT, FL_EREFUSED, ffi, lib, primary, strerror

F = TypeVar("F", bound=Callable[..., Any])
_HARD_CAP = 1000
_RETRY, _FALLBACK, _IGNORE, _FAIL = range(4)  # fl_action
_permits: list = []  # free fl_permit_t* (list.pop/append are atomic under the GIL)


def _permit():
    try:
        return _permits.pop()
    except IndexError:
        return ffi.new("fl_permit_t *")


class _Block:
    """What `with guard as block:` gives: after the block, `decision` (None on
    success), `fallback` and `suppressed`."""
    __slots__ = ("permit", "token", "decision", "fallback", "suppressed", "start")

    def __init__(self) -> None:
        self.permit = None
        self.token = None
        self.decision = None
        self.fallback = None
        self.suppressed = False
        self.start = 0.0


class Guard:
    """Run calls under the engine's policy: `@engine.guard(op=...)` on a
    function or coroutine function, or `with` / `async with` around a block.

    key: the admission key (str, or a callable given the call's arguments);
    breaker / limiter / bulkhead: names of objects the policy declares, asked
    before every attempt (retry budgets are spent by the policy's rules,
    through the decisions); locale, tags: passed to every decision;
    max_attempts: a safety cap on top of the policy's own (default 1000).
    """

    def __init__(self, engine, op: Optional[str] = None, *, key: Union[None, str, Callable[..., str]] = None,
                 breaker: Optional[str] = None, limiter: Optional[str] = None,
                 bulkhead: Optional[str] = None,
                 locale: Optional[str] = None, tags: Optional[Mapping[str, Any]] = None,
                 max_attempts: Optional[int] = None) -> None:
        if op is not None and not isinstance(op, str):
            raise TypeError(f"guard(op=): expected str, got {type(op).__name__}")
        if key is not None and not isinstance(key, str) and not callable(key):
            raise TypeError(f"guard(key=): expected str or a callable, got {type(key).__name__}")
        if max_attempts is not None and (not isinstance(max_attempts, int) or max_attempts < 1):
            raise ValueError(f"guard(max_attempts=): expected an int >= 1, got {max_attempts!r}")
        if tags is not None and not isinstance(tags, Mapping):
            raise TypeError(f"guard(tags=): expected a dict, got {type(tags).__name__}")
        self.engine = engine
        self.op = op
        self.key = key
        self.locale = locale
        self.tags = dict(tags) if tags else None
        self.max_attempts = min(max_attempts or _HARD_CAP, _HARD_CAP)
        self._names = (breaker, limiter, bulkhead)
        self._g_first = self._g_next = None
        if any(n is not None for n in self._names):
            self._g_first = self._g_next = self._resolve(breaker, limiter, bulkhead)
        self._var: contextvars.ContextVar = contextvars.ContextVar("faultline_guard_block")
        # The event records every decision of this guard shares, packed once.
        from ._engine import op_record, tags_records
        self._fixed = (op_record(op) if op is not None else b"") + (tags_records(tags) if tags else b"")
        self._loc = engine._locale(locale)
        self._key_b = (ffi.NULL if key is None else
                       key.encode("utf-8", "replace") if isinstance(key, str) else None)

    def _resolve(self, breaker, limiter, bulkhead):
        keep = []

        def s(v, what):
            if v is None:
                return ffi.NULL
            if not isinstance(v, str):
                raise TypeError(f"guard({what}=): expected str, got {type(v).__name__}")
            keep.append(ffi.new("char[]", v.encode()))
            return keep[-1]

        spec = ffi.new("fl_guard_spec_t *", {"breaker": s(breaker, "breaker"), "limiter": s(limiter, "limiter"),
                                              "bulkhead": s(bulkhead, "bulkhead"), "budget": ffi.NULL})
        out = ffi.new("fl_guard_t **")
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_guard_new(self.engine._resil(), spec, out, diag)
        if rc:
            msg = ffi.string(diag.message).decode("utf-8", "replace") or strerror(rc)
            if primary(rc) == FL_ENOENT:
                raise LookupError(f"guard: {msg}")
            raise ValueError(f"guard: {msg}")
        return out[0]

    # -- pieces of the loop -----------------------------------------------------
    def _key(self, args, kwargs):
        k = self._key_b
        if k is not None:
            return k
        k = self.key(*args, **kwargs)  # type: ignore[misc]
        if not isinstance(k, str):
            raise TypeError(f"guard(key=): the key function returned {type(k).__name__}, not str")
        return k.encode("utf-8", "replace")

    def _admit(self, attempt: int, key):
        """A permit, or a Refused exception (returned, not raised)."""
        g = self._g_first if attempt == 1 else self._g_next
        if self.engine._closed:
            raise RuntimeError("faultline: the engine is closed")
        try:
            p = _permits.pop()
        except IndexError:
            p = ffi.new("fl_permit_t *")
        rc = lib.fl_admit(g, key, p)
        if rc == 0:
            return p
        reason = ffi.string(p.reason).decode() if p.reason != ffi.NULL else strerror(rc)
        ra = p.retry_after_ns / 1e9 if p.retry_after_ns > 0 else None
        _permits.append(p)
        if rc != FL_EREFUSED:
            raise ValueError(f"guard: admission failed: {strerror(rc)}")
        return Refused(reason, ra)

    @staticmethod
    def _complete(p, category) -> None:
        if p is not None:
            lib.fl_complete(p, category)
            _permits.append(p)

    @staticmethod
    def _release(p) -> None:
        if p is not None:
            lib.fl_permit_release(p)
            _permits.append(p)

    def _decide(self, exc: BaseException, attempt: int, start: float):
        extra = self._fixed
        if attempt != 1:
            extra += b"attempt\x00%d\x00" % attempt
        extra += b"elapsed_ms\x00%.3f\x00" % ((time.monotonic() - start) * 1000.0)
        if isinstance(exc, Refused) and exc.retry_after:
            extra += b"tags.retry_after\x00%.3f\x00" % exc.retry_after
        return self.engine._decide(exc, extra, self._loc, 0)

    def _step(self, exc: BaseException, attempt: int, start: float, p):
        """Decide about failed attempt `attempt` and report its outcome to
        the permit `p` (if any).  A retry within the cap gives (delay_ms,
        params) without building a Decision (the hot path of a retry); any
        other verdict gives the Decision."""
        extra = self._fixed
        if attempt != 1:
            extra += b"attempt\x00%d\x00" % attempt
        extra += b"elapsed_ms\x00%.3f\x00" % ((time.monotonic() - start) * 1000.0)
        if isinstance(exc, Refused) and exc.retry_after:
            extra += b"tags.retry_after\x00%.3f\x00" % exc.retry_after
        h, rc = self.engine._decide_handle(exc, extra, self._loc, 0)
        a = lib.fl_decision_action(h)
        if p is not None:  # the category string is the decision's: passed as is
            self._complete(p, ffi.NULL if a == _IGNORE else lib.fl_decision_category(h))
        if a == _RETRY and attempt < self.max_attempts:
            delay = lib.fl_decision_delay_ms(h)
            pj = lib.fl_decision_params_json(h)
            params = None if pj == ffi.NULL else json.loads(ffi.string(pj))
            _give(h)
            return delay, params
        return Decision(h, rc)

    @staticmethod
    def _accepted(fn) -> Callable[[Optional[dict]], dict]:
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):
            return lambda p: {}
        ps = sig.parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in ps):
            return lambda p: dict(p) if isinstance(p, dict) else {}
        names = {p.name for p in ps if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        return lambda p: {k: v for k, v in p.items() if k in names} if isinstance(p, dict) else {}

    # -- decorator ----------------------------------------------------------------
    def __call__(self, fn: F) -> F:
        if not callable(fn):
            raise TypeError(f"guard: expected a function, got {type(fn).__name__}")
        accepted = self._accepted(fn)
        guard = self
        admission = self._g_first is not None

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                start = time.monotonic()
                key = guard._key(args, kwargs) if admission else None
                attempt, kw = 1, kwargs
                while True:
                    p = None
                    try:
                        if admission:
                            p = guard._admit(attempt, key)
                            if isinstance(p, Refused):
                                exc0, p = p, None
                                raise exc0
                        result = await fn(*args, **kw)
                    except Exception as exc:
                        r = guard._step(exc, attempt, start, p)
                        p = None
                        if type(r) is tuple:
                            delay, params = r
                            await asyncio.sleep(delay / 1000.0 if delay > 0 else 0)
                            attempt += 1
                            extra = accepted(params) if params else None
                            if extra:
                                kw = dict(kwargs, **extra)
                            continue
                        act = r.action
                        if act == "fallback":
                            return r.fallback
                        if act == "ignore":
                            return None
                        raise Failure(r) from exc
                    except BaseException:
                        guard._release(p)
                        raise
                    else:
                        guard._complete(p, ffi.NULL)
                        return result
            awrapper.__faultline_guard__ = guard  # type: ignore[attr-defined]
            return awrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not admission:
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    return guard._sync_failed(fn, accepted, args, kwargs, exc)
            start = time.monotonic()
            key = guard._key(args, kwargs)
            p = guard._admit(1, key)
            if isinstance(p, Refused):
                return guard._sync_loop(fn, accepted, args, kwargs, p, None, start, key)
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                return guard._sync_loop(fn, accepted, args, kwargs, exc, p, start, key)
            except BaseException:
                guard._release(p)
                raise
            lib.fl_complete(p, ffi.NULL)
            _permits.append(p)
            return result
        wrapper.__faultline_guard__ = guard  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    def _sync_failed(self, fn, accepted, args, kwargs, exc):
        # The first attempt failed on the no-admission fast path.
        return self._sync_loop(fn, accepted, args, kwargs, exc, None, time.monotonic(), None)

    def _sync_loop(self, fn, accepted, args, kwargs, exc, p, start, key):
        """Attempt `attempt` failed with `exc` (permit p still held): decide,
        act, and go on until an attempt succeeds or the policy ends it."""
        attempt = 1
        admission = self._g_first is not None
        while True:
            r = self._step(exc, attempt, start, p)
            p = None
            if type(r) is not tuple:
                act = r.action
                if act == "fallback":
                    return r.fallback
                if act == "ignore":
                    return None
                raise Failure(r) from exc
            delay, params = r
            if delay > 0:
                time.sleep(delay / 1000.0)
            attempt += 1
            extra = accepted(params) if params else None
            if extra:
                kwargs = dict(kwargs, **extra)
            if admission:
                p = self._admit(attempt, key)
                if isinstance(p, Refused):
                    exc, p = p, None
                    continue
            try:
                return self._finish(fn(*args, **kwargs), p)
            except Exception as e:
                exc = e
            except BaseException:
                self._release(p)
                raise

    def _finish(self, result, p):
        self._complete(p, ffi.NULL)
        return result

    # -- context manager: one attempt ------------------------------------------
    def __enter__(self) -> _Block:
        b = _Block()
        b.start = time.monotonic()
        if self._g_first is not None:
            if self._key_b is None:
                raise TypeError("guard(key=): a `with` block has no call arguments; give a str key")
            p = self._admit(1, self._key_b)
            if isinstance(p, Refused):
                d = self._decide(p, 1, b.start)
                raise Failure(d) from p
            b.permit = p
        b.token = self._var.set(b)
        return b

    def __exit__(self, et, exc, tb) -> bool:
        b: _Block = self._var.get()
        self._var.reset(b.token)
        p, b.permit = b.permit, None
        if exc is None:
            self._complete(p, ffi.NULL)
            return False
        if not isinstance(exc, Exception):
            self._release(p)
            return False
        d = b.decision = self._decide(exc, 1, b.start)
        act = d.action
        self._complete(p, ffi.NULL if act == "ignore" else d.category.encode())
        if act == "ignore":
            b.suppressed = True
            return True
        if act == "fallback":
            b.fallback = d.fallback
            b.suppressed = True
            return True
        raise Failure(d) from exc

    async def __aenter__(self) -> _Block:
        return self.__enter__()

    async def __aexit__(self, et, exc, tb) -> bool:
        return self.__exit__(et, exc, tb)
