# Round-4 Ruby failures for capture.py: ruby rubyr4.rb TMPDIR HTTPBASE CLOSED SILENT TLSURL R4JSON
require 'json'
require 'socket'
require 'net/http'
require 'net/smtp'
require 'net/ftp'
require 'open-uri'
require 'openssl'
require 'uri'
require 'etc'
require 'stringio'
require 'zlib'
require 'fileutils'
tmp, base, closed, silent, tlsurl, r4json = ARGV
R4 = JSON.parse(r4json)
$n = 0
def c(key)
  yield
rescue Exception => e
  o = { key: key, message: "#{e.class}: #{e.message}" }
  o[:message] = "#{e.message} (#{e.class})" if $n % 3 == 1
  o[:errno] = e.class.name.split('::').last if e.is_a?(SystemCallError) && e.class.name.start_with?('Errno::')
  if $n.even?
    bt = (e.backtrace || []).first(8)
    o[:trace] = "#{bt.first}: #{e.message} (#{e.class})\n" + bt.drop(1).map { |l| "\tfrom #{l}" }.join("\n")
  end
  $n += 1
  puts JSON.generate(o)
  $stdout.flush
end
f = File.join(tmp, 'f.txt')
File.write(f, "hello\n")
FileUtils.mkdir_p(File.join(tmp, 'd', 'sub'))

R4['http'].each { |st| c("r4-open-uri-#{st}") { URI.open("#{base}/status/#{st}").read } }

def tls_get(port, host: '127.0.0.1', ca: R4['ca'], max: nil)
  http = Net::HTTP.new(host, port)
  http.use_ssl = true
  http.ca_file = ca if ca
  http.max_version = max if max
  http.open_timeout = 5
  http.read_timeout = 5
  http.start { |h| h.get('/') }
end
c('r4-tls-expired') { tls_get(R4['tls_expired']) }
c('r4-tls-hostname') { tls_get(R4['tls_wronghost']) }
c('r4-tls-client-cert') { tls_get(R4['tls_clientcert']) }
c('r4-tls-version') { tls_get(R4['tls_13only'], max: :TLS1_2) }
c('r4-tls-untrusted-ca') { tls_get(R4['tls_ok'], ca: nil) }

R4['smtp'].sort.each do |k, port|
  c("r4-smtp-#{k}") do
    smtp = Net::SMTP.new('127.0.0.1', port)
    smtp.open_timeout = 5
    smtp.read_timeout = 5
    args = k == '535' ? ['localhost', 'bob', 'wrong', :plain] : ['localhost']
    smtp.start(*args) do |s|
      s.send_message("Subject: x\r\n\r\nhi\r\n", 'a@fl-capture.test', 'nobody@fl-capture.test')
    end
  end
end
R4['ftp'].sort.each do |k, port|
  c("r4-ftp-#{k}") do
    ftp = Net::FTP.new
    ftp.open_timeout = 5
    ftp.read_timeout = 5
    ftp.connect('127.0.0.1', port)
    ftp.login('bob', 'wrong')
    ftp.passive = true
    ftp.getbinaryfile('missing.txt', File.join(tmp, 'got'))
  end
end

if R4['full']
  c('r4-tmpfs-enospc') { File.open(File.join(R4['full'], 'rb-big'), 'wb') { |io| 200.times { io.write('x' * 4096); io.flush } } }
end
if R4['ro']
  c('r4-erofs-open') { File.write(File.join(R4['ro'], 'rb.txt'), 'x') }
  c('r4-erofs-unlink') { File.unlink(File.join(R4['ro'], 'keep.txt')) }
end
busy = File.join(tmp, 'busy.sh')
wf = File.open(busy, 'w', 0o755)
wf.write("#!/bin/sh\necho hi\n")
wf.flush
c('r4-etxtbsy') { system(busy, exception: true) }
wf.close
c('r4-e2big') { system('/bin/true', 'x' * (200 * 1024), exception: true) }
c('r4-spawn-missing-cwd') { spawn('/bin/true', chdir: File.join(tmp, 'nope')) }
c('r4-system-exit-status') { system('/bin/sh', '-c', 'exit 4', exception: true) }
c('r4-flock-held') { File.open(f).flock(File::LOCK_EX); File.open(f).flock(File::LOCK_EX | File::LOCK_NB) or raise Errno::EWOULDBLOCK, f }
c('r4-rename-dir-into-sub') { File.rename(File.join(tmp, 'd'), File.join(tmp, 'd', 'sub', 'x')) }
c('r4-link-exists') { File.link(f, f) }
c('r4-dir-children-file') { Dir.children(f) }
c('r4-utime-permission') { File.utime(0, 0, '/etc/hostname') }
c('r4-lseek-pipe') { r, _w = IO.pipe; r.seek(10) }
c('r4-fileutils-cp-missing') { FileUtils.cp(File.join(tmp, 'nope.txt'), File.join(tmp, 'x')) }
c('r4-fileutils-mkdir-p-file') { FileUtils.mkdir_p(File.join(f, 'sub')) }
c('r4-fileutils-rm-r-permission') { FileUtils.rm_r('/etc/hostname') }
c('r4-bind-privileged') { TCPServer.new('127.0.0.1', 81) }
c('r4-unix-refused') { s = UNIXServer.new(File.join(tmp, 'u.sock')); s.close; UNIXSocket.new(File.join(tmp, 'u.sock')) }
c('r4-getservbyname') { Socket.getservbyname('fl-capture-nosuch', 'tcp') }
c('r4-etc-getpwnam') { Etc.getpwnam('fl_capture_nosuch') }
c('r4-connect-unroutable') { Socket.tcp('192.0.2.1', 9, connect_timeout: 0.5) }
c('r4-queue-closed') { q = Queue.new; q.close; q.push(1) }
c('r4-sized-queue-nonblock') { q = SizedQueue.new(1); q.push(1); q.push(2, true) }
c('r4-marshal-garbage') { Marshal.load("\x04\x09garbage") }
c('r4-file-mode') { File.open(f, 'q') }
c('r4-stringio-closed') { s = StringIO.new('x'); s.close_read; s.read }
c('r4-openssl-digest') { OpenSSL::Digest.new('nope-digest') }
c('r4-openssl-cipher-name') { OpenSSL::Cipher.new('nope-cipher-256') }
c('r4-gzip-crc') { gz = StringIO.new; w = Zlib::GzipWriter.new(gz); w.write('hello world ' * 200); w.close; b = gz.string.dup; b.setbyte(b.bytesize - 6, b.getbyte(b.bytesize - 6) ^ 0xff); Zlib.gunzip(b) }
c('r4-integer-sqrt-negative') { Integer.sqrt(-1) }
c('r4-sleep-negative') { sleep(-1) }
