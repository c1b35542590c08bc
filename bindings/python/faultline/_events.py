"""Turning Python errors into engine events.

An event is built as one packed byte string (KEY NUL VALUE NUL records,
fl_event_set_packed) so that filling it is a single call into C.

From an exception (docs/python.md, "From an exception to an event"):
  domain  "python"; "posix" for an OSError with an errno; "http" for an HTTP
          status error (urllib, requests, httpx, or an http.client / requests
          / httpx response object); "sqlite" for a sqlite3 error that carries
          its SQLite error name
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
from typing import Any, List, Mapping, Optional, Tuple

from ._ffi import FL_EINVAL, FL_EPARSE, FL_ETOOBIG, ffi, lib, primary

_FIELDS = ("id", "time", "domain", "code", "message", "op", "stack")
_MAX_FRAMES = 64
_MAX_CAUSES = 8
_NUL = b"\x00"
_REPL = "\ufffd".encode()

_class_cache: dict = {}
_errno_cache: dict = {}


def _qualname(cls: type) -> str:
    mod = getattr(cls, "__module__", None) or ""
    q = getattr(cls, "__qualname__", None) or cls.__name__
    return q if mod in ("builtins", "__main__", "") else f"{mod}.{q}"


def enc(s: str) -> bytes:
    """UTF-8 for a packed value: unencodable characters and NULs replaced."""
    b = s.encode("utf-8", "replace")
    return b.replace(_NUL, _REPL) if _NUL in b else b


def rec(key: bytes, value: bytes) -> bytes:
    return key + _NUL + value + _NUL


def tag_rec(key: Any, value: Any, where: str = "tags") -> bytes:
    if not isinstance(key, str):
        raise TypeError(f"{where}: keys must be str, got {type(key).__name__}")
    if not key:
        raise ValueError(f"{where}: empty key")
    if isinstance(value, str):
        v = value
    elif isinstance(value, bool):
        v = "true" if value else "false"
    elif isinstance(value, (int, float)):
        v = str(value)
    else:
        raise TypeError(f"{where}['{key}']: expected str, int, float or bool, "
                        f"got {type(value).__name__}")
    if "\x00" in key or "\x00" in v:
        raise ValueError(f"{where}['{key}']: NUL character")
    return b"tags." + key.encode("utf-8", "replace") + _NUL + v.encode("utf-8", "replace") + _NUL


_FRAME_CACHE_MAX = 20000
_TB_HEAD = b"Traceback (most recent call last):\n"


_stack_cache: dict = {}


def _stack_bytes(tb) -> bytes:
    """The traceback's frame lines, encoded.  A traceback with the same
    frames as an earlier one (the common case: errors come from few places)
    is found by one lookup keyed by the frames' (code id, line) pairs; the
    entry holds the code objects, so their ids cannot be reused meanwhile."""
    key = []
    codes = []
    t = tb
    while t is not None:
        co = t.tb_frame.f_code
        key.append(id(co))
        key.append(t.tb_lineno)
        codes.append(co)
        t = t.tb_next
    k = tuple(key)
    v = _stack_cache.get(k)
    if v is None:
        if len(_stack_cache) >= _FRAME_CACHE_MAX:
            _stack_cache.clear()
        v = _stack_cache[k] = (codes, _format_frames(tb))
    return v[1]


def _format_frames(tb) -> bytes:
    frames = []
    while tb is not None:
        co = tb.tb_frame.f_code
        frames.append(enc(f'  File "{co.co_filename}", line {tb.tb_lineno}, in {co.co_name}'))
        tb = tb.tb_next
    if len(frames) > _MAX_FRAMES:
        frames = frames[-_MAX_FRAMES:]
    return _TB_HEAD + b"\n".join(frames)


def format_stack(tb) -> str:
    """The traceback as Python prints it, without the source lines (reading
    source files on every error would cost more than the decision)."""
    return _stack_bytes(tb).decode("utf-8", "replace")


def _text(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<unprintable {type(exc).__name__} object>"


def _header(obj: Any, name: str) -> Optional[str]:
    h = getattr(obj, "headers", None)
    try:
        if h is None:
            g = getattr(obj, "getheader", None)
            v = g(name) if callable(g) else None
        else:
            v = h.get(name)
    except Exception:
        return None
    return v.strip() if isinstance(v, str) and v.strip() else None


def _response_status(obj: Any) -> Optional[int]:
    st = getattr(obj, "status_code", None)
    if st is None:
        st = getattr(obj, "status", None)
    return st if isinstance(st, int) and not isinstance(st, bool) and 100 <= st <= 599 else None


_K_PLAIN, _K_OS, _K_URLLIB = 0, 1, 2


def _class_info(cls: type) -> tuple:
    qs = _qualname(cls)
    kind = (_K_URLLIB if issubclass(cls, urllib.error.HTTPError)
            else _K_OS if issubclass(cls, OSError) else _K_PLAIN)
    info = (qs, kind, b"domain\x00python\x00code\x00" + enc(qs) + b"\x00message\x00",
            b"tags.exception\x00" + enc(qs) + _NUL)
    _class_cache[cls] = info
    return info


def _http(status: int, retry_after: Optional[str], exc_tag: bytes) -> bytes:
    out = b"domain\x00http\x00code\x00" + str(status).encode() + _NUL + exc_tag
    if retry_after:
        out += rec(b"tags.retry_after", enc(retry_after))
    return out + b"message\x00"


def pack_exception(exc: BaseException, with_stack: bool = True) -> bytes:
    """The packed event for an exception (without its causes)."""
    info = _class_cache.get(type(exc))
    if info is None:
        info = _class_info(type(exc))
    qs, kind, head, exc_tag = info
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {type(exc).__name__} object>"
    line = f"{qs}: {text}" if text else qs
    if kind == _K_URLLIB:
        code = getattr(exc, "code", None)
        if isinstance(code, int) and 100 <= code <= 599:
            head = _http(code, _header(exc, "Retry-After"), exc_tag)
    else:
        # requests.HTTPError (an OSError), httpx.HTTPStatusError: .response
        resp = getattr(exc, "response", None)
        st = _response_status(resp) if resp is not None else None
        if st is not None:
            head = _http(st, _header(resp, "Retry-After"), exc_tag)
        elif kind == _K_OS:
            en = exc.errno  # type: ignore[attr-defined]
            if isinstance(en, int) and en in _errno.errorcode:
                h = _errno_cache.get((qs, en))
                if h is None:
                    h = _errno_cache[(qs, en)] = (
                        b"domain\x00posix\x00code\x00" + _errno.errorcode[en].encode() + _NUL
                        + exc_tag + rec(b"tags.errno", str(en).encode()) + b"message\x00")
                head = h
        else:
            name = getattr(exc, "sqlite_errorname", None)  # sqlite3, Python >= 3.11
            if isinstance(name, str) and name:
                head = b"domain\x00sqlite\x00code\x00" + enc(name) + _NUL + exc_tag + b"message\x00"
    lb = line.encode("utf-8", "replace")
    if _NUL in lb:
        lb = lb.replace(_NUL, _REPL)
    if with_stack:
        tb = exc.__traceback__
        if tb is not None:
            return b"".join((head, lb, b"\x00stack\x00", _stack_bytes(tb), b"\n", lb, _NUL))
    return head + lb + _NUL


def stack_record(exc: BaseException) -> bytes:
    """The `stack` record alone (asked for by an engine whose policy reads
    the stack, FL_ESTATE_STACK)."""
    qs = _class_cache[type(exc)][0] if type(exc) in _class_cache else _qualname(type(exc))
    try:
        text = str(exc)
    except Exception:
        text = f"<unprintable {type(exc).__name__} object>"
    lb = enc(f"{qs}: {text}" if text else qs)
    return b"".join((b"stack\x00", _stack_bytes(exc.__traceback__), b"\n", lb, _NUL))


def next_cause(exc: BaseException) -> Optional[BaseException]:
    c = exc.__cause__
    if c is None and not exc.__suppress_context__:
        c = exc.__context__
    return c


def exception_causes(exc: BaseException) -> List[bytes]:
    out: List[bytes] = []
    seen = {id(exc)}
    c = next_cause(exc)
    while c is not None and len(out) < _MAX_CAUSES and id(c) not in seen:
        seen.add(id(c))
        out.append(pack_exception(c, with_stack=False))
        c = next_cause(c)
    return out


def pack_response(obj: Any) -> Optional[bytes]:
    """An HTTP response object (http.client, requests, httpx) with an error
    status; None when obj is not one."""
    st = _response_status(obj)
    if st is None:
        return None
    reason = getattr(obj, "reason", None) or getattr(obj, "reason_phrase", None) or ""
    if not isinstance(reason, str):
        reason = ""
    return _http(st, _header(obj, "Retry-After"), b"") + enc(f"HTTP {st} {reason}".strip()) + _NUL


def pack_dict(event: Mapping, where: str = "event", depth: int = 0) -> Tuple[bytes, List[bytes]]:
    """(packed event, packed causes outermost first) for a dict event."""
    parts = []
    causes: List[bytes] = []
    for k, v in event.items():
        if not isinstance(k, str):
            raise TypeError(f"{where}: field names must be str, got {type(k).__name__}")
        if k in _FIELDS:
            if k == "code" and isinstance(v, int) and not isinstance(v, bool):
                v = str(v)
            if not isinstance(v, str):
                raise TypeError(f"{where}['{k}']: expected str" + (" or int" if k == "code" else "")
                                + f", got {type(v).__name__}")
            if "\x00" in v:
                raise ValueError(f"{where}['{k}']: NUL character")
            parts.append(rec(k.encode(), v.encode("utf-8", "replace")))
        elif k == "attempt":
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"{where}['attempt']: expected int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{where}['attempt']: expected an int >= 1, got {v}")
            parts.append(rec(b"attempt", str(min(v, 2**31 - 1)).encode()))
        elif k == "elapsed_ms":
            if not isinstance(v, (int, float)) or isinstance(v, bool):
                raise TypeError(f"{where}['elapsed_ms']: expected a number, got {type(v).__name__}")
            if not (0 <= v < float("inf")):
                raise ValueError(f"{where}['elapsed_ms']: expected a finite number >= 0, got {v!r}")
            parts.append(rec(b"elapsed_ms", repr(float(v)).encode()))
        elif k == "tags":
            if not isinstance(v, Mapping):
                raise TypeError(f"{where}['tags']: expected a dict, got {type(v).__name__}")
            for tk, tv in v.items():
                parts.append(tag_rec(tk, tv, f"{where}['tags']"))
        elif k == "cause":
            if v is None:
                continue
            if not isinstance(v, Mapping):
                raise TypeError(f"{where}['cause']: expected a dict, got {type(v).__name__}")
            if depth >= _MAX_CAUSES:
                raise ValueError(f"{where}['cause']: nested deeper than {_MAX_CAUSES}")
            inner, deeper = pack_dict(v, f"{where}['cause']", depth + 1)
            causes = [inner] + deeper
        else:
            raise ValueError(f"{where}: unknown field '{k}' (expected id, time, domain, code, "
                             "message, op, attempt, elapsed_ms, tags, stack, cause)")
    return b"".join(parts), causes


def apply(ev, packed: bytes, bad, where: str = "event", flags: int = 0) -> None:
    """Fill ev from packed records; a refused record raises ValueError
    naming its field."""
    rc = lib.fl_event_set_packed(ev, packed, len(packed), flags, bad)
    if rc:
        key = packed.split(_NUL)[2 * bad[0]].decode("utf-8", "replace") if bad[0] * 2 < packed.count(_NUL) else "?"
        p = primary(rc)
        what = ("is too large (over 1 MiB)" if p == FL_ETOOBIG
                else "is not valid UTF-8" if p == FL_EPARSE
                else "has an invalid value" if p == FL_EINVAL
                else f"was refused (status {rc})")
        raise ValueError(f"{where} field '{key}' {what}")


def apply_causes(ev, causes: List[bytes], bad) -> None:
    out = ffi.new("fl_event_t **")
    for i, c in enumerate(causes):
        if lib.fl_event_push_cause(ev, out):
            raise ValueError(f"event cause chain longer than {_MAX_CAUSES}")
        apply(out[0], c, bad, "cause" + (f" {i + 1}" if i else ""))
