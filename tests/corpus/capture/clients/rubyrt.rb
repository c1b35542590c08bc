# Ruby runtime failures for capture.py: ruby rubyrt.rb TMPDIR HTTPBASE CLOSED SILENT TLSURL
require 'json'
require 'socket'
require 'net/http'
require 'uri'
require 'zlib'
require 'timeout'
require 'openssl'
require 'date'
require 'stringio'
require 'bigdecimal'
tmp, base, closed, silent, tlsurl = ARGV
$n = 0
def c(key)
  yield
rescue Exception => e
  o = { key: key, message: "#{e.class}: #{e.message}" }
  o[:message] = "#{e.message} (#{e.class})" if $n % 3 == 1
  if $n.even?
    bt = (e.backtrace || []).first(8)
    o[:trace] = "#{bt.first}: #{e.message} (#{e.class})\n" + bt.drop(1).map { |l| "\tfrom #{l}" }.join("\n")
  end
  $n += 1
  puts JSON.generate(o)
  $stdout.flush
end
def rec(n) = rec(n + 1) + 1
c('zero-division') { 1 / 0 }
c('no-method-nil') { nil.upcase }
c('no-method') { 5.frobnicate }
c('name-error') { undefined_helper }
c('argument') { Integer('12a') }
c('argument-count') { [].first(1, 2, 3) }
c('type-error') { 'total: ' + 5 }
c('key-error') { {a: 1}.fetch(:user_id) }
c('index-error') { [1, 2].fetch(7) }
c('enoent') { File.read(File.join(tmp, 'missing.txt')) }
c('eacces') { File.read('/etc/shadow') }
c('eacces-write') { File.write('/etc/fl-capture.conf', 'x') }
c('eexist') { Dir.mkdir(tmp) }
c('enotempty') { Dir.rmdir(File.join(tmp, 'full')) }
c('eisdir') { File.read(tmp) }
c('enospc') { File.open('/dev/full', 'w') { |f| f.write('x'); f.flush } }
c('esrch') { Process.kill(0, 4194000) }
c('econnrefused') { TCPSocket.new('127.0.0.1', closed.to_i) }
c('socket-dns') { TCPSocket.new('api.fl-capture.invalid', 443) }
c('net-http-refused') { Net::HTTP.get(URI("http://127.0.0.1:#{closed}/")) }
c('net-http-timeout') { Net::HTTP.start('127.0.0.1', URI(base).port, read_timeout: 0.2) { |h| h.get('/sleep') } }
c('net-http-open-timeout') { Net::HTTP.start('10.255.255.1', 80, open_timeout: 0.001) { |h| h.get('/') } }
c('net-http-tls') { Net::HTTP.get(URI(tlsurl)) }
c('net-http-eof') { Net::HTTP.get(URI(base + '/empty')) }
c('net-http-reset') { Net::HTTP.get(URI(base + '/reset')) }
c('json-parse') { JSON.parse('{"a": 1,') }
c('timeout') { Timeout.timeout(0.05) { sleep 1 } }
c('eof') { StringIO.new('').readline }
c('eof-io') { IO.pipe.then { |r, w| w.close; r.readline } }
c('zlib-data') { Zlib::Inflate.inflate('not deflate data') }
c('zlib-gzip') { Zlib::GzipReader.new(StringIO.new('plain text, not gzip')).read }
c('zlib-truncated') { Zlib::GzipReader.new(StringIO.new(Zlib.gzip('hello world' * 100)[0, 30])).read }
c('uri') { URI.parse('http://bad host/') }
c('date') { Date.parse('yesterday-ish') }
c('date-range') { Date.new(2024, 13, 1) }
c('deadlock') { Thread.new { Thread.stop }.join }
c('stack') { rec(0) }
c('frozen') { 'abc'.freeze << 'd' }
c('not-implemented') { raise NotImplementedError, 'export to parquet is not implemented' }
c('range') { [1].pack('C') && (2**64).to_s.unpack1('a') && Integer.sqrt(-1) }
c('float-domain') { (0.0 / 0.0).to_i }
c('encoding') { "caf\u00e9".encode('ASCII') }
c('encoding-compat') { "caf\u00e9" + "\xff".dup.force_encoding('ASCII-8BIT') }
c('invalid-byte') { "\xff".dup.force_encoding('UTF-8').unicode_normalize }
c('load-error') { require 'fl_capture_no_such_lib' }
c('regexp') { Regexp.new('(') }
c('bigdecimal') { BigDecimal('1,5') }
c('stop-iteration') { [].each.next }
c('system-exit-spawn') { Process.spawn('fl-capture-no-such-binary') }
c('interrupt') { raise Interrupt }
c('ssl-verify') { s = OpenSSL::SSL::SSLSocket.new(TCPSocket.new('127.0.0.1', URI(tlsurl).port), OpenSSL::SSL::SSLContext.new.tap { |x| x.verify_mode = OpenSSL::SSL::VERIFY_PEER; x.cert_store = OpenSSL::X509::Store.new.tap(&:set_default_paths) }); s.connect }
c('addr-in-use') { a = TCPServer.new('127.0.0.1', 0); TCPServer.new('127.0.0.1', a.addr[1]) }
c('frozen-hash') { {}.freeze[:a] = 1 }
c('closed-stream') { r, w = IO.pipe; r.close; r.read }
c('thread-error') { q = Queue.new; q.close; q.push(1) }
