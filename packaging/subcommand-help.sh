#!/bin/sh
# help2man runs "PROGRAM --help" and "PROGRAM --version"; this turns them into
# "exitprof SUB --help" (subcommands have no --version of their own: the man page's comes from
# --version-string).
exitprof=$1
sub=$2
shift 2
exec "$exitprof" "$sub" "$@"
