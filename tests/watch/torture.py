#!/usr/bin/python3
"""torture.py -- `faultline eval --watch` under hostile edits (issue 22).

usage: torture.py FAULTLINE LIBFAULTLINE [--duration S] [--pack DIR] [--seed N]

A copy of the policy pack (default: the stock pack) is watched by
`faultline eval --watch` while this script, for --duration seconds:
  - edits it in bursts: rewrites of an extra file zz-torture.lua (valid
    variants, broken ones), in place with a truncation first, by
    write-then-rename, by delete-then-create, or removes it; SIGHUP now and
    then in the middle of a burst;
  - keeps two busy writers going next to the policy: a log in the parent
    directory and a non-policy file inside it, every 20 ms; eval's own stderr
    is appended to a file in the parent too (the reload-storm setup);
  - streams events into eval (samples/errors.jsonl, minus its malformed line)
    and reads every decision back.
After each burst it waits, and checks: the watch picked up the burst's last
content within the bound (debounce 150 ms + poll 1000 ms, plus a slack for
the watch thread to get a CPU on a shared machine) -- measured by the atime
the watch's read leaves on the file (relatime: the first read after a write
sets it), the expected content id being computed on a staging copy so the
script never reads the watched files itself; if valid, it was then served
(the serving time, which adds the load, is reported); if broken, it was
refused once and not retried while nothing changed.  At the end:
every archive under .versions loads to its own id (checked through
libfaultline: fl_policy_dir_id, then a full fl_engine_load), every version
served has its archive, `faultline rollback` to an archived version is
served, a tampered archive is refused by rollback, no decision failed, and
eval's RSS stayed bounded.  Prints figures; exits 1 on any violation.
Writes only under a temporary directory.
"""
import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

DEBOUNCE_MS, POLL_MS = 150, 1000
BOUND_S = (DEBOUNCE_MS + POLL_MS) / 1000.0


class Lib:
    """fl_policy_dir_id and a full load through libfaultline (ctypes)."""

    def __init__(self, path):
        self.l = ctypes.CDLL(path)
        self.l.fl_policy_dir_id.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p]
        self.l.fl_engine_new.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        self.l.fl_engine_load.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
        self.l.fl_engine_current.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
        self.l.fl_engine_free.argtypes = [ctypes.c_void_p]
        self.diag = ctypes.create_string_buffer(4096)

    def dir_id(self, d):
        buf = ctypes.create_string_buffer(17)
        rc = self.l.fl_policy_dir_id(d.encode(), buf, self.diag)
        return buf.value.decode() if rc == 0 else None

    def load_id(self, d):
        e = ctypes.c_void_p()
        if self.l.fl_engine_new(None, ctypes.byref(e)) != 0:
            return None
        try:
            if self.l.fl_engine_load(e, d.encode(), self.diag) != 0:
                return None
            info = (ctypes.c_char_p * 8)()  # fl_version_info_t starts with const char *id
            if self.l.fl_engine_current(e, info) != 0:
                return None
            return info[0].decode()
        finally:
            self.l.fl_engine_free(e)


def write_inplace(path, text):
    """Truncate, then write in two halves: a reader can see both an empty and a partial file."""
    with open(path, "w") as f:
        f.flush()
        time.sleep(0.003)
        f.write(text[: len(text) // 2])
        f.flush()
        time.sleep(0.003)
        f.write(text[len(text) // 2:])


def write_rename(path, text):
    tmp = os.path.join(os.path.dirname(path), ".%s.swp" % os.path.basename(path))
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def write_recreate(path, text):
    if os.path.exists(path):
        os.unlink(path)
    time.sleep(0.003)
    with open(path, "w") as f:
        f.write(text)


def valid_variant(k):
    return ('rule "torture-%d" { when = { message = re[[torture marker %d]] }, category = "internal" }\n'
            'example "torture-%d" { event = { message = "torture marker %d" }, expect = { rule = "torture-%d" } }\n'
            % (k, k, k, k, k))


# Broken variants; {n} makes each one's refusal message unique, so the
# script can tell the refusal of a burst's final content from the others.
BROKEN = [
    'rule "half" {{ when = {{ message = re[[x]] }} category_{n} = 1 }}\n',
    'rule "pat-{n}" {{ when = {{ message = re[==[(unclosed[a-]==] }}, category = "internal" }}\n',
    'rule "cat-{n}" {{ when = {{ message = re[[x]] }}, category = "not_a_category" }}\n',
    'example "wrong-{n}" {{ event = {{ message = "connection refused" }}, expect = {{ category = "data_loss" }} }}\n',
]


class Log:
    """Follows eval's stderr file: 'serving' and 'refused' lines with the time first seen."""

    SERVING = re.compile(r"serving policy .* \(id ([0-9a-f]{16}),")

    def __init__(self, path):
        self.path, self.pos, self.buf = path, 0, ""
        self.events = []  # (time, 'serving'|'refused', id or the refusal's text)

    def poll(self):
        try:
            with open(self.path, "r", errors="replace") as f:
                f.seek(self.pos)
                data = f.read()
                self.pos = f.tell()
        except FileNotFoundError:
            return
        self.buf += data
        now = time.monotonic()
        while "\n" in self.buf:
            line, self.buf = self.buf.split("\n", 1)
            m = self.SERVING.search(line)
            if m:
                self.events.append((now, "serving", m.group(1)))
            elif "reload refused" in line:
                self.events.append((now, "refused", line.split(": ", 1)[-1]))


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("faultline")
    ap.add_argument("lib")
    ap.add_argument("--duration", type=float, default=600)
    ap.add_argument("--pack", default=os.path.join(os.path.dirname(__file__), "..", "..", "policies"))
    ap.add_argument("--seed", type=int, default=22)
    ap.add_argument("--pickup-slack", type=float, default=0.5,
                    help="seconds allowed past the bound for the watch thread to get the CPU (shared machine)")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    lib = Lib(os.path.abspath(a.lib))
    root = tempfile.mkdtemp(prefix="fl-torture-")
    pol = os.path.join(root, "policy")
    os.mkdir(pol)
    for n in sorted(os.listdir(a.pack)):
        if n.endswith(".lua"):
            shutil.copy(os.path.join(a.pack, n), pol)
    samples = os.path.join(os.path.dirname(__file__), "..", "..", "samples", "errors.jsonl")
    events = []
    for line in open(samples):
        try:
            json.loads(line)
            events.append(line)
        except ValueError:
            pass
    errpath = os.path.join(root, "eval.err")
    errf = open(errpath, "ab")
    proc = subprocess.Popen([a.faultline, "eval", "--watch", "-p", pol], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=errf, text=True, bufsize=1)
    problems = []
    stop = threading.Event()
    counts = {"sent": 0, "decided": 0, "failed": 0, "busy": 0}

    def feeder():
        i = 0
        try:
            while not stop.is_set():
                for _ in range(20):
                    proc.stdin.write(events[i % len(events)])
                    i += 1
                counts["sent"] = i
                proc.stdin.flush()
                time.sleep(0.01)
        except (BrokenPipeError, ValueError):
            pass

    def reader():
        for line in proc.stdout:
            counts["decided"] += 1
            try:
                d = json.loads(line)
            except ValueError:
                counts["failed"] += 1
                continue
            if "error" in d or "category" not in d:
                counts["failed"] += 1

    def busy():
        p1, p2 = os.path.join(root, "busy.log"), os.path.join(pol, "notes.txt")
        while not stop.is_set():
            for p in (p1, p2):
                with open(p, "a") as f:
                    f.write("busy writer line %d\n" % counts["busy"])
            counts["busy"] += 1
            time.sleep(0.02)

    threads = [threading.Thread(target=t, daemon=True) for t in (feeder, reader, busy)]
    for t in threads:
        t.start()
    log = Log(errpath)

    def wait_for(pred, secs):
        end = time.monotonic() + secs
        while time.monotonic() < end:
            log.poll()
            r = pred()
            if r:
                return r
            time.sleep(0.01)
        log.poll()
        return pred()

    # Initial serving line.
    if not wait_for(lambda: any(e[1] == "serving" for e in log.events), 30):
        print("torture: eval never reported serving", file=sys.stderr)
        proc.kill()
        return 1
    serving = [e for e in log.events if e[1] == "serving"][-1][2]
    served_ids = {serving}
    t_end = time.monotonic() + a.duration
    zz = os.path.join(pol, "zz-torture.lua")
    latencies, pickups, bursts, writes, hups, refusals_expected, k = [], [], 0, 0, 0, 0, 0
    # The expected id of each content is computed on a staging copy: reading
    # the policy directory ourselves would spoil the pick-up measurement
    # (the atime of zz-torture.lua: on this relatime mount, the first read
    # after a write -- the watch's -- sets it).
    stage = os.path.join(root, "stage")
    shutil.copytree(pol, stage, ignore=shutil.ignore_patterns(".*", "*.txt"))
    zs = os.path.join(stage, "zz-torture.lua")
    rss, last_rss = [], 0.0
    while time.monotonic() < t_end:
        bursts += 1
        n = rnd.randint(1, 5)
        final_valid, final_text, burst_hups = True, None, 0
        for j in range(n):
            r = rnd.random()
            if r < 0.55:
                k += 1
                text, final_valid = valid_variant(k), True
            elif r < 0.85:
                marker = "%d" % rnd.randint(1 << 20, 1 << 40)
                text, final_valid = rnd.choice(BROKEN).format(n=marker), False
            else:
                text = None
            if text is None:
                if os.path.exists(zz):
                    os.unlink(zz)
                final_valid = True
            else:
                rnd.choice([write_inplace, write_rename, write_recreate])(zz, text)
            final_text = text
            writes += 1
            if j < n - 1:
                if rnd.random() < 0.15:
                    proc.send_signal(signal.SIGHUP)
                    hups += 1
                    burst_hups += 1
                time.sleep(rnd.uniform(0.005, 0.12))
        t_write = time.monotonic()
        t_write_ns = time.time_ns()
        if final_text is None:
            if os.path.exists(zs):
                os.unlink(zs)
        else:
            with open(zs, "w") as f:
                f.write(final_text)
        want = lib.dir_id(stage)
        start_idx = len(log.events)

        def picked_up():
            try:
                st = os.stat(zz)
            except FileNotFoundError:
                return None
            # A read after the last write: atime >= that write's mtime (a read
            # of a half-written file during write_inplace is not the pick-up).
            return st.st_atime_ns if st.st_atime_ns >= st.st_mtime_ns else None

        pick = None
        if final_text is not None and want != serving:
            pick = wait_for(picked_up, 30)
            if pick is None:
                problems.append("burst %d: content %s never read by the watch" % (bursts, want))
            else:
                # From the write, or from the end of a load that was still
                # running then (the watch reads once it is free; a load's end
                # is when its line was logged).
                pick_mono = t_write + (pick - t_write_ns) / 1e9
                log.poll()
                busy_until = max([e[0] for e in log.events if e[0] <= pick_mono] + [t_write])
                lat = max(0.0, pick_mono - busy_until)
                pickups.append(lat)
                if lat > BOUND_S + a.pickup_slack:
                    problems.append("burst %d: content %s picked up after %.0f ms" % (bursts, want, lat * 1e3))
        if final_valid:
            if want == serving:
                time.sleep(0.3)  # nothing to serve; let the burst's events settle
            else:
                got = wait_for(lambda: next((e for e in log.events[start_idx:] if e[1] == "serving" and e[2] == want),
                                            None), 60)
                if not got:
                    log.poll()
                    problems.append("burst %d: content %s not served (last served %s)" % (bursts, want, serving))
                else:
                    latencies.append(got[0] - t_write)
                    serving = want
                    served_ids.add(want)
        else:
            refusals_expected += 1
            # Its refusal names its marker; then, with nothing changing (and
            # eval's stderr still landing next to the policy), the same
            # refusal may not come again.
            first = wait_for(lambda: next((i for i in range(start_idx, len(log.events))
                                           if log.events[i][1] == "refused" and marker in log.events[i][2]), None), 60)
            if first is None:
                problems.append("burst %d: broken content %s: no refusal logged" % (bursts, want))
            else:
                time.sleep(BOUND_S + 1.0)
                log.poll()
                extra = [e for e in log.events[first + 1:] if e[1] == "refused" and e[2] == log.events[first][2]]
                # A SIGHUP sent during the burst forces an attempt; if the
                # watch was busy loading, it lands after the final write.
                if len(extra) > burst_hups:
                    problems.append("burst %d: refused content retried %d times with no change: %s"
                                    % (bursts, len(extra), log.events[first][2][:200]))
            for e in log.events[start_idx:]:
                if e[1] == "serving":  # an intermediate valid state may have been served
                    serving = e[2]
                    served_ids.add(e[2])
        if time.monotonic() - last_rss > 2:
            rss.append((time.monotonic(), rss_kb(proc.pid)))
            last_rss = time.monotonic()
    log.poll()
    for e in log.events:
        if e[1] == "serving":
            served_ids.add(e[2])

    # Rollback to an archived version while eval still watches.
    vdir = os.path.join(pol, ".versions")
    archives = sorted(d for d in os.listdir(vdir) if not d.startswith("."))
    target = next((x for x in rnd.sample(archives, len(archives)) if x != serving), None)
    if target:
        start_idx = len(log.events)
        rb = subprocess.run([a.faultline, "rollback", "-p", pol, target], capture_output=True, text=True)
        if rb.returncode != 0:
            problems.append("rollback %s failed: %s" % (target, rb.stderr.strip()))
        elif not wait_for(lambda: any(e[1] == "serving" and e[2] == target for e in log.events[start_idx:]),
                          60):
            problems.append("rollback to %s not served" % target)
    # A tampered archive is refused.
    if archives:
        fake = os.path.join(root, "tampered")
        shutil.copytree(os.path.join(vdir, archives[0]), fake)
        with open(os.path.join(fake, "zz-tamper.lua"), "w") as f:
            f.write("-- tampered\n")
        bogus = os.path.join(vdir, "ffff" + archives[0][4:]) if not archives[0].startswith("ffff") else None
        if bogus and not os.path.exists(bogus):
            shutil.move(fake, bogus)
            rb = subprocess.run([a.faultline, "rollback", "-p", pol, os.path.basename(bogus)], capture_output=True,
                                text=True)
            if rb.returncode == 0 or "does not hold" not in rb.stderr:
                problems.append("a tampered archive was not refused: %s" % rb.stderr.strip())
            shutil.rmtree(bogus)

    stop.set()
    time.sleep(0.1)
    try:
        proc.stdin.close()
    except BrokenPipeError:
        pass
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        problems.append("eval did not exit after its input closed")
    for t in threads:
        t.join(timeout=5)
    log.poll()

    # Every archive loads to its own id; every served version has its archive.
    archives = sorted(d for d in os.listdir(vdir) if not d.startswith("."))
    bad = []
    for d in archives:
        p = os.path.join(vdir, d)
        hid, lid = lib.dir_id(p), lib.load_id(p)
        if hid != d or lid != d:
            bad.append("%s (hash %s, load %s)" % (d, hid, lid))
    missing = sorted(i for i in served_ids if i not in archives)
    if bad:
        problems.append("%d archives do not load to their id: %s" % (len(bad), ", ".join(bad[:5])))
    if missing:
        problems.append("%d served versions have no archive: %s" % (len(missing), ", ".join(missing[:5])))
    if counts["failed"]:
        problems.append("%d failed decisions" % counts["failed"])
    if counts["decided"] != counts["sent"]:
        problems.append("%d events sent, %d decisions read" % (counts["sent"], counts["decided"]))
    refused = sum(1 for e in log.events if e[1] == "refused")
    # Memory: once the history is full (the first third of a long run), the
    # last third may not grow past the middle third's peak by more than a margin.
    rss_mb = [v / 1024.0 for _, v in rss if v]
    third = len(rss_mb) // 3
    mid_peak = max(rss_mb[third:2 * third]) if third else 0
    last_peak = max(rss_mb[2 * third:]) if third else 0
    if a.duration >= 120 and third >= 3 and last_peak > mid_peak + 32:
        problems.append("RSS grew from a peak of %.0f MB to %.0f MB in the last third" % (mid_peak, last_peak))
    lat_ms = sorted(x * 1e3 for x in latencies)
    pick_ms = sorted(x * 1e3 for x in pickups)

    def pct(v, p):
        return v[min(len(v) - 1, int(p * len(v)))] if v else 0

    print("torture: %.0f s, %d bursts, %d writes, %d SIGHUPs, %d busy-writer rounds"
          % (a.duration, bursts, writes, hups, counts["busy"]))
    print("torture: %d changes picked up by the watch after p50 %.0f ms, p99 %.0f ms, max %.0f ms "
          "(bound %.0f ms, slack %.0f ms)"
          % (len(pick_ms), pct(pick_ms, 0.5), pct(pick_ms, 0.99), pick_ms[-1] if pick_ms else 0, BOUND_S * 1e3,
             a.pickup_slack * 1e3))
    print("torture: %d valid changes served (pick-up + load) after p50 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (len(lat_ms), pct(lat_ms, 0.5), pct(lat_ms, 0.99), lat_ms[-1] if lat_ms else 0))
    print("torture: %d broken final contents, %d refusals logged (SIGHUP retries and refused "
          "intermediate states included)" % (refusals_expected, refused))
    print("torture: %d archives, all load to their own id: %s; %d served ids, all archived: %s"
          % (len(archives), "yes" if not bad else "NO", len(served_ids), "yes" if not missing else "NO"))
    print("torture: %d events, %d decisions, %d failed" % (counts["sent"], counts["decided"], counts["failed"]))
    if rss_mb:
        print("torture: eval RSS first %.0f MB, peak %.0f MB, peak of the middle third %.0f MB, of the last third "
              "%.0f MB, last %.0f MB" % (rss_mb[0], max(rss_mb), mid_peak, last_peak, rss_mb[-1]))
    errf.close()
    for p in problems:
        print("torture: FAIL: " + p)
    if not problems:
        shutil.rmtree(root, ignore_errors=True)
        print("torture: ok")
        return 0
    print("torture: work directory kept: " + root)
    return 1


if __name__ == "__main__":
    sys.exit(main())
