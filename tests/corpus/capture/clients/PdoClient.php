<?php
// PHP PDO client for capture.py: php PdoClient.php pgsql|mysql CASES.json
$drv = $argv[1];
$spec = json_decode(file_get_contents($argv[2]), true);
$i = 0;
foreach ($spec['cases'] as $c) {
    $host = $c['host'] ?? $spec['host'];
    $port = $c['port'] ?? $spec['port'];
    $user = $c['user'] ?? $spec['user'];
    $db = $c['db'] ?? $spec['db'];
    $pw = $c['password'] ?? null;
    if ($drv === 'pgsql') {
        $dsn = "pgsql:host=$host;port=$port;dbname=$db;connect_timeout=2";
    } elseif (substr($host, 0, 1) === '/') {
        $dsn = "mysql:unix_socket=$host;dbname=$db";
    } else {
        $dsn = "mysql:host=$host;port=$port;dbname=$db";
    }
    try {
        $pdo = new PDO($dsn, $user, $pw, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_TIMEOUT => 2]);
        if ($drv === 'pgsql') {
            $pdo->exec($c['sql']);
        } else {
            foreach (explode(";\n", $c['sql']) as $stmt) { $pdo->exec($stmt); }
        }
        $pdo = null;
    } catch (Throwable $e) {
        $out = ['key' => $c['key'], 'message' => get_class($e) . ': ' . $e->getMessage()];
        $info = ($e instanceof PDOException) ? $e->errorInfo : null;
        $out['code'] = $drv === 'pgsql' ? (string)$e->getCode() : (($info && isset($info[1])) ? $info[1] : $e->getCode());
        if ($i % 3 == 0) { $out['trace'] = 'PHP Fatal error:  Uncaught ' . (string)$e; }
        echo json_encode($out, JSON_UNESCAPED_SLASHES), "\n";
    }
    $i++;
}
