#!/bin/sh
# Runs every test in two lanes side by side: the CPU-bound ones (go test -race, then the web
# app's unit tests) beside the browser tests, which spend most of their time waiting on
# real-time live streams. The lanes share nothing: every test starts its own servers on port 0,
# in its own temp dirs. One after the other they took 25 minutes on the 2-core machine; side
# by side the run is about as long as the browser tests (README, "Tests and figures").
#
# The first lane's output goes to a file (UNIT_LOG), printed whole once both lanes are done, so
# neither lane's lines are interleaved with the other's; the script fails if either failed.
# Expects the web app and the binary to be built (make test builds them first).
#
# -timeout 30m: beside the browser tests cmd/livehouse took 602 s, past go test's default of
# 10 minutes per package (344 s alone); the bound is there to end a hung package, not to time one.
set -u
go="${GO:-go}"
npm="${NPM:-npm}"
log="${UNIT_LOG:-bin/test-unit.log}"

mkdir -p "$(dirname "$log")"
echo "== go test -race -count=1 -timeout 30m ./..., then vitest: in the background, output in $log, printed after Playwright's"
{
	echo "== go test -race -count=1 -timeout 30m ./..."
	"$go" test -race -count=1 -timeout 30m ./...
	gotest=$?
	echo "== vitest"
	(cd web && "$npm" test)
	vitest=$?
	[ "$gotest" -eq 0 ] || echo "FAIL: go test exited $gotest"
	[ "$vitest" -eq 0 ] || echo "FAIL: vitest exited $vitest"
	[ "$gotest" -eq 0 ] && [ "$vitest" -eq 0 ]
} >"$log" 2>&1 &
unit=$!

echo "== Playwright"
(cd web && "$npm" run e2e)
e2e=$?

wait "$unit"
unitrc=$?
echo "== $log (go test, then vitest)"
cat "$log"

[ "$e2e" -eq 0 ] || echo "FAIL: the browser tests (Playwright) exited $e2e" >&2
[ "$unitrc" -eq 0 ] || echo "FAIL: go test or vitest (output above, and in $log)" >&2
[ "$e2e" -eq 0 ] && [ "$unitrc" -eq 0 ]
