<?php
// PHP runtime failures for capture.py: php phprt.php TMPDIR HTTPBASE CLOSED SILENT TLSURL
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
c('div-zero', fn() => intdiv(1, 0));
c('modulo-zero', fn() => 1 % 0);
c('type-error', fn() => strlen([]));
c('value-error', fn() => str_repeat('x', -1));
c('json', fn() => json_decode('{"a": 1,', false, 512, JSON_THROW_ON_ERROR));
c('file-missing', fn() => file_get_contents("$tmp/missing.txt"));
c('file-permission', fn() => file_get_contents('/etc/shadow'));
c('file-write-permission', fn() => file_put_contents('/etc/fl-capture.conf', 'x'));
c('mkdir-exists', fn() => mkdir($tmp));
c('rmdir-nonempty', fn() => rmdir("$tmp/full"));
c('undefined-function', fn() => fl_capture_undefined());
c('undefined-method', fn() => (new ArrayObject())->frobnicate());
c('null-method', fn() => null->frobnicate());
c('argument-count', fn() => (function ($a, $b) {})(1));
c('fsock-refused', fn() => fsockopen('127.0.0.1', (int)$closed, $en, $es, 2));
c('fsock-dns', fn() => fsockopen('api.fl-capture.invalid', 80, $en, $es, 2));
c('http-404', fn() => file_get_contents("$base/status/404"));
c('http-500', fn() => file_get_contents("$base/status/500"));
c('http-503', fn() => file_get_contents("$base/status/503"));
c('http-refused', fn() => file_get_contents("http://127.0.0.1:$closed/"));
c('http-timeout', fn() => file_get_contents("$base/sleep", false, stream_context_create(['http' => ['timeout' => 0.2]])));
c('http-tls', fn() => file_get_contents($tls));
c('date', fn() => new DateTime('yesterday-ish nonsense'));
c('gzuncompress', fn() => gzuncompress('not compressed'));
c('gzdecode', fn() => gzdecode('plain text, not gzip'));
c('unserialize', fn() => unserialize('garbage'));
c('match', fn() => match (5) { 1 => 'a' });
c('arith', fn() => intdiv(PHP_INT_MIN, -1));
c('memory', function () { ini_set('memory_limit', '8M'); $a = str_repeat('x', 64 * 1024 * 1024); });
c('regex', fn() => preg_match('/(/', 'x') === false ? throw new Exception(preg_last_error_msg() ?: 'preg_match(): Compilation failed') : null);
c('array-key', fn() => ['a' => 1]['user_id']);
c('undefined-var', fn() => $undefinedVariable . 'x');
c('class-missing', fn() => new FlCaptureMissingClass());
c('readonly', function () { $o = new class { public function __construct(public readonly int $x = 1) {} }; $o->x = 2; });
c('enum', fn() => random_int(5, 1));
c('spl-out-of-range', fn() => (new SplFixedArray(2))[5]);
c('spl-stack', fn() => (new SplStack())->pop());
c('intl-format', fn() => sprintf('%z', 1));
c('ziparchive', fn() => class_exists('ZipArchive') ? null : throw new Error('Class "ZipArchive" not found'));
