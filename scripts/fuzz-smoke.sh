#!/bin/sh
# fuzz-smoke.sh runs every fuzz target for FUZZTIME each (default 5s; a
# count such as 2000x runs that many inputs), one after the other, and stops
# at the first that fails. CI uses a count: with a duration, Go 1.26's fuzzing
# coordinator can report "context deadline exceeded" as a failure when the
# time runs out while a worker is busy (go.dev/issue/75804, fixed in Go
# 1.27), and a count has no deadline to race. go test -fuzz takes one
# target per package per run, hence one run per target. A failing input is
# written under the package's testdata/fuzz/<target>/; keep it there once
# the bug is fixed: `go test` then runs it as a regression test.
#
#   FUZZTIME=30s scripts/fuzz-smoke.sh
set -eu

cd "$(dirname "$0")/.."
FUZZTIME="${FUZZTIME:-5s}"

# Every target, as package:name.
targets="
./events/:FuzzEventDecode
./events/:FuzzQuantity
./events/:FuzzDate
./events/:FuzzCreditCode
./api/:FuzzRequestDecode
./imports/:FuzzSpreadsheet
./imports/:FuzzCSV
./imports/:FuzzImportDate
./imports/:FuzzAmount
./audit/:FuzzCanonicalJSON
./audit/:FuzzEventHash
"

# A target written but not listed above would never run: refuse.
for name in $(grep -rhoE '^func Fuzz[A-Za-z0-9_]+\(' --include='*_test.go' . | sed 's/^func //; s/($//' | sort -u); do
	case "$targets" in
	*":$name
"*) ;;
	*) echo "fuzz-smoke.sh: $name is not in the list of targets" >&2; exit 1 ;;
	esac
done

for target in $targets; do
	pkg="${target%%:*}"
	name="${target#*:}"
	echo "== $name ($pkg, $FUZZTIME)"
	go test -run '^$' -fuzz "^$name\$" -fuzztime "$FUZZTIME" "$pkg"
done
