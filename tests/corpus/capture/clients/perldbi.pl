#!/usr/bin/perl
# Round-4 DBI failures for capture.py: perl perldbi.pl CASES.json
# CASES.json: {"dsn": ..., "user": ..., "password": ..., "cases": [{key, sql, pre, sleep, user, password}]}
# One JSON object per failure: key, message (what RaiseError died with),
# code (the driver's err: SQLSTATE for DBD::Pg, error number for DBD::MariaDB),
# state, every other one with a Carp trace.
use strict;
use warnings;
use JSON::PP;
use DBI;
use Carp ();
my $spec = decode_json(do { local $/; open(my $f, '<', $ARGV[0]) or die; <$f> });
my $J = JSON::PP->new->canonical;
my $n = 0;
for my $c (@{$spec->{cases}}) {
    my ($dbh, $ok);
    $ok = eval {
        local $SIG{__DIE__} = sub { my $m = shift; die($n % 2 == 0 ? Carp::longmess($m) : $m) };
        $dbh = DBI->connect($c->{dsn} // $spec->{dsn}, $c->{user} // $spec->{user}, $c->{password} // $spec->{password},
                            {RaiseError => 1, PrintError => 0, AutoCommit => 1});
        $dbh->do($_) for @{$c->{pre} // []};
        sleep($c->{sleep}) if $c->{sleep};
        $dbh->do($c->{sql});
        1;
    };
    next if $ok;
    my $err = "$@";
    my ($first) = split /\n/, $err;
    my %o = (key => $c->{key}, message => $first, code => $DBI::err, state => $DBI::state);
    $o{trace} = $err if $err =~ /\n./;
    $n++;
    print $J->encode(\%o), "\n";
    eval { $dbh->disconnect if $dbh };
}
