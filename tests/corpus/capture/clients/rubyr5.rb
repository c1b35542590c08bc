# Round-5 Ruby client libraries for capture.py: ruby rubyr5.rb R5JSON
#
# ruby-pg, mysql2, redis-rb, Faraday and rest-client failing against the local
# servers named in R5JSON.  One JSON object per failure on stdout: source, key,
# message ("Class: message", as Ruby prints an uncaught exception's first
# line), every other one with the backtrace, and the code the library exposes.
require "json"
require "timeout"
cfg = JSON.parse(File.read(ARGV[0]))
$n = 0

def emit(source, key, e, code = nil)
  o = { source: source, key: key, message: "#{e.class}: #{e.message}".strip }
  if $n.even?
    o[:trace] = "#{e.backtrace&.first}: #{e.message} (#{e.class})\n" + (e.backtrace || [])[1..].to_a.map { |l| "\tfrom #{l}" }.join("\n")
  end
  o[:code] = code unless code.nil?
  puts JSON.generate(o)
  $stdout.flush
  $n += 1
end

def tryit(source, key, codeof = nil)
  yield
rescue Exception => e # rubocop:disable Lint/RescueException
  c = begin
    codeof&.call(e)
  rescue StandardError
    nil
  end
  emit(source, key, e, c)
end

H = cfg["http"]
NETURLS = [["http://127.0.0.1:#{cfg['closed']}/", "r5-http-refused"], ["http://#{cfg['dns']}/", "r5-http-dns"],
           ["http://127.0.0.1:#{cfg['silent']}/", "r5-http-timeout"], [cfg["tls"], "r5-http-tls-untrusted"]]
STATUS = [400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504]
ODD = [["/reset", "r5-http-reset"], ["/empty", "r5-http-empty"], ["/truncated", "r5-http-truncated"], ["/loop", "r5-http-redirect-loop"]]

if (pg = cfg["pg"])
  require "pg"
  sq = ->(e) { e.respond_to?(:result) && e.result ? e.result.error_field(PG::Result::PG_DIAG_SQLSTATE) : nil }
  base = { host: pg["host"], port: pg["port"], user: pg["user"], dbname: pg["db"] }
  pg["cases"].each do |c|
    tryit("ruby-pg", "r5-pg-#{c['case']}", sq) do
      conn = PG.connect(base)
      begin
        c["pre"].each { |s| conn.exec(s) }
        conn.exec(c["sql"])
      ensure
        conn.close unless conn.finished?
      end
    end
  end
  pg["conn"].each do |c|
    o = { host: c["host"] || pg["host"], port: c["port"] || pg["port"], user: c["user"] || pg["user"],
          dbname: c["db"] || pg["db"], connect_timeout: 2 }
    o[:password] = c["password"] if c["password"] && !c["password"].empty?
    o[:sslmode] = "require" if c["ssl"]
    tryit("ruby-pg", "r5-pg-#{c['case']}", sq) { PG.connect(o).exec("SELECT 1") }
  end
  tryit("ruby-pg", "r5-pg-serialization", sq) do
    a = PG.connect(base)
    b = PG.connect(base)
    begin
      a.exec("BEGIN ISOLATION LEVEL REPEATABLE READ")
      a.exec("SELECT * FROM r5_ser")
      b.exec("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
      a.exec("UPDATE r5_ser SET v = v + 1 WHERE id = 1")
    ensure
      a.close
      b.close
    end
  end
  tryit("ruby-pg", "r5-pg-deadlock", sq) do
    a = PG.connect(base)
    b = PG.connect(base)
    a.exec("BEGIN"); b.exec("BEGIN")
    a.exec("UPDATE r5_dl SET v = v + 1 WHERE id = 1"); b.exec("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
    errs = Queue.new
    t = Thread.new do
      a.exec("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
    rescue StandardError => e
      errs << e
    end
    sleep 0.3
    begin
      b.exec("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
    rescue StandardError => e
      errs << e
    end
    b.exec("ROLLBACK") rescue nil
    t.join
    a.exec("ROLLBACK") rescue nil
    a.close; b.close
    raise errs.pop unless errs.empty?
  end
end

if (my = cfg["my"])
  require "mysql2"
  ec = ->(e) { e.respond_to?(:error_number) ? e.error_number : nil }
  base = { host: my["host"], port: my["port"], username: my["user"], password: my["password"], database: my["db"] }
  my["cases"].each do |c|
    tryit("ruby-mysql2", "r5-my-#{c['case']}", ec) do
      conn = Mysql2::Client.new(base)
      begin
        c["pre"].each { |s| conn.query(s) }
        conn.query(c["sql"])
      ensure
        conn.close
      end
    end
  end
  my["conn"].each do |c|
    o = { host: c["host"] || my["host"], port: c["port"] || my["port"], username: c["user"] || my["user"],
          password: c["password"] || my["password"], database: c["db"] || my["db"], connect_timeout: 2 }
    tryit("ruby-mysql2", "r5-my-#{c['case']}", ec) { Mysql2::Client.new(o).query(c["sql"] || "SELECT 1") }
  end
  tryit("ruby-mysql2", "r5-my-wait-timeout", ec) do
    conn = Mysql2::Client.new(base)
    conn.query("SET SESSION wait_timeout = 1")
    sleep 2.5
    conn.query("SELECT 1")
  end
  tryit("ruby-mysql2", "r5-my-deadlock", ec) do
    a = Mysql2::Client.new(base)
    b = Mysql2::Client.new(base)
    a.query("BEGIN"); b.query("BEGIN")
    a.query("UPDATE r5_dl SET v = v + 1 WHERE id = 1"); b.query("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
    errs = Queue.new
    t = Thread.new do
      a.query("UPDATE r5_dl SET v = v + 1 WHERE id = 2")
    rescue StandardError => e
      errs << e
    end
    sleep 0.3
    begin
      b.query("UPDATE r5_dl SET v = v + 1 WHERE id = 1")
    rescue StandardError => e
      errs << e
    end
    t.join
    a.close; b.close
    raise errs.pop unless errs.empty?
  end
end

if (rd = cfg["redis"])
  require "redis"
  rc = ->(e) { e.message[/\A([A-Z]+) /, 1] }
  [["wrongtype", rd["P"], %w[LPUSH str x]], ["not-integer", rd["P"], %w[INCR str]], ["unknown-command", rd["P"], %w[FROBNICATE x]],
   ["syntax", rd["P"], %w[SET k v BOGUS]], ["noscript", rd["P"], ["EVALSHA", "f" * 40, "0"]],
   ["script-error", rd["P"], ["EVAL", "return redis.call('nosuchcmd')", "0"]], ["db-range", rd["P"], %w[SELECT 99]],
   ["noauth", rd["A"], %w[GET a]], ["oom", rd["M"], %w[SET a 1]], ["readonly", rd["R"], %w[SET a 1]],
   ["masterdown", rd["M2"], %w[GET a]], ["clusterdown", rd["C"], %w[GET a]]].each do |k, port, args|
    tryit("redis-rb", "r5-redis-#{k}", rc) { Redis.new(host: "127.0.0.1", port: port, reconnect_attempts: 0).call(args) }
  end
  tryit("redis-rb", "r5-redis-wrongpass", rc) { Redis.new(host: "127.0.0.1", port: rd["A"], password: "wrong").ping }
  tryit("redis-rb", "r5-redis-noperm", rc) { Redis.new(host: "127.0.0.1", port: rd["P"], username: "ro", password: "pw").set("a", "1") }
  tryit("redis-rb", "r5-redis-refused") { Redis.new(host: "127.0.0.1", port: cfg["closed"], reconnect_attempts: 0).ping }
  tryit("redis-rb", "r5-redis-dns") { Redis.new(host: cfg["dns"], port: rd["P"], reconnect_attempts: 0).ping }
  tryit("redis-rb", "r5-redis-timeout") { Redis.new(host: "127.0.0.1", port: cfg["silent"], timeout: 1, reconnect_attempts: 0).ping }
end

require "faraday"
fd = Faraday.new(request: { timeout: 1.5, open_timeout: 1.5 }) { |f| f.response :raise_error }
fstatus = ->(e) { e.respond_to?(:response_status) ? e.response_status : (e.respond_to?(:response) && e.response ? e.response[:status] : nil) }
STATUS.each { |st| tryit("faraday", "r5-http-#{st}", fstatus) { fd.get("#{H}/status/#{st}") } }
ODD.first(3).each { |p, k| tryit("faraday", k) { fd.get(H + p) } }
NETURLS.each { |u, k| tryit("faraday", k) { fd.get(u) } }

require "rest-client"
rstatus = ->(e) { e.respond_to?(:http_code) ? e.http_code : nil }
STATUS.each { |st| tryit("rest-client", "r5-http-#{st}", rstatus) { RestClient::Request.execute(method: :get, url: "#{H}/status/#{st}", timeout: 2) } }
ODD.each { |p, k| tryit("rest-client", k) { RestClient::Request.execute(method: :get, url: H + p, timeout: 2, max_redirects: 5) } }
NETURLS.each { |u, k| tryit("rest-client", k) { RestClient::Request.execute(method: :get, url: u, timeout: 1.5) } }

if cfg["ca"]
  tls = [["https://localhost:#{cfg['tls_expired']}/", "r5-http-tls-expired"], ["https://localhost:#{cfg['tls_wronghost']}/", "r5-http-tls-hostname"]]
  fca = Faraday.new(ssl: { ca_file: cfg["ca"] }, request: { timeout: 3, open_timeout: 3 }) { |f| f.response :raise_error }
  tls.each { |u, k| tryit("faraday", k) { fca.get(u) } }
  tls.each { |u, k| tryit("rest-client", k) { RestClient::Request.execute(method: :get, url: u, timeout: 3, ssl_ca_file: cfg["ca"]) } }
end

# Excon, with its status-checking middleware (expects:)
require "excon"
xstatus = ->(e) { e.respond_to?(:response) && e.response ? e.response.status : nil }
STATUS.each { |st| tryit("excon", "r5-http-#{st}", xstatus) { Excon.get("#{H}/status/#{st}", expects: [200], read_timeout: 2, connect_timeout: 2) } }
ODD.first(3).each { |p, k| tryit("excon", k) { Excon.get(H + p, expects: [200], read_timeout: 2, connect_timeout: 2) } }
NETURLS.each { |u, k| tryit("excon", k) { Excon.get(u, read_timeout: 1.5, connect_timeout: 1.5, write_timeout: 1.5) } }
if cfg["ca"]
  [["https://localhost:#{cfg['tls_expired']}/", "r5-http-tls-expired"], ["https://localhost:#{cfg['tls_wronghost']}/", "r5-http-tls-hostname"]].each do |u, k|
    tryit("excon", k) { Excon.get(u, ssl_ca_file: cfg["ca"], read_timeout: 3) }
  end
end
