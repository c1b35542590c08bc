// Node.js runtime failures for capture.py: node nodert.js TMPDIR HTTPBASE CLOSED SILENT TLSURL
'use strict';
const fs = require('fs'), net = require('net'), dns = require('dns'), zlib = require('zlib');
const util = require('util'), path = require('path'), cp = require('child_process');
const crypto = require('crypto'), assert = require('assert'), http = require('http');
const [tmp, base, closed, silent, tlsurl] = process.argv.slice(2);
let n = 0;
function out(key, e) {
  const o = { key, message: String(e && e.stack ? e.stack.split('\n')[0] : e) };
  if (e && e.code) o.code = e.code;
  if (n % 2 === 0 || (e && e.cause)) o.trace = util.inspect(e);
  n++;
  process.stdout.write(JSON.stringify(o) + '\n');
}
function sync(key, fn) { try { fn(); } catch (e) { out(key, e); } }
async function asyn(key, fn) { try { await fn(); } catch (e) { out(key, e); } }
function recurse() { return recurse() + 1; }
function sock(key, opts, cb) {
  return new Promise((res) => {
    const s = net.connect(opts);
    s.on('error', (e) => { out(key, e); res(); });
    s.on('timeout', () => { s.destroy(); const e = new Error('Socket timeout'); e.code = 'ETIMEDOUT'; out(key, e); res(); });
    s.on('connect', () => { if (cb) cb(s); else { s.end(); res(); } });
    s.on('close', () => res());
  });
}
(async () => {
  sync('json-parse', () => JSON.parse('{"a": 1,'));
  sync('json-parse-empty', () => JSON.parse(''));
  sync('null-property', () => { const u = null; return u.name; });
  sync('undefined-property', () => { const u = undefined; return u.id; });
  sync('not-function', () => { const o = {}; o.run(); });
  sync('reference', () => undefinedHelper());
  sync('recursion', () => recurse());
  sync('array-length', () => new Array(-1));
  sync('enoent', () => fs.readFileSync(path.join(tmp, 'missing.json')));
  sync('eexist', () => fs.mkdirSync(tmp));
  sync('enotempty', () => fs.rmdirSync(path.join(tmp, 'full')));
  sync('eisdir', () => fs.readFileSync(tmp));
  sync('enotdir', () => fs.readFileSync('/etc/hostname/x'));
  sync('eacces', () => fs.readFileSync('/etc/shadow'));
  sync('eacces-write', () => fs.writeFileSync('/etc/fl-capture.conf', 'x'));
  sync('enospc', () => fs.writeFileSync('/dev/full', 'x'));
  sync('esrch', () => process.kill(4194000, 0));
  sync('enametoolong', () => fs.readFileSync(path.join(tmp, 'n'.repeat(300))));
  sync('invalid-url', () => new URL('not a url'));
  sync('buffer-size', () => Buffer.alloc(-1));
  sync('arg-type', () => fs.readFileSync(42n));
  sync('module', () => require('fl-capture-no-such-module'));
  sync('zlib-bad', () => zlib.gunzipSync(Buffer.from('plain text, not gzip')));
  sync('zlib-truncated', () => zlib.gunzipSync(zlib.gzipSync(Buffer.from('hello world'.repeat(100))).subarray(0, 30)));
  sync('inflate-bad', () => zlib.inflateSync(Buffer.from('not deflate data')));
  sync('digest', () => crypto.createHash('nosuchhash'));
  sync('bigint-json', () => JSON.stringify({ a: 1n }));
  sync('assert', () => assert.strictEqual(1, 2));
  sync('exec', () => cp.execSync('exit 3', { stdio: 'pipe' }));
  sync('spawn-missing', () => { const r = cp.spawnSync('fl-capture-no-such-binary'); if (r.error) throw r.error; });
  sync('decode-uri', () => decodeURIComponent('%E0%A4%A'));
  sync('invalid-date', () => new Date('nope').toISOString());
  sync('regex', () => new RegExp('('));
  sync('bigint-conv', () => BigInt('1.5'));
  sync('to-fixed', () => (1).toFixed(200));
  sync('symbol', () => `${Symbol('x')}`);
  sync('const-assign', () => { const c = 1; c = 2; });
  sync('structured-clone', () => structuredClone(() => 1));
  sync('textdecoder', () => new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array([0xff, 0xfe])));
  sync('readonly-prop', () => { 'use strict'; const o = Object.freeze({ a: 1 }); o.a = 2; });
  sync('json-circular', () => { const a = {}; a.a = a; JSON.stringify(a); });
  sync('unimplemented', () => { const e = new Error('The _read() method is not implemented'); e.code = 'ERR_METHOD_NOT_IMPLEMENTED'; new (require('stream').Readable)().read(); });
  await asyn('fetch-refused', () => fetch(`http://127.0.0.1:${closed}/`));
  await asyn('fetch-dns', () => fetch('http://api.fl-capture.invalid/'));
  await asyn('fetch-tls', () => fetch(tlsurl));
  await asyn('fetch-timeout', () => fetch(base + '/sleep', { signal: AbortSignal.timeout(200) }));
  await asyn('fetch-abort', () => { const c = new AbortController(); const p = fetch(base + '/sleep', { signal: c.signal }); c.abort(); return p; });
  await asyn('fetch-reset', () => fetch(base + '/reset'));
  await asyn('fetch-empty', () => fetch(base + '/empty'));
  await asyn('fetch-bad-url', () => fetch('http//nowhere'));
  await asyn('fetch-json', async () => (await fetch(base + '/json')).json());
  await sock('net-refused', { host: '127.0.0.1', port: +closed });
  await sock('net-timeout', { host: '127.0.0.1', port: +silent, timeout: 200 });
  await new Promise((res) => dns.lookup('api.fl-capture.invalid', (e) => { if (e) out('dns', e); res(); }));
  await new Promise((res) => {
    const r = http.get(base + '/reset', () => res());
    r.on('error', (e) => { out('http-reset', e); res(); });
  });
  await new Promise((res) => {
    const r = http.get(base + '/sleep', { timeout: 200 }, () => res());
    r.on('timeout', () => r.destroy(Object.assign(new Error('Request timed out'), { code: 'ETIMEDOUT' })));
    r.on('error', (e) => { out('http-timeout', e); res(); });
  });
  await new Promise((res) => {
    const s = http.createServer().listen(0, '127.0.0.1', () => {
      const s2 = http.createServer();
      s2.on('error', (e) => { out('eaddrinuse', e); s.close(); res(); });
      s2.listen(s.address().port, '127.0.0.1');
    });
  });
  await asyn('fs-promise', () => fs.promises.readFile(path.join(tmp, 'missing.txt')));
})();
