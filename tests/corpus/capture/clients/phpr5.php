<?php
// Round-5 PHP extensions for capture.py: php phpr5.php R5JSON
//
// phpredis (RedisException) and ext/curl (curl_error with CURLOPT_FAILONERROR)
// failing against the local servers named in R5JSON.  One JSON object per
// failure on stdout: source, key, message ("Class: message" as PHP prints an
// uncaught exception's first line, or curl's error text), every other one with
// the trace, and the code the extension exposes.
$cfg = json_decode(file_get_contents($argv[1]), true);
$n = 0;
function emit($source, $key, $msg, $trace = null, $code = null) {
    global $n;
    $o = ["source" => $source, "key" => $key, "message" => $msg];
    if ($trace !== null && $n % 2 == 0) $o["trace"] = $trace;
    if ($code !== null) $o["code"] = $code;
    echo json_encode($o, JSON_UNESCAPED_SLASHES), "\n";
    $n++;
}
function ex($source, $key, $fn, $codeof = null) {
    try {
        $fn();
    } catch (Throwable $e) {
        $msg = get_class($e) . ": " . $e->getMessage();
        $trace = "PHP Fatal error:  Uncaught " . $msg . " in " . $e->getFile() . ":" . $e->getLine() . "\nStack trace:\n" . $e->getTraceAsString();
        emit($source, $key, $msg, $trace, $codeof ? $codeof($e) : null);
    }
}
$R = $cfg["redis"] ?? null;
if ($R && class_exists("Redis")) {
    $resp = function ($e) { return preg_match('/^([A-Z]+) /', $e->getMessage(), $m) ? $m[1] : null; };
    $cases = [["wrongtype", $R["P"], ["LPUSH", "str", "x"]], ["not-integer", $R["P"], ["INCR", "str"]],
              ["unknown-command", $R["P"], ["FROBNICATE", "x"]], ["syntax", $R["P"], ["SET", "k", "v", "BOGUS"]],
              ["noscript", $R["P"], ["EVALSHA", str_repeat("f", 40), "0"]],
              ["script-error", $R["P"], ["EVAL", "return redis.call('nosuchcmd')", "0"]],
              ["noauth", $R["A"], ["GET", "a"]], ["oom", $R["M"], ["SET", "a", "1"]], ["readonly", $R["R"], ["SET", "a", "1"]],
              ["masterdown", $R["M2"], ["GET", "a"]], ["clusterdown", $R["C"], ["GET", "a"]]];
    foreach ($cases as [$k, $port, $args]) {
        ex("phpredis", "r5-redis-$k", function () use ($port, $args) {
            $r = new Redis();
            $r->connect("127.0.0.1", $port, 2);
            $r->setOption(Redis::OPT_REPLY_LITERAL, true);
            $res = $r->rawCommand(...$args);
            if ($res === false) throw new RedisException($r->getLastError() ?? "false reply");
        }, $resp);
    }
    // phpredis reports server errors of typed commands through getLastError()
    foreach ([["wrongtype", fn($r) => $r->lPush("str", "x")], ["not-integer", fn($r) => $r->incr("str")],
              ["db-range", fn($r) => $r->select(99)]] as [$k, $f]) {
        $r = new Redis();
        $r->connect("127.0.0.1", $R["P"], 2);
        if ($f($r) === false && $r->getLastError()) emit("phpredis", "r5-redis-$k", $r->getLastError(), null, $resp(new Exception($r->getLastError())));
    }
    ex("phpredis", "r5-redis-wrongpass", function () use ($R) { $r = new Redis(); $r->connect("127.0.0.1", $R["A"], 2); $r->auth("wrong"); $r->get("a"); }, $resp);
    ex("phpredis", "r5-redis-noperm", function () use ($R) { $r = new Redis(); $r->connect("127.0.0.1", $R["P"], 2); $r->auth(["ro", "pw"]); if ($r->set("a", "1") === false) throw new RedisException($r->getLastError()); }, $resp);
    ex("phpredis", "r5-redis-refused", function () use ($cfg) { $r = new Redis(); $r->connect("127.0.0.1", $cfg["closed"], 2); });
    ex("phpredis", "r5-redis-dns", function () use ($cfg, $R) { $r = new Redis(); $r->connect($cfg["dns"], $R["P"], 2); });
    ex("phpredis", "r5-redis-timeout", function () use ($cfg) { $r = new Redis(); $r->connect("127.0.0.1", $cfg["silent"], 1, null, 0, 1); $r->ping(); });
}

// ext/curl: curl_error()'s text, as the extension returns it
$H = $cfg["http"];
function curl_get($url, $extra = []) {
    $c = curl_init($url);
    curl_setopt_array($c, [CURLOPT_RETURNTRANSFER => true, CURLOPT_FAILONERROR => true, CURLOPT_TIMEOUT => 2,
                           CURLOPT_CONNECTTIMEOUT => 2, CURLOPT_FOLLOWLOCATION => true, CURLOPT_MAXREDIRS => 5] + $extra);
    $out = curl_exec($c);
    if ($out === false) return [curl_errno($c), curl_error($c), curl_getinfo($c, CURLINFO_RESPONSE_CODE)];
    return null;
}
foreach ([400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504] as $st) {
    $r = curl_get("$H/status/$st");
    if ($r) emit("php-curl", "r5-http-$st", $r[1], null, $st);
}
$odd = [["/reset", "r5-http-reset"], ["/empty", "r5-http-empty"], ["/truncated", "r5-http-truncated"], ["/loop", "r5-http-redirect-loop"]];
$net = [["http://127.0.0.1:{$cfg['closed']}/", "r5-http-refused"], ["http://{$cfg['dns']}/", "r5-http-dns"],
        ["http://127.0.0.1:{$cfg['silent']}/", "r5-http-timeout"], [$cfg["tls"], "r5-http-tls-untrusted"]];
foreach (array_merge(array_map(fn($o) => [$H . $o[0], $o[1]], $odd), $net) as [$u, $k]) {
    $r = curl_get($u);
    if ($r) emit("php-curl", $k, $r[1]);
}
if (!empty($cfg["ca"])) {
    foreach ([[$cfg["tls_expired"], "r5-http-tls-expired"], [$cfg["tls_wronghost"], "r5-http-tls-hostname"]] as [$port, $k]) {
        $r = curl_get("https://localhost:$port/", [CURLOPT_CAINFO => $cfg["ca"]]);
        if ($r) emit("php-curl", $k, $r[1]);
    }
}

// Guzzle 7 (php-guzzlehttp-guzzle): its exceptions as applications log them
if (is_file("/usr/share/php/GuzzleHttp/autoload.php")) {
    require "/usr/share/php/GuzzleHttp/autoload.php";
    $g = new GuzzleHttp\Client(["timeout" => 2, "connect_timeout" => 2, "allow_redirects" => ["max" => 5]]);
    $st = function ($e) { return method_exists($e, "getResponse") && $e->getResponse() ? $e->getResponse()->getStatusCode() : null; };
    foreach ([400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504] as $s) {
        ex("guzzle", "r5-http-$s", function () use ($g, $H, $s) { $g->get("$H/status/$s"); }, $st);
    }
    foreach (array_merge(array_map(fn($o) => [$H . $o[0], $o[1]], $odd), $net) as [$u, $k]) {
        ex("guzzle", $k, function () use ($g, $u) { $g->get($u); });
    }
    if (!empty($cfg["ca"])) {
        foreach ([[$cfg["tls_expired"], "r5-http-tls-expired"], [$cfg["tls_wronghost"], "r5-http-tls-hostname"]] as [$port, $k]) {
            ex("guzzle", $k, function () use ($g, $port, $cfg) { $g->get("https://localhost:$port/", ["verify" => $cfg["ca"]]); });
        }
    }
}
