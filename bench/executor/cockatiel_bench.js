// cockatiel_bench.js -- the executor scenario in cockatiel (Node): a retry
// policy (3 attempts, zero backoff) wrapped around a circuit breaker
// (sampling breaker, 90% threshold), as bench_executor.c measures for fl_call.
//   success  every call succeeds at the first attempt
//   retry    every call fails once and succeeds on the retry
// Run by bench/executor/run.sh (which installs cockatiel into bench/node_modules).
'use strict';
const path = require('path');
const {
  retry, circuitBreaker, wrap, handleAll, ConstantBackoff, SamplingBreaker,
} = require(path.join(__dirname, '..', 'node_modules', 'cockatiel'));

function makePolicy() {
  const r = retry(handleAll, { maxAttempts: 2, backoff: new ConstantBackoff(0) });
  const b = circuitBreaker(handleAll, {
    halfOpenAfter: 30000,
    breaker: new SamplingBreaker({ threshold: 0.9, duration: 60000, minimumRps: 1 }),
  });
  return wrap(r, b);
}

async function measure(name, fn, seconds) {
  const policy = makePolicy();
  let n = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(Math.round(seconds * 1e9));
  for (;;) {
    for (let i = 0; i < 100; i++) {
      await policy.execute(fn());
    }
    n += 100;
    const dt = process.hrtime.bigint() - t0;
    if (dt >= limit) {
      console.log(`${name.padEnd(58)} ${(Number(dt) / n).toFixed(1).padStart(8)} ns/call`);
      return;
    }
  }
}

async function main() {
  const seconds = Number(process.argv[2] || 1);
  await measure('cockatiel ' + require('../node_modules/cockatiel/package.json').version +
                ' success path', () => () => 1, seconds);
  await measure('cockatiel fail once, retry with zero delay', () => {
    let attempt = 0;
    return () => {
      attempt++;
      if (attempt === 1) throw new Error('unavailable');
      return 1;
    };
  }, seconds);
}

main().catch((e) => { console.error(e); process.exit(1); });
