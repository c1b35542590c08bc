// faultline-client.mjs -- call a local `faultline serve` from Node 18+ with
// the built-in fetch.  See docs/serve.md.
//
//   import { Client, call } from "./faultline-client.mjs";
//   const fl = new Client("http://127.0.0.1:7787");
//   const result = await call(fl, () => charge(order), { op: "payments.charge" });
//
// Transport errors (server down, timeout) reject with FaultlineUnavailable:
// the caller chooses its own safe default then.

export class FaultlineError extends Error {
  constructor(problem) {
    super(`${problem.title ?? "error"}: ${problem.detail ?? ""}`);
    this.problem = problem;
    this.status = problem.status;
  }
}
export class FaultlineUnavailable extends Error {}
export class Failed extends Error {
  constructor(decision, cause) {
    super(decision.message ?? "");
    this.decision = decision;
    this.cause = cause;
  }
}

export class Client {
  constructor(base = "http://127.0.0.1:7787", { token, timeoutMs = 2000 } = {}) {
    this.base = base.replace(/\/+$/, "");
    this.token = token;
    this.timeoutMs = timeoutMs;
  }

  async #req(method, path, body, contentType = "application/json", raw = false) {
    const headers = { "Content-Type": contentType };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let res;
    try {
      res = await fetch(this.base + path, {
        method, headers,
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      throw new FaultlineUnavailable(String(e?.cause?.message ?? e));
    }
    const text = await res.text();
    if (!res.ok) {
      let problem;
      try { problem = JSON.parse(text); } catch { problem = { status: res.status, title: res.statusText, detail: text }; }
      throw new FaultlineError(problem);
    }
    return raw ? text : JSON.parse(text);
  }

  decide(event, { locale, explain } = {}) {
    const q = new URLSearchParams();
    if (locale) q.set("locale", locale);
    if (explain) q.set("explain", "1");
    const qs = q.toString();
    return this.#req("POST", "/v1/decide" + (qs ? "?" + qs : ""), event);
  }

  async decideBatch(events, { locale } = {}) {
    const body = events.map((e) => JSON.stringify(e) + "\n").join("");
    const path = "/v1/decide" + (locale ? "?locale=" + encodeURIComponent(locale) : "");
    const text = await this.#req("POST", path, body, "application/x-ndjson", true);
    return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  }

  admit(spec) { return this.#req("POST", "/v1/admit", spec); }
  complete(permit, category = null) { return this.#req("POST", "/v1/complete", { permit, category }); }
  policy() { return this.#req("GET", "/v1/policy"); }
  reload() { return this.#req("POST", "/v1/policy/reload"); }
  rollback(id) { return this.#req("POST", "/v1/policy/rollback", id ? { id } : {}); }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Run fn under the policy: retry after delay_ms, return the fallback, return
// undefined on ignore, or throw Failed carrying the user message.
export async function call(client, fn, { op, tags, locale, maxAttempts = 10, wait = sleep } = {}) {
  const start = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const event = { message: String(err?.message ?? err), attempt, elapsed_ms: performance.now() - start };
      if (err?.code !== undefined) event.code = err.code;
      if (op) event.op = op;
      if (tags) event.tags = tags;
      const d = await client.decide(event, { locale });
      if (d.action === "retry" && attempt < maxAttempts) { await wait(Math.max(0, d.delay_ms ?? 0)); continue; }
      if (d.action === "fallback") return d.fallback;
      if (d.action === "ignore") return undefined;
      throw new Failed(d, err);
    }
  }
}

// Demo: node faultline-client.mjs [BASE]
if (import.meta.url === `file://${process.argv[1]}`) {
  const fl = new Client(process.argv[2]);
  let n = 0;
  const flaky = async () => {
    if (++n < 3) { const e = new Error("connect ECONNREFUSED 127.0.0.1:5432"); e.code = "ECONNREFUSED"; throw e; }
    return `ok after ${n} attempts`;
  };
  console.log("retry:", await call(fl, flaky, { op: "demo.flaky", wait: async (ms) => console.log(`  waiting ${ms} ms`) }));
  try {
    await call(fl, async () => { throw new Error("ENOENT: no such file or directory, open '/etc/x'"); });
  } catch (e) {
    if (e instanceof Failed) console.log("fail:", e.message); else throw e;
  }
}
