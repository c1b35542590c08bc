"""Decision: what the engine decided about one error.

A Decision owns one C fl_decision_t taken from a process-wide pool and gives
it back when the Decision is garbage-collected, so deciding allocates nothing
once warm.  Fields are read from C on first access and cached; a Decision is
immutable and may be read from any thread.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Optional

from ._ffi import ffi, lib

_ACTIONS = ("retry", "fallback", "ignore", "fail")
_SEVERITIES = ("debug", "info", "warning", "error", "critical")

_pool: list = []  # free fl_decision_t* handles; list.append/pop are atomic under the GIL
_POOL_MAX = 256
_json_lock = threading.Lock()  # fl_decision_to_json writes into the decision


def _take():
    try:
        return _pool.pop()
    except IndexError:
        out = ffi.new("fl_decision_t **")
        if lib.fl_decision_new(out) != 0:
            raise MemoryError("faultline: fl_decision_new failed")
        return out[0]


def _give(d) -> None:
    if len(_pool) < _POOL_MAX:
        _pool.append(d)
    else:
        lib.fl_decision_free(d)


def _s(p) -> Optional[str]:
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")


class Decision:
    """The decision for one error event (every field of the contract).

    action: "retry" | "fallback" | "ignore" | "fail"; delay_ms (retry only,
    else None); params / fallback: parsed JSON values or None; problem: the
    RFC 9457 dict; policy: {"name", "version", "id"}; error: None unless the
    policy itself failed ({"kind", "message"}); status: the fl_decide status
    (0, or FL_EHANDLER / FL_EBUDGET_* / FL_ESTATE -- the decision is usable in
    every case).
    """

    __slots__ = ("_d", "status", "_action", "_category", "_delay", "_cache", "_full")

    def __init__(self, handle, status: int) -> None:
        self._d = handle
        self.status = status
        self._action = self._category = self._delay = self._cache = self._full = None

    def __del__(self) -> None:
        d = self._d
        if d is not None:
            self._d = None
            try:
                _give(d)
            except Exception:  # interpreter shutdown: let the OS reclaim it
                pass

    # -- the fields a guard reads on every failure: slots ------------------------
    @property
    def action(self) -> str:
        v = self._action
        if v is None:
            v = self._action = _ACTIONS[lib.fl_decision_action(self._d)]
        return v

    @property
    def category(self) -> str:
        v = self._category
        if v is None:
            v = self._category = _s(lib.fl_decision_category(self._d)) or "unknown"
        return v

    @property
    def delay_ms(self) -> Optional[int]:
        v = self._delay
        if v is None:
            v = self._delay = int(lib.fl_decision_delay_ms(self._d))
        return None if v < 0 else v

    @property
    def delay(self) -> Optional[float]:
        """delay_ms in seconds (None unless retry)."""
        v = self.delay_ms
        return None if v is None else v / 1000.0

    @property
    def attempts_left(self) -> Optional[int]:
        v = lib.fl_decision_attempts_left(self._d)
        return None if v < 0 else int(v)

    @property
    def severity(self) -> str:
        return _SEVERITIES[lib.fl_decision_severity(self._d)]

    @property
    def retryable(self) -> bool:
        return bool(lib.fl_decision_retryable(self._d))

    def _str(self, name: str, fn) -> Optional[str]:
        c = self._cache
        if c is None:
            c = self._cache = {}
        if name not in c:
            c[name] = _s(fn(self._d))
        return c[name]

    @property
    def id(self) -> Optional[str]:
        return self._str("id", lib.fl_decision_id)

    @property
    def message(self) -> Optional[str]:
        return self._str("message", lib.fl_decision_message)

    @property
    def message_id(self) -> Optional[str]:
        return self._str("message_id", lib.fl_decision_message_id)

    @property
    def locale(self) -> Optional[str]:
        return self._str("locale", lib.fl_decision_locale)

    @property
    def fingerprint(self) -> Optional[str]:
        return self._str("fingerprint", lib.fl_decision_fingerprint)

    @property
    def rule(self) -> Optional[str]:
        return self._str("rule", lib.fl_decision_rule)

    @property
    def policy_id(self) -> Optional[str]:
        return self._str("policy_id", lib.fl_decision_policy_version)

    @property
    def params(self) -> Optional[dict]:
        c = self._cache
        if c is None:
            c = self._cache = {}
        if "params" not in c:
            t = _s(lib.fl_decision_params_json(self._d))
            c["params"] = None if t is None else json.loads(t)
        return c["params"]

    @property
    def fallback(self) -> Any:
        c = self._cache
        if c is None:
            c = self._cache = {}
        if "fallback" not in c:
            t = _s(lib.fl_decision_fallback_json(self._d))
            c["fallback"] = None if t is None else json.loads(t)
        return c["fallback"]

    # -- fields without a scalar accessor: from the JSON rendering, once ------
    def to_dict(self) -> dict:
        """The decision as the contract's JSON object (a fresh dict)."""
        if self._full is None:
            with _json_lock:
                t = lib.fl_decision_to_json(self._d)
                if t == ffi.NULL:
                    raise MemoryError("faultline: fl_decision_to_json failed")
                self._full = json.loads(ffi.string(t).decode("utf-8", "replace"))
        return json.loads(json.dumps(self._full))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def _field(self, name: str) -> Any:
        if self._full is None:
            self.to_dict()
        v = self._full.get(name)  # type: ignore[union-attr]
        return json.loads(json.dumps(v)) if isinstance(v, (dict, list)) else v

    @property
    def problem(self) -> dict:
        return self._field("problem") or {}

    @property
    def policy(self) -> Optional[dict]:
        return self._field("policy")

    @property
    def effects(self) -> Optional[list]:
        return self._field("effects")

    @property
    def error(self) -> Optional[dict]:
        return self._field("error")

    @property
    def cache(self) -> Optional[dict]:
        """{"key": ..., "age_ms": N} when `fallback` was read from the stale
        cache (Engine.cache_put), else None."""
        return self._field("cache")

    @property
    def reason(self) -> Optional[str]:
        return self._field("reason")

    def __repr__(self) -> str:
        return (f"<Decision {self.category} {self.action}"
                + (f" in {self.delay_ms} ms" if self.delay_ms is not None else "")
                + f" rule={self.rule!r}>")
