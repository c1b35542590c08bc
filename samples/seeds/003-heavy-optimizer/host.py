#!/usr/bin/env python3
"""Seed 003, the Heavy Optimizer job processor, on faultline.

Jobs are real files moving between queue/, running/, done/ and failed/; each
job runs four stages (preprocessing, fetch_remote, optimization, output) and
saves a checkpoint after each in the engine's SQLite checkpoint store (the C
API fl_checkpoint_*, called through cffi; the policy's handlers read and
write the same store with fl.checkpoint).

1. job_A: the remote data service (a local HTTP server) answers 503 twice
   (network retry), the optimization raises MemoryError at batch 1000 (the
   policy saves an emergency checkpoint and halves the batch; the host runs
   gc.collect()), the job completes.
2. job_B crashes after fetch_remote and is resumed from its checkpoint:
   finished stages are not run again.
3. job_C runs past job_timeout: the policy fails it with its last checkpoint
   reported; the host moves it to failed/ and the checkpoint stays.
4. Critical failures notify by e-mail (a local SMTP server) and Slack (a
   local webhook); the engine's limiter lets 3 per channel through and drops
   the rest; every attempt is in the notification history.
5. Every failure leaves an error detail file (logs/errors/*.json) written
   atomically with engine.storage.write_atomic.
6. A job whose input does not exist fails at once (no retry).
"""
import gc
import json
import os
import shutil
import smtplib
import socketserver
import sys
import threading
import time
import traceback
import urllib.request
from email.message import EmailMessage

import cffi

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import faultline  # noqa: E402
from seedlib import ScriptedService, args, check, done  # noqa: E402

A = args(__doc__)
WORK = A.work
STATE = os.path.join(WORK, "state")
for d in ("queue", "running", "done", "failed", "state", "logs/errors", "input"):
    os.makedirs(os.path.join(WORK, d), exist_ok=True)
JOB_TIMEOUT_S = 30           # job_processor.job_timeout (300 s in the document)


class JobTimeoutError(Exception): pass
class Crash(BaseException): pass  # the process dying mid-job


# ---- checkpoints: the C API ----------------------------------------------------
ffi = cffi.FFI()
ffi.cdef("""
typedef struct fl_bindings fl_bindings_t;
typedef int (*fl_io_fault_fn)(void *ud, int op, const char *relpath);
typedef struct fl_bindings_options {
    const char *const *storage_roots; size_t storage_roots_count;
    const char *data_dir; uint32_t cache_ttl_ms; uint32_t cpu_window_ms;
    uint32_t checkpoints_kept;
    uint64_t (*clock_ns)(void *ud); void *clock_ud;
    fl_io_fault_fn io_fault; void *io_fault_ud;
} fl_bindings_options_t;
typedef struct fl_checkpoint { int64_t seq; int64_t created_ms; char *stage; void *data; size_t len; } fl_checkpoint_t;
int fl_bindings_new(const fl_bindings_options_t *opts, fl_bindings_t **out);
void fl_bindings_free(fl_bindings_t *b);
int fl_checkpoint_save(fl_bindings_t *b, const char *job, const char *stage, const void *data, size_t len,
                       int64_t *seq_out);
int fl_checkpoint_load(fl_bindings_t *b, const char *job, const char *stage, fl_checkpoint_t *out);
void fl_checkpoint_clear(fl_checkpoint_t *cp);
int fl_checkpoint_list(fl_bindings_t *b, const char *job, fl_checkpoint_t **out, size_t *count);
void fl_checkpoint_list_free(fl_checkpoint_t *list, size_t count);
""")
C = ffi.dlopen(faultline.LIBRARY_PATH)


class CheckpointManager:
    def __init__(self, data_dir, kept=20):
        self._dd = ffi.new("char[]", data_dir.encode())
        o = ffi.new("fl_bindings_options_t *", {"data_dir": self._dd, "checkpoints_kept": kept})
        pb = ffi.new("fl_bindings_t **")
        rc = C.fl_bindings_new(o, pb)
        if rc != 0:
            raise OSError("fl_bindings_new: %d" % rc)
        self.b = pb[0]

    def save_checkpoint(self, job, stage, state):
        data = json.dumps(state).encode()
        seq = ffi.new("int64_t *")
        rc = C.fl_checkpoint_save(self.b, job.encode(), stage.encode(), data, len(data), seq)
        if rc != 0:
            raise OSError("checkpoint save failed: %d" % rc)
        return seq[0]

    def load_checkpoint(self, job, stage=None):
        cp = ffi.new("fl_checkpoint_t *")
        rc = C.fl_checkpoint_load(self.b, job.encode(), stage.encode() if stage else ffi.NULL, cp)
        if rc != 0:
            return None
        try:
            return {"seq": cp.seq, "stage": ffi.string(cp.stage).decode(),
                    "data": ffi.buffer(cp.data, cp.len)[:].decode()}
        finally:
            C.fl_checkpoint_clear(cp)

    def stages(self, job):
        out, n = ffi.new("fl_checkpoint_t **"), ffi.new("size_t *")
        if C.fl_checkpoint_list(self.b, job.encode(), out, n) != 0:
            return []
        try:
            return [ffi.string(out[0][i].stage).decode() for i in range(n[0])][::-1]
        finally:
            C.fl_checkpoint_list_free(out[0], n[0])


cm = CheckpointManager(STATE)
# The handlers write checkpoints (SQLite, fsync): a CPU budget above the 10 ms
# default, so a cold store on a busy machine does not fail the decision.
engine = faultline.Engine(A.policy, data_dir=STATE, storage_roots=[WORK], handler_budget_us=500_000)


# ---- notifications: a local SMTP server and a local Slack webhook --------------
class SMTP(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 localhost ESMTP\r\n")
        data, lines = False, []
        for line in self.rfile:
            if data:
                if line.rstrip(b"\r\n") == b".":
                    self.server.messages.append(b"".join(lines).decode())
                    data, lines = False, []
                    self.wfile.write(b"250 OK\r\n")
                else:
                    lines.append(line)
                continue
            cmd = line[:4].upper()
            if cmd in (b"EHLO", b"HELO"):
                self.wfile.write(b"250 localhost\r\n")
            elif cmd == b"DATA":
                data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif cmd == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 OK\r\n")


smtp = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SMTP)
smtp.daemon_threads = True
smtp.messages = []
threading.Thread(target=smtp.serve_forever, daemon=True).start()
svc = ScriptedService({
    "/slack/webhook": [("status", 500, {"error": "slack hiccup"}), ("status", 200, {"ok": True})],
    "/data/job_A": [("status", 503, {}), ("status", 503, {}), ("status", 200, {"rows": [3, 1, 2]})],
    "/data/job_B": [("status", 200, {"rows": [9, 8]})],
    "/data/job_C": [("status", 200, {"rows": [5]})],
})


class ErrorNotifier:
    def __init__(self, history_path):
        self.history_path = history_path

    def _record(self, channel, status, ctx):
        with open(self.history_path, "a") as f:
            f.write(json.dumps({"t": time.time(), "channel": channel, "status": status, **ctx}) + "\n")

    def _email(self, error, ctx, severity):
        m = EmailMessage()
        m["From"], m["To"] = "optimizer@localhost", "admin@example.com"
        m["Subject"] = "[%s] %s in %s" % (severity, type(error).__name__, ctx.get("job_id"))
        m.set_content("%s\n%s" % (error, json.dumps(ctx)))
        with smtplib.SMTP("127.0.0.1", smtp.server_address[1], timeout=2) as s:
            s.send_message(m)
        return True

    def _slack(self, error, ctx, severity):
        body = json.dumps({"text": "[%s] %s: %s" % (severity, ctx.get("job_id"), error)}).encode()
        urllib.request.urlopen(urllib.request.Request(svc.url + "/slack/webhook", data=body), timeout=2).close()
        return True

    def notify_critical_error(self, error, ctx, severity="CRITICAL"):
        for channel, send in (("email", self._email), ("slack", self._slack)):
            guarded = engine.guard(op="notify.send", limiter="notify", key=channel, tags={"channel": channel})(send)
            try:
                status = "sent" if guarded(error, ctx, severity) else "rate_limited"
            except faultline.Failure as f:
                status = "failed: %s" % f.__cause__
            self._record(channel, status, {"job_id": ctx.get("job_id")})


notifier = ErrorNotifier(os.path.join(WORK, "logs", "notification_history.jsonl"))


def error_detail(job, stage, error, d, local_vars):
    """ContextLogger: the error detail file, written atomically."""
    detail = {"job_id": job, "stage": stage, "user": "optimizer", "decision": d.to_dict(),
              "traceback": traceback.format_exception(type(error), error, error.__traceback__),
              "locals": {k: repr(v) for k, v in local_vars.items()}}
    r = engine.storage.write_atomic("logs/errors/error_%s_%s.json" % (job, d.id), json.dumps(detail, indent=1))
    return r


# ---- the job processor ---------------------------------------------------------
STAGES = ["preprocessing", "fetch_remote", "optimization", "output"]
ran = []


@engine.guard(op="job.fetch")
def fetch_remote_data(url):
    with urllib.request.urlopen(url, timeout=2) as r:
        return json.load(r)["rows"]


def optimize(job, rows, batch_size, memory_limit):
    attempt = 1
    while True:
        try:
            if batch_size > memory_limit:
                raise MemoryError("cannot allocate %d rows x 1 MiB" % batch_size)
            return sorted(rows), batch_size
        except MemoryError as e:
            d = engine.decide(e, op="job.optimization", attempt=attempt,
                              tags={"job_id": job, "batch_size": batch_size, "stage": "optimization"})
            error_detail(job, "optimization", e, d, {"batch_size": batch_size})
            if d.action != "retry":
                raise
            if d.params.get("gc"):
                gc.collect()
            batch_size = d.params["batch_size"]
            attempt += 1


def run_job(job, resume=False, crash_after=None, slow_stage=None, memory_limit=10_000, batch_size=1000,
            timeout_s=JOB_TIMEOUT_S):
    spec = json.load(open(os.path.join(WORK, "queue", job + ".json")))
    shutil.move(os.path.join(WORK, "queue", job + ".json"), os.path.join(WORK, "running", job + ".json"))
    t0 = time.monotonic()
    state, first = {}, 0
    if resume:
        cp = cm.load_checkpoint(job)
        if cp:
            state = json.loads(cp["data"])
            first = STAGES.index(cp["stage"]) + 1
    try:
        for stage in STAGES[first:]:
            ran.append((job, stage))
            if stage == "preprocessing":
                with open(spec["input"]) as f:
                    state["n_input"] = sum(1 for _ in f) - 1
            elif stage == "fetch_remote":
                state["rows"] = fetch_remote_data(svc.url + "/data/" + job)
            elif stage == "optimization":
                if slow_stage == stage:
                    time.sleep(timeout_s + 0.2)
                state["result"], state["batch_size"] = optimize(job, state["rows"], batch_size, memory_limit)
            elif stage == "output":
                with open(os.path.join(WORK, "done", job + ".result.json"), "w") as f:
                    json.dump(state, f)
            if time.monotonic() - t0 > timeout_s:
                raise JobTimeoutError("%s exceeded %.1f s in %s" % (job, timeout_s, stage))
            cm.save_checkpoint(job, stage, state)
            if crash_after == stage:
                raise Crash()
    except Crash:
        shutil.move(os.path.join(WORK, "running", job + ".json"), os.path.join(WORK, "queue", job + ".json"))
        return "crashed"
    except Exception as e:
        d = engine.decide(e, op="job.run", tags={"job_id": job})
        error_detail(job, stage, e, d, {"state": state})
        if d.params and d.params.get("move_to") == "failed":
            info = dict(spec, error=str(e), category=d.category, message=d.message,
                        checkpoint_seq=d.params.get("checkpoint_seq"),
                        checkpoint_stage=d.params.get("checkpoint_stage"))
            with open(os.path.join(WORK, "failed", job + ".json"), "w") as f:
                json.dump(info, f)
            os.remove(os.path.join(WORK, "running", job + ".json"))
        else:
            shutil.move(os.path.join(WORK, "running", job + ".json"), os.path.join(WORK, "failed", job + ".json"))
        if d.params and d.params.get("notify") == "critical":
            notifier.notify_critical_error(e, {"job_id": job, "category": d.category})
        return d
    shutil.move(os.path.join(WORK, "running", job + ".json"), os.path.join(WORK, "done", job + ".json"))
    return "done"


def enqueue(job, input_path):
    with open(os.path.join(WORK, "queue", job + ".json"), "w") as f:
        json.dump({"job_id": job, "input": input_path}, f)


csv = os.path.join(WORK, "input", "test.csv")
with open(csv, "w") as f:
    f.write("a,b\n1,2\n3,4\n5,6\n")

# 1. job_A: network retry, memory recovery
enqueue("job_A", csv)
r = run_job("job_A", memory_limit=300)
check(r == "done", "job_A completes", r if isinstance(r, str) else r.to_dict())
check(svc.hits["/data/job_A"] == 3, "the remote data was fetched on the third attempt", svc.hits)
res = json.load(open(os.path.join(WORK, "done", "job_A.result.json")))
check(res["batch_size"] == 250 and res["result"] == [1, 2, 3], "optimized with the batch halved to fit (250)", res)
check(cm.stages("job_A") == ["preprocessing", "fetch_remote", "emergency", "emergency", "optimization", "output"],
      "checkpoints: each stage, plus emergency ones from the policy", cm.stages("job_A"))
check(cm.load_checkpoint("job_A", "emergency")["data"] == "batch_size=500 stage=optimization",
      "the emergency checkpoint says where memory ran out", cm.load_checkpoint("job_A", "emergency"))

# 2. job_B: crash and resume
enqueue("job_B", csv)
check(run_job("job_B", crash_after="fetch_remote") == "crashed", "job_B crashes after fetch_remote")
check(run_job("job_B", resume=True) == "done", "job_B resumes and completes")
check([s for j, s in ran if j == "job_B"] == STAGES[:2] + STAGES[2:], "each stage of job_B ran once",
      [s for j, s in ran if j == "job_B"])
check(svc.hits["/data/job_B"] == 1, "the remote data was not fetched again", svc.hits)

# 3. job_C: timeout -> failed with the checkpoint
enqueue("job_C", csv)
d = run_job("job_C", slow_stage="optimization", timeout_s=0.3)  # a short limit for this job
check(isinstance(d, faultline.Decision) and d.action == "fail" and d.category == "deadline_exceeded.job_timeout",
      "job_C times out: fail", d)
failed = json.load(open(os.path.join(WORK, "failed", "job_C.json")))
check(failed["checkpoint_stage"] == "fetch_remote" and failed["checkpoint_seq"] >= 1,
      "moved to failed with its last checkpoint reported", failed)
check(not os.path.exists(os.path.join(WORK, "running", "job_C.json")), "no longer running")
check(cm.load_checkpoint("job_C")["stage"] == "fetch_remote", "the checkpoint is kept for investigation")

# 4. notifications: job_C's timeout notified by e-mail and Slack (the webhook
# failed once and was retried); then a burst of critical failures is limited.
hist = [json.loads(x) for x in open(notifier.history_path)]
check([(h["channel"], h["status"]) for h in hist] == [("email", "sent"), ("slack", "sent")],
      "the timeout was notified on both channels", hist)
check(len(smtp.messages) == 1 and "JobTimeoutError" in smtp.messages[0], "the e-mail arrived", smtp.messages)
check(svc.hits["/slack/webhook"] == 2, "the Slack webhook failed once and was retried", svc.hits)
for i in range(4):
    notifier.notify_critical_error(RuntimeError("node %d down" % i), {"job_id": "cluster"})
hist = [json.loads(x) for x in open(notifier.history_path)]
by = {}
for h in hist:
    by.setdefault(h["channel"], []).append(h["status"])
# The limiter counts attempts: Slack's first notification took two (the
# webhook failed once), so Slack has one fewer left than e-mail.
check(by["email"] == ["sent"] * 3 + ["rate_limited"] * 2 and by["slack"] == ["sent"] * 2 + ["rate_limited"] * 3,
      "3 attempts per channel, then the limiter drops them", by)

# 5. error detail files
details = sorted(os.listdir(os.path.join(WORK, "logs", "errors")))
check(any(n.startswith("error_job_C_") for n in details) and
      sum(n.startswith("error_job_A_") for n in details) == 2, "error detail files for every failure", details)
one = json.load(open(os.path.join(WORK, "logs", "errors", [n for n in details if "job_C" in n][0])))
check(one["decision"]["category"] == "deadline_exceeded.job_timeout" and one["traceback"],
      "with the decision, the stack and the context", list(one))

# 6. invalid input: no retry
enqueue("job_D", os.path.join(WORK, "input", "nonexistent.csv"))
d = run_job("job_D")
check(d.category == "not_found.input" and d.action == "fail", "a missing input fails at once", d.category)
check(os.path.exists(os.path.join(WORK, "failed", "job_D.json")), "job_D is in failed/")

svc.close()
smtp.shutdown()
smtp.server_close()
engine.close()
C.fl_bindings_free(cm.b)
done("seed 003 (Heavy Optimizer)")
