#!/usr/bin/env bash
# Soak (make soak; not in CI, not part of make test): presignd, set up as make loadtest
# sets it up (authentication, policy, metrics and the audit log all on), held for
# SOAK_DURATION near half the peak rate of each signing route of the load test (get put
# post parts batch100 jwt-rs256 jwt-es256 proxy), with a config reload (SIGHUP) every 10 s
# and signing credentials that are refreshed while it runs.
#
# First each route's peak is measured (wrk with route.lua, as the load test does), then
# the routes take turns in slices of SOAK_SLICE, each held near half its peak with
# paced.lua (the pause is corrected after each slice from the rate wrk measured), until
# SOAK_DURATION has passed; the load never stops for longer than it takes to start wrk.
#
# Credentials come from a credential_process (the AWS shared config's, which the SDK
# re-runs when the credentials are refreshed) that hands out the AWS documentation
# example key pair with an expiry 4 minutes ahead. Every URL asked for lives longer
# than that, so presignd caps it by the credentials and refreshes them (at most once per
# s3signer.RefreshInterval, 30 s); the SDK would refresh them at their expiry anyway.
# The soak checks that the process ran again and that
# presignd_credentials_expiry_timestamp_seconds moved forward.
#
# Every 10 s presignd's RSS (/proc/PID/status VmRSS), goroutines (go_goroutines on the
# admin listener's /metrics) and open files (/proc/PID/fd) are sampled. At the end the
# soak prints their first and last values and least-squares slope per minute, the
# requests per route, the errors, the reloads and the audit lines against the decisions
# served. It fails on any non-2xx answer or socket error from wrk, on a failed reload,
# when presignd stops, and when there are fewer audit lines than decisions.
#
# The audit log is counted as it is written (an awk reading presignd's stderr), not kept:
# ten minutes of it would be gigabytes.
#
# Environment: SOAK_DURATION (default 10m; s, m or h), SOAK_SLICE (15s), SOAK_PEAK (5s of
# wrk per route to find its peak, after a 2s warm-up), SOAK_THREADS (2),
# SOAK_CONNECTIONS (64), SOAK_ROUTES (default all), GO (go), PRESIGND_VERSITYGW (the
# versitygw binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/loadtest/lib.sh
. test/loadtest/lib.sh

# secs VALUE converts 90, 90s, 10m or 1h to seconds.
secs() {
	awk -v v="$1" 'BEGIN {
		n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
		if (u == "m") n *= 60; else if (u == "h") n *= 3600; else if (u != "" && u != "s") { print "bad duration " v > "/dev/stderr"; exit 1 }
		printf "%d", n
	}'
}
duration=$(secs "${SOAK_DURATION:-10m}")
slice=$(secs "${SOAK_SLICE:-15s}")
peak_time=$(secs "${SOAK_PEAK:-5s}")
threads=${SOAK_THREADS:-2}
conns=${SOAK_CONNECTIONS:-64}
read -r -a routes <<<"${SOAK_ROUTES:-get put post parts batch100 jwt-rs256 jwt-es256 proxy}"
GO=${GO:-go}
scripts=$PWD/test/loadtest
versitygw=${PRESIGND_VERSITYGW:-$PWD/.cache/versitygw-v1.8.0}
interval=10

need_debian_tool wrk wrk "the load generator"

make_work

echo "building presignd"
CGO_ENABLED=0 $GO build -trimpath -o "$work/presignd" ./cmd/presignd
$GO build -trimpath -o "$work/mint" ./test/loadtest/mint

start_versitygw

# The credential process: the example key pair, expiring 4 minutes from now; each run
# is counted in creds.runs.
cat >"$work/creds.sh" <<EOF
#!/bin/sh
echo run >>"$work/creds.runs"
printf '{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","Expiration":"%s"}\n' \
	'$access' '$secret' "\$(date -u -d '+4 minutes' +%Y-%m-%dT%H:%M:%SZ)"
EOF
chmod +x "$work/creds.sh"
printf '[default]\ncredential_process = %s\n' "$work/creds.sh" >"$work/aws-config"

write_presignd_config "$work/presignd.yaml"

# presignd sees the credential process and nothing else of this machine's AWS setup. Its
# stderr goes through awk, which counts the audit lines (the "presign" message) and
# keeps the rest in presignd.log.
mkfifo "$work/presignd.err"
mawk -W interactive -v count="$work/audited" -v logfile="$work/presignd.log" '
	/"msg":"presign"/ { n++; next }
	{ print > logfile; fflush(logfile) }
	END { print n + 0 > count }' <"$work/presignd.err" &
audit_counter=$!
env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 \
	-u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
	AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
	"$work/presignd" serve --config "$work/presignd.yaml" >"$work/presignd.out" 2>"$work/presignd.err" &
pid=$!
pids+=("$pid")
addr=""
for _ in $(seq 100); do
	addr=$(grep -m1 '"msg":"listening"' "$work/presignd.log" 2>/dev/null | sed 's/.*"addr":"\([^"]*\)".*/\1/' || true)
	[ -n "$addr" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.1
done
if [ -z "$addr" ]; then
	echo "presignd did not start:" >&2
	cat "$work/presignd.log" >&2
	exit 1
fi
admin_addr=$(grep -m1 '"msg":"listening"' "$work/presignd.log" | sed 's/.*"admin_addr":"\([^"]*\)".*/\1/')
echo "presignd on $addr (admin $admin_addr), pid $pid"
if ! PRESIGND_TOKEN=$token "$work/presignd" presign "s3://media/reports/2026/q3 summary.pdf" \
	--expires-in 3600 --server "http://$addr" >/dev/null 2>"$work/first"; then
	echo "presignd did not answer the soak's request with a URL:" >&2
	cat "$work/first" >&2
	exit 1
fi

# metric NAME prints the value of an unlabelled metric from the admin listener.
metric() { curl -sf "http://$admin_addr/metrics" | awk -v n="$1" '$1 == n && v == "" {v = $2} END {print v}'; }

# The loads, as in run.sh: for each, the identity header and value, the path, the body
# file and the audit lines per request.
declare -A HEADER VALUE PATHOF BODY ITEMS CONNS
printf '%s' '{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}' >"$work/get.json"
printf '%s' '{"bucket":"media","key":"uploads/2026/cat.png","method":"PUT","expires_in":900,"content_type":"image/png","content_length":482113}' >"$work/put.json"
printf '%s' '{"bucket":"media","key":"uploads/2026/form.png","content_type":"image/png","max_content_length":1048576,"expires_in":900}' >"$work/post.json"
{
	printf '{"requests":['
	for i in $(seq 100); do
		[ "$i" -gt 1 ] && printf ','
		printf '{"bucket":"media","key":"reports/2026/file-%03d.pdf","expires_in":3600}' "$i"
	done
	printf ']}'
} >"$work/batch100.json"
create=$(curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	-d '{"bucket":"media","key":"uploads/big.png","content_type":"image/png","content_length":10485760}' \
	"http://$addr/v1/multipart/create") || {
	echo "the multipart create for the parts load failed; versitygw said:" >&2
	cat "$work/versitygw.log" >&2
	exit 1
}
upload_id=$(printf '%s' "$create" | sed 's/.*"upload_id":"\([^"]*\)".*/\1/')
printf '{"bucket":"media","key":"uploads/big.png","upload_id":"%s","part_numbers":[1]}' "$upload_id" >"$work/parts.json"

load_def() { # NAME HEADER VALUE PATH BODY ITEMS
	HEADER[$1]=$2 VALUE[$1]=$3 PATHOF[$1]=$4 BODY[$1]=$5 ITEMS[$1]=$6 CONNS[$1]=$conns
}
load_def get Authorization "Bearer $token" /v1/presign "$work/get.json" 1
load_def put Authorization "Bearer $token" /v1/presign "$work/put.json" 1
load_def post Authorization "Bearer $token" /v1/presign/post "$work/post.json" 1
load_def parts Authorization "Bearer $token" /v1/multipart/parts "$work/parts.json" 1
load_def batch100 Authorization "Bearer $token" /v1/presign/batch "$work/batch100.json" 100
load_def jwt-rs256 Authorization "Bearer $(cat "$work/token-rs256")" /v1/presign "$work/get.json" 1
load_def jwt-es256 Authorization "Bearer $(cat "$work/token-es256")" /v1/presign "$work/get.json" 1
load_def proxy X-Auth-Request-Email "$proxy_user" /v1/presign "$work/get.json" 1
# A batch weighs 16 against limits.max_in_flight (256 by default).
CONNS[batch100]=8
for r in "${routes[@]}"; do
	if [ -z "${PATHOF[$r]:-}" ]; then
		echo "unknown route $r in SOAK_ROUTES" >&2
		exit 1
	fi
done

served=0
errors=0
declare -A REQUESTS SECONDS_OF
# load NAME SCRIPT SECONDS [DELAY_MS] runs wrk with load NAME, sets rps and requests and
# adds the decisions to served; any answer that is not 2xx and any socket error count as errors.
load() {
	local name=$1 script=$2 d=$3 out="$work/$1.wrk" bad
	shift 3
	wrk -t"$threads" -c"${CONNS[$name]}" -d"${d}s" -s "$scripts/$script" "http://$addr${PATHOF[$name]}" \
		-- "${HEADER[$name]}" "${VALUE[$name]}" "${PATHOF[$name]}" "${BODY[$name]}" "$@" >"$out"
	rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
	requests=$(awk '/requests in/ {print $1}' "$out")
	served=$((served + requests * ${ITEMS[$name]}))
	bad=$(awk '/Non-2xx or 3xx responses:/ {n += $NF} /Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")
	if [ "$bad" -gt 0 ]; then
		echo "$name: wrk saw $bad errors:" >&2
		cat "$out" >&2
		errors=$((errors + bad))
	fi
}

echo "peak of each route: ${peak_time}s of wrk -t$threads after a 2s warm-up"
declare -A PAUSE TARGET
for name in "${routes[@]}"; do
	load "$name" route.lua 2
	load "$name" route.lua "$peak_time"
	TARGET[$name]=$(awk -v r="$rps" 'BEGIN {printf "%.0f", r / 2}')
	PAUSE[$name]=$(awk -v c="${CONNS[$name]}" -v t="${TARGET[$name]}" 'BEGIN {printf "%.3f", c * 1000 / t}')
	printf '  %-10s peak %8.0f req/s, soak target %7d req/s\n' "$name" "$rps" "${TARGET[$name]}"
done
if [ "$errors" -gt 0 ]; then
	echo "errors while measuring the peaks" >&2
	exit 1
fi

creds_runs_start=$(wc -l <"$work/creds.runs")
expiry_start=$(metric presignd_credentials_expiry_timestamp_seconds)
reloaded_start=$(grep -c '"msg":"config reloaded"' "$work/presignd.log" || true)

# sample prints "rss_kB goroutines fds" of presignd (NA for what cannot be read).
sample() {
	local rss gor fds
	rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
	gor=$(metric go_goroutines || true)
	fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	echo "${rss:-NA} ${gor:-NA} $fds"
}
# Idle, after the peaks (their connections closed), to compare with idle after the soak.
sleep 1
idle_before=$(sample)

# The samplers: every 10 s, from 5 s in (so that each sample falls under load), one line
# "seconds rss_kB goroutines fds"; and a SIGHUP every 10 s.
start=$(date +%s)
(
	sleep 5
	while kill -0 "$pid" 2>/dev/null; do
		echo "$(($(date +%s) - start)) $(sample)" >>"$work/samples"
		sleep "$interval"
	done
) &
sampler=$!
pids+=("$sampler")
(
	while sleep "$interval"; do
		kill -HUP "$pid" 2>/dev/null || exit 0
		echo hup >>"$work/hups"
	done
) &
hupper=$!
pids+=("$hupper")

echo "soak: ${duration}s, routes in turn for ${slice}s each near half their peak, SIGHUP every ${interval}s"
end=$((start + duration))
while :; do
	for name in "${routes[@]}"; do
		now=$(date +%s)
		[ "$now" -ge "$end" ] && break 2
		d=$((end - now))
		[ "$d" -gt "$slice" ] && d=$slice
		load "$name" paced.lua "$d" "${PAUSE[$name]}"
		REQUESTS[$name]=$((${REQUESTS[$name]:-0} + requests)) SECONDS_OF[$name]=$((${SECONDS_OF[$name]:-0} + d))
		printf '  %4ds  %-10s %8.0f req/s (target %d)\n' "$(($(date +%s) - start))" "$name" "$rps" "${TARGET[$name]}"
		# The correction of run.sh for the time the requests themselves take, halved: the
		# machine's other work changes that time from slice to slice, and a full
		# correction overshoots when it goes away.
		PAUSE[$name]=$(awk -v c="${CONNS[$name]}" -v t="${TARGET[$name]}" -v r="$rps" -v p="${PAUSE[$name]}" \
			'BEGIN {x = c * 1000 / t - (c * 1000 / r - p); if (x < 0) x = 0; printf "%.3f", (x + p) / 2}')
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "presignd stopped during the soak:" >&2
			tail -n 20 "$work/presignd.log" >&2
			exit 1
		fi
	done
done
kill "$hupper" "$sampler" 2>/dev/null || true
# Idle again, after the load.
sleep 1
idle_after=$(sample)

reload_ok=$(metric presignd_config_last_reload_successful)
expiry_end=$(metric presignd_credentials_expiry_timestamp_seconds)
creds_runs_end=$(wc -l <"$work/creds.runs")
hups=0
[ -f "$work/hups" ] && hups=$(wc -l <"$work/hups")
reloaded=$(($(grep -c '"msg":"config reloaded"' "$work/presignd.log" || true) - reloaded_start))
reload_failed=$(grep -c '"msg":"config reload failed' "$work/presignd.log" || true)

kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
wait "$audit_counter" 2>/dev/null || true
audited=$(cat "$work/audited")

echo
echo "results: $(awk -v d="$duration" 'BEGIN {printf "%.1f", d / 60}') minutes, $(wc -l <"$work/samples") samples under load, $(nproc) CPUs shared by wrk and presignd"
printf '  %-22s %12s %12s %16s %12s %12s\n' "" "start" "end" "slope per min" "idle before" "idle after"
# fit COLUMN NAME UNIT SCALE prints the first and last value of a sample column under
# load, its least-squares slope per minute, and its values idle before and after.
fit() {
	awk -v c="$1" -v n="$2" -v u="$3" -v s="$4" -v before="$idle_before" -v after="$idle_after" '$c != "NA" {
		x = $1 / 60; y = $c / s
		if (k == 0) first = y
		last = y; k++; sx += x; sy += y; sxx += x * x; sxy += x * y
	} END {
		d = k * sxx - sx * sx
		slope = (d > 0) ? (k * sxy - sx * sy) / d : 0
		split(before, b); split(after, a)
		printf "  %-22s %12.2f %12.2f %+16.4f %12.2f %12.2f\n", n " (" u ")", first, last, slope, b[c - 1] / s, a[c - 1] / s
	}' "$work/samples"
}
fit 2 RSS MiB 1024
fit 3 goroutines count 1
fit 4 "open files" count 1
echo "  requests per route:"
total=0
for name in "${routes[@]}"; do
	printf '    %-10s %10d in %4d s  (%.0f req/s, %.0f items/s)\n' "$name" "${REQUESTS[$name]:-0}" "${SECONDS_OF[$name]:-0}" \
		"$(awk -v n="${REQUESTS[$name]:-0}" -v d="${SECONDS_OF[$name]:-1}" 'BEGIN {print n / d}')" \
		"$(awk -v n="${REQUESTS[$name]:-0}" -v i="${ITEMS[$name]}" -v d="${SECONDS_OF[$name]:-1}" 'BEGIN {print n * i / d}')"
	total=$((total + ${REQUESTS[$name]:-0}))
done
echo "    total      $total"
echo "  errors (non-2xx answers and socket errors): $errors"
echo "  reloads: $hups SIGHUPs sent, $reloaded logged as config reloaded, $reload_failed failed; presignd_config_last_reload_successful $reload_ok"
echo "  credentials: the credential process ran $((creds_runs_end - creds_runs_start)) times during the soak;" \
	"presignd_credentials_expiry_timestamp_seconds $(awk -v s="$expiry_start" -v e="$expiry_end" 'BEGIN {printf "%.0f -> %.0f (%+.0f s)", s, e, e - s}')"
echo "  audit lines: $audited for $served decisions in the requests wrk completed (peaks and soak; wrk does not count those in flight at its end)"

fail=0
if [ "$errors" -gt 0 ]; then echo "FAIL: $errors errors" >&2; fail=1; fi
if [ "$reload_failed" -gt 0 ] || [ "$reload_ok" != 1 ] || [ "$reloaded" -lt 1 ]; then
	echo "FAIL: a reload failed or none was done" >&2
	fail=1
fi
if [ "$((creds_runs_end - creds_runs_start))" -lt 1 ] || ! awk -v s="$expiry_start" -v e="$expiry_end" 'BEGIN {exit !(e > s)}'; then
	echo "FAIL: the credentials were not refreshed" >&2
	fail=1
fi
if [ "$audited" -lt "$served" ]; then echo "FAIL: fewer audit lines than decisions served" >&2; fail=1; fi
if [ "$fail" = 0 ]; then echo "soak passed"; fi
exit "$fail"
