// Round-5 Node.js client libraries for capture.py: node noder5.js R5JSON
// (NODE_PATH: the node_modules capture.py installed into a temporary directory)
//
// pg (node-postgres), mysql2, ioredis, redis (node-redis v4), axios, got,
// node-fetch, undici and ws failing against the local servers named in R5JSON.
// One JSON object per failure on stdout: source, key, message (String(err),
// with the stack every other time) and the code the library exposes.
'use strict';
const fs = require('fs');
const cfg = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
let n = 0;
function emit(source, key, e, code) {
  const o = { source, key, message: e && e.inspected ? e.message : String(e && e.message !== undefined ? `${e.name || 'Error'}: ${e.message}` : e) };
  if (e && e.name === 'AggregateError' && e.errors) o.message += ' ' + e.errors.map(String).join('; ');
  if (n % 2 === 0 && e && e.stack && !e.inspected) o.trace = e.stack;
  if (code !== undefined && code !== null) o.code = code;
  console.log(JSON.stringify(o));
  n++;
}
const GIVEUP = Symbol('giveup');
async function tryit(source, key, fn, codeof) {
  try {
    // a library that neither answers nor gives up within 10 s is skipped (no text of ours is recorded)
    const r = await Promise.race([fn(), sleep(10000).then(() => GIVEUP)]);
    if (r === GIVEUP) console.error(`noder5: ${source} ${key}: no outcome in 10 s, skipped`);
  } catch (e) {
    let c;
    try { c = codeof ? codeof(e) : undefined; } catch (_) { c = undefined; }
    emit(source, key, e, c);
  }
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const H = cfg.http;
const NETURLS = [[`http://127.0.0.1:${cfg.closed}/`, 'r5-http-refused'], [`http://${cfg.dns}/`, 'r5-http-dns'],
  [`http://127.0.0.1:${cfg.silent}/`, 'r5-http-timeout'], [cfg.tls, 'r5-http-tls-untrusted']];
const STATUS = [400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504];
const ODD = [['/reset', 'r5-http-reset'], ['/empty', 'r5-http-empty'], ['/truncated', 'r5-http-truncated'], ['/loop', 'r5-http-redirect-loop']];

async function pgPart() {
  const PG = cfg.pg; if (!PG) return;
  const { Client, Pool } = require('pg');
  const base = { host: PG.host, port: PG.port, user: PG.user, database: PG.db };
  const sq = (e) => e.code && /^[0-9A-Z]{5}$/.test(e.code) ? e.code : undefined;
  for (const c of PG.cases) {
    await tryit('node-pg', 'r5-pg-' + c.case, async () => {
      const cl = new Client(base); cl.on('error', () => {});
      await cl.connect();
      try { for (const s of c.pre) await cl.query(s); await cl.query(c.sql); } finally { await cl.end().catch(() => {}); }
    }, sq);
  }
  for (const c of PG.conn) {
    const o = { host: c.host || PG.host, port: c.port || PG.port, user: c.user || PG.user, password: c.password || undefined,
      database: c.db || PG.db, connectionTimeoutMillis: 2000 };
    if (c.ssl) o.ssl = { rejectUnauthorized: false };
    await tryit('node-pg', 'r5-pg-' + c.case, async () => {
      const cl = new Client(o); cl.on('error', () => {});
      try { await cl.connect(); } finally { cl.end().catch(() => {}); }
    }, sq);
  }
  await tryit('node-pg', 'r5-pg-pool-timeout', async () => {
    const p = new Pool({ ...base, max: 1, connectionTimeoutMillis: 500 });
    const c1 = await p.connect();
    try { await p.connect(); } finally { c1.release(); await p.end(); }
  });
  await tryit('node-pg', 'r5-pg-deadlock', async () => {
    const a = new Client(base), b = new Client(base);
    await a.connect(); await b.connect();
    await a.query('BEGIN'); await b.query('BEGIN');
    await a.query('UPDATE r5_dl SET v = v + 1 WHERE id = 1');
    await b.query('UPDATE r5_dl SET v = v + 1 WHERE id = 2');
    const r = await Promise.allSettled([a.query('UPDATE r5_dl SET v = v + 1 WHERE id = 2'),
      sleep(200).then(() => b.query('UPDATE r5_dl SET v = v + 1 WHERE id = 1'))]);
    await a.query('ROLLBACK').catch(() => {}); await b.query('ROLLBACK').catch(() => {});
    await a.end(); await b.end();
    for (const x of r) if (x.status === 'rejected') throw x.reason;
  }, sq);
  await tryit('node-pg', 'r5-pg-serialization', async () => {
    const a = new Client(base), b = new Client(base);
    await a.connect(); await b.connect();
    try {
      await a.query('BEGIN ISOLATION LEVEL REPEATABLE READ'); await a.query('SELECT * FROM r5_ser');
      await b.query('UPDATE r5_ser SET v = v + 1 WHERE id = 1');
      await a.query('UPDATE r5_ser SET v = v + 1 WHERE id = 1');
    } finally { await a.query('ROLLBACK').catch(() => {}); await a.end(); await b.end(); }
  }, sq);
}

async function myPart() {
  const MY = cfg.my; if (!MY) return;
  const mysql = require('mysql2/promise');
  const base = { host: MY.host, port: MY.port, user: MY.user, password: MY.password, database: MY.db };
  const ec = (e) => e.errno;
  for (const c of MY.cases) {
    await tryit('node-mysql2', 'r5-my-' + c.case, async () => {
      const conn = await mysql.createConnection(base); conn.on('error', () => {});
      try { for (const s of c.pre) await conn.query(s); await conn.query(c.sql); } finally { conn.destroy(); }
    }, ec);
  }
  for (const c of MY.conn) {
    await tryit('node-mysql2', 'r5-my-' + c.case, async () => {
      const conn = await mysql.createConnection({ host: c.host || MY.host, port: c.port || MY.port, user: c.user || MY.user,
        password: c.password || MY.password, database: c.db || MY.db, connectTimeout: 2000 });
      try { await conn.query(c.sql || 'SELECT 1'); } finally { conn.destroy(); }
    }, ec);
  }
  await tryit('node-mysql2', 'r5-my-deadlock', async () => {
    const a = await mysql.createConnection(base), b = await mysql.createConnection(base);
    await a.query('BEGIN'); await b.query('BEGIN');
    await a.query('UPDATE r5_dl SET v = v + 1 WHERE id = 1'); await b.query('UPDATE r5_dl SET v = v + 1 WHERE id = 2');
    const r = await Promise.allSettled([a.query('UPDATE r5_dl SET v = v + 1 WHERE id = 2'),
      sleep(200).then(() => b.query('UPDATE r5_dl SET v = v + 1 WHERE id = 1'))]);
    a.destroy(); b.destroy();
    for (const x of r) if (x.status === 'rejected') throw x.reason;
  }, ec);
  await tryit('node-mysql2', 'r5-my-wait-timeout', async () => {
    const a = await mysql.createConnection(base); a.on('error', () => {});
    await a.query('SET SESSION wait_timeout = 1'); await sleep(2500);
    try { await a.query('SELECT 1'); } finally { a.destroy(); }
  }, ec);
  await tryit('node-mysql2', 'r5-my-pool-timeout', async () => {
    // mysql2's pool queues without a deadline; queueLimit refuses the waiter instead
    const p = mysql.createPool({ ...base, connectionLimit: 1, queueLimit: 1 });
    const c1 = await p.getConnection();
    const w = p.getConnection().catch(() => {});
    try { await p.getConnection(); } finally { c1.release(); await w; await p.end(); }
  }, ec);
}

const REDIS_CMDS = (R) => [
  ['wrongtype', R.P, ['LPUSH', 'str', 'x']], ['not-integer', R.P, ['INCR', 'str']],
  ['unknown-command', R.P, ['FROBNICATE', 'x']], ['syntax', R.P, ['SET', 'k', 'v', 'BOGUS']],
  ['noscript', R.P, ['EVALSHA', 'ffffffffffffffffffffffffffffffffffffffff', '0']],
  ['script-error', R.P, ['EVAL', "return redis.call('nosuchcmd')", '0']], ['db-range', R.P, ['SELECT', '99']],
  ['noauth', R.A, ['GET', 'a']], ['oom', R.M, ['SET', 'a', '1']], ['readonly', R.R, ['SET', 'a', '1']],
  ['masterdown', R.M2, ['GET', 'a']], ['clusterdown', R.C, ['GET', 'a']]];
const respCode = (e) => { const m = /^([A-Z]+) /.exec(e.message || ''); return m ? m[1] : undefined; };

async function ioredisPart() {
  const R = cfg.redis; if (!R) return;
  const Redis = require('ioredis');
  // ioredis rejects with "Connection is closed." and reports the cause on its 'error' event: that cause is what it logs
  let last;
  const mk = (o) => { const r = new Redis({ host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null,
    enableOfflineQueue: false, enableReadyCheck: false, connectTimeout: 1500, ...o }); last = undefined; r.on('error', (e) => { last = last || e; }); return r; };
  const cause = (f) => async () => { try { await f(); } catch (e) { if (/Connection is closed/.test(e.message) && last) throw last; throw e; } };
  for (const [k, port, args] of REDIS_CMDS(R)) {
    await tryit('ioredis', 'r5-redis-' + k, cause(async () => {
      const r = mk({ port }); await r.connect();
      try { await r.call(...args); } finally { r.disconnect(); }
    }), respCode);
  }
  await tryit('ioredis', 'r5-redis-wrongpass', cause(async () => { const r = mk({ port: R.A, password: 'wrong' }); try { await r.connect(); await r.ping(); } finally { r.disconnect(); } }), respCode);
  await tryit('ioredis', 'r5-redis-noperm', cause(async () => { const r = mk({ port: R.P, username: 'ro', password: 'pw' }); await r.connect(); try { await r.set('a', '1'); } finally { r.disconnect(); } }), respCode);
  await tryit('ioredis', 'r5-redis-refused', cause(async () => { const r = mk({ port: cfg.closed }); try { await r.connect(); } finally { r.disconnect(); } }));
  await tryit('ioredis', 'r5-redis-dns', cause(async () => { const r = mk({ host: cfg.dns, port: R.P }); try { await r.connect(); } finally { r.disconnect(); } }));
  await tryit('ioredis', 'r5-redis-timeout', cause(async () => { const r = mk({ port: R.P, commandTimeout: 300 }); await r.connect(); try { await r.blpop('r5-nolist', 0); } finally { r.disconnect(); } }));
}

async function nodeRedisPart() {
  const R = cfg.redis; if (!R) return;
  const { createClient } = require('redis');
  const mk = (o) => { const c = createClient({ socket: { host: '127.0.0.1', connectTimeout: 1500, reconnectStrategy: false, ...o.socket }, ...o.extra });
    c.on('error', () => {}); return c; };
  for (const [k, port, args] of REDIS_CMDS(R)) {
    await tryit('node-redis', 'r5-redis-' + k, async () => {
      const c = mk({ socket: { port } }); await c.connect();
      try { await c.sendCommand(args); } finally { await c.disconnect().catch(() => {}); }
    }, respCode);
  }
  await tryit('node-redis', 'r5-redis-wrongpass', async () => { const c = mk({ socket: { port: R.A }, extra: { password: 'wrong' } }); try { await c.connect(); } finally { c.disconnect().catch(() => {}); } }, respCode);
  await tryit('node-redis', 'r5-redis-noperm', async () => { const c = mk({ socket: { port: R.P }, extra: { username: 'ro', password: 'pw' } }); await c.connect(); try { await c.set('a', '1'); } finally { await c.disconnect().catch(() => {}); } }, respCode);
  await tryit('node-redis', 'r5-redis-refused', async () => { const c = mk({ socket: { port: cfg.closed } }); try { await c.connect(); } finally { c.disconnect().catch(() => {}); } });
  await tryit('node-redis', 'r5-redis-dns', async () => { const c = mk({ socket: { host: cfg.dns, port: R.P } }); try { await c.connect(); } finally { c.disconnect().catch(() => {}); } });
  await tryit('node-redis', 'r5-redis-timeout', async () => { const c = mk({ socket: { port: cfg.silent, connectTimeout: 800 } }); try { await c.connect(); await c.ping(); } finally { c.disconnect().catch(() => {}); } });
}

async function httpPart() {
  const axios = require('axios');
  const got = require('got');
  const fetch = require('node-fetch');
  const undici = require('undici');
  const clients = {
    axios: (u) => axios.get(u, { timeout: 1500, maxRedirects: 5 }),
    got: (u) => got(u, { timeout: { request: 1500 }, retry: { limit: 0 }, maxRedirects: 5 }),
    'node-fetch': async (u) => { const r = await fetch(u, { timeout: 1500, follow: 5 }); if (!r.ok) throw new Error(`HTTP ${r.status} ${r.statusText}`); await r.text(); },
    undici: async (u) => { const r = await undici.request(u, { throwOnError: true, maxRedirections: 5, headersTimeout: 1500, bodyTimeout: 1500 }); await r.body.text(); },
  };
  const status = { axios: (e) => e.response && e.response.status, got: (e) => e.response && e.response.statusCode,
    'node-fetch': () => undefined, undici: (e) => e.statusCode };
  for (const [name, get] of Object.entries(clients)) {
    for (const st of STATUS) {
      if (name === 'node-fetch') continue; // node-fetch does not raise on a status; its text would be ours
      await tryit(name, `r5-http-${st}`, () => get(`${H}/status/${st}`), status[name]);
    }
    for (const [p, k] of ODD) await tryit(name, k, () => get(H + p));
    for (const [u, k] of NETURLS) await tryit(name, k, () => get(u), (e) => e.code);
  }
  // certificates from round 4's test CA: one expired, one for another host
  if (cfg.ca) {
    const https = require('https');
    const ca = fs.readFileSync(cfg.ca);
    const agent = new https.Agent({ ca });
    const tlsClients = {
      axios: (u) => axios.get(u, { timeout: 3000, httpsAgent: agent }),
      got: (u) => got(u, { timeout: { request: 3000 }, retry: { limit: 0 }, https: { certificateAuthority: ca } }),
      'node-fetch': async (u) => { const r = await fetch(u, { timeout: 3000, agent }); await r.text(); },
      undici: async (u) => { const r = await undici.request(u, { dispatcher: new undici.Agent({ connect: { ca } }) }); await r.body.text(); },
    };
    for (const [name, get] of Object.entries(tlsClients)) {
      await tryit(name, 'r5-http-tls-expired', () => get(`https://localhost:${cfg.tls_expired}/`), (e) => e.code);
      await tryit(name, 'r5-http-tls-hostname', () => get(`https://localhost:${cfg.tls_wronghost}/`), (e) => e.code);
    }
  }
  // undici's fetch (Node's global fetch is an older undici; this one is the package)
  for (const [u, k] of NETURLS.concat(ODD.map(([p, k]) => [H + p, k]))) {
    // fetch rejects with "TypeError: fetch failed" and the cause beside it: console.error(err) prints both
    await tryit('undici', k, async () => {
      try { const r = await undici.fetch(u, { signal: AbortSignal.timeout(1500) }); await r.text(); } catch (e) {
        if (e.cause) { const w = new Error(require('util').inspect(e)); w.name = 'inspect'; w.inspected = true; throw w; }
        throw e;
      }
    });
  }
}

async function wsPart() {
  const WebSocket = require('ws');
  const open = (u, o) => new Promise((res, rej) => {
    const w = new WebSocket(u, o); w.on('open', () => { w.close(); res(); }); w.on('error', rej);
  });
  await tryit('ws', 'r5-http-ws-404', () => open(`${H.replace('http', 'ws')}/status/404`), () => 404);
  await tryit('ws', 'r5-http-ws-500', () => open(`${H.replace('http', 'ws')}/status/500`), () => 500);
  await tryit('ws', 'r5-http-refused', () => open(`ws://127.0.0.1:${cfg.closed}/`), (e) => e.code);
  await tryit('ws', 'r5-http-dns', () => open(`ws://${cfg.dns}/`), (e) => e.code);
  await tryit('ws', 'r5-http-timeout', () => open(`ws://127.0.0.1:${cfg.silent}/`, { handshakeTimeout: 1000 }));
  await tryit('ws', 'r5-http-reset', () => open(`${H.replace('http', 'ws')}/reset`), (e) => e.code);
  await tryit('ws', 'r5-http-empty', () => open(`${H.replace('http', 'ws')}/empty`), (e) => e.code);
  if (cfg.ca) {
    const ca = fs.readFileSync(cfg.ca);
    await tryit('ws', 'r5-http-tls-expired', () => open(`wss://localhost:${cfg.tls_expired}/`, { ca }), (e) => e.code);
    await tryit('ws', 'r5-http-tls-hostname', () => open(`wss://localhost:${cfg.tls_wronghost}/`, { ca }), (e) => e.code);
  }
  await tryit('ws', 'r5-http-tls-untrusted', () => open(cfg.tls.replace('https', 'wss')), (e) => e.code);
}

(async () => {
  for (const f of [pgPart, myPart, ioredisPart, nodeRedisPart, httpPart, wsPart]) {
    try { await f(); } catch (e) { console.error(`noder5: ${f.name}: ${e.stack}`); }
  }
  process.exit(0);
})();
