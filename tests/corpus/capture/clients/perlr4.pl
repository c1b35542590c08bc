#!/usr/bin/perl
# Round-4 Perl failures for capture.py: perl perlr4.pl TMPDIR HTTPBASE CLOSED SILENT TLSURL R4JSON
# One JSON object per failure: key, message (what die() printed: the
# script's text with $! or the module's error), errno name when $! is set,
# every other one with a Carp::longmess-style trace (confess).
use strict;
use warnings;
use JSON::PP;
use Errno;
use POSIX ();
use Fcntl qw(:flock O_RDONLY O_WRONLY O_CREAT);
use Socket;
use IO::Socket::INET;
use IO::Socket::UNIX;
use IO::Socket::SSL;
use HTTP::Tiny;
use Net::SMTP;
use Net::FTP;
use File::Copy ();
use File::Path ();
use File::Temp ();
use Carp ();
use DBI;

my ($tmp, $base, $closed, $silent, $tlsurl, $r4json) = @ARGV;
my $R4 = decode_json($r4json);
my $n = 0;
my $J = JSON::PP->new->canonical;

sub errname {
    my $e = 0 + $!;
    return undef unless $e;
    for my $name (keys %!) { return $name if $!{$name}; }
    return undef;
}

sub c {
    my ($key, $code) = @_;
    local $@;
    $! = 0;
    my $ok = eval { local $SIG{__DIE__} = sub { my $m = shift; die($n % 2 == 0 ? Carp::longmess($m) : $m) }; $code->(); 1 };
    return if $ok;
    my $err = "$@";
    my $en = errname();
    my ($first) = split /\n/, $err;
    my %o = (key => $key, message => $first);
    $o{trace} = $err if $err =~ /\n./;
    $o{errno} = $en if $en;
    $n++;
    print $J->encode(\%o), "\n";
}

my $f = "$tmp/f.txt";
open(my $fh, '>', $f) or die; print $fh "hello\n"; close $fh;
mkdir "$tmp/d"; mkdir "$tmp/d/sub";
symlink("$tmp/loop2", "$tmp/loop1"); symlink("$tmp/loop1", "$tmp/loop2");

# HTTP::Tiny (statuses, and its internal 599 for transport failures)
my $ht = HTTP::Tiny->new(timeout => 3);
for my $st (@{$R4->{http}}) {
    c("r4-tiny-$st", sub { my $r = $ht->get("$base/status/$st"); die "GET $base/status/$st failed: $r->{status} $r->{reason}\n" unless $r->{success}; });
}
for my $case (["r4-tiny-refused", "http://127.0.0.1:$closed/"], ["r4-tiny-dns", "http://api.fl-capture.invalid/"],
              ["r4-tiny-timeout", "http://127.0.0.1:$silent/"], ["r4-tiny-tls-expired", "https://127.0.0.1:$R4->{tls_expired}/"]) {
    my ($k, $u) = @$case;
    c($k, sub {
        my $t = HTTP::Tiny->new(timeout => 1, verify_SSL => 1, SSL_options => {SSL_ca_file => $R4->{ca}});
        my $r = $t->get($u);
        die "GET $u failed: $r->{status} $r->{reason}: $r->{content}" unless $r->{success};
    });
}
# IO::Socket::SSL against local openssl s_server instances
sub tls {
    my ($port, %o) = @_;
    my $s = IO::Socket::SSL->new(PeerHost => '127.0.0.1', PeerPort => $port, SSL_hostname => 'localhost',
                                 SSL_verifycn_name => 'localhost', SSL_verifycn_scheme => 'http', Timeout => 5, %o)
        or die "TLS connect to 127.0.0.1:$port failed: $SSL_ERROR\n";
    print $s "GET / HTTP/1.0\r\n\r\n";
    my $l = <$s>;
    die "TLS read from 127.0.0.1:$port failed: $SSL_ERROR\n" unless defined $l;
}
c("r4-tls-expired", sub { tls($R4->{tls_expired}, SSL_ca_file => $R4->{ca}) });
c("r4-tls-hostname", sub { tls($R4->{tls_wronghost}, SSL_ca_file => $R4->{ca}) });
c("r4-tls-version", sub { tls($R4->{tls_13only}, SSL_ca_file => $R4->{ca}, SSL_version => 'TLSv1_2') });
c("r4-tls-untrusted-ca", sub { tls($R4->{tls_ok}, SSL_ca_file => '/etc/ssl/certs/ca-certificates.crt') });
# Net::SMTP and Net::FTP against local responders
for my $k (sort keys %{$R4->{smtp}}) {
    my $port = $R4->{smtp}{$k};
    # without Authen::SASL, Net::SMTP cannot authenticate at all (a missing module, not the 535)
    c($k eq '535' ? "r4-smtp-auth-sasl-missing" : "r4-smtp-$k", sub {
        my $s = Net::SMTP->new('127.0.0.1', Port => $port, Timeout => 5) or die "SMTP connect failed: $@\n";
        if ($k eq '535') { $s->auth('bob', 'wrong') or die "SMTP auth failed: " . $s->code . ' ' . $s->message; }
        $s->mail('a@fl-capture.test') or die "MAIL FROM failed: " . $s->code . ' ' . $s->message;
        $s->to('nobody@fl-capture.test') or die "RCPT TO failed: " . $s->code . ' ' . $s->message;
        $s->data("Subject: x\r\n\r\nhi\r\n") or die "DATA failed: " . $s->code . ' ' . $s->message;
    });
}
for my $k (sort keys %{$R4->{ftp}}) {
    my $port = $R4->{ftp}{$k};
    c("r4-ftp-$k", sub {
        my $ftp = Net::FTP->new('127.0.0.1', Port => $port, Timeout => 5, Passive => 1) or die "Cannot connect to ftp server: $@\n";
        $ftp->login('bob', 'wrong') or die "Cannot login: " . $ftp->message;
        $ftp->binary;
        $ftp->get('missing.txt', "$tmp/got") or die "get failed: " . $ftp->code . ' ' . $ftp->message;
    });
}
c("r4-smtp-refused", sub { Net::SMTP->new('127.0.0.1', Port => $closed, Timeout => 3) or die "SMTP connect to 127.0.0.1:$closed failed: $@\n" });
# files and processes ($! carries the errno)
if ($R4->{full}) {
    c("r4-tmpfs-enospc", sub {
        open(my $o, '>', "$R4->{full}/pl-big") or die "open: $!\n";
        for (1 .. 300) { print $o ('x' x 4096) or die "write $R4->{full}/pl-big: $!\n"; }
        close($o) or die "close $R4->{full}/pl-big: $!\n";
    });
}
if ($R4->{ro}) {
    c("r4-erofs-open", sub { open(my $o, '>', "$R4->{ro}/pl.txt") or die "Cannot open $R4->{ro}/pl.txt: $!\n" });
    c("r4-erofs-unlink", sub { unlink("$R4->{ro}/keep.txt") or die "Cannot unlink $R4->{ro}/keep.txt: $!\n" });
}
c("r4-eloop-open", sub { open(my $o, '<', "$tmp/loop1") or die "Cannot open $tmp/loop1: $!\n" });
open(my $busy, '>', "$tmp/busy.sh") or die; print $busy "#!/bin/sh\necho hi\n"; $busy->flush; chmod 0755, "$tmp/busy.sh";
c("r4-etxtbsy", sub { system("$tmp/busy.sh") == 0 or die "Cannot run $tmp/busy.sh: $!\n" });
close $busy;
c("r4-e2big", sub { system('/bin/true', 'x' x (200 * 1024)) == 0 or die "Cannot run /bin/true: $!\n" });
c("r4-flock-held", sub {
    open(my $a, '<', $f) or die; flock($a, LOCK_EX) or die;
    open(my $b, '<', $f) or die; flock($b, LOCK_EX | LOCK_NB) or die "Cannot lock $f: $!\n";
});
c("r4-mkdir-exists", sub { mkdir("$tmp/d") or die "Cannot create directory $tmp/d: $!\n" });
c("r4-rmdir-nonempty", sub { rmdir("$tmp/d") or die "Cannot remove $tmp/d: $!\n" });
c("r4-rename-missing", sub { rename("$tmp/nope", "$tmp/x") or die "Cannot rename $tmp/nope: $!\n" });
c("r4-rename-dir-into-sub", sub { rename("$tmp/d", "$tmp/d/sub/x") or die "Cannot rename $tmp/d: $!\n" });
c("r4-unlink-permission", sub { unlink('/etc/hostname') or die "Cannot delete /etc/hostname: $!\n" });
c("r4-open-write-permission", sub { open(my $o, '>>', '/etc/hostname') or die "Cannot open /etc/hostname for append: $!\n" });
c("r4-opendir-missing", sub { opendir(my $d, "$tmp/nope") or die "Cannot opendir $tmp/nope: $!\n" });
c("r4-opendir-file", sub { opendir(my $d, $f) or die "Cannot opendir $f: $!\n" });
c("r4-chdir-missing", sub { chdir("$tmp/nope") or die "Cannot chdir to $tmp/nope: $!\n" });
c("r4-kill-missing", sub { kill(0, 999999) or die "Cannot signal process 999999: $!\n" });
c("r4-kill-init", sub { kill('TERM', 1) or die "Cannot signal process 1: $!\n" });
c("r4-symlink-exists", sub { symlink('x', $f) or die "Cannot symlink $f: $!\n" });
c("r4-link-dir", sub { link("$tmp/d", "$tmp/d2") or die "Cannot link $tmp/d: $!\n" });
c("r4-utime-permission", sub { utime(0, 0, '/etc/hostname') or die "Cannot touch /etc/hostname: $!\n" });
c("r4-chown-permission", sub { chown(0, 0, $f) or die "Cannot chown $f: $!\n" });
c("r4-copy-missing", sub { File::Copy::copy("$tmp/nope", "$tmp/x") or die "Copy failed: $!\n" });
c("r4-move-missing", sub { File::Copy::move("$tmp/nope", "$tmp/x") or die "Move failed: $!\n" });
c("r4-make-path-file", sub { File::Path::make_path("$f/sub", {error => \my $e}); if (@$e) { my ($p, $m) = %{$e->[0]}; die "mkdir $p: $m\n" } });
c("r4-exec-missing", sub { exec("$tmp/nope-binary") or die "Cannot exec $tmp/nope-binary: $!\n" });
c("r4-pipe-open-missing", sub { open(my $p, '-|', "$tmp/nope-binary") or die "Cannot run $tmp/nope-binary: $!\n" });
c("r4-sysopen-excl", sub { sysopen(my $o, $f, O_WRONLY | O_CREAT | Fcntl::O_EXCL()) or die "Cannot create $f exclusively: $!\n" });
c("r4-seek-pipe", sub { pipe(my $r, my $w) or die; sysseek($r, 10, 0) or die "Cannot seek: $!\n" });
c("r4-read-dir", sub { open(my $o, '<', "$tmp/d") or die "open: $!\n"; defined(sysread($o, my $buf, 10)) or die "Cannot read $tmp/d: $!\n" });
# sockets
c("r4-connect-refused", sub { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$closed", Timeout => 3) or die "Cannot connect to 127.0.0.1:$closed: $@\n" });
c("r4-connect-dns", sub { IO::Socket::INET->new(PeerAddr => "db.fl-capture.invalid:5432", Timeout => 3) or die "Cannot connect to db.fl-capture.invalid:5432: $@\n" });
c("r4-bind-in-use", sub { IO::Socket::INET->new(LocalAddr => "127.0.0.1:$silent", Listen => 1, ReuseAddr => 0) or die "Cannot listen on 127.0.0.1:$silent: $@\n" });
c("r4-bind-privileged", sub { IO::Socket::INET->new(LocalAddr => "127.0.0.1:81", Listen => 1) or die "Cannot listen on 127.0.0.1:81: $@\n" });
c("r4-unix-missing", sub { IO::Socket::UNIX->new(Peer => "$tmp/nope.sock") or die "Cannot connect to $tmp/nope.sock: $@\n" });
# DBD::SQLite
my $db = DBI->connect("dbi:SQLite:dbname=$tmp/r4.db", '', '', {RaiseError => 1, PrintError => 0, AutoCommit => 1});
$db->do("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, n INT CHECK (n >= 0))");
$db->do("CREATE TABLE c (id INTEGER PRIMARY KEY, t_id INT REFERENCES t(id))");
$db->do("PRAGMA foreign_keys = ON");
$db->do("INSERT INTO t VALUES (1, 'a', 1)");
for my $case (["r4-dbd-sqlite-unique", "INSERT INTO t VALUES (2, 'a', 1)"], ["r4-dbd-sqlite-pk", "INSERT INTO t VALUES (1, 'b', 1)"],
              ["r4-dbd-sqlite-notnull", "INSERT INTO t VALUES (3, NULL, 1)"], ["r4-dbd-sqlite-check", "INSERT INTO t VALUES (4, 'd', -1)"],
              ["r4-dbd-sqlite-fk", "INSERT INTO c VALUES (1, 99)"], ["r4-dbd-sqlite-no-table", "SELECT * FROM nosuch"],
              ["r4-dbd-sqlite-no-column", "SELECT nosuch FROM t"], ["r4-dbd-sqlite-syntax", "SELEC 1"],
              ["r4-dbd-sqlite-exists", "CREATE TABLE t (x)"]) {
    my ($k, $sql) = @$case;
    c($k, sub { $db->do($sql) });
}
c("r4-dbd-sqlite-cantopen", sub { DBI->connect("dbi:SQLite:dbname=$tmp/nope/x.db", '', '', {RaiseError => 1, PrintError => 0}) });
open(my $nd, '>', "$tmp/notdb.db"); print $nd "this is not a database\n" x 100; close $nd;
c("r4-dbd-sqlite-notadb", sub { DBI->connect("dbi:SQLite:dbname=$tmp/notdb.db", '', '', {RaiseError => 1, PrintError => 0})->do("SELECT * FROM sqlite_master") });
my $lk = DBI->connect("dbi:SQLite:dbname=$tmp/r4.db", '', '', {RaiseError => 1, PrintError => 0, AutoCommit => 1});
$lk->do("BEGIN EXCLUSIVE");
c("r4-dbd-sqlite-busy", sub { my $o = DBI->connect("dbi:SQLite:dbname=$tmp/r4.db", '', '', {RaiseError => 1, PrintError => 0}); $o->sqlite_busy_timeout(200); $o->do("INSERT INTO t VALUES (9, 'z', 1)") });
$lk->do("ROLLBACK");
c("r4-dbd-sqlite-readonly", sub { DBI->connect("dbi:SQLite:dbname=$tmp/r4.db", '', '', {RaiseError => 1, PrintError => 0, sqlite_open_flags => DBD::SQLite::OPEN_READONLY()})->do("INSERT INTO t VALUES (8, 'y', 1)") });
c("r4-dbi-driver-missing", sub { DBI->connect("dbi:NoSuchDriver:x", '', '', {RaiseError => 1, PrintError => 0}) });
# core runtime
c("r4-die-in-eval-json", sub { decode_json('{"a": 1,}') });
c("r4-sprintf-numeric", sub { use warnings FATAL => 'numeric'; my $x = "abc" + 1; });
c("r4-substr-outside", sub { use warnings FATAL => 'substr'; my $s = "abc"; my $x = substr($s, 10, 1); });
c("r4-sort-undef-sub", sub { my @x = sort { nosuch_cmp($a, $b) } (2, 1); });
c("r4-require-version", sub { eval "use v5.99; 1" or die $@ });
c("r4-deep-recursion-fatal", sub { use warnings FATAL => 'recursion'; my $r; $r = sub { $_[0] ? $r->($_[0] - 1) : 0 }; $r->(200) });
