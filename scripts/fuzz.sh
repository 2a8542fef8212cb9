#!/bin/sh
# Runs every Fuzz* target in the module for FUZZTIME (default 30s) each, one after another,
# failing on the first target that finds a failing input (it is then saved under the
# package's testdata/fuzz, ready to be committed as a regression case).
set -eu
fuzztime="${FUZZTIME:-30s}"
go="${GO:-go}"

# go test -list prints a package's matching names, then "ok  <package> <time>".
targets=$("$go" test -list '^Fuzz' ./... | awk '
	/^Fuzz/ { names[++n] = $1; next }
	/^ok / { for (i = 1; i <= n; i++) print $2, names[i]; n = 0 }
')
if [ -z "$targets" ]; then
	echo "no fuzz targets found" >&2
	exit 1
fi
echo "$targets" | while read -r pkg name; do
	echo "== $name ($pkg), $fuzztime"
	"$go" test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"
done
