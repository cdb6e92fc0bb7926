#!/usr/bin/env bash
# Load test (make loadtest): presignd, with authentication, policy, metrics and the
# audit log all on, on every signing route and with every identity, against three
# reference servers under the same wrk load:
#   fixed  a chi handler that returns a fixed JSON body (the floor of any Go service)
#   floor  a chi handler that does only the work no presign service can skip: read the
#          body, hash the bearer token, sign one SigV4 URL, write an audit line with a
#          write(2) of its own before answering, answer with presignd's headers
#          (test/loadtest/floor). get / floor is what presignd's policy, validation,
#          metrics, limits and middleware cost on top of that least work.
#   naive  chi + json decode + s3.PresignClient on the SDK's default config
# The reference servers answer POST /v1/presign (the GET presign body) only.
#
# presignd's loads ("routes"):
#   get        POST /v1/presign, a GET URL, static token (the reference route)
#   put        POST /v1/presign, a PUT URL with content type and length
#   post       POST /v1/presign/post, a browser form policy
#   parts      POST /v1/multipart/parts, one part URL of a sealed upload
#   batch100   POST /v1/presign/batch of 100 GET items (rates per item are also shown)
#   jwt-rs256  the get load with an RS256 JWT (issuer keys from a jwks_file)
#   jwt-es256  the same with an ES256 JWT
#   proxy      the get load as a trusted proxy's user (identity header from loopback)
#   tls-token  the get load over TLS, static token: the reference of the TLS identities
#   mtls       the get load over TLS with a client certificate (a SPIFFE ID) and no token
#   traced     the get load on presignd-traced, a presignd with OpenTelemetry tracing on:
#              every request sampled and its span exported over OTLP/HTTP (to the fixed
#              server's /v1/traces, which discards it). traced / get is what tracing
#              costs when it is on; with it off (every other load) it has no exporter,
#              tracer or propagator.
# With LOADTEST_BASELINE set to a git revision, that revision's presignd is built too
# (presignd-base) and the get load run on it as base-get, in the same rounds: get /
# base-get is what the changes since that revision cost (1.00x: nothing).
# tls-token and mtls go to a second presignd, presignd-tls, serving its API over TLS
# with client certificates verified but not required (so that a token caller works
# on it too), with the same grants. wrk cannot present a client certificate, so these
# two loads are made by tlsload (test/loadtest/tlsload), a closed-loop Go client with
# one keep-alive connection per goroutine (it checks that there is one handshake per
# connection). A Go client takes more of the shared CPUs per request than wrk does, so
# compare the TLS loads with each other (mtls / tls-token), not with get. The CA, the
# server certificate (for 127.0.0.1) and the client certificate are made with openssl
# for each run (ECDSA P-256, as the e2e tests' CA makes them).
# Each load runs in turn (never two at once), after a warm-up, for LOADTEST_ROUNDS
# rounds, so that whatever else the machine is doing falls on all of them alike; each
# rate is the median of its rounds, and each ratio the median of the ratios within
# each round, printed with their range (get runs right after fixed, and base-get right
# after get). Then each route is held near half of its peak
# rate to report its latency there. presignd's resident memory is sampled from /proc,
# the CPU time each server spends per request is read from /proc, and presignd's
# audit log (and presignd-tls's) is checked for one line per decision (a batch item is
# one).
#
# Issuing a URL makes no network call; a versitygw (the one make test builds, in
# PRESIGND_VERSITYGW) serves the one multipart create that gives the parts load its
# upload ID. Credentials are the AWS documentation example key pair, given as static
# credentials in the environment. presignd's audit log (some hundred MB) goes to a file
# in a temporary directory, removed at the end, with the certificates.
#
# With LOADTEST_PROFILE set to a directory, presignd (and presignd-tls) runs with
# --pprof, a CPU profile of each route is taken during its first round (ROUTE.pprof in
# that directory, with the presignd binary), and the functions with the most CPU are
# printed per route.
#
# Environment: LOADTEST_DURATION (seconds per run, default 10s), LOADTEST_ROUNDS (3),
# LOADTEST_WARMUP (3s), LOADTEST_THREADS (2), LOADTEST_CONNECTIONS (64),
# LOADTEST_ROUTES (the routes above, space-separated; default all), LOADTEST_PROFILE
# (a directory; default none), LOADTEST_BASELINE (a git revision; default none), GO (go),
# PRESIGND_VERSITYGW (the versitygw binary).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=test/loadtest/lib.sh
. test/loadtest/lib.sh

duration=${LOADTEST_DURATION:-10s}
warmup=${LOADTEST_WARMUP:-3s}
rounds=${LOADTEST_ROUNDS:-3}
threads=${LOADTEST_THREADS:-2}
conns=${LOADTEST_CONNECTIONS:-64}
read -r -a routes <<<"${LOADTEST_ROUTES:-get put post parts batch100 jwt-rs256 jwt-es256 proxy tls-token mtls traced}"
baseline=${LOADTEST_BASELINE:-}
[ -n "$baseline" ] && routes+=(base-get)
GO=${GO:-go}
profile_dir=${LOADTEST_PROFILE:-}
if [ -n "$profile_dir" ]; then
	mkdir -p "$profile_dir"
	profile_dir=$(cd "$profile_dir" && pwd)
fi
scripts=$PWD/test/loadtest
versitygw=${PRESIGND_VERSITYGW:-$PWD/.cache/versitygw-v1.8.0}

need_debian_tool wrk wrk "the load generator"
if ! command -v openssl >/dev/null; then
	echo "openssl is not installed (it makes the TLS loads' certificates): apt-get install openssl" >&2
	exit 1
fi

make_work

echo "building presignd and the reference servers"
CGO_ENABLED=0 $GO build -trimpath -o "$work/presignd" ./cmd/presignd
$GO build -trimpath -o "$work/fixed" ./test/loadtest/fixed
$GO build -trimpath -o "$work/floor" ./test/loadtest/floor
$GO build -trimpath -o "$work/naive" ./test/loadtest/naive
$GO build -trimpath -o "$work/mint" ./test/loadtest/mint
$GO build -trimpath -o "$work/tlsload" ./test/loadtest/tlsload
if [ -n "$baseline" ]; then
	checkout_baseline LOADTEST_BASELINE "$baseline"
	(cd "$work/base" && CGO_ENABLED=0 $GO build -trimpath -o "$work/presignd-base" ./cmd/presignd)
fi

start_versitygw
write_presignd_config "$work/presignd.yaml"

# presignd-tls's certificates: a CA that signs the server's (for 127.0.0.1) and the
# client's (a SPIFFE ID), each key ECDSA P-256.
spiffe_id=spiffe://loadtest.example/presignd/mtls
make_certs() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=presignd load test CA" -addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign" -keyout "$work/ca.key" -out "$work/ca.pem"
	printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >"$work/server.ext"
	printf 'subjectAltName=URI:%s\nextendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' "$spiffe_id" >"$work/client.ext"
	for who in server client; do
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=presignd load test $who" -keyout "$work/$who.key" -out "$work/$who.csr"
		openssl x509 -req -in "$work/$who.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" \
			-set_serial "0x$(openssl rand -hex 8)" -days 2 -extfile "$work/$who.ext" -out "$work/$who.pem"
	done
}
if ! make_certs >"$work/openssl.log" 2>&1; then
	echo "making the TLS loads' certificates failed:" >&2
	cat "$work/openssl.log" >&2
	exit 1
fi
cat >"$work/presignd-tls.yaml" <<EOF
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
s3: {region: us-east-1, endpoint: "http://127.0.0.1:$s3port", path_style: true}
shutdown: {drain_delay: 0s, grace: 5s}
tls: {cert_file: "$work/server.pem", key_file: "$work/server.key", client_ca_file: "$work/ca.pem", require_client_cert: false}
clients:
  - name: loadtest
    token_sha256: "$(printf %s "$token" | "$work/presignd" hash-token)"
    grants: $grants
  - name: mtls-callers
    match: [{spiffe_id: "$spiffe_id"}]
    grants: $grants
EOF

# The servers see static credentials and nothing else of this machine's AWS setup.
server_env=(env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3
	"AWS_ACCESS_KEY_ID=$access" "AWS_SECRET_ACCESS_KEY=$secret"
	AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
	NAIVE_TOKEN="$token")

declare -A PID ADDR ADMIN
# start NAME starts a server and records its PID and address. presignd (and
# presignd-tls) logs its address (and then its audit log) to stderr; the reference
# servers print theirs on stdout.
start() {
	local name=$1 pid addr=""
	case $name in
	presignd | presignd-tls) "${server_env[@]}" "$work/presignd" serve --config "$work/$name.yaml" ${profile_dir:+--pprof} >"$work/$name.out" 2>"$work/$name.log" & ;;
	# presignd's config; tracing on, sampling every request, spans to the fixed server.
	presignd-traced) "${server_env[@]}" OTEL_EXPORTER_OTLP_ENDPOINT="http://${ADDR[fixed]}" OTEL_TRACES_SAMPLER=always_on \
		"$work/presignd" serve --config "$work/presignd.yaml" ${profile_dir:+--pprof} >"$work/$name.out" 2>"$work/$name.log" & ;;
	presignd-base) "${server_env[@]}" "$work/presignd-base" serve --config "$work/presignd.yaml" ${profile_dir:+--pprof} >"$work/$name.out" 2>"$work/$name.log" & ;;
	floor) "$work/floor" -token "$token" >"$work/$name.out" 2>"$work/$name.log" & ;;
	*) "${server_env[@]}" "$work/$name" >"$work/$name.out" 2>"$work/$name.log" & ;;
	esac
	pid=$!
	pids+=("$pid")
	for _ in $(seq 100); do
		if [[ $name == presignd* ]]; then
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
	# One request by hand, with presignd's own client (to presignd-tls, with curl, with
	# the token and then with the client certificate): the load must be answered with
	# URLs, not errors.
	if [ "$name" = presignd-tls ]; then
		local req=(curl -sSf --cacert "$work/ca.pem" -H 'Content-Type: application/json'
			-d '{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}' "https://$addr/v1/presign")
		if ! { "${req[@]}" -H "Authorization: Bearer $token" && "${req[@]}" --cert "$work/client.pem" --key "$work/client.key"; } \
			>/dev/null 2>"$work/$name.first"; then
			echo "$name did not answer the load's request with a URL:" >&2
			cat "$work/$name.first" >&2
			exit 1
		fi
	elif ! PRESIGND_TOKEN=$token "$work/presignd" presign "s3://media/reports/2026/q3 summary.pdf" \
		--expires-in 3600 --server "http://$addr" >/dev/null 2>"$work/$name.first"; then
		echo "$name did not answer the load's request with a URL:" >&2
		cat "$work/$name.first" >&2
		exit 1
	fi
	PID[$name]=$pid ADDR[$name]=$addr
	if [[ $name == presignd* ]]; then
		ADMIN[$name]=$(grep -m1 '"msg":"listening"' "$work/$name.log" | sed 's/.*"admin_addr":"\([^"]*\)".*/\1/')
	fi
}

servers=(fixed floor naive presignd presignd-tls presignd-traced)
[ -n "$baseline" ] && servers+=(presignd-base)
for name in "${servers[@]}"; do
	start "$name"
	echo "$name on ${ADDR[$name]}"
done

# The loads: for each, the server, the identity header and value, the path, the body
# file, and the audit lines per request; for mtls, the client certificate (CERT).
declare -A SERVER HEADER VALUE PATHOF BODY ITEMS CONNS CERT
get_body='{"bucket":"media","key":"reports/2026/q3 summary.pdf","expires_in":3600}'
printf '%s' "$get_body" >"$work/get.json"
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
	"http://${ADDR[presignd]}/v1/multipart/create") || {
	echo "the multipart create for the parts load failed; versitygw said:" >&2
	cat "$work/versitygw.log" >&2
	exit 1
}
upload_id=$(printf '%s' "$create" | sed 's/.*"upload_id":"\([^"]*\)".*/\1/')
printf '{"bucket":"media","key":"uploads/big.png","upload_id":"%s","part_numbers":[1]}' "$upload_id" >"$work/parts.json"

load_def() { # NAME SERVER HEADER VALUE PATH BODY ITEMS
	SERVER[$1]=$2 HEADER[$1]=$3 VALUE[$1]=$4 PATHOF[$1]=$5 BODY[$1]=$6 ITEMS[$1]=$7 CONNS[$1]=$conns
}
load_def fixed fixed Authorization "Bearer $token" /v1/presign "$work/get.json" 0
load_def floor floor Authorization "Bearer $token" /v1/presign "$work/get.json" 0
load_def naive naive Authorization "Bearer $token" /v1/presign "$work/get.json" 0
load_def get presignd Authorization "Bearer $token" /v1/presign "$work/get.json" 1
load_def put presignd Authorization "Bearer $token" /v1/presign "$work/put.json" 1
load_def post presignd Authorization "Bearer $token" /v1/presign/post "$work/post.json" 1
load_def parts presignd Authorization "Bearer $token" /v1/multipart/parts "$work/parts.json" 1
load_def batch100 presignd Authorization "Bearer $token" /v1/presign/batch "$work/batch100.json" 100
load_def jwt-rs256 presignd Authorization "Bearer $(cat "$work/token-rs256")" /v1/presign "$work/get.json" 1
load_def jwt-es256 presignd Authorization "Bearer $(cat "$work/token-es256")" /v1/presign "$work/get.json" 1
load_def proxy presignd X-Auth-Request-Email "$proxy_user" /v1/presign "$work/get.json" 1
load_def tls-token presignd-tls Authorization "Bearer $token" /v1/presign "$work/get.json" 1
load_def mtls presignd-tls "" "" /v1/presign "$work/get.json" 1
CERT[mtls]=$work/client
load_def traced presignd-traced Authorization "Bearer $token" /v1/presign "$work/get.json" 1
load_def base-get presignd-base Authorization "Bearer $token" /v1/presign "$work/get.json" 1
# A batch weighs 16 against limits.max_in_flight (256 by default): 8 connections keep
# both CPUs busy without being shed.
CONNS[batch100]=8
for r in "${routes[@]}"; do
	if [ -z "${SERVER[$r]:-}" ] || [[ ${SERVER[$r]} != presignd* ]]; then
		echo "unknown route $r in LOADTEST_ROUTES" >&2
		exit 1
	fi
done

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

# field NAME FILE is the value of NAME=VALUE in tlsload's summary line.
field() { awk -v k="$1" '{for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2)}' "$2"; }

declare -A SERVED=([presignd]=0 [presignd-tls]=0 [presignd-traced]=0 [presignd-base]=0)
# load NAME SCRIPT DURATION [DELAY_MS] runs wrk with load NAME (tlsload for
# presignd-tls's loads: it has no script, and DELAY_MS is its -pause) and sets rps,
# p50, p99, requests and cpu (the server's CPU microseconds per request); it fails on
# any answer that is not 2xx and on socket errors, and a tlsload load also on more
# TLS handshakes than connections (a connection that was not kept). tlsload runs with
# no warm-up of its own, so that the server's CPU is read over the requests it
# counts; its connections' handshakes fall in the run, as wrk's connects do.
load() {
	local name=$1 script=$2 d=$3 before after server
	shift 3
	server=${SERVER[$name]}
	local out="$work/$name.wrk"
	before=$(cputicks "${PID[$server]}")
	if [ "$server" = presignd-tls ]; then
		local args=(-url "https://${ADDR[$server]}${PATHOF[$name]}" -c "${CONNS[$name]}" -d "$d"
			-body "${BODY[$name]}" -header "Content-Type: application/json" -ca "$work/ca.pem")
		[ -n "${HEADER[$name]}" ] && args+=(-header "${HEADER[$name]}: ${VALUE[$name]}")
		[ -n "${CERT[$name]:-}" ] && args+=(-cert "${CERT[$name]}.pem" -key "${CERT[$name]}.key")
		[ $# -gt 0 ] && args+=(-pause "${1}ms")
		if ! "$work/tlsload" "${args[@]}" >"$out" 2>"$out.err"; then
			echo "$name: tlsload saw errors:" >&2
			cat "$out" "$out.err" >&2
			exit 1
		fi
		after=$(cputicks "${PID[$server]}")
		if [ "$(field handshakes "$out")" != "$(field connections "$out")" ]; then
			echo "$name: tlsload made more TLS handshakes than connections (connections were not kept):" >&2
			cat "$out" >&2
			exit 1
		fi
		rps=$(field rps "$out") p50=$(field p50_ms "$out") p99=$(field p99_ms "$out") requests=$(field requests "$out")
	else
		wrk -t"$threads" -c"${CONNS[$name]}" -d"$d" --latency -s "$scripts/$script" "http://${ADDR[$server]}${PATHOF[$name]}" \
			-- "${HEADER[$name]}" "${VALUE[$name]}" "${PATHOF[$name]}" "${BODY[$name]}" "$@" >"$out"
		after=$(cputicks "${PID[$server]}")
		if grep -q 'Non-2xx or 3xx responses' "$out" || grep -q 'Socket errors' "$out"; then
			echo "$name: wrk saw errors:" >&2
			cat "$out" >&2
			exit 1
		fi
		rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
		p50=$(ms "$(awk '$1 == "50%" {print $2}' "$out")")
		p99=$(ms "$(awk '$1 == "99%" {print $2}' "$out")")
		requests=$(awk '/requests in/ {print $1}' "$out")
	fi
	cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN {printf "%.1f", t * 1e6 / hz / n}')
	if [ -n "${SERVED[$server]:-}" ]; then
		SERVED[$server]=$((${SERVED[$server]} + requests * ${ITEMS[$name]}))
	fi
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

# The order of a round: get right after fixed, and base-get right after get, so that
# the ratios the targets are about compare loads run seconds apart (below); floor
# follows them.
loads=(fixed)
for name in get base-get; do
	[[ " ${routes[*]} " == *" $name "* ]] && loads+=("$name")
done
loads+=(floor naive)
for name in "${routes[@]}"; do
	[[ $name == get || $name == base-get ]] || loads+=("$name")
done
echo "warm-up: $warmup each"
for name in "${loads[@]}"; do load "$name" route.lua "$warmup"; done

declare -A R_RPS R_CPU
echo "$rounds rounds of $duration each with wrk -t$threads -c$conns, loads in turn"
for round in $(seq "$rounds"); do
	for name in "${loads[@]}"; do
		[ "${SERVER[$name]}" = presignd ] && rss_midway "${PID[presignd]}" "${duration%s}"
		profiling=""
		if [ -n "$profile_dir" ] && [ "$round" = 1 ] && [[ ${SERVER[$name]} == presignd* ]]; then
			curl -sf -o "$profile_dir/$name.pprof" \
				"http://${ADMIN[${SERVER[$name]}]}/debug/pprof/profile?seconds=$(awk -v d="${duration%s}" 'BEGIN {print (d > 2) ? int(d - 1) : 1}')" &
			profiling=$!
		fi
		load "$name" route.lua "$duration"
		if [ -n "$profiling" ] && ! wait "$profiling"; then
			echo "the CPU profile of $name could not be taken" >&2
			exit 1
		fi
		R_RPS[$name]+=" $rps" R_CPU[$name]+=" $cpu"
		printf '  round %d  %-10s %8.0f req/s   p50 %7.3f ms   p99 %7.3f ms   %7.1f us CPU/request\n' \
			"$round" "$name" "$rps" "$p50" "$p99" "$cpu"
	done
done
declare -A RPS CPU
for name in "${loads[@]}"; do
	# shellcheck disable=SC2086 # word splitting wanted
	RPS[$name]=$(median ${R_RPS[$name]}) CPU[$name]=$(median ${R_CPU[$name]})
done

# Ratios are taken within each round and the median of the rounds' ratios is
# reported: this machine's speed moves by tens of percent within a minute, and a
# ratio of two loads run seconds apart moves much less than either rate.
# ratio R|C A [ITEMS_A] B prints the median over the rounds of A's rate (times its
# items per request) over B's (R), or of A's CPU per request over B's (C); with
# ranged set, also the smallest and largest of those ratios.
ratio() {
	local kind=$1 a=$2 items=$3 b=$4 xs ys
	if [ "$kind" = R ]; then xs=${R_RPS[$a]} ys=${R_RPS[$b]}; else xs=${R_CPU[$a]} ys=${R_CPU[$b]}; fi
	awk -v xs="$xs" -v ys="$ys" -v i="$items" -v ranged="${ranged:-}" 'BEGIN {
		n = split(xs, x, " "); split(ys, y, " ")
		for (k = 1; k <= n; k++) r[k] = x[k] * i / y[k]
		for (k = 2; k <= n; k++) for (j = k; j > 1 && r[j - 1] > r[j]; j--) { t = r[j]; r[j] = r[j - 1]; r[j - 1] = t }
		m = (n % 2) ? r[(n + 1) / 2] : (r[n / 2] + r[n / 2 + 1]) / 2
		if (ranged != "") printf "%.2f %.2f %.2f", m, r[1], r[n]; else printf "%.2f", m
	}'
}
# target LABEL KIND A ITEMS B OP LIMIT NOTE prints one target's line: the median ratio,
# the range over the rounds, and whether the median meets it.
target() {
	local label=$1 m lo hi
	read -r m lo hi <<<"$(ranged=1 ratio "$2" "$3" "$4" "$5")"
	awk -v l="$label" -v m="$m" -v lo="$lo" -v hi="$hi" -v op="$6" -v lim="$7" -v note="${8:-}" 'BEGIN {
		ok = (op == ">=") ? (m >= lim) : (m <= lim)
		printf "  %-24s %.2fx  (rounds %.2f-%.2fx; target %s %sx: %s)%s\n", l ":", m, lo, hi, op, lim, ok ? "met" : "NOT met", note
	}'
}

# Each route near half its peak rate: each connection pauses between requests; one
# correction for the time the requests themselves take.
declare -A H_P50 H_P99
echo "each route near half its peak rate"
for name in "${routes[@]}"; do
	target=$(awk -v r="${RPS[$name]}" 'BEGIN {printf "%.0f", r / 2}')
	pause=$(awk -v c="${CONNS[$name]}" -v t="$target" 'BEGIN {printf "%.3f", c * 1000 / t}')
	for attempt in 1 2; do
		load "$name" paced.lua "$duration" "$pause"
		off=$(awk -v r="$rps" -v t="$target" 'BEGIN {d = (r - t) / t; print (d < -0.05 || d > 0.05) ? 1 : 0}')
		[ "$off" = 0 ] && break
		[ "$attempt" = 2 ] && break
		pause=$(awk -v c="${CONNS[$name]}" -v t="$target" -v r="$rps" -v p="$pause" \
			'BEGIN {x = c * 1000 / t - (c * 1000 / r - p); if (x < 0) x = 0; printf "%.3f", x}')
	done
	H_P50[$name]=$p50 H_P99[$name]=$p99
done

if [ -n "$profile_dir" ]; then
	cp "$work/presignd" "$profile_dir/presignd"
	for name in "${routes[@]}"; do
		echo
		echo "CPU profile of $name (flat, top 12; $profile_dir/$name.pprof):"
		$GO tool pprof -top -nodecount 12 "$profile_dir/presignd" "$profile_dir/$name.pprof" 2>/dev/null | sed -n '/flat%/,$p'
	done
fi

pid=${PID[presignd]}
hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status")
rss_end=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
# No sample when only presignd-tls's loads ran: presignd was idle.
rss_max=$(cat "$work"/rss.* 2>/dev/null | sort -n | tail -n1 || true)
[ -n "$rss_max" ] || rss_max=$rss_end
for name in "${servers[@]}"; do kill -TERM "${PID[$name]}"; done
for name in "${servers[@]}"; do wait "${PID[$name]}" 2>/dev/null || true; done
declare -A AUDITED
for name in "${servers[@]}"; do
	[[ $name == presignd* ]] && AUDITED[$name]=$(grep -c '"msg":"presign"' "$work/$name.log" || true)
done

get=${RPS[get]:-}
echo
echo "results: median of $rounds rounds (loopback, wrk -t$threads -c$conns -d$duration, $(nproc) CPUs shared by wrk and the server)"
echo "  (rates and CPU: the median of each load's rounds; ratios: the median of the ratios within each round)"
if [[ " ${routes[*]} " == *" tls-token "* || " ${routes[*]} " == *" mtls "* ]]; then
	echo "  (tls-token and mtls: tlsload -c$conns -d$duration over TLS to presignd-tls; a Go client takes more of the CPUs than wrk)"
fi
printf '  %-10s %9s %9s %8s %8s %10s %13s %13s\n' load "req/s" "items/s" "/ get" "/ fixed" "CPU us/req" "p50 ms (half)" "p99 ms (half)"
for name in "${loads[@]}"; do
	tg=- tf=$(ratio R "$name" 1 fixed)x
	[ -n "$get" ] && [ "${ITEMS[$name]}" -gt 0 ] && tg=$(ratio R "$name" "${ITEMS[$name]}" get)x
	awk -v n="$name" -v r="${RPS[$name]}" -v i="${ITEMS[$name]}" -v tg="$tg" -v tf="$tf" -v c="${CPU[$name]}" \
		-v h50="${H_P50[$name]:-}" -v h99="${H_P99[$name]:-}" 'BEGIN {
		items = (i > 1) ? r * i : r
		printf "  %-10s %9.0f %9.0f %8s %8s %10.1f %13s %13s\n", n, r, items, tg, tf, c, (h50 == "") ? "-" : h50, (h99 == "") ? "-" : h99
	}'
done
echo
if [ -n "$get" ]; then
	target "get / fixed JSON" R get 1 fixed ">=" 0.7
	target "get / naive" R get 1 naive ">=" 3
	target "get CPU / fixed CPU" C get 1 fixed "<=" 1.5
	for name in "${routes[@]}"; do
		[ "$name" = get ] && continue
		# The TLS loads' reference is tls-token (below), not get; traced and base-get
		# are not signing routes of their own (below).
		[ "${SERVER[$name]}" != presignd ] && continue
		target "$name / get" R "$name" "${ITEMS[$name]}" get ">=" 0.8
	done
fi
read -r m lo hi <<<"$(ranged=1 ratio R floor 1 fixed)"
echo "  floor / fixed JSON:      ${m}x  (rounds $lo-${hi}x; the least work of a presign service; CPU per request $(ranged=1 ratio C floor 1 fixed | awk '{printf "%sx, rounds %s-%sx", $1, $2, $3}'))"
if [ -n "$get" ]; then
	read -r m lo hi <<<"$(ranged=1 ratio R get 1 floor)"
	echo "  get / floor:             ${m}x  (rounds $lo-${hi}x; CPU per request $(ranged=1 ratio C get 1 floor | awk '{printf "%sx, rounds %s-%sx", $1, $2, $3}'))"
fi
if [ -n "$get" ] && [ -n "${RPS[traced]:-}" ]; then
	echo "  traced / get:            $(ratio R traced 1 get)x  (tracing on, every request sampled and exported; CPU per request $(ratio C traced 1 get)x)"
fi
if [ -n "$get" ] && [ -n "${RPS[base-get]:-}" ]; then
	read -r m lo hi <<<"$(ranged=1 ratio R get 1 base-get)"
	echo "  get / base-get:          ${m}x  (rounds $lo-${hi}x; this tree against $baseline; CPU per request $(ratio C get 1 base-get)x)"
fi
if [ -n "${RPS[tls-token]:-}" ] && [ -n "${RPS[mtls]:-}" ]; then
	target "mtls / tls-token" R mtls 1 tls-token ">=" 0.8
fi
awk -v h="$hwm" -v m="$rss_max" -v e="$rss_end" 'BEGIN {
	printf "  presignd RSS: %.1f MiB midway through its runs (largest), VmHWM %.1f MiB, %.1f MiB at the end  (target < 64 MiB: %s)\n",
		m / 1024, h / 1024, e / 1024, (h < 64 * 1024) ? "met" : "NOT met"
}'
short=""
for name in "${servers[@]}"; do
	[[ $name == presignd* ]] || continue
	echo "  $name audit lines: ${AUDITED[$name]} for ${SERVED[$name]} decisions in the requests the load completed (not those in flight at its end)"
	[ "${AUDITED[$name]}" -lt "${SERVED[$name]}" ] && short="$short $name"
done
if [ -n "$short" ]; then
	echo "fewer audit lines than decisions served:$short" >&2
	exit 1
fi
