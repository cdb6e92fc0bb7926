#!/usr/bin/env bash
# Instructions per request (make instructions): BenchmarkPresign's presignd and
# fixed-JSON handlers in process, counted by valgrind's callgrind. A count of
# instructions does not move with whatever else the machine is doing, so it shows a
# change of a few percent that the load test's rates (which vary by 10% and more from
# round to round on a shared machine) cannot. It is not time: a cache miss or a system
# call counts as little as any instruction, and SHA-256 runs without its CPU
# extensions under valgrind, so signing weighs more here than on the machine.
#
# Each handler is run twice, for N1 and N2 requests on one CPU (GOMAXPROCS=1, no
# asynchronous preemption, which callgrind does not survive), and the difference of
# the totals divided by N2 - N1 is the count per request, without the test binary's
# start and the benchmark's setup.
#
# With INSTRUCTIONS_BASELINE set to a git revision, that revision's presignd handler
# is counted too, and the ratio of this tree's count to it printed.
#
# Environment: INSTRUCTIONS_BASELINE (a git revision; default none), INSTRUCTIONS_N1
# (3000), INSTRUCTIONS_N2 (13000), GO (go).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/loadtest/lib.sh
. test/loadtest/lib.sh

GO=${GO:-go}
n1=${INSTRUCTIONS_N1:-3000}
n2=${INSTRUCTIONS_N2:-13000}
baseline=${INSTRUCTIONS_BASELINE:-}

need_debian_tool valgrind valgrind "it counts the instructions"

make_work

# Without cgo: valgrind does not run Go's cgo start-up.
echo "building the internal/api test binary"
CGO_ENABLED=0 $GO test -c -o "$work/api.test" ./internal/api
if [ -n "$baseline" ]; then
	checkout_baseline INSTRUCTIONS_BASELINE "$baseline"
	(cd "$work/base" && CGO_ENABLED=0 $GO test -c -o "$work/base.test" ./internal/api)
fi

# total BINARY SUB N is the instructions of N requests of BenchmarkPresign/SUB, with the
# binary's start. The benchmark runs in internal/api, where its test data is.
total() {
	local out
	out=$(cd internal/api && GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$1" -test.run '^$' -test.bench "^BenchmarkPresign\$/$2\$" -test.benchtime "${3}x" -test.cpu 1 2>&1) || {
		echo "valgrind failed on $1 ($2, $3 requests):" >&2
		echo "$out" | tail -20 >&2
		exit 1
	}
	echo "$out" | awk '/Collected :/ {print $NF}'
}

# per BINARY SUB is the instructions per request.
per() {
	local a b
	a=$(total "$1" "$2" "$n1")
	b=$(total "$1" "$2" "$n2")
	if [ -z "$a" ] || [ -z "$b" ]; then
		echo "callgrind printed no count for $1 ($2)" >&2
		exit 1
	fi
	awk -v a="$a" -v b="$b" -v n1="$n1" -v n2="$n2" 'BEGIN {printf "%.0f", (b - a) / (n2 - n1)}'
}

echo "counting ($n1 and $n2 requests each, one CPU)"
presignd=$(per "$work/api.test" presignd)
fixed=$(per "$work/api.test" fixed_json)
echo
echo "instructions per request, in process (BenchmarkPresign; the fixed handler includes the benchmark's request and recorder)"
printf '  presignd      %8d\n' "$presignd"
printf '  fixed JSON    %8d\n' "$fixed"
awk -v p="$presignd" -v f="$fixed" 'BEGIN {printf "  presignd / fixed JSON: %.2fx\n", p / f}'
if [ -n "$baseline" ]; then
	base=$(per "$work/base.test" presignd)
	printf '  presignd at %s: %d\n' "$baseline" "$base"
	awk -v p="$presignd" -v b="$base" -v r="$baseline" 'BEGIN {printf "  this tree / %s: %.3fx\n", r, p / b}'
fi
