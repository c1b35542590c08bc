"""Operations: reload while deciding (threads), watch, versions and
rollback, resource checks, storage actions, fork, one context per thread."""
import os
import shutil
import sys
import threading
import time

import pytest

import faultline

HERE = os.path.dirname(os.path.abspath(__file__))

V1 = '''policy { name = "ops", version = "1.0.0" }
rule "boom" { when = { message = re"boom" }, category = "internal" }
'''
V2 = V1.replace('"1.0.0"', '"2.0.0"').replace('"internal"', '"unavailable"')
BROKEN = 'policy { name = "ops", version = "3.0.0" }\nrule "boom" { when = { message = re"(" }, category = "x" }\n'


def policy_dir(tmp_path, text=V1):
    d = tmp_path / "pol"
    d.mkdir(exist_ok=True)
    (d / "p.lua").write_text(text)
    return d


def test_versions_and_rollback(tmp_path):
    d = policy_dir(tmp_path)
    e = faultline.Engine(str(d))
    v1 = e.current()
    assert (v1.name, v1.version, v1.rules, v1.current) == ("ops", "1.0.0", 1, True)
    (d / "p.lua").write_text(V2)
    v2 = e.reload()
    assert v2.version == "2.0.0" and v2.id != v1.id
    assert e.decide(RuntimeError("boom")).category == "unavailable"
    assert [v.version for v in e.versions()] == ["2.0.0", "1.0.0"]
    (d / "p.lua").write_text(BROKEN)
    with pytest.raises(faultline.PolicyError) as ei:
        e.reload()
    assert ei.value.line == 2 and ei.value.file.endswith("p.lua")
    assert e.current().version == "2.0.0"  # the broken version never serves
    assert e.rollback().version == "1.0.0"
    assert e.decide(RuntimeError("boom")).category == "internal"
    assert e.rollback(v2.id[:6]).version == "2.0.0"
    with pytest.raises(LookupError):
        e.rollback("ffffffffffff")
    with pytest.raises(ValueError):
        e.rollback("ab")
    with pytest.raises(faultline.PolicyError):
        e.check(str(d))
    v = e.load_string(V1, "inline.lua")
    assert v.source == "inline.lua"
    with pytest.raises(faultline.PolicyError) as ei:
        e.load_string("rule 'x' {", "bad.lua")
    assert ei.value.file == "bad.lua"
    e.close()


def test_reload_while_deciding(tmp_path):
    """Four threads decide while the main thread reloads back and forth: every
    decision is one of the two versions' answers; none fails."""
    d = policy_dir(tmp_path)
    e = faultline.Engine(str(d))
    stop = threading.Event()
    seen = {}
    errors = []
    states = set()

    def decider(i):
        got = set()
        n = 0
        try:
            e.decide(RuntimeError("first"))
            states.add(id(e._local.st))  # this thread's context
            while not stop.is_set():
                dec = e.decide(RuntimeError(f"boom {n}"), op=f"t{i}")
                got.add((dec.category, dec.status))
                n += 1
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        seen[i] = (got, n)

    ts = [threading.Thread(target=decider, args=(i,)) for i in range(4)]
    for t in ts:
        t.start()
    for k in range(20):
        (d / "p.lua").write_text(V2 if k % 2 == 0 else V1)
        e.reload()
        time.sleep(0.01)
    stop.set()
    for t in ts:
        t.join()
    assert errors == []
    for got, n in seen.values():
        assert n > 0
        assert got <= {("internal", 0), ("unavailable", 0)}
    assert len(states) == 4  # one context per thread
    e.close()


def test_watch_reloads_in_background(tmp_path):
    d = policy_dir(tmp_path)
    e = faultline.Engine(str(d))
    events = []
    got = threading.Event()

    def on_reload(err, ver):
        events.append((err, ver))
        got.set()

    e.watch(on_reload=on_reload, debounce_ms=20, poll_ms=100)
    assert e.watching
    with pytest.raises(RuntimeError):
        e.watch()
    (d / "p.lua").write_text(V2)
    deadline = time.monotonic() + 10
    while e.current().version != "2.0.0" and time.monotonic() < deadline:
        e.decide(RuntimeError("boom"))  # deciding while the watch reloads
        time.sleep(0.01)
    assert e.current().version == "2.0.0"
    assert got.wait(5)
    assert events[-1][0] is None and events[-1][1].version == "2.0.0"
    got.clear()
    (d / "p.lua").write_text(BROKEN)
    assert got.wait(10)
    err, ver = events[-1]
    assert isinstance(err, faultline.PolicyError) and err.line == 2
    assert ver.version == "2.0.0"  # still serving
    assert isinstance(e.last_reload[0], faultline.PolicyError)
    e.unwatch()
    assert not e.watching
    e.close()


def test_watch_bad_arguments(tmp_path):
    e = faultline.Engine(str(policy_dir(tmp_path)))
    with pytest.raises(FileNotFoundError):
        e.watch(str(tmp_path / "nope"))
    with pytest.raises(TypeError):
        e.watch(on_reload=5)
    with pytest.raises(RuntimeError):
        e.trigger_reload()
    e.close()


def test_resources(engine):
    m = engine.resources.memory()
    assert m["total_bytes"] > 0 and 0 <= m["available_pct"] <= 100
    dk = engine.resources.disk("/", fresh=True)
    assert dk["total_bytes"] > 0
    c = engine.resources.cpu()
    assert c["ncpu"] >= 1
    f = engine.resources.fds()
    assert f["open"] > 0 and f["limit"] >= f["open"]
    with pytest.raises(FileNotFoundError):
        engine.resources.disk("/no/such/path")
    with pytest.raises(TypeError, match="path"):
        engine.resources.disk(5)


def test_storage_actions(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    e = faultline.Engine(os.path.join(HERE, "policy"), storage_roots=[str(root)])
    for i in range(5):
        p = root / f"log.{i}"
        p.write_bytes(b"x" * 1000)
        os.utime(p, (time.time() - 3600 * (i + 1),) * 2)
    r = e.storage.cleanup(str(root), pattern="log.*", older_than_s=3 * 3600 + 60, dry_run=True)
    assert r["dry_run"] and r["files"] == 2 and len(list(root.iterdir())) == 5
    r = e.storage.cleanup(str(root), pattern="log.*", older_than_s=3 * 3600 + 60)
    assert r["files"] == 2 and r["bytes_freed"] >= 2000
    assert sorted(p.name for p in root.iterdir()) == ["log.0", "log.1", "log.2"]
    r = e.storage.write_atomic(str(root / "state.json"), '{"ok": true}')
    assert (root / "state.json").read_text() == '{"ok": true}'
    r = e.storage.backup(str(root / "state.json"))
    assert (root / "state.json.bak").exists()
    r = e.storage.compress(str(root / "log.2"))
    assert (root / "log.2.zst").exists() and not (root / "log.2").exists()
    (root / "app.log").write_text("line\n" * 100)
    e.storage.rotate(str(root / "app.log"), keep=2)
    assert (root / "app.log.1").exists()
    with pytest.raises(PermissionError):
        e.storage.cleanup(str(tmp_path), older_than_s=1)  # outside the roots
    with pytest.raises(PermissionError):
        e.storage.write_atomic(str(root / ".." / "escape"), b"x")
    with pytest.raises(ValueError):
        e.storage.cleanup(str(root))  # no criterion
    with pytest.raises(TypeError, match="data"):
        e.storage.write_atomic(str(root / "x"), 5)
    with pytest.raises(TypeError, match="older_than_s"):
        e.storage.cleanup(str(root), older_than_s="1")
    e.close()
    with pytest.raises(FileNotFoundError):
        faultline.Engine(os.path.join(HERE, "policy"), storage_roots=[str(tmp_path / "missing")])


def test_data_dir(tmp_path):
    # Engine(data_dir=) once raised TypeError (bytes assigned to a char * field).
    e = faultline.Engine(os.path.join(HERE, "policy"), data_dir=str(tmp_path))
    assert e.decide(ValueError("x")).action in ("retry", "fallback", "ignore", "fail")
    e.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_fork_child_decides_and_parent_goes_on(engine, closed_port):
    """The child inherits the engine (version and resilience state, copied):
    it decides at once, in the forking thread and in a new thread."""
    engine.decide(ValueError("warm"))
    engine.decide(KeyError("k"), op="profile.load")  # a handler: the watchdog thread starts
    t = threading.Thread(target=lambda: engine.decide(ValueError("other thread")))
    t.start()
    t.join()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            a = engine.decide(ConnectionRefusedError(111, "Connection refused")).category
            assert engine.decide(KeyError("k"), op="profile.load").action == "fallback"  # a handler
            out = []
            th = threading.Thread(target=lambda: out.append(engine.decide(ValueError("x")).category))
            th.start()
            th.join()
            os.write(w, f"{a} {out[0]} {engine.watching}".encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    msg = os.read(r, 200).decode()
    os.close(r)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert msg == "unavailable.connection_refused invalid_argument False"
    assert engine.decide(ValueError("parent")).category == "invalid_argument"


def test_decision_is_independent_of_later_decisions(engine):
    a = engine.decide(ValueError("first"))
    b = engine.decide(ConnectionRefusedError(111, "Connection refused"))
    assert a.category == "invalid_argument" and b.category == "unavailable.connection_refused"
    assert a.action == "fail" and b.action == "retry"
    # read from another thread while this one keeps deciding
    out = []
    th = threading.Thread(target=lambda: out.append((a.message, a.to_dict()["category"])))
    th.start()
    for _ in range(100):
        engine.decide(TimeoutError("t"))
    th.join()
    assert out == [("Some of the information provided is not valid.", "invalid_argument")]


def test_library_and_version():
    assert faultline.library_version() == "0.1.0"
    assert os.path.exists(faultline.LIBRARY_PATH) or "/" not in faultline.LIBRARY_PATH
    assert faultline.stock_policy_dir()


def test_exit_without_close_after_handlers(tmp_path):
    """Regression: a handler starts the engine's watchdog thread; exiting
    without close() must not crash (the library stays mapped)."""
    import subprocess
    code = ("import faultline\n"
            f"e = faultline.Engine({os.path.join(HERE, 'policy')!r})\n"
            "print(e.decide(KeyError('x'), op='profile.load').action)\n"
            "e.watch()\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "fallback"


def test_gil_released_while_the_engine_works():
    """fl_resource_cpu blocks ~100 ms inside C when it has no earlier sample
    (it measures CPU over a window: a new engine has none); Python code in
    another thread keeps running meanwhile."""
    engine = faultline.Engine(os.path.join(HERE, "policy"))
    inside = threading.Event()
    done = threading.Event()

    def blocker():
        inside.set()
        engine.resources.cpu(fresh=True)
        done.set()

    t = threading.Thread(target=blocker)
    t.start()
    assert inside.wait(5)
    t0 = last = time.monotonic()
    gap = 0.0
    while not done.is_set() and last - t0 < 5:
        now = time.monotonic()
        gap = max(gap, now - last)
        last = now
    elapsed = last - t0
    t.join()
    assert elapsed >= 0.05  # the C call took its window
    # Held for the whole call, the GIL would have stopped this loop for about
    # `elapsed`; released, the loop only waits for switch intervals (5 ms).
    assert gap < elapsed * 0.5, (gap, elapsed)
    engine.close()
