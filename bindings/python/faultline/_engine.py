"""Engine: one policy set, decisions from any thread, reloads, versions,
resilience state, resource checks and storage actions."""
from __future__ import annotations

import atexit
import json
import os
import sys
import threading
import traceback
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Union

from . import _events
from ._decision import Decision, _give, _take
from ._errors import FaultlineError, PolicyError
from ._ffi import (FL_DECIDE_STACK_ON_DEMAND, FL_EINVAL, FL_ENOENT, FL_ENOMEM, FL_EPOLICY,
                   FL_EEXAMPLE, FL_ECONFINED, FL_ESTATE, FL_ESTATE_STACK, ffi, lib, primary,
                   strerror)

_BREAKER_STATES = ("closed", "open", "half_open", "forced_open", "disabled")
_engines: "weakref.WeakSet[Engine]" = weakref.WeakSet()


def stock_policy_dir() -> Optional[str]:
    """The stock pack: $FAULTLINE_POLICY_DIR, else the one recorded at build
    time, else an installed one; None when none exists."""
    cands = []
    env = os.environ.get("FAULTLINE_POLICY_DIR")
    if env:
        return env
    try:
        from . import _config

        if getattr(_config, "POLICY_DIR", None):
            cands.append(_config.POLICY_DIR)
    except ImportError:
        pass
    cands += ["/usr/share/faultline/policies", "/usr/local/share/faultline/policies"]
    for c in cands:
        if os.path.isdir(c):
            return c
    return None


def _diag_error(cls, what: str, rc: int, diag) -> Exception:
    name = strerror(rc)
    msg = ffi.string(diag.message).decode("utf-8", "replace") if diag is not None else ""
    file = ffi.string(diag.file).decode("utf-8", "replace") if diag is not None else ""
    line = int(diag.line) if diag is not None else 0
    col = int(diag.col) if diag is not None else 0
    loc = file + (f":{line}" if line else "") + (f":{col}" if col else "")
    text = f"{what}: {loc + ': ' if loc else ''}{msg or name}"
    if cls is PolicyError:
        return PolicyError(text, rc, name, file, line, col, msg)
    return cls(text, rc, name)


def _check(rc: int, what: str) -> None:
    if rc == 0:
        return
    p = primary(rc)
    name = strerror(rc)
    if p == FL_EINVAL:
        raise ValueError(f"{what}: {name}")
    if p == FL_ENOMEM:
        raise MemoryError(f"{what}: {name}")
    raise FaultlineError(f"{what}: {name}", rc, name)


def _path(v: Any, what: str) -> bytes:
    if isinstance(v, (str, os.PathLike)):
        s = os.fspath(v)
        if isinstance(s, str):
            if "\x00" in s:
                raise ValueError(f"{what}: NUL character in path")
            return os.fsencode(s)
    raise TypeError(f"{what}: expected a str or os.PathLike path, got {type(v).__name__}")


def _cstr(keep: list, b):
    """A char* for a struct field (kept alive by `keep`); NULL stays NULL."""
    if b is ffi.NULL or b is None:
        return ffi.NULL
    c = ffi.new("char[]", b)
    keep.append(c)
    return c


def _opt_str(v: Optional[str], what: str):
    if v is None:
        return ffi.NULL
    if not isinstance(v, str):
        raise TypeError(f"{what}: expected str or None, got {type(v).__name__}")
    if "\x00" in v:
        raise ValueError(f"{what}: NUL character")
    return v.encode("utf-8", "replace")


def op_record(op: Any) -> bytes:
    if not isinstance(op, str):
        raise TypeError(f"decide(op=): expected str, got {type(op).__name__}")
    return b"op\x00" + _events.enc(op) + b"\x00"


def attempt_record(attempt: Any) -> bytes:
    if not isinstance(attempt, int) or isinstance(attempt, bool):
        raise TypeError(f"decide(attempt=): expected int, got {type(attempt).__name__}")
    if attempt < 1:
        raise ValueError(f"decide(attempt=): must be >= 1, got {attempt}")
    return b"attempt\x00%d\x00" % min(attempt, 2**31 - 1)


def elapsed_record(ms: Any) -> bytes:
    if not isinstance(ms, (int, float)) or isinstance(ms, bool):
        raise TypeError(f"decide(elapsed_ms=): expected a number, got {type(ms).__name__}")
    if not (0 <= ms < float("inf")):
        raise ValueError(f"decide(elapsed_ms=): expected a finite number >= 0, got {ms!r}")
    return b"elapsed_ms\x00%.3f\x00" % ms


def tags_records(tags: Any) -> bytes:
    if not isinstance(tags, Mapping):
        raise TypeError(f"decide(tags=): expected a dict, got {type(tags).__name__}")
    return b"".join([_events.tag_rec(k, v) for k, v in tags.items()])


@dataclass(frozen=True)
class VersionInfo:
    """A published policy version."""
    id: str
    name: str
    version: str
    source: str
    loaded_at: float  # seconds since the epoch
    rules: int
    examples: int
    current: bool


def _vinfo(v) -> VersionInfo:
    def s(p):
        return "" if p == ffi.NULL else ffi.string(p).decode("utf-8", "replace")
    return VersionInfo(s(v.id), s(v.name), s(v.version), s(v.source), v.loaded_at_ms / 1000.0,
                       int(v.rules), int(v.examples), bool(v.current))


class _ThreadState:
    """One fl_ctx_t and one reusable fl_event_t per (engine, thread).  Freed
    when its thread ends (the thread-local goes) or when the engine closes,
    whichever comes first; `guard` (the engine's RLock) and `closed` (a
    one-element list shared with the engine) keep a context from being freed
    after its engine."""
    __slots__ = ("ctx", "ev", "busy", "bad", "guard", "closed", "want_stack", "probe", "__weakref__")

    def __init__(self, eng, guard, closed) -> None:
        self.ctx = self.ev = None
        self.guard = guard
        self.closed = closed
        out = ffi.new("fl_ctx_t **")
        _check(lib.fl_ctx_new(eng, out), "fl_ctx_new")
        self.ctx = out[0]
        evp = ffi.new("fl_event_t **")
        rc = lib.fl_event_new(evp)
        if rc:
            lib.fl_ctx_free(self.ctx)
            _check(rc, "fl_event_new")
        self.ev = evp[0]
        self.busy = False
        self.bad = ffi.new("size_t *")
        self.want_stack = False  # the last version asked for the stack
        self.probe = 0

    def free(self) -> None:
        """Free the C objects (the caller holds `guard`)."""
        ctx, ev = self.ctx, self.ev
        self.ctx = self.ev = None
        if ctx is not None:
            lib.fl_ctx_free(ctx)
        if ev is not None:
            lib.fl_event_free(ev)

    def __del__(self) -> None:
        try:
            with self.guard:
                if not self.closed[0]:
                    self.free()
        except Exception:  # interpreter shutdown
            pass


class _Local(threading.local):
    st: Optional[_ThreadState] = None


class Resources:
    """Resource checks (cached for cache_ttl_ms; fresh=True bypasses the
    cache).  Each returns a dict; OSError-like failures raise
    FaultlineError."""

    def __init__(self, engine: "Engine") -> None:
        self._e = engine

    def _run(self, fn, ctype: str, fresh: bool, *args):
        b = self._e._bindings_ptr()
        out = ffi.new(ctype + " *")
        rc = fn(b, *args, 1 if fresh else 0, out)
        if rc:
            if primary(rc) == FL_ENOENT:
                raise FileNotFoundError(f"resource check: {strerror(rc)}")
            _check(rc, "resource check")
        return out

    def memory(self, fresh: bool = False) -> dict:
        o = self._run(lib.fl_resource_memory, "fl_memory_info_t", fresh)
        return {"total_bytes": o.total_bytes, "available_bytes": o.available_bytes,
                "available_pct": o.available_pct, "rss_bytes": o.rss_bytes,
                "in_cgroup": bool(o.in_cgroup), "cgroup_limit_bytes": o.cgroup_limit_bytes,
                "cgroup_usage_bytes": o.cgroup_usage_bytes, "cgroup_used_pct": o.cgroup_used_pct}

    def disk(self, path: Union[str, os.PathLike] = "/", fresh: bool = False) -> dict:
        o = self._run(lib.fl_resource_disk, "fl_disk_info_t", fresh, _path(path, "disk(path)"))
        return {"total_bytes": o.total_bytes, "free_bytes": o.free_bytes, "free_pct": o.free_pct,
                "total_inodes": o.total_inodes, "free_inodes": o.free_inodes}

    def cpu(self, fresh: bool = False) -> dict:
        o = self._run(lib.fl_resource_cpu, "fl_cpu_info_t", fresh)
        return {"load1": o.load1, "load5": o.load5, "load15": o.load15,
                "usage_pct": o.usage_pct, "ncpu": o.ncpu}

    def fds(self, fresh: bool = False) -> dict:
        o = self._run(lib.fl_resource_fds, "fl_fd_info_t", fresh)
        return {"open": o.open, "limit": o.limit, "used_pct": o.used_pct}


class StorageError(FaultlineError):
    """A storage action failed; `result` says what was done before it did."""

    def __init__(self, message: str, status: int, status_name: str, result: dict) -> None:
        super().__init__(message, status, status_name)
        self.result = result


class Storage:
    """Storage actions, confined to the engine's storage_roots (docs/bindings.md).
    Each returns a dict: dry_run, bytes_freed, bytes_written, files, skipped.
    A path outside the roots raises PermissionError; other failures raise
    StorageError."""

    def __init__(self, engine: "Engine") -> None:
        self._e = engine

    def _run(self, fn, opts, what: str) -> dict:
        res = ffi.new("fl_storage_result_t *")
        rc = fn(self._e._bindings_ptr(), opts, res)
        out = {"dry_run": bool(res.dry_run), "bytes_freed": res.bytes_freed,
               "bytes_written": res.bytes_written, "files": res.files, "skipped": res.skipped}
        if rc:
            err = ffi.string(res.error).decode("utf-8", "replace") or strerror(rc)
            p = primary(rc)
            if p == FL_ECONFINED:
                raise PermissionError(f"{what}: {err}")
            if p == FL_EINVAL:
                raise ValueError(f"{what}: {err}")
            raise StorageError(f"{what}: {err}", rc, strerror(rc), out)
        return out

    @staticmethod
    def _int(v: Any, what: str) -> int:
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise (ValueError if isinstance(v, int) and not isinstance(v, bool) else TypeError)(
                f"{what}: expected an int >= 0, got {v!r}")
        return v

    def cleanup(self, dir: Union[str, os.PathLike], *, pattern: Optional[str] = None,
                older_than_s: int = 0, max_bytes: int = 0, dry_run: bool = False) -> dict:
        keep: list = []
        o = ffi.new("fl_cleanup_options_t *", {"dir": _cstr(keep, _path(dir, "cleanup(dir)")),
                    "pattern": _cstr(keep, _opt_str(pattern, "cleanup(pattern)")),
                    "older_than_s": self._int(older_than_s, "cleanup(older_than_s)"),
                    "max_bytes": self._int(max_bytes, "cleanup(max_bytes)"), "dry_run": bool(dry_run)})
        return self._run(lib.fl_storage_cleanup, o, "cleanup")

    def compress(self, path: Union[str, os.PathLike], *, pattern: Optional[str] = None,
                 older_than_s: int = 0, level: int = 0, max_files: int = 0,
                 dry_run: bool = False) -> dict:
        keep: list = []
        o = ffi.new("fl_compress_options_t *", {"path": _cstr(keep, _path(path, "compress(path)")),
                    "pattern": _cstr(keep, _opt_str(pattern, "compress(pattern)")),
                    "older_than_s": self._int(older_than_s, "compress(older_than_s)"),
                    "level": self._int(level, "compress(level)"),
                    "max_files": self._int(max_files, "compress(max_files)"), "dry_run": bool(dry_run)})
        return self._run(lib.fl_storage_compress, o, "compress")

    def rotate(self, path: Union[str, os.PathLike], *, keep: int = 0, min_bytes: int = 0) -> dict:
        k: list = []
        p = _cstr(k, _path(path, "rotate(path)"))
        o = ffi.new("fl_rotate_options_t *", {"path": p, "keep": self._int(keep, "rotate(keep)"),
                    "min_bytes": self._int(min_bytes, "rotate(min_bytes)")})
        return self._run(lib.fl_storage_rotate, o, "rotate")

    def backup(self, path: Union[str, os.PathLike], dest: Optional[Union[str, os.PathLike]] = None) -> dict:
        k: list = []
        p = _cstr(k, _path(path, "backup(path)"))
        d = ffi.NULL if dest is None else _cstr(k, _path(dest, "backup(dest)"))
        o = ffi.new("fl_backup_options_t *", {"path": p, "dest": d})
        return self._run(lib.fl_storage_backup, o, "backup")

    def write_atomic(self, path: Union[str, os.PathLike], data: Union[bytes, str], *, mode: int = 0) -> dict:
        k: list = []
        p = _cstr(k, _path(path, "write_atomic(path)"))
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"write_atomic(data): expected bytes or str, got {type(data).__name__}")
        buf = ffi.from_buffer(bytes(data))
        o = ffi.new("fl_write_options_t *", {"path": p, "data": buf, "len": len(data),
                    "mode": self._int(mode, "write_atomic(mode)")})
        return self._run(lib.fl_storage_write_atomic, o, "write_atomic")


class Engine:
    """One policy set (docs/python.md).

    Engine(policy_dir=None) loads `policy_dir`, or the stock pack when None.
    Thread-safe: decide from any number of threads (each gets its own C
    context, made on first use); reload, watch and roll back while they
    decide.  The GIL is released while the engine works.
    """

    def __init__(self, policy_dir: Optional[Union[str, os.PathLike]] = None, *,
                 versions_kept: int = 0, handler_budget_us: int = 0, lua_memory_cap: int = 0,
                 match_limit: int = 0, max_message_len: int = 0, seed: int = 0,
                 storage_roots: Iterable[Union[str, os.PathLike]] = (),
                 data_dir: Optional[Union[str, os.PathLike]] = None,
                 cache_ttl_ms: int = 0, stack: bool = True) -> None:
        self._e = None
        self._b = None
        self._closed = True
        self._watch = None
        self._watch_cb = None
        self._states: "weakref.WeakSet[_ThreadState]" = weakref.WeakSet()
        self._local = _Local()
        self._lock = threading.RLock()  # contexts are freed under it, never after the engine
        self._closed_box = [False]
        self._stack = bool(stack)
        self._guards: dict = {}
        self._locales: dict = {}
        self.last_reload: Optional[tuple] = None
        for n, v in (("versions_kept", versions_kept), ("handler_budget_us", handler_budget_us),
                     ("lua_memory_cap", lua_memory_cap), ("match_limit", match_limit),
                     ("max_message_len", max_message_len), ("seed", seed),
                     ("cache_ttl_ms", cache_ttl_ms)):
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"Engine({n}=): expected int, got {type(v).__name__}")
            if v < 0 or v >= 2**64 or (n not in ("seed", "lua_memory_cap") and v >= 2**32):
                raise ValueError(f"Engine({n}=): out of range: {v}")
        roots = [_path(r, "Engine(storage_roots=)") for r in storage_roots]
        bo = ffi.new("fl_bindings_options_t *")
        keep = [ffi.new("char[]", r) for r in roots]
        arr = ffi.new("const char *[]", keep) if keep else ffi.NULL
        bo.storage_roots = arr
        bo.storage_roots_count = len(keep)
        dd = None
        if data_dir is not None:
            dd = ffi.new("char[]", _path(data_dir, "Engine(data_dir=)"))  # kept alive until fl_bindings_new
            bo.data_dir = dd
        bo.cache_ttl_ms = cache_ttl_ms
        bp = ffi.new("fl_bindings_t **")
        rc = lib.fl_bindings_new(bo, bp)
        if rc:
            if primary(rc) == FL_ENOENT:
                raise FileNotFoundError(f"Engine(storage_roots=): a root does not exist or is not a directory")
            _check(rc, "fl_bindings_new")
        self._b = bp[0]
        eo = ffi.new("fl_engine_options_t *")
        eo.versions_kept = versions_kept
        eo.handler_budget_us = handler_budget_us
        eo.lua_memory_cap = lua_memory_cap
        eo.match_limit = match_limit
        eo.max_message_len = max_message_len
        eo.seed = seed
        eo.bindings = self._b
        ep = ffi.new("fl_engine_t **")
        rc = lib.fl_engine_new(eo, ep)
        if rc:
            lib.fl_bindings_free(self._b)
            self._b = None
            _check(rc, "fl_engine_new")
        self._e = ep[0]
        self._closed = False
        _engines.add(self)
        if policy_dir is None:
            policy_dir = stock_policy_dir()
            if policy_dir is None:
                self.close()
                raise PolicyError("Engine: no stock policy pack found (set FAULTLINE_POLICY_DIR)",
                                  FL_ENOENT, strerror(FL_ENOENT))
        try:
            self.load(policy_dir)
        except BaseException:
            self.close()
            raise
        self.resources = Resources(self)
        self.storage = Storage(self)

    # -- lifetime ---------------------------------------------------------------
    def _live(self):
        if self._closed:
            raise RuntimeError("faultline: the engine is closed")
        return self._e

    def _bindings_ptr(self):
        self._live()
        return self._b

    def close(self) -> None:
        """Stop watching and free the engine.  Decisions already returned stay
        readable; any later call on the engine raises RuntimeError.  Waits for
        decisions in flight on other threads."""
        if self._closed and self._e is None:
            return
        self._closed = True
        self.unwatch()
        import time
        for st in list(self._states):
            while st.busy:
                time.sleep(0.0005)
        with self._lock:
            self._closed_box[0] = True
            for st in list(self._states):
                st.free()
            if self._e is not None:
                lib.fl_engine_free(self._e)
                self._e = None
            if self._b is not None:
                lib.fl_bindings_free(self._b)
                self._b = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    @property
    def c_engine(self) -> int:
        """Address of the fl_engine_t, for a C extension in this process that
        wants the same engine (breakers and budgets are then shared)."""
        return int(ffi.cast("uintptr_t", self._live()))

    # -- policies ---------------------------------------------------------------
    def load(self, policy_dir: Union[str, os.PathLike]) -> VersionInfo:
        """Load, self-test and publish a policy directory.  PolicyError
        (file, line, column) when it is refused; the running version keeps
        serving."""
        p = _path(policy_dir, "load(policy_dir)")
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_engine_load(self._live(), p, diag)
        if rc:
            raise _diag_error(PolicyError, f"cannot load {os.fsdecode(p)}", rc, diag)
        return self.current()

    def load_string(self, source: str, name: str = "policy.lua") -> VersionInfo:
        if not isinstance(source, str):
            raise TypeError(f"load_string(source): expected str, got {type(source).__name__}")
        b = source.encode("utf-8")
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_engine_load_string(self._live(), _opt_str(name, "load_string(name)"), b, len(b), diag)
        if rc:
            raise _diag_error(PolicyError, f"cannot load {name}", rc, diag)
        return self.current()

    def cache_put(self, key: str, value: Any, ttl_ms: int) -> None:
        """Store a last good result for the stale-cache fallback (a rule's
        `recovery = cache { key = "...", max_stale_ms = N }`).  `value` is
        any JSON-serialisable value; `ttl_ms` 1 ms .. 30 days.  The engine
        keeps a copy (bounded, least recently used out; shared through
        Redis when the policy declares `fleet { }`).  ValueError for an
        empty or too long key (512 bytes), a ttl out of range or a value too
        large (1 MiB); TypeError for a key that is not str or a value json
        cannot serialise."""
        if not isinstance(key, str):
            raise TypeError(f"cache_put(key): expected str, got {type(key).__name__}")
        if isinstance(ttl_ms, bool) or not isinstance(ttl_ms, int):
            raise TypeError(f"cache_put(ttl_ms): expected int, got {type(ttl_ms).__name__}")
        if not 1 <= ttl_ms <= 2592000000:
            raise ValueError("cache_put(ttl_ms): must be 1..2592000000")
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        k = key.encode("utf-8")
        if b"\0" in k:
            raise ValueError("cache_put(key): contains NUL")
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_cache_put(self._live(), k, text.encode("utf-8"), ttl_ms, diag)
        if rc:
            msg = ffi.string(diag.message).decode("utf-8", "replace")
            if primary(rc) == FL_EINVAL:
                raise ValueError(f"cache_put: {msg}")
            _check(rc, "cache_put")

    def check(self, policy_dir: Union[str, os.PathLike]) -> None:
        """Validate a directory (compile + examples) without publishing it."""
        p = _path(policy_dir, "check(policy_dir)")
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_engine_check(self._live(), p, diag)
        if rc:
            raise _diag_error(PolicyError, f"{os.fsdecode(p)} is not valid", rc, diag)

    def reload(self) -> VersionInfo:
        """Load again from the current version's directory."""
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_engine_reload(self._live(), diag)
        if rc:
            raise _diag_error(PolicyError, "reload", rc, diag)
        return self.current()

    def current(self) -> VersionInfo:
        v = ffi.new("fl_version_info_t *")
        rc = lib.fl_engine_current(self._live(), v)
        if rc:
            raise FaultlineError("no policy is loaded", rc, strerror(rc))
        return _vinfo(v)

    def versions(self) -> list:
        """Kept versions, newest first."""
        e = self._live()
        n = ffi.new("size_t *")
        cap = 16
        while True:
            arr = ffi.new("fl_version_info_t[]", cap)
            _check(lib.fl_engine_versions(e, arr, cap, n), "versions")
            if n[0] <= cap:
                return [_vinfo(arr[i]) for i in range(n[0])]
            cap = int(n[0])

    def rollback(self, version_id: Optional[str] = None) -> VersionInfo:
        """Make a kept version current again (None: the one before)."""
        diag = ffi.new("fl_diag_t *")
        rc = lib.fl_engine_rollback(self._live(), _opt_str(version_id, "rollback(version_id)"), diag)
        if rc:
            if primary(rc) == FL_EINVAL:
                raise ValueError(f"rollback: {version_id!r} is ambiguous or shorter than 4 digits")
            if primary(rc) == FL_ENOENT:
                raise LookupError(f"rollback: no kept version matches {version_id!r}"
                                  if version_id else "rollback: there is no previous version")
            raise _diag_error(PolicyError, "rollback", rc, diag)
        return self.current()

    def stats(self) -> dict:
        s = ffi.new("fl_engine_stats_t *")
        _check(lib.fl_engine_stats(self._live(), s), "stats")
        names = ("handler_error", "cpu_budget", "memory_budget", "bad_return", "match_limit")
        return {"failures": {n: int(s.failures[i]) for i, n in enumerate(names)},
                "states_reset": int(s.states_reset)}

    # -- hot reload -------------------------------------------------------------
    def watch(self, policy_dir: Optional[Union[str, os.PathLike]] = None, *,
              on_reload: Optional[Callable[[Optional[PolicyError], Optional[VersionInfo]], Any]] = None,
              debounce_ms: int = 0, poll_ms: int = 0) -> None:
        """Reload in the background when the policy directory changes (a C
        thread; see docs/python.md).  on_reload(error, version) is called
        after every attempt: error None when published (or unchanged)."""
        e = self._live()
        if self._watch is not None:
            raise RuntimeError("watch: already watching (call unwatch() first)")
        if policy_dir is None:
            policy_dir = self.current().source
        p = _path(policy_dir, "watch(policy_dir)")
        if on_reload is not None and not callable(on_reload):
            raise TypeError("watch(on_reload=): expected a callable")
        me = weakref.ref(self)

        def cb(ud, status, diag, cur):
            err = None
            if status != 0:
                err = _diag_error(PolicyError, "reload", status, diag)
            ver = _vinfo(cur) if cur != ffi.NULL else None
            eng = me()
            if eng is not None:
                eng.last_reload = (err, ver)
            if on_reload is not None:
                try:
                    on_reload(err, ver)
                except BaseException:
                    traceback.print_exc(file=sys.stderr)

        c = ffi.callback("fl_reload_cb", cb)
        o = ffi.new("fl_watch_options_t *")
        o.debounce_ms = debounce_ms
        o.poll_ms = poll_ms
        o.on_reload = c
        w = ffi.new("fl_watch_t **")
        rc = lib.fl_watch_start(e, p, o, w)
        if rc:
            if primary(rc) == FL_ENOENT:
                raise FileNotFoundError(f"watch: {os.fsdecode(p)} does not exist")
            _check(rc, "watch")
        self._watch, self._watch_cb = w[0], c

    def unwatch(self) -> None:
        w, self._watch = self._watch, None
        if w is not None:
            lib.fl_watch_stop(w)  # joins the watch thread (the GIL is released)
        self._watch_cb = None

    @property
    def watching(self) -> bool:
        return self._watch is not None

    def trigger_reload(self) -> None:
        """Ask the watch for a reload now."""
        if self._watch is None:
            raise RuntimeError("trigger_reload: not watching")
        lib.fl_watch_trigger(self._watch)

    # -- deciding -----------------------------------------------------------------
    def _new_state(self) -> _ThreadState:
        st = _ThreadState(self._live(), self._lock, self._closed_box)
        self._states.add(st)
        self._local.st = st
        return st

    def decide(self, error: Union[BaseException, Mapping[str, Any], Any], *, op: Optional[str] = None,
               attempt: int = 1, locale: Optional[str] = None,
               tags: Optional[Mapping[str, Any]] = None, elapsed_ms: Optional[float] = None,
               explain: bool = False) -> Decision:
        """Decide what to do about `error`: an exception, a dict event (the
        JSON event format), or an HTTP response object with an error status.
        Keyword arguments override / add to the event's fields."""
        extra = b""
        if op is not None:
            extra = op_record(op)
        if attempt != 1:
            extra += attempt_record(attempt)
        if elapsed_ms is not None:
            extra += elapsed_record(elapsed_ms)
        if tags:
            extra += tags_records(tags)
        d, rc = self._decide_handle(error, extra, ffi.NULL if locale is None else self._locale(locale),
                                    1 if explain else 0)
        return Decision(d, rc)

    def _locale(self, locale: Optional[str]):
        if locale is None:
            return ffi.NULL
        loc = self._locales.get(locale)
        if loc is None:
            loc = self._locales[locale] = _opt_str(locale, "decide(locale=)")
        return loc

    def _decide(self, error: Any, extra: bytes, loc, flags: int) -> Decision:
        """decide() after its keyword arguments were packed into `extra`
        (the guard calls this with records it prepared once)."""
        d, rc = self._decide_handle(error, extra, loc, flags)
        return Decision(d, rc)

    def _decide_handle(self, error: Any, extra: bytes, loc, flags: int):
        """The C decision handle (from the pool) and the status; the caller
        wraps it in a Decision or gives it back with _decision._give."""
        st = self._local.st
        if st is None or st.ctx is None:
            st = self._new_state()
        causes = None
        lazy = 0
        if type(error) is dict:
            packed, causes = _events.pack_dict(error)
        elif isinstance(error, BaseException):
            # The traceback is the costly part of an event.  It is sent only
            # when the serving version reads it: left out, with
            # FL_DECIDE_STACK_ON_DEMAND, until the engine asks for it; then
            # sent up front (the thread remembers), with a probe without it
            # every 64th decision to notice a version that stopped reading it.
            with_stack = False
            if self._stack and error.__traceback__ is not None:
                if st.want_stack:
                    st.probe = (st.probe + 1) & 63
                    with_stack = st.probe != 0
                lazy = 0 if with_stack else FL_DECIDE_STACK_ON_DEMAND
            packed = _events.pack_exception(error, with_stack)
            if error.__cause__ is not None or (error.__context__ is not None
                                               and not error.__suppress_context__):
                causes = _events.exception_causes(error)
        elif isinstance(error, Mapping):
            packed, causes = _events.pack_dict(error)
        else:
            packed = _events.pack_response(error)
            if packed is None:
                raise TypeError("decide(error): expected an exception, a dict event or an HTTP "
                                f"response with an error status, got {type(error).__name__}")
        if extra:
            packed += extra
        st.busy = True
        try:
            if self._closed:
                raise RuntimeError("faultline: the engine is closed")
            ev = st.ev
            if lib.fl_event_set_packed(ev, packed, len(packed), 1, st.bad):  # 1: FL_EVENT_RESET
                _events.apply(ev, packed, st.bad, flags=1)  # again, to raise the precise error
            if causes:
                _events.apply_causes(ev, causes, st.bad)
            d = _take()
            rc = lib.fl_decide(st.ctx, ev, loc, flags | lazy, d)
            if lazy:
                st.want_stack = rc == FL_ESTATE_STACK
                if rc == FL_ESTATE_STACK:  # this policy reads the stack: add it, decide again
                    sr = _events.stack_record(error)
                    if lib.fl_event_set_packed(ev, sr, len(sr), 0, st.bad):
                        _give(d)
                        _events.apply(ev, sr, st.bad)
                    rc = lib.fl_decide(st.ctx, ev, loc, flags, d)
        finally:
            st.busy = False
        if rc == FL_EINVAL:  # cannot happen with live objects; never hand out garbage
            _give(d)
            raise RuntimeError("faultline: fl_decide refused its arguments")
        return d, rc

    # -- resilience ---------------------------------------------------------------
    def _resil(self):
        return lib.fl_engine_resil(self._live())

    def breaker(self, name: str, key: Optional[str] = None) -> dict:
        """A breaker's state for `key` (None: the default key)."""
        s = ffi.new("fl_breaker_stats_t *")
        rc = lib.fl_breaker_stats(self._resil(), _opt_str(name, "breaker(name)"),
                                  _opt_str(key, "breaker(key)"), s)
        if primary(rc) == FL_ENOENT:
            raise LookupError(f"breaker {name!r} is not declared")
        _check(rc, "breaker")
        return {"state": _BREAKER_STATES[s.state] if 0 <= s.state < 5 else "?",
                "calls": s.calls, "failures": s.failures, "slow_calls": s.slow_calls,
                "opens": s.opens, "retry_after": s.retry_after_ns / 1e9}

    def set_breaker(self, name: str, state: str, key: Optional[str] = None) -> None:
        """Operator control: "forced_open", "disabled", or "closed" (release
        the pin and reset).  key None: every key."""
        if state not in ("closed", "forced_open", "disabled"):
            raise ValueError(f"set_breaker(state=): expected 'closed', 'forced_open' or "
                             f"'disabled', got {state!r}")
        rc = lib.fl_breaker_set_state(self._resil(), _opt_str(name, "set_breaker(name)"),
                                      _opt_str(key, "set_breaker(key)"), _BREAKER_STATES.index(state))
        if primary(rc) == FL_ENOENT:
            raise LookupError(f"breaker {name!r} is not declared")
        _check(rc, "set_breaker")

    def guard(self, op: Optional[str] = None, **kw: Any):
        """A guard for calls: decorator, `with` and `async with` (see Guard)."""
        from ._guard import Guard
        return Guard(self, op, **kw)

    def __repr__(self) -> str:
        if self._closed:
            return "<faultline.Engine closed>"
        try:
            v = self.current()
            return f"<faultline.Engine {v.name} {v.version} ({v.id})>"
        except FaultlineError:
            return "<faultline.Engine (no policy)>"


def _after_fork_in_child() -> None:
    """The child has one thread: the one that forked.  Its context is kept;
    the other threads' contexts are freed (or, if they were deciding at the
    fork, dropped unfreed); the watch thread did not survive, so the watch is
    forgotten without joining; the lock is new (another thread may have held
    the parent's)."""
    for eng in list(_engines):
        eng._watch = None
        eng._watch_cb = None
        eng._lock = threading.RLock()
        cur = eng._local.st
        for st in list(eng._states):
            st.guard = eng._lock
            if st is cur:
                continue
            if st.busy:
                st.ctx = st.ev = None  # mid-decision at the fork: never touch it again
            else:
                st.free()


def _at_exit() -> None:
    for eng in list(_engines):
        try:
            eng.unwatch()
        except Exception:
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_at_exit)
