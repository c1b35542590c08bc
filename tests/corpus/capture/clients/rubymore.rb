# More Ruby failures for capture.py: ruby rubymore.rb TMPDIR HTTPBASE CLOSED SILENT TLSURL
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
require 'csv'
require 'yaml'
require 'time'
require 'ipaddr'
require 'base64'
require 'open-uri'
f = File.join(tmp, 'f.txt')
File.write(f, "hello\n")
File.symlink(File.join(tmp, 'loop2'), File.join(tmp, 'loop1')) rescue nil
File.symlink(File.join(tmp, 'loop1'), File.join(tmp, 'loop2')) rescue nil
c('enotdir') { File.read(File.join(f, 'x')) }
c('eloop') { File.read(File.join(tmp, 'loop1')) }
c('eperm') { Process.kill(0, 1) }
c('einval-readlink') { File.readlink(f) }
c('exdev') { File.rename('/proc/version', File.join(tmp, 'v')) }
c('enametoolong') { File.read(File.join(tmp, 'n' * 300)) }
c('unix-socket-missing') { UNIXSocket.new(File.join(tmp, 'nope.sock')) }
c('echild') { Process.wait }
c('ebadf') { IO.new(987) }
c('csv') { CSV.parse(%(a,"b)) }
c('yaml') { YAML.safe_load("a: [1, 2\nb: 3") }
c('yaml-class') { YAML.safe_load("--- !ruby/object:Object {}\n") }
c('json-nan') { JSON.generate([0.0 / 0]) }
c('json-nesting') { JSON.parse('[' * 200 + ']' * 200) }
c('float-parse') { Float('abc') }
c('time-parse') { Time.parse('nonsense') }
c('date-strptime') { Date.strptime('x', '%Y-%m-%d') }
c('ipaddr') { IPAddr.new('300.1.1.1') }
c('base64') { Base64.strict_decode64('abc') }
c('negative-size') { Array.new(-1) }
c('radix') { 100.to_s(99) }
c('compare') { [3, 'a'].sort }
c('struct-size') { Struct.new(:a).new(1, 2) }
c('const-missing') { Object.const_get(:FlCaptureNoSuchConst) }
c('uri-component') { URI::HTTP.build(host: 'bad host') }
[404, 500, 503, 429, 401, 403].each { |st| c("net-http-value-#{st}") { Net::HTTP.get_response(URI("#{base}/status/#{st}")).value } }
[404, 500, 503, 400].each { |st| c("open-uri-#{st}") { URI.open("#{base}/status/#{st}").read } }
c('bad-decrypt') { x = OpenSSL::Cipher.new('aes-128-cbc').decrypt; x.key = "\x01" * 16; x.iv = "\x00" * 16; x.update("\x07" * 32); x.final }
c('pkey') { OpenSSL::PKey.read('this is not a key') }
c('x509') { OpenSSL::X509::Certificate.new('this is not a certificate') }
c('fiber-dead') { fb = Fiber.new {}; fb.resume; fb.resume }
c('mutex-unlock') { Mutex.new.unlock }
c('not-opened-for-writing') { File.open(f, 'r') { |x| x.write('a') } }
c('chr-range') { 256.chr }
c('converter') { 'x'.encode('fl-capture-encoding') }
c('no-pattern') { case 1; in String then 1; end }
c('uncaught-throw') { throw :done }
c('no-block') { def fl_yield = yield; fl_yield }
