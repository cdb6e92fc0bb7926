#!/usr/bin/env bash
# Connection surge (make surge): SURGE_CONNECTIONS (default 5000) keep-alive
# connections opened at once to a running presignd serve on loopback, each sending one
# POST /v1/presign and then staying open, as when a fleet of clients restarts or
# retries all at once. presignd runs with its default limits and the soft memory
# limit it would derive from a container limit of SURGE_MEMORY_LIMIT_MIB (default 256,
# the Deployment's): 90%, given here as GOMEMLIMIT, since this machine's own cgroup is
# not the container's.
#
# It reports presignd's resident memory (VmRSS) idle, at the peak of the surge (and
# its high-water mark, VmHWM), and some seconds after the clients have gone, with what
# the clients saw, and fails when presignd dies, goes over the memory limit, or a
# client's request fails rather than being answered (200, or 503 overloaded) or its
# idle connection closed. The loader is a separate process; its memory is not counted.
#
# Environment: SURGE_CONNECTIONS (5000), SURGE_HOLD (10s, how long the clients keep
# their connections open), SURGE_MEMORY_LIMIT_MIB (256), SURGE_LIMITS (a YAML flow
# mapping for the config's limits block, e.g. "{max_in_flight: 64}"; default: none,
# presignd's defaults), GO (go). About a minute.
set -euo pipefail
cd "$(dirname "$0")/../.."

conns=${SURGE_CONNECTIONS:-5000}
hold=${SURGE_HOLD:-10s}
limit_mib=${SURGE_MEMORY_LIMIT_MIB:-256}
GO=${GO:-go}

# Every connection is a file descriptor on both sides.
need=$((conns + 1000))
if [ "$(ulimit -n)" -lt "$need" ]; then
	ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [ "$(ulimit -n)" -lt "$need" ]; then
	echo "open files limit $(ulimit -n) is below the $need needed for $conns connections (raise ulimit -Hn)" >&2
	exit 1
fi

work=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building presignd and the loader"
CGO_ENABLED=0 $GO build -trimpath -o "$work/presignd" ./cmd/presignd
$GO build -trimpath -o "$work/loader" ./test/surge/loader

token=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
{
	echo "listen: 127.0.0.1:0"
	echo "admin_listen: 127.0.0.1:0"
	echo "s3: {region: us-east-1}"
	echo "shutdown: {drain_delay: 0s, grace: 5s}"
	[ -n "${SURGE_LIMITS:-}" ] && echo "limits: $SURGE_LIMITS"
	echo "clients:"
	echo "  - name: surge"
	echo "    token_sha256: \"$(printf %s "$token" | "$work/presignd" hash-token)\""
	echo "    grants:"
	echo "      - {bucket: dev, prefixes: [\"surge/\"], methods: [GET, PUT], max_ttl: 1h}"
} >"$work/presignd.yaml"

gomemlimit=$((limit_mib * 1024 * 1024 * 9 / 10))
env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 -u GOGC \
	AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \
	AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	GOMEMLIMIT="$gomemlimit" \
	"$work/presignd" serve --config "$work/presignd.yaml" 2>"$work/presignd.log" &
pid=$!
addr="" admin=""
for _ in $(seq 100); do
	line=$(grep -m1 '"msg":"listening"' "$work/presignd.log" 2>/dev/null || true)
	if [ -n "$line" ]; then
		addr=$(sed 's/.*"addr":"\([^"]*\)".*/\1/' <<<"$line")
		admin=$(sed 's/.*"admin_addr":"\([^"]*\)".*/\1/' <<<"$line")
		break
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "presignd did not start:" >&2
	cat "$work/presignd.log" >&2
	exit 1
fi
grep -m1 '"msg":"listening"' "$work/presignd.log" | sed 's/^/presignd: /'

rss() { awk '/^VmRSS:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
hwm() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status"; }
metric() { curl -s "http://$admin/metrics" | awk -v m="$1" '$1 == m {printf "%d", $2}'; }
alive() {
	if ! kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: presignd died; its log:" >&2
		tail -n 20 "$work/presignd.log" >&2
		exit 1
	fi
}

# One request by hand, with presignd's own client, so that idle is after a first use.
PRESIGND_TOKEN=$token "$work/presignd" presign s3://dev/surge/warm-up --server "http://$addr" >/dev/null
sleep 1
rss_idle=$(rss)
echo "idle: RSS $rss_idle MiB"

echo "surge: $conns keep-alive connections at once, held $hold"
"$work/loader" -addr "$addr" -conns "$conns" -token "$token" -body '{"bucket":"dev","key":"surge/a.txt"}' \
	-hold "$hold" >"$work/loader.out" 2>"$work/loader.err" &
loader=$!
# Sample presignd's RSS while the surge lasts; VmHWM keeps the true peak.
rss_max=0
peak_line=""
while kill -0 "$loader" 2>/dev/null; do
	alive
	r=$(rss)
	rss_max=$(awk -v a="$rss_max" -v b="$r" 'BEGIN {print (b > a) ? b : a}')
	if [ -z "$peak_line" ] && grep -q '^peak:' "$work/loader.out"; then
		peak_line=$(grep '^peak:' "$work/loader.out")
		echo "  $peak_line"
		echo "  at the peak: RSS $r MiB, $(metric presignd_http_open_connections) connections open, $(metric go_goroutines) goroutines"
	fi
	sleep 0.2
done
if ! wait "$loader"; then
	echo "FAIL: the loader failed:" >&2
	cat "$work/loader.err" "$work/loader.out" >&2
	exit 1
fi
alive
echo "  peak RSS $rss_max MiB sampled, VmHWM $(hwm) MiB"
sed -n '/^{/,$p' "$work/loader.out" | sed 's/^/  /'

rss_after=()
for s in 1 5 10; do
	sleep $((s - ${prev:-0}))
	prev=$s
	alive
	rss_after+=("$(rss)")
done
shed=$(metric presignd_http_requests_shed_total)
closed=$(metric presignd_http_idle_connections_closed_total)
health=$(curl -s -o /dev/null -w '%{http_code}' "http://$admin/healthz")
peak=$(hwm)

echo
echo "presignd RSS: idle $rss_idle MiB; peak $peak MiB (VmHWM) with $conns connections; after the surge ${rss_after[0]} MiB (1 s), ${rss_after[1]} MiB (5 s), ${rss_after[2]} MiB (10 s)"
echo "memory limit $limit_mib MiB (GOMEMLIMIT $((gomemlimit / 1048576)) MiB); shed $shed requests (503 overloaded); closed $closed idle connections; /healthz $health"

fail=0
if awk -v p="$peak" -v l="$limit_mib" 'BEGIN {exit !(p >= l)}'; then
	echo "FAIL: peak RSS $peak MiB is not under the $limit_mib MiB limit" >&2
	fail=1
fi
if [ "$health" != 200 ]; then
	echo "FAIL: /healthz answered $health after the surge" >&2
	fail=1
fi
# Every first request must be answered: 200, or 503 overloaded with Retry-After.
bad=$(sed -n '/^{/,$p' "$work/loader.out" | awk '/"first_request"/,/}/' |
	grep -Ev '"first_request"|"200"|"503"|error_samples|^ *}' || true)
if [ -n "$bad" ]; then
	echo "FAIL: some requests were not answered:" >&2
	echo "$bad" >&2
	fail=1
fi
exit $fail
