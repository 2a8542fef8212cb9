#!/bin/sh
# Runs every test with the Go tests beside the web app's: the two share nothing (each test
# starts its own servers on port 0, in its own temp dirs), and most of the browser tests' time
# is spent waiting on real-time live streams, not on the CPU. Run one after the other they
# took 25 minutes on the 2-core machine; side by side the run is as long as the browser
# tests (README, "Tests and figures").
#
# The Go output goes to a file (GO_LOG) printed whole once both halves are done, so neither
# half's lines are interleaved with the other's; the script fails if either half failed.
# Expects the web app and the binary to be built (make test does that first).
set -u
go="${GO:-go}"
npm="${NPM:-npm}"
log="${GO_LOG:-bin/test-go.log}"

mkdir -p "$(dirname "$log")"
echo "== go test -race -count=1 ./... (in the background; its output follows the browser tests', also in $log)"
"$go" test -race -count=1 ./... >"$log" 2>&1 &
gopid=$!

echo "== web: vitest, then Playwright"
(cd web && "$npm" test && "$npm" run e2e)
web=$?

wait "$gopid"
gotest=$?
echo "== go test -race -count=1 ./... (exit $gotest)"
cat "$log"

[ "$web" -eq 0 ] || echo "FAIL: the web tests (vitest or Playwright) exited $web" >&2
[ "$gotest" -eq 0 ] || echo "FAIL: the Go tests exited $gotest (output above, and in $log)" >&2
[ "$web" -eq 0 ] && [ "$gotest" -eq 0 ]
