#!/usr/bin/env bash
# Load test (make loadtest): presignd, with authentication, policy, metrics and the
# audit log all on, against two reference servers under the same wrk load:
#   fixed  a chi handler that returns a fixed JSON body (the floor of any Go service)
#   naive  chi + json decode + s3.PresignClient on the SDK's default config
# The three run side by side on loopback, each loaded in turn (never two at once) with
# the same load: POST /v1/presign, same body and bearer token. After a warm-up, the
# servers take turns for LOADTEST_ROUNDS rounds, so that whatever else the machine is
# doing falls on all of them alike; each figure is the median of its rounds. Then
# presignd is held near half of its peak rate to report its latency there. presignd's
# resident memory is sampled from /proc during its runs, the CPU time each server
# spends per request is read from /proc, and presignd's audit log is checked for one
# line per request.
#
# No S3 server is needed: issuing a URL makes no network call. Credentials are the AWS
# documentation example key pair, given as static credentials in the environment.
# presignd's audit log (some hundred MB) goes to a file in a temporary directory,
# removed at the end.
#
# Environment: LOADTEST_DURATION (seconds per run, default 10s), LOADTEST_ROUNDS (3),
# LOADTEST_WARMUP (3s), LOADTEST_THREADS (2), LOADTEST_CONNECTIONS (64), GO (go).
set -euo pipefail
cd "$(dirname "$0")/../.."

duration=${LOADTEST_DURATION:-10s}
warmup=${LOADTEST_WARMUP:-3s}
rounds=${LOADTEST_ROUNDS:-3}
threads=${LOADTEST_THREADS:-2}
conns=${LOADTEST_CONNECTIONS:-64}
GO=${GO:-go}
scripts=$PWD/test/loadtest

if ! command -v wrk >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing wrk (Debian package)"
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
	else
		echo "wrk is not installed: apt-get install wrk" >&2
		exit 1
	fi
fi

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building presignd and the reference servers"
CGO_ENABLED=0 $GO build -trimpath -o "$work/presignd" ./cmd/presignd
$GO build -trimpath -o "$work/fixed" ./test/loadtest/fixed
$GO build -trimpath -o "$work/naive" ./test/loadtest/naive

token=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
hash=$(printf %s "$token" | "$work/presignd" hash-token)
cat >"$work/presignd.yaml" <<EOF
listen: 127.0.0.1:0
s3: {region: us-east-1}
shutdown: {drain_delay: 0s, grace: 5s}
clients:
  - name: loadtest
    token_sha256: "$hash"
    grants:
      - {bucket: media, prefixes: ["reports/"], methods: [GET, HEAD], max_ttl: 24h}
      - {bucket: media, prefixes: ["uploads/"], methods: [PUT], max_ttl: 1h, content_types: ["image/png"]}
  - name: other
    token_sha256: "$(printf %s "other-$token" | "$work/presignd" hash-token)"
    rate_limit: {rps: 100, burst: 200}
    grants:
      - {bucket: media, prefixes: ["other/"], methods: [GET], max_ttl: 1h}
EOF

# The servers see static credentials and nothing else of this machine's AWS setup.
server_env=(env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3
	AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE
	AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
	AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	NAIVE_TOKEN="$token")

declare -A PID ADDR
# start NAME starts a server and records its PID and address. presignd logs its
# address (and then its audit log) to stderr; the reference servers print theirs on
# stdout.
start() {
	local name=$1 pid addr=""
	case $name in
	presignd) "${server_env[@]}" "$work/presignd" serve --config "$work/presignd.yaml" >"$work/$name.out" 2>"$work/$name.log" & ;;
	*) "${server_env[@]}" "$work/$name" >"$work/$name.out" 2>"$work/$name.log" & ;;
	esac
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		if [ "$name" = presignd ]; then
			addr=$(grep -m1 '"msg":"listening"' "$work/$name.log" 2>/dev/null | sed 's/.*"addr":"\([^"]*\)".*/\1/' || true)
		else
			addr=$(head -n1 "$work/$name.out" 2>/dev/null || true)
		fi
		[ -n "$addr" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$addr" ]; then
		echo "$name did not start:" >&2
		cat "$work/$name.log" >&2
		exit 1
	fi
	# One request by hand, with presignd's own client: the load must be answered with
	# URLs, not errors.
	if ! PRESIGND_TOKEN=$token "$work/presignd" presign "s3://media/reports/2026/q3 summary.pdf" \
		--expires-in 3600 --server "http://$addr" >/dev/null 2>"$work/$name.first"; then
		echo "$name did not answer the load's request with a URL:" >&2
		cat "$work/$name.first" >&2
		exit 1
	fi
	PID[$name]=$pid ADDR[$name]=$addr
}

# ms VALUE converts a wrk duration (850.00us, 1.23ms, 2.00s, 1.00m) to milliseconds.
ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
		printf "%.3f", n
	}'
}

# cputicks PID is the CPU time (user + system, in clock ticks) the process has used.
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# load NAME SCRIPT DURATION [ARGS...] runs wrk against server NAME and sets rps, p50,
# p99, requests and cpu (the server's CPU microseconds per request); it fails on any
# answer that is not 2xx and on socket errors.
load() {
	local name=$1 script=$2 d=$3 before after
	shift 3
	local out="$work/$name.wrk"
	before=$(cputicks "${PID[$name]}")
	wrk -t"$threads" -c"$conns" -d"$d" --latency -s "$scripts/$script" "http://${ADDR[$name]}/v1/presign" -- "$token" "$@" >"$out"
	after=$(cputicks "${PID[$name]}")
	if grep -q 'Non-2xx or 3xx responses' "$out" || grep -q 'Socket errors' "$out"; then
		echo "$name: wrk saw errors:" >&2
		cat "$out" >&2
		exit 1
	fi
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	p50=$(ms "$(awk '$1 == "50%" {print $2}' "$out")")
	p99=$(ms "$(awk '$1 == "99%" {print $2}' "$out")")
	requests=$(awk '/requests in/ {print $1}' "$out")
	cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
	if [ "${name%-*}" = presignd ]; then served=$((served + requests)); fi
}

# rss_midway PID SECONDS writes the process's VmRSS (kB) to the file rss.PID.N halfway
# through a run of SECONDS, in the background (one sample, so as not to disturb the run).
rss_midway() {
	local p=$1 half
	half=$(awk -v d="$2" 'BEGIN {print d / 2}')
	(sleep "$half" && awk '/^VmRSS:/ {print $2}' "/proc/$p/status" >"$work/rss.$p.$RANDOM") &
}

# median prints the median of its arguments.
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

servers=(fixed naive presignd)
served=0
for name in "${servers[@]}"; do
	start "$name"
	echo "$name on ${ADDR[$name]}"
done
echo "warm-up: $warmup each"
for name in "${servers[@]}"; do load "$name" post.lua "$warmup"; done

declare -A R_RPS R_P50 R_P99 R_CPU
echo "$rounds rounds of $duration each with wrk -t$threads -c$conns, servers in turn"
for round in $(seq "$rounds"); do
	for name in "${servers[@]}"; do
		[ "$name" = presignd ] && rss_midway "${PID[$name]}" "${duration%s}"
		load "$name" post.lua "$duration"
		R_RPS[$name]+=" $rps" R_P50[$name]+=" $p50" R_P99[$name]+=" $p99" R_CPU[$name]+=" $cpu"
		printf '  round %d  %-8s %8.0f req/s   p50 %7.3f ms   p99 %7.3f ms   %6.1f us CPU/request\n' \
			"$round" "$name" "$rps" "$p50" "$p99" "$cpu"
	done
done
declare -A RPS P50 P99 CPU
for name in "${servers[@]}"; do
	# shellcheck disable=SC2086 # word splitting wanted
	RPS[$name]=$(median ${R_RPS[$name]}) P50[$name]=$(median ${R_P50[$name]}) \
		P99[$name]=$(median ${R_P99[$name]}) CPU[$name]=$(median ${R_CPU[$name]})
done

# presignd near half its peak rate: each connection pauses between requests; one
# correction for the time the requests themselves take.
PID[presignd-half]=${PID[presignd]} ADDR[presignd-half]=${ADDR[presignd]}
target=$(awk -v r="${RPS[presignd]}" 'BEGIN {printf "%.0f", r / 2}')
pause=$(awk -v c="$conns" -v t="$target" 'BEGIN {printf "%.3f", c * 1000 / t}')
for attempt in 1 2; do
	load presignd-half paced.lua "$duration" "$pause"
	off=$(awk -v r="$rps" -v t="$target" 'BEGIN {d = (r - t) / t; print (d < -0.05 || d > 0.05) ? 1 : 0}')
	[ "$off" = 0 ] && break
	[ "$attempt" = 2 ] && break
	pause=$(awk -v c="$conns" -v t="$target" -v r="$rps" -v p="$pause" \
		'BEGIN {x = c * 1000 / t - (c * 1000 / r - p); if (x < 0) x = 0; printf "%.3f", x}')
done
half_rps=$rps half_p50=$p50 half_p99=$p99 half_cpu=$cpu

pid=${PID[presignd]}
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
rss_end=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
rss_max=$(cat "$work"/rss.* 2>/dev/null | sort -n | tail -n1)
for name in "${servers[@]}"; do kill -TERM "${PID[$name]}"; done
wait "${PID[presignd]}" 2>/dev/null || true
audited=$(grep -c '"msg":"presign"' "$work/presignd.log" || true)

echo
echo "results: median of $rounds rounds (loopback, wrk -t$threads -c$conns -d$duration, $(nproc) CPUs shared by wrk and the server)"
printf '  %-32s %10s %10s %10s %16s\n' server "req/s" "p50 ms" "p99 ms" "CPU us/request"
for name in "${servers[@]}"; do
	printf '  %-32s %10.0f %10.3f %10.3f %16.1f\n' "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${CPU[$name]}"
done
printf '  %-32s %10.0f %10.3f %10.3f %16.1f\n' "presignd at half peak (~$target/s)" "$half_rps" "$half_p50" "$half_p99" "$half_cpu"
echo
awk -v p="${RPS[presignd]}" -v f="${RPS[fixed]}" -v n="${RPS[naive]}" 'BEGIN {
	printf "  presignd / fixed JSON:  %.2fx  (target >= 0.6x: %s)\n", p / f, (p / f >= 0.6) ? "met" : "NOT met"
	printf "  presignd / naive:       %.2fx  (target >= 2.5x: %s)\n", p / n, (p / n >= 2.5) ? "met" : "NOT met"
}'
awk -v h="$hwm" -v m="$rss_max" -v e="$rss_end" 'BEGIN {
	printf "  presignd RSS: %.1f MiB midway through its runs (largest), VmHWM %.1f MiB, %.1f MiB at the end  (target < 64 MiB: %s)\n",
		m / 1024, h / 1024, e / 1024, (h < 64 * 1024) ? "met" : "NOT met"
}'
echo "  presignd audit lines: $audited for $served requests wrk completed (wrk does not count those in flight at its end)"
if [ "$audited" -lt "$served" ]; then
	echo "fewer audit lines than requests served" >&2
	exit 1
fi
