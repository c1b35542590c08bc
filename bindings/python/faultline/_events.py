"""Turning Python errors into engine events (fl_event_t), field by field.

From an exception (docs/python.md, "From an exception to an event"):
  domain  "python"; "posix" for an OSError with an errno; "http" for an HTTP
          status error (urllib, http.client, requests, httpx); "sqlite" for a
          sqlite3 error that carries its SQLite error name
  code    the exception's qualified class ("ValueError",
          "requests.exceptions.ConnectTimeout"); the errno name for OSError
          ("ENOSPC"); the HTTP status; the SQLite error name ("SQLITE_BUSY")
  message the exception as Python prints its last line: "Class: str(exc)"
  stack   the formatted traceback (frames without source lines)
  tags    exception (the class, when code is something else), errno,
          retry_after (HTTP Retry-After, as sent), plus the caller's tags
  cause   __cause__, else __context__ unless suppressed (up to 8 deep)
"""
from __future__ import annotations

import errno as _errno
import urllib.error
from typing import Any, Mapping, Optional

from ._ffi import ffi, lib, FL_ETOOBIG, FL_EPARSE, primary

F_ID, F_TIME, F_DOMAIN, F_CODE, F_MESSAGE, F_OP, F_STACK = range(7)
_FIELDS = {"id": F_ID, "time": F_TIME, "domain": F_DOMAIN, "code": F_CODE,
           "message": F_MESSAGE, "op": F_OP, "stack": F_STACK}
_MAX_FRAMES = 64
_MAX_CAUSES = 8

_B_PYTHON = b"python"
_B_POSIX = b"posix"
_B_HTTP = b"http"
_B_SQLITE = b"sqlite"

_class_cache: dict = {}


def _qualname(cls: type) -> str:
    mod = getattr(cls, "__module__", None) or ""
    q = getattr(cls, "__qualname__", None) or cls.__name__
    return q if mod in ("builtins", "__main__", "") else f"{mod}.{q}"


def _enc(s: str) -> bytes:
    return s.encode("utf-8", "replace")


def _bad(field: str, rc: int) -> Exception:
    p = primary(rc)
    if p == FL_ETOOBIG:
        return ValueError(f"event field '{field}' is too large (over 1 MiB)")
    if p == FL_EPARSE:
        return ValueError(f"event field '{field}' is not valid UTF-8")
    return ValueError(f"event field '{field}' was refused by the engine (status {rc})")


def _set(ev, field: int, name: str, b: bytes) -> None:
    rc = lib.fl_event_set(ev, field, b, len(b))
    if rc:
        raise _bad(name, rc)


def _tag(ev, key: str, value: Any, where: str = "tags") -> None:
    if not isinstance(key, str):
        raise TypeError(f"{where}: keys must be str, got {type(key).__name__}")
    if isinstance(value, bool):
        v = "true" if value else "false"
    elif isinstance(value, (str, int, float)):
        v = str(value)
    else:
        raise TypeError(f"{where}['{key}']: expected str, int, float or bool, "
                        f"got {type(value).__name__}")
    if not key:
        raise ValueError(f"{where}: empty key")
    if "\x00" in key or "\x00" in v:
        raise ValueError(f"{where}['{key}']: NUL character")
    rc = lib.fl_event_set_tag(ev, _enc(key), _enc(v))
    if rc:
        raise _bad(f"{where}.{key}", rc)


def format_stack(tb) -> str:
    """The traceback as Python prints it, without the source lines (reading
    source files on every error would cost more than the decision)."""
    frames = []
    while tb is not None:
        co = tb.tb_frame.f_code
        frames.append(f'  File "{co.co_filename}", line {tb.tb_lineno}, in {co.co_name}')
        tb = tb.tb_next
    if len(frames) > _MAX_FRAMES:
        frames = frames[-_MAX_FRAMES:]
    return "Traceback (most recent call last):\n" + "\n".join(frames)


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__} object>"


def _header(obj: Any, name: str) -> Optional[str]:
    h = getattr(obj, "headers", None)
    if h is None:
        g = getattr(obj, "getheader", None)
        return g(name) if callable(g) else None
    try:
        v = h.get(name)
    except Exception:
        return None
    return v if isinstance(v, str) else None


def _http_status(exc: BaseException):
    """(status, retry_after) for an HTTP status error, else None."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code, _header(exc, "Retry-After")
    resp = getattr(exc, "response", None)  # requests.HTTPError, httpx.HTTPStatusError
    if resp is not None:
        st = getattr(resp, "status_code", None)
        if st is None:
            st = getattr(resp, "status", None)
        if isinstance(st, int) and 100 <= st <= 599:
            return st, _header(resp, "Retry-After")
    return None


def _response_status(obj: Any):
    st = getattr(obj, "status_code", None)
    if st is None:
        st = getattr(obj, "status", None)
    return st if isinstance(st, int) and 100 <= st <= 599 else None


def fill_exception(ev, exc: BaseException, with_stack: bool = True) -> None:
    cls = type(exc)
    qual = _class_cache.get(cls)
    if qual is None:
        qual = _class_cache[cls] = (_qualname(cls), _enc(_qualname(cls)))
    qs, qb = qual
    text = _text(exc)
    line = f"{qs}: {text}" if text else qs
    http = _http_status(exc)
    if http is not None:
        _set(ev, F_DOMAIN, "domain", _B_HTTP)
        _set(ev, F_CODE, "code", str(http[0]).encode())
        _tag(ev, "exception", qs)
        if http[1]:
            _tag(ev, "retry_after", http[1].strip())
    elif isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno in _errno.errorcode:
        _set(ev, F_DOMAIN, "domain", _B_POSIX)
        _set(ev, F_CODE, "code", _errno.errorcode[exc.errno].encode())
        _tag(ev, "exception", qs)
        _tag(ev, "errno", exc.errno)
    elif getattr(exc, "sqlite_errorname", None):
        _set(ev, F_DOMAIN, "domain", _B_SQLITE)
        _set(ev, F_CODE, "code", _enc(exc.sqlite_errorname))  # type: ignore[attr-defined]
        _tag(ev, "exception", qs)
    else:
        _set(ev, F_DOMAIN, "domain", _B_PYTHON)
        _set(ev, F_CODE, "code", qb)
    _set(ev, F_MESSAGE, "message", _enc(line))
    tb = exc.__traceback__
    if with_stack and tb is not None:
        _set(ev, F_STACK, "stack", _enc(format_stack(tb) + "\n" + line))


def fill_causes(ev, exc: BaseException) -> None:
    seen = {id(exc)}
    c = exc.__cause__ if exc.__cause__ is not None else (
        None if exc.__suppress_context__ else exc.__context__)
    n = 0
    while c is not None and n < _MAX_CAUSES and id(c) not in seen:
        seen.add(id(c))
        out = ffi.new("fl_event_t **")
        if lib.fl_event_push_cause(ev, out) != 0:
            break
        fill_exception(out[0], c, with_stack=False)
        n += 1
        c = c.__cause__ if c.__cause__ is not None else (
            None if c.__suppress_context__ else c.__context__)


def fill_response(ev, obj: Any) -> bool:
    """An HTTP response object (http.client, requests, httpx) with an error
    status.  False when obj is not one."""
    st = _response_status(obj)
    if st is None:
        return False
    reason = getattr(obj, "reason", None) or getattr(obj, "reason_phrase", None) or ""
    _set(ev, F_DOMAIN, "domain", _B_HTTP)
    _set(ev, F_CODE, "code", str(st).encode())
    _set(ev, F_MESSAGE, "message", _enc(f"HTTP {st} {reason}".strip()))
    ra = _header(obj, "Retry-After")
    if ra:
        _tag(ev, "retry_after", ra.strip())
    return True


def fill_dict(ev, event: Mapping, where: str = "event", depth: int = 0) -> None:
    for k, v in event.items():
        if not isinstance(k, str):
            raise TypeError(f"{where}: field names must be str, got {type(k).__name__}")
        f = _FIELDS.get(k)
        if f is not None:
            if k == "code" and isinstance(v, int) and not isinstance(v, bool):
                v = str(v)
            if not isinstance(v, str):
                raise TypeError(f"{where}['{k}']: expected str"
                                + (" or int" if k == "code" else "") + f", got {type(v).__name__}")
            if "\x00" in v:
                raise ValueError(f"{where}['{k}']: NUL character")
            _set(ev, f, f"{where}.{k}" if depth else k, _enc(v))
        elif k == "attempt":
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise (TypeError if not isinstance(v, int) or isinstance(v, bool) else ValueError)(
                    f"{where}['attempt']: expected an int >= 1, got {v!r}")
            lib.fl_event_set_attempt(ev, min(v, 2**31 - 1))
        elif k == "elapsed_ms":
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise TypeError(f"{where}['elapsed_ms']: expected a number, got {type(v).__name__}")
            if not (v >= 0) or v == float("inf"):
                raise ValueError(f"{where}['elapsed_ms']: expected a finite number >= 0, got {v!r}")
            lib.fl_event_set_elapsed_ms(ev, float(v))
        elif k == "tags":
            if not isinstance(v, Mapping):
                raise TypeError(f"{where}['tags']: expected a dict, got {type(v).__name__}")
            for tk, tv in v.items():
                _tag(ev, tk, tv, f"{where}['tags']")
        elif k == "cause":
            if v is None:
                continue
            if not isinstance(v, Mapping):
                raise TypeError(f"{where}['cause']: expected a dict, got {type(v).__name__}")
            out = ffi.new("fl_event_t **")
            rc = lib.fl_event_push_cause(ev, out)
            if rc:
                raise ValueError(f"{where}['cause']: nested deeper than {_MAX_CAUSES}")
            fill_dict(out[0], v, f"{where}['cause']", depth + 1)
        else:
            raise ValueError(f"{where}: unknown field '{k}' (expected id, time, domain, code, "
                             "message, op, attempt, elapsed_ms, tags, stack, cause)")
