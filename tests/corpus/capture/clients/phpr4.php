<?php
// Round-4 PHP failures for capture.py: php phpr4.php TMPDIR HTTPBASE CLOSED SILENT TLSURL R4JSON
[$_, $tmp, $base, $closed, $silent, $tls, $r4json] = $argv;
$R4 = json_decode($r4json, true);
$n = 0;
function out($key, $msg, $trace = null) {
    global $n;
    $o = ['key' => $key, 'message' => $msg];
    if ($trace !== null && $n % 2 == 0) $o['trace'] = $trace;
    $n++;
    echo json_encode($o, JSON_UNESCAPED_SLASHES), "\n";
}
function c($key, $fn) {
    // every warning the call raised, as PHP logs them (the last alone often says only "operation failed")
    $msgs = [];
    set_error_handler(function ($no, $str, $file, $line) use (&$msgs) {
        $kind = [E_WARNING => 'Warning', E_NOTICE => 'Notice', E_DEPRECATED => 'Deprecated'][$no] ?? 'Warning';
        $msgs[] = "PHP $kind:  $str in $file on line $line";
        return true;
    });
    try {
        $r = $fn();
        if ($msgs) out($key, implode("\n", $msgs));
        elseif ($r === false) out($key, 'returned false');
    } catch (Throwable $t) {
        out($key, get_class($t) . ': ' . $t->getMessage(), 'PHP Fatal error:  Uncaught ' . (string)$t);
    } finally {
        restore_error_handler();
    }
}
$f = "$tmp/f.txt";
file_put_contents($f, "hello\n");
@mkdir("$tmp/d/sub", 0777, true);
@symlink("$tmp/loop2", "$tmp/loop1");
@symlink("$tmp/loop1", "$tmp/loop2");
foreach ($R4['http'] as $st) c("r4-http-$st", fn() => file_get_contents("$base/status/$st"));
function tls_ctx($ca, $extra = []) {
    $ssl = ['verify_peer' => true, 'verify_peer_name' => true, 'peer_name' => 'localhost'] + $extra;
    if ($ca) $ssl['cafile'] = $ca;
    return stream_context_create(['ssl' => $ssl, 'http' => ['timeout' => 5]]);
}
c('r4-tls-expired', fn() => file_get_contents("https://127.0.0.1:{$R4['tls_expired']}/", false, tls_ctx($R4['ca'])));
c('r4-tls-hostname', fn() => file_get_contents("https://127.0.0.1:{$R4['tls_wronghost']}/", false, tls_ctx($R4['ca'])));
c('r4-tls-client-cert', fn() => file_get_contents("https://127.0.0.1:{$R4['tls_clientcert']}/", false, tls_ctx($R4['ca'])));
c('r4-tls-version', fn() => file_get_contents("https://127.0.0.1:{$R4['tls_13only']}/", false,
    tls_ctx($R4['ca'], ['crypto_method' => STREAM_CRYPTO_METHOD_TLSv1_2_CLIENT])));
c('r4-tls-untrusted-ca', fn() => file_get_contents("https://127.0.0.1:{$R4['tls_ok']}/", false, tls_ctx(null)));
// FTP extension against local responders
foreach ($R4['ftp'] as $k => $port) {
    if ($k == '421' || $k == '425') continue; // ext/ftp returns false without the reply, or sends commands the responder does not script
    c("r4-ftp-$k", function () use ($port, $tmp) {
        $c = ftp_connect('127.0.0.1', $port, 5);
        if ($c === false) return false;
        if (!ftp_login($c, 'bob', 'wrong')) return false;
        ftp_pasv($c, true);
        return ftp_get($c, "$tmp/got", 'missing.txt', FTP_BINARY);
    });
}
// file systems prepared by round 4
if (!empty($R4['full'])) c('r4-tmpfs-enospc', fn() => file_put_contents("{$R4['full']}/php-big", str_repeat('x', 1 << 20)));
if (!empty($R4['ro'])) {
    c('r4-erofs-open', fn() => file_put_contents("{$R4['ro']}/php.txt", 'x'));
    c('r4-erofs-mkdir', fn() => mkdir("{$R4['ro']}/php-d"));
    c('r4-erofs-unlink', fn() => unlink("{$R4['ro']}/keep.txt"));
}
c('r4-eloop-open', fn() => file_get_contents("$tmp/loop1"));
c('r4-link-exists', fn() => link($f, $f));
c('r4-rename-dir-into-sub', fn() => rename("$tmp/d", "$tmp/d/sub/x"));
c('r4-chmod-permission', fn() => chmod('/etc/hostname', 0777));
c('r4-touch-mtime-permission', fn() => touch('/etc/hostname', 0));
c('r4-pcntl-exec-missing', fn() => pcntl_exec("$tmp/nope-binary"));
// sockets extension
c('r4-socket-connect-refused', function () use ($closed) { $s = socket_create(AF_INET, SOCK_STREAM, SOL_TCP); return socket_connect($s, '127.0.0.1', (int)$closed); });
c('r4-socket-bind-in-use', function () use ($silent) { $s = socket_create(AF_INET, SOCK_STREAM, SOL_TCP); return socket_bind($s, '127.0.0.1', (int)$silent); });
c('r4-socket-listen-privileged', fn() => socket_create_listen(81));
c('r4-socket-unix-missing', function () use ($tmp) { $s = socket_create(AF_UNIX, SOCK_STREAM, 0); return socket_connect($s, "$tmp/nope.sock"); });
c('r4-stream-server-in-use', fn() => stream_socket_server("tcp://127.0.0.1:$silent", $errno, $errstr));
// parsers, converters, extensions
c('r4-iconv-illegal', fn() => iconv('UTF-8', 'ASCII', "caf\xc3\xa9"));
c('r4-openssl-x509-garbage', fn() => openssl_x509_read('not a certificate'));
c('r4-openssl-unknown-cipher', fn() => openssl_encrypt('x', 'nope-cipher', 'key'));
c('r4-phar-garbage', fn() => new Phar($f));
c('r4-splqueue-empty', fn() => (new SplQueue())->dequeue());
c('r4-splfixedarray-index', fn() => (new SplFixedArray(2))[5]);
c('r4-spl-heap-empty', fn() => (new SplMinHeap())->top());
c('r4-date-create-immutable', fn() => new DateTimeImmutable('2024-13-45 25:61'));
c('r4-intdiv-min', fn() => intdiv(PHP_INT_MIN, -1));
c('r4-str-repeat-negative', fn() => str_repeat('x', -1));
c('r4-array-chunk-zero', fn() => array_chunk([1], 0));
