// More Node.js failures for capture.py: node nodemore.js TMPDIR HTTPBASE CLOSED SILENT TLSURL
// One JSON object per failure: key, message (the first line of the stack),
// code when the error has one, every other one with util.inspect (the trace).
'use strict';
const fs = require('fs'), zlib = require('zlib'), util = require('util'), path = require('path');
const cp = require('child_process'), crypto = require('crypto'), http = require('http');
const https = require('https'), vm = require('vm'), url = require('url'), dnsp = require('dns').promises;
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
function get(mod, key, u, opts) {
  return new Promise((res) => {
    const r = mod.get(u, opts || {}, (rsp) => { rsp.resume(); rsp.on('end', res); });
    r.on('error', (e) => { out(key, e); res(); });
  });
}
(async () => {
  const f = path.join(tmp, 'f.txt');
  fs.writeFileSync(f, 'hello\n');
  fs.mkdirSync(path.join(tmp, 'd', 'sub'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'bad.json'), '{"orders": [1,');
  sync('readlink-regular', () => fs.readlinkSync(f));
  sync('rm-dir', () => fs.rmSync(path.join(tmp, 'd')));
  sync('cp-into-self', () => fs.cpSync(path.join(tmp, 'd'), path.join(tmp, 'd', 'sub', 'x'), { recursive: true }));
  sync('chdir-missing', () => process.chdir(path.join(tmp, 'nope')));
  sync('setuid', () => process.setuid(0));
  sync('kill-init', () => process.kill(1, 0));
  sync('exec-permission', () => cp.execFileSync(f, { stdio: 'pipe' }));
  sync('mkdtemp-missing', () => fs.mkdtempSync(path.join(tmp, 'nope', 'x-')));
  sync('link-dir', () => fs.linkSync(path.join(tmp, 'd'), path.join(tmp, 'd2')));
  sync('rename-xdev', () => fs.renameSync('/proc/version', path.join(tmp, 'v')));
  sync('brotli-bad', () => zlib.brotliDecompressSync(Buffer.from('this is not brotli at all, not at all')));
  sync('cipher-key', () => crypto.createCipheriv('aes-256-cbc', Buffer.alloc(5), Buffer.alloc(16)));
  sync('bad-decrypt', () => { const d = crypto.createDecipheriv('aes-128-cbc', Buffer.alloc(16, 1), Buffer.alloc(16)); d.update(Buffer.alloc(32, 7)); d.final(); });
  sync('public-key', () => crypto.createPublicKey('-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----\n'));
  sync('buffer-read', () => Buffer.from('ab').readUInt32BE(0));
  sync('repeat-count', () => 'ab'.repeat(-1));
  sync('normalize-form', () => 'x'.normalize('NFX'));
  sync('time-zone', () => new Intl.DateTimeFormat('en', { timeZone: 'Nowhere/Capture_City' }));
  sync('json-trailing', () => JSON.parse('{"a": 1}x'));
  sync('json-undefined', () => JSON.parse(undefined));
  sync('file-url-scheme', () => url.fileURLToPath('http://example.invalid/x'));
  sync('require-bad-json', () => require(path.join(tmp, 'bad.json')));
  sync('vm-timeout', () => vm.runInNewContext('while (true) {}', {}, { timeout: 50 }));
  sync('function-syntax', () => new Function('return (')());
  sync('parse-args', () => util.parseArgs({ args: ['--frobnicate'], options: { verbose: { type: 'boolean' } } }));
  sync('unknown-encoding', () => Buffer.from('x').toString('fl-capture-encoding'));
  sync('header-char', () => http.request({ host: '127.0.0.1', port: +closed, headers: { 'x-order': 'a\nb' } }));
  sync('http-method', () => http.request({ host: '127.0.0.1', port: +closed, method: 'BAD METHOD' }));
  sync('called-on-null', () => String.prototype.toUpperCase.call(null));
  sync('not-extensible', () => Object.defineProperty(Object.freeze({}), 'a', { value: 1 }));
  sync('class-without-new', () => { class Order {} return Order(); });
  await get(http, 'http-hang-up', base + '/empty');
  await get(https, 'https-self-signed', tlsurl);
  await get(https, 'https-plain-peer', base.replace('http:', 'https:') + '/');
  await asyn('fetch-redirect-loop', () => fetch(base + '/loop'));
  await asyn('resolve4', () => dnsp.resolve4('api.fl-capture.invalid'));
})();
