<?php
// More PHP failures for capture.py: php phpmore.php TMPDIR HTTPBASE CLOSED SILENT TLSURL
[$_, $tmp, $base, $closed, $silent, $tls] = $argv;
$n = 0;
function out($key, $msg, $trace = null) {
    global $n;
    $o = ['key' => $key, 'message' => $msg];
    if ($trace !== null && $n % 2 == 0) $o['trace'] = $trace;
    $n++;
    echo json_encode($o, JSON_UNESCAPED_SLASHES), "\n";
}
function c($key, $fn) {
    error_clear_last();
    try {
        $r = @$fn();
        $e = error_get_last();
        if ($e) out($key, 'PHP Warning:  ' . $e['message'] . ' in ' . $e['file'] . ' on line ' . $e['line']);
        elseif ($r === false) out($key, 'returned false');
    } catch (Throwable $t) {
        out($key, get_class($t) . ': ' . $t->getMessage(), 'PHP Fatal error:  Uncaught ' . (string)$t);
    }
}
$f = "$tmp/f.txt";
file_put_contents($f, "hello\n");
@mkdir("$tmp/d/sub", 0777, true);
c('mkdir-missing-parent', fn() => mkdir("$tmp/nope/child"));
c('rename-missing', fn() => rename("$tmp/nope.txt", "$tmp/x.txt"));
c('copy-missing', fn() => copy("$tmp/nope.txt", "$tmp/x.txt"));
c('unlink-dir', fn() => unlink("$tmp/d"));
c('opendir-missing', fn() => opendir("$tmp/nope"));
c('chdir-missing', fn() => chdir("$tmp/nope"));
c('touch-permission', fn() => touch('/etc/fl-capture'));
c('fopen-mode', fn() => fopen($f, 'q'));
c('json-depth', fn() => json_decode(str_repeat('[', 600) . str_repeat(']', 600), false, 512, JSON_THROW_ON_ERROR));
c('json-utf8', fn() => json_encode("\xff", JSON_THROW_ON_ERROR));
c('datetime', fn() => new DateTime('not a date at all'));
c('timezone', fn() => new DateTimeZone('Nowhere/Capture_City'));
c('dateinterval', fn() => new DateInterval('P1Q'));
c('gzinflate', fn() => gzinflate('this is not deflate data'));
c('unpack', fn() => unpack('N', 'ab'));
c('array-combine', fn() => array_combine([1, 2], [1]));
c('random-range', fn() => random_int(10, 1));
c('array-fill', fn() => array_fill(0, -1, 'x'));
c('undefined-constant', fn() => constant('FL_CAPTURE_NOSUCH'));
c('abstract', fn() => new ReflectionClass('NoSuchClassAnywhere'));
c('invalid-arg-exception', fn() => new SplFixedArray(-1));
c('iterator', fn() => (new ArrayIterator([]))->seek(5));
c('stream-socket', fn() => stream_socket_client("tcp://127.0.0.1:$closed", $errno, $errstr, 2));
c('stream-socket-dns', fn() => stream_socket_client("tcp://db.fl-capture.invalid:5432", $errno, $errstr, 2));
c('http-401', fn() => file_get_contents("$base/status/401"));
c('http-403', fn() => file_get_contents("$base/status/403"));
c('http-429', fn() => file_get_contents("$base/status/429"));
c('http-502', fn() => file_get_contents("$base/status/502"));
c('http-400', fn() => file_get_contents("$base/status/400"));
c('sodium-key', fn() => sodium_crypto_secretbox('x', str_repeat("\0", 24), 'short'));
