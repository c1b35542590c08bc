#!/bin/sh
# undocumented-command.sh ARGS... -- $FL_REAL_FAULTLINE, the real command, except
# that `--help` also lists a command `not-in-the-manual` (with its own --help).
# package_manpage_sync_catches_new_command runs manpage_sync.py on it to show
# that a command added without documentation is caught.
real=${FL_REAL_FAULTLINE:?set FL_REAL_FAULTLINE to the faultline binary}
case "$*" in
    --help)
        "$real" --help | awk '{ print } /^Commands:/ {
            print "  not-in-the-manual [-p DIR] [--frobnicate N]"
            print "         A command nobody documented." }' ;;
    "not-in-the-manual --help")
        echo "usage: faultline not-in-the-manual [-p DIR] [--frobnicate N]" ;;
    *) exec "$real" "$@" ;;
esac
