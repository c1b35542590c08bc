<?php
// Round-4 PHP database-extension failures for capture.py: php phpdb.php pgsql|mysqli CASES.json
// pgsql: the libpq error text and its SQLSTATE (pg_result_error_field);
// mysqli: mysqli_sql_exception (MYSQLI_REPORT_STRICT) with its error number.
[$_, $ext, $file] = $argv;
$spec = json_decode(file_get_contents($file), true);
$n = 0;
function out($o) { global $n; if ($n++ % 2 == 1) unset($o['trace']); echo json_encode($o, JSON_UNESCAPED_SLASHES), "\n"; }
if ($ext === 'mysqli') mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
foreach ($spec['cases'] as $c) {
    $user = $c['user'] ?? $spec['user'];
    $pw = $c['password'] ?? ($spec['password'] ?? '');
    if ($ext === 'pgsql') {
        $conn = @pg_connect("host={$spec['host']} port={$spec['port']} dbname={$spec['db']} user=$user password=$pw");
        if (!$conn) { $e = error_get_last(); out(['key' => $c['key'], 'message' => $e ? $e['message'] : 'connect failed']); continue; }
        foreach ($c['pre'] ?? [] as $s) { @pg_query($conn, $s); }
        if (!empty($c['sleep'])) sleep($c['sleep']);
        if (!@pg_send_query($conn, $c['sql'])) { out(['key' => $c['key'], 'message' => trim(pg_last_error($conn))]); continue; }
        while ($r = pg_get_result($conn)) {
            $state = pg_result_error_field($r, PGSQL_DIAG_SQLSTATE);
            if ($state) { out(['key' => $c['key'], 'message' => trim(pg_result_error($r)), 'code' => $state]); break; }
        }
        if (!$r && pg_connection_status($conn) !== PGSQL_CONNECTION_OK) out(['key' => $c['key'], 'message' => trim(pg_last_error($conn))]);
        @pg_close($conn);
    } else {
        try {
            $m = new mysqli($spec['host'] === 'localhost' ? 'localhost' : $spec['host'], $user, $pw, $spec['db'], (int)$spec['port'], $spec['socket']);
            foreach ($c['pre'] ?? [] as $s) { $m->query($s); }
            if (!empty($c['sleep'])) sleep($c['sleep']);
            $m->multi_query($c['sql']);
            do { if ($res = $m->store_result()) $res->free(); } while ($m->more_results() && $m->next_result());
        } catch (Throwable $t) {
            out(['key' => $c['key'], 'message' => get_class($t) . ': ' . $t->getMessage(), 'code' => $t->getCode(),
                 'trace' => 'PHP Fatal error:  Uncaught ' . (string)$t]);
        }
    }
}
