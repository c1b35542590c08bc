// Round-4 Node.js failures for capture.py: node noder4.js TMPDIR HTTPBASE CLOSED SILENT TLSURL R4JSON
// One JSON object per failure: key, message (the first line of the stack),
// code when the error has one, every other one with util.inspect (the trace).
'use strict';
const fs = require('fs'), fsp = require('fs/promises'), zlib = require('zlib'), util = require('util');
const path = require('path'), cp = require('child_process'), crypto = require('crypto'), http = require('http');
const https = require('https'), net = require('net'), tls = require('tls'), dns = require('dns');
const { Worker } = require('worker_threads'), stream = require('stream'), events = require('events');
const [tmp, base, closed, silent, tlsurl, r4json] = process.argv.slice(2);
const R4 = JSON.parse(r4json);
let n = 0;
function out(key, e) {
  const o = { key, message: String(e && e.stack ? e.stack.split('\n')[0] : e) };
  if (e && e.code) o.code = e.code;
  if (n % 2 === 0 || (e && e.cause)) o.trace = util.inspect(e);
  if (e && e.cause) o.message = null; // "TypeError: fetch failed" says nothing without its cause
  n++;
  process.stdout.write(JSON.stringify(o) + '\n');
}
function sync(key, fn) { try { fn(); } catch (e) { out(key, e); } }
async function asyn(key, fn) { try { await fn(); } catch (e) { out(key, e); } }
function tlsConnect(key, port, opts) {
  return new Promise((res) => {
    const s = tls.connect(Object.assign({ host: '127.0.0.1', port, servername: 'localhost' }, opts), () => {
      s.write('GET / HTTP/1.0\r\n\r\n');
    });
    s.on('data', () => {});
    s.on('error', (e) => { out(key, e); res(); });
    s.on('close', res);
    s.setTimeout(5000, () => s.destroy());
  });
}
function httpsGet(key, port, opts) {
  return new Promise((res) => {
    const r = https.get(Object.assign({ host: '127.0.0.1', port, path: '/' }, opts || {}), (rsp) => { rsp.resume(); rsp.on('end', res); });
    r.on('error', (e) => { out(key, e); res(); });
  });
}
function netConnect(key, opts) {
  return new Promise((res) => {
    const s = net.connect(opts, () => { s.end(); res(); });
    s.on('error', (e) => { out(key, e); res(); });
  });
}
(async () => {
  const f = path.join(tmp, 'f.txt');
  fs.writeFileSync(f, 'hello\n');
  fs.mkdirSync(path.join(tmp, 'd', 'sub'), { recursive: true });
  fs.symlinkSync(path.join(tmp, 'loop2'), path.join(tmp, 'loop1'));
  fs.symlinkSync(path.join(tmp, 'loop1'), path.join(tmp, 'loop2'));
  const ca = fs.readFileSync(R4.ca);
  // TLS against local openssl s_server instances
  await tlsConnect('r4-tls-expired', R4.tls_expired, { ca });
  await tlsConnect('r4-tls-hostname', R4.tls_wronghost, { ca });
  await tlsConnect('r4-tls-client-cert', R4.tls_clientcert, { ca });
  await tlsConnect('r4-tls-version', R4.tls_13only, { ca, maxVersion: 'TLSv1.2' });
  await tlsConnect('r4-tls-untrusted-ca', R4.tls_ok, {});
  await httpsGet('r4-https-expired', R4.tls_expired, { ca });
  await httpsGet('r4-https-hostname', R4.tls_wronghost, { ca });
  await asyn('r4-fetch-expired', () => fetch(`https://127.0.0.1:${R4.tls_expired}/`));
  // fetch (undici)
  await asyn('r4-fetch-refused', () => fetch(`http://127.0.0.1:${closed}/`));
  await asyn('r4-fetch-dns', () => fetch('http://api.fl-capture.invalid/'));
  await asyn('r4-fetch-abort-timeout', () => fetch(`http://127.0.0.1:${silent}/`, { signal: AbortSignal.timeout(500) }));
  await asyn('r4-fetch-abort', () => { const c = new AbortController(); const p = fetch(`http://127.0.0.1:${silent}/`, { signal: c.signal }); setTimeout(() => c.abort(), 100); return p; });
  await asyn('r4-fetch-bad-url', () => fetch('http://exa mple.com/'));
  await asyn('r4-fetch-reset', () => fetch(`${base}/reset`));
  await asyn('r4-fetch-empty', () => fetch(`${base}/empty`));
  await asyn('r4-fetch-json', async () => (await fetch(`${base}/status/200`)).json());
  // net
  await netConnect('r4-net-refused', { host: '127.0.0.1', port: +closed });
  await netConnect('r4-net-unix-missing', { path: path.join(tmp, 'nope.sock') });
  await netConnect('r4-net-dns', { host: 'db.fl-capture.invalid', port: 5432 });
  await new Promise((res) => { const s = net.createServer(); s.on('error', (e) => { out('r4-listen-in-use', e); res(); }); s.listen(+silent, '127.0.0.1', () => { s.close(); res(); }); });
  await new Promise((res) => { const s = net.createServer(); s.on('error', (e) => { out('r4-listen-privileged', e); res(); }); s.listen(81, '127.0.0.1', () => { s.close(); res(); }); });
  // dns against an unreachable resolver
  await asyn('r4-dns-resolver-refused', () => { const r = new dns.promises.Resolver({ timeout: 500, tries: 1 }); r.setServers([`127.0.0.1:${closed}`]); return r.resolve4('db.fl-capture.test'); });
  await asyn('r4-dns-lookup-missing', () => dns.promises.lookup('db.fl-capture.invalid'));
  await asyn('r4-dns-bad-server', async () => { new dns.promises.Resolver().setServers(['not-an-ip']); });
  // fs/promises and the file systems round 4 prepared
  if (R4.full) await asyn('r4-tmpfs-enospc', () => fsp.writeFile(path.join(R4.full, 'node-big'), Buffer.alloc(1024 * 1024)));
  if (R4.ro) await asyn('r4-erofs-open', () => fsp.writeFile(path.join(R4.ro, 'node.txt'), 'x'));
  if (R4.ro) await asyn('r4-erofs-mkdir', () => fsp.mkdir(path.join(R4.ro, 'node-d')));
  await asyn('r4-eloop-open', () => fsp.readFile(path.join(tmp, 'loop1')));
  await asyn('r4-promises-opendir-file', () => fsp.opendir(f));
  await asyn('r4-promises-rmdir-nonempty', () => fsp.rmdir(path.join(tmp, 'd')));
  await asyn('r4-promises-copyfile-excl', () => fsp.copyFile(f, f, fs.constants.COPYFILE_EXCL));
  await asyn('r4-promises-utimes-permission', () => fsp.utimes('/etc/hostname', 0, 0));
  await asyn('r4-promises-truncate-dir', () => fsp.truncate(path.join(tmp, 'd')));
  await asyn('r4-promises-access-missing', () => fsp.access(path.join(tmp, 'nope')));
  await asyn('r4-promises-chmod-permission', () => fsp.chmod('/etc/hostname', 0o777));
  const busy = path.join(tmp, 'busy.sh');
  const fd = fs.openSync(busy, 'w', 0o755);
  fs.writeSync(fd, '#!/bin/sh\necho hi\n');
  sync('r4-etxtbsy', () => cp.execFileSync(busy, { stdio: 'pipe' }));
  fs.closeSync(fd);
  sync('r4-e2big', () => cp.execFileSync('/bin/true', ['x'.repeat(200 * 1024)], { stdio: 'pipe' }));
  sync('r4-spawn-timeout', () => cp.execFileSync('/bin/sleep', ['5'], { timeout: 300, stdio: 'pipe' }));
  sync('r4-spawn-cwd-missing', () => cp.execFileSync('/bin/true', { cwd: path.join(tmp, 'nope'), stdio: 'pipe' }));
  sync('r4-spawn-signal', () => cp.execFileSync('/bin/sh', ['-c', 'kill -9 $$'], { stdio: 'pipe' }));
  // zlib, crypto
  const gz = zlib.gzipSync(Buffer.from('hello world '.repeat(200)));
  sync('r4-gunzip-truncated', () => zlib.gunzipSync(gz.subarray(0, gz.length / 2)));
  const bad = Buffer.from(gz); bad[bad.length - 6] ^= 0xff;
  sync('r4-gunzip-crc', () => zlib.gunzipSync(bad));
  sync('r4-inflate-raw-bad', () => zlib.inflateRawSync(Buffer.from([0xff, 0xff, 0xff, 0xff])));
  sync('r4-crypto-pbkdf2-digest', () => crypto.pbkdf2Sync('pw', 'salt', 1, 32, 'nope-digest'));
  sync('r4-crypto-sign-bad-key', () => crypto.createSign('sha256').update('x').sign('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'));
  sync('r4-crypto-gcm-auth', () => {
    const key = crypto.randomBytes(32), iv = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, iv); const ct = Buffer.concat([c.update('secret'), c.final()]);
    const d = crypto.createDecipheriv('aes-256-gcm', key, iv); d.setAuthTag(Buffer.alloc(16)); d.update(ct); d.final();
  });
  sync('r4-crypto-scrypt-params', () => crypto.scryptSync('pw', 'salt', 64, { N: 3 }));
  sync('r4-crypto-x509-garbage', () => new crypto.X509Certificate('not a certificate'));
  // worker_threads, streams, events
  await new Promise((res) => { const w = new Worker(path.join(tmp, 'nope-worker.js')); w.on('error', (e) => { out('r4-worker-missing', e); res(); }); w.on('exit', res); });
  await new Promise((res) => {
    const w = new Worker('const a = []; for (;;) a.push(new Array(100000).fill(1));', { eval: true, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    w.on('error', (e) => { out('r4-worker-oom', e); res(); }); w.on('exit', res);
  });
  await new Promise((res) => { const w = new stream.Writable({ write(c, e, cb) { cb(); } }); w.end(); w.on('error', (e) => { out('r4-stream-write-after-end', e); res(); }); w.write('x'); });
  sync('r4-events-unhandled', () => new events.EventEmitter().emit('error', 'batch failed'));
  sync('r4-url-canparse', () => new URL('/relative/only'));
})();
