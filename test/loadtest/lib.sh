# shellcheck shell=bash
# What the load scripts (run.sh, soak.sh, instructions.sh) share: sourced, never run.
# Each function reads and sets the caller's variables named in its comment.

# The AWS documentation's example key pair, which the servers sign with and versitygw
# is started with.
access=AKIAIOSFODNN7EXAMPLE
secret=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY

# need_debian_tool COMMAND PACKAGE WHY installs PACKAGE when COMMAND is missing and this
# is root on Debian; otherwise it fails with WHY.
need_debian_tool() {
	command -v "$1" >/dev/null && return
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "installing $2 (Debian package)"
		apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
	else
		echo "$1 is not installed: apt-get install $2 ($3)" >&2
		exit 1
	fi
}

# make_work makes the temporary directory work and the list pids of the processes to
# stop, and removes both on exit (with the baseline worktree, if any).
make_work() {
	work=$(mktemp -d)
	pids=()
	trap cleanup_work EXIT
}

# shellcheck disable=SC2317 # called by the trap
cleanup_work() {
	if [ -d "$work/base" ]; then git worktree remove --force "$work/base" >/dev/null 2>&1 || true; fi
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}

# checkout_baseline VAR REV checks REV out, detached, in $work/base, for a build to
# compare with; VAR is the setting's name, for the error.
checkout_baseline() {
	local rev
	rev=$(git rev-parse --verify "$2^{commit}") || {
		echo "$1=$2 is not a revision of this repository" >&2
		exit 1
	}
	echo "checking out $2 ($rev) to build it too"
	git worktree add --detach "$work/base" "$rev" >/dev/null
}

# start_versitygw starts $versitygw on a free loopback port (s3port), with a bucket
# media, for the one multipart create of the parts load: a bucket of its posix backend
# is a directory.
# shellcheck disable=SC2154 # versitygw is the sourcing script's
start_versitygw() {
	if [ ! -x "$versitygw" ]; then
		echo "no versitygw at $versitygw: run it through make (which builds one) or set PRESIGND_VERSITYGW" >&2
		exit 1
	fi
	mkdir -p "$work/s3/media" "$work/s3-versions"
	s3port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	env -i PATH="$PATH" HOME="$HOME" "$versitygw" --access "$access" --secret "$secret" --region us-east-1 \
		--port "127.0.0.1:$s3port" --health /health --quiet posix --versioning-dir "$work/s3-versions" "$work/s3" \
		>"$work/versitygw.log" 2>&1 &
	pids+=("$!")
}

# write_presignd_config FILE writes the config of the loads: a static-token client
# (token, made here), JWT callers of the local issuer that $work/mint makes (issuer),
# a trusted proxy's user (proxy_user), all with the same grants, and a rate-limited
# client nobody loads. It needs $work/presignd (for hash-token) and s3port.
write_presignd_config() {
	issuer=$("$work/mint" -dir "$work")
	token=$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
	proxy_user=loadtest@example.com
	grants='
      - {bucket: media, prefixes: ["reports/"], methods: [GET, HEAD], max_ttl: 24h}
      - {bucket: media, prefixes: ["uploads/"], methods: [PUT], max_ttl: 1h, content_types: ["image/png"], max_content_length: 1073741824}'
	cat >"$1" <<EOC
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
s3: {region: us-east-1, endpoint: "http://127.0.0.1:$s3port", path_style: true}
shutdown: {drain_delay: 0s, grace: 5s}
identity:
  issuers:
    - {name: loadtest, issuer: "$issuer", jwks_file: "$work/jwks.json", audiences: [presignd], algorithms: [RS256, ES256]}
  trusted_proxies: {from: ["127.0.0.1/32"]}
clients:
  - name: loadtest
    token_sha256: "$(printf %s "$token" | "$work/presignd" hash-token)"
    grants: $grants
  - name: jwt-callers
    match: [{issuer: loadtest, subject: loadtest}]
    grants: $grants
  - name: proxy-callers
    match: [{proxy_user: "$proxy_user"}]
    grants: $grants
  - name: other
    token_sha256: "$(printf %s "other-$token" | "$work/presignd" hash-token)"
    rate_limit: {rps: 100, burst: 200}
    grants:
      - {bucket: media, prefixes: ["other/"], methods: [GET], max_ttl: 1h}
EOC
}
