# Round-5 Perl modules for capture.py: perl perlr5.pl R5JSON
#
# LWP::UserAgent (libwww-perl) and Redis.pm failing against the local servers
# named in R5JSON.  One JSON object per failure on stdout: source, key,
# message (die's text, or LWP's status_line, which is what LWP reports), and
# the code the module exposes.
use strict;
use warnings;
use JSON::PP;
use LWP::UserAgent;
my $cfg = decode_json(do { local $/; open my $f, '<', $ARGV[0] or die; <$f> });
my $json = JSON::PP->new->canonical;
sub emit {
    my ($source, $key, $msg, $code) = @_;
    $msg =~ s/\s+\z//;
    my %o = (source => $source, key => $key, message => $msg);
    $o{code} = $code if defined $code;
    print $json->encode(\%o), "\n";
}
$| = 1;
my $H = $cfg->{http};
my $ua = LWP::UserAgent->new(timeout => 2, max_redirect => 5);
for my $st (400, 401, 403, 404, 408, 409, 410, 413, 422, 429, 500, 501, 502, 503, 504) {
    my $r = $ua->get("$H/status/$st");
    emit("perl-lwp", "r5-http-$st", $r->status_line, $st) unless $r->is_success;
    # the idiom most scripts use: die with the status line
    eval { my $r2 = $ua->get("$H/status/$st"); die "GET $H/status/$st failed: " . $r2->status_line . "\n" unless $r2->is_success; };
    emit("perl-lwp", "r5-http-$st", $@) if $@;
}
my @net = (["http://127.0.0.1:$cfg->{closed}/", "r5-http-refused"], ["http://$cfg->{dns}/", "r5-http-dns"],
           ["http://127.0.0.1:$cfg->{silent}/", "r5-http-timeout"], [$cfg->{tls}, "r5-http-tls-untrusted"],
           ["$H/reset", "r5-http-reset"], ["$H/empty", "r5-http-empty"], ["$H/truncated", "r5-http-truncated"],
           ["$H/loop", "r5-http-redirect-loop"]);
for my $c (@net) {
    my ($u, $k) = @$c;
    my $r = $ua->get($u);
    my $xd = $r->header("X-Died") // "";
    my $ca = $r->header("Client-Aborted") // "";
    my $cw = $r->header("Client-Warning") // "";
    if ($cw && $cw ne "Internal response") {
        emit("perl-lwp", $k, "Client-Warning: $cw");  # e.g. the redirect loop LWP stopped following
    } elsif (!$r->is_success) {
        emit("perl-lwp", $k, $r->status_line);
        my $body = $r->decoded_content // "";
        emit("perl-lwp", $k, $body) if $cw && $body =~ /\S/ && $body !~ /^\Q@{[$r->status_line]}\E\s*$/;
    } elsif ($xd || $ca) {
        emit("perl-lwp", $k, "X-Died: $xd") if $xd;
    }
}
if ($cfg->{ca}) {
    my $ua2 = LWP::UserAgent->new(timeout => 3, ssl_opts => { SSL_ca_file => $cfg->{ca}, verify_hostname => 1 });
    for my $c (["https://localhost:$cfg->{tls_expired}/", "r5-http-tls-expired"], ["https://localhost:$cfg->{tls_wronghost}/", "r5-http-tls-hostname"]) {
        my $r = $ua2->get($c->[0]);
        emit("perl-lwp", $c->[1], $r->status_line) unless $r->is_success;
    }
}
my $R = $cfg->{redis};
if ($R && eval { require Redis; 1 }) {
    my @cases = (["wrongtype", $R->{P}, "lpush", "str", "x"], ["not-integer", $R->{P}, "incr", "str"],
                 ["unknown-command", $R->{P}, "frobnicate", "x"], ["syntax", $R->{P}, "set", "k", "v", "BOGUS"],
                 ["noscript", $R->{P}, "evalsha", "f" x 40, 0], ["script-error", $R->{P}, "eval", "return redis.call('nosuchcmd')", 0],
                 ["db-range", $R->{P}, "select", 99],
                 ["noauth", $R->{A}, "get", "a"], ["oom", $R->{M}, "set", "a", "1"], ["readonly", $R->{R}, "set", "a", "1"],
                 ["masterdown", $R->{M2}, "get", "a"], ["clusterdown", $R->{C}, "get", "a"]);
    for my $c (@cases) {
        my ($k, $port, $cmd, @args) = @$c;
        eval { my $r = Redis->new(server => "127.0.0.1:$port", reconnect => 0, cnx_timeout => 2); $r->$cmd(@args); };
        if (my $e = $@) { my ($p) = $e =~ /\[\w+\] ([A-Z]+) / ; emit("perl-redis", "r5-redis-$k", $e, $p); }
    }
    eval { Redis->new(server => "127.0.0.1:$R->{A}", password => "wrong", reconnect => 0)->get("a") };
    if (my $e = $@) { my ($p) = $e =~ /([A-Z]{4,}) /; emit("perl-redis", "r5-redis-wrongpass", $e, $p); }
    eval { Redis->new(server => "127.0.0.1:$cfg->{closed}", reconnect => 0, cnx_timeout => 2)->ping };
    emit("perl-redis", "r5-redis-refused", $@) if $@;
    eval { Redis->new(server => "$cfg->{dns}:$R->{P}", reconnect => 0, cnx_timeout => 2)->ping };
    emit("perl-redis", "r5-redis-dns", $@) if $@;
    eval { Redis->new(server => "127.0.0.1:$cfg->{silent}", reconnect => 0, cnx_timeout => 1, read_timeout => 1)->ping };
    emit("perl-redis", "r5-redis-timeout", $@) if $@;
}
