#!/usr/bin/env bash
# Throughput and latency of `augur serve` on POST /v1/judgements with inline data:
# 4 metrics x 2 sides x 500 points and an inline native model (augur mode), judged and stored in
# the history (SQLite, fsync per group commit) for every request. Prints judgements per second
# and the latency distribution (p50/p90/p99), and fails if any response is not 2xx.
#
# Usage: bench/server/run_wrk.sh [AUGUR_BINARY]          (default: build/augur)
# Environment (defaults): DURATION=10s THREADS=2 CONNECTIONS=16 POINTS=500 SEED=20261202
#                         READY_TIMEOUT=30 (seconds to wait for the server)
#                         KEEP=1 keeps the temporary directory (body, server log, database)
# Needs: wrk, curl, python3 (Debian: wrk curl python3).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin="${1:-${AUGUR_BIN:-$repo/build/augur}}"
duration="${DURATION:-10s}"
threads="${THREADS:-2}"
connections="${CONNECTIONS:-16}"
points="${POINTS:-500}"
seed="${SEED:-20261202}"
ready_timeout="${READY_TIMEOUT:-30}"

die() { echo "run_wrk: $*" >&2; exit 1; }

for tool in wrk curl python3; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install $tool)"
done
[[ -x "$bin" ]] ||
  die "no executable augur at '$bin' (build it, or pass its path as the first argument)"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/augur-wrk.XXXXXX")"
server_pid=""
cleanup() {
  local rc=$?
  if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # SIGTERM lets in-flight judgements finish; escalate if it takes more than 10 s.
    for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]]; then
    echo "run_wrk: files kept in $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The request body, generated once (seeded): healthy canaries with small shifts, so every metric
# runs the full statistics (ranks, Hodges-Lehmann interval, anomaly score) instead of exiting
# early on missing data.
python3 - "$points" "$seed" "$tmp/body.json" <<'EOF'
import json, math, random, sys
points, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rng = random.Random(seed)
lognormal = lambda median, sigma: rng.lognormvariate(math.log(median), sigma)
specs = [  # name, bad direction, one point (c = canary)
    ("latency-p50", "increase", lambda c: lognormal(0.050 * (1.01 if c else 1), 0.15)),
    ("latency-p99", "increase", lambda c: lognormal(0.250 * (1.02 if c else 1), 0.25)),
    ("success-rate", "decrease", lambda c: min(1.0, rng.gauss(0.9990 - 0.0002 * c, 0.0004))),
    ("cpu-cores", "increase", lambda c: max(0.0, rng.gauss(0.40 * (1.03 if c else 1), 0.05))),
]
model = {"apiVersion": "augur.dev/v1", "kind": "AnalysisModel",
         "metadata": {"name": "bench-4-metrics"},
         "spec": {"mode": "augur", "thresholds": {"pass": 75, "marginal": 50},
                  "defaults": {"confLevel": 0.95, "minSamples": 10},
                  "metrics": [{"name": n, "query": n.replace("-", "_"), "direction": d,
                               "effectFloor": {"relative": 0.05}} for n, d, _ in specs]}}
data = {"metrics": [{"name": n, "tags": {},
                     "baseline": [round(g(False), 6) for _ in range(points)],
                     "canary": [round(g(True), 6) for _ in range(points)]} for n, _, g in specs]}
with open(out, "w") as f:
    json.dump({"model": model, "mode": "augur", "target": "bench/judgements", "data": data}, f,
              separators=(",", ":"))
EOF
echo "run_wrk: body $(wc -c <"$tmp/body.json") bytes (4 metrics x 2 x $points points, seed $seed)"

# A free port: bind port 0, read it back, close. The short race with other processes is
# caught below (the server exits when it cannot bind, and its log says so).
port="$(python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:$port"

args=(serve --listen "127.0.0.1:$port" --storage "$tmp/augur.db")
# A binary in a build tree finds no installed share/augur: point it at the checkout's files.
[[ -d "$repo/models" ]] && args+=(--models "$repo/models")
[[ -d "$repo/queries" ]] && args+=(--queries "$repo/queries")
"$bin" "${args[@]}" >"$tmp/server.log" 2>&1 &
server_pid=$!
echo "run_wrk: started $bin ${args[*]} (pid $server_pid)"

# Readiness. /readyz also reports the metric source; this server has none configured, which the
# inline-data judgements do not need. So: 200 -> go; any other HTTP answer for 3 s -> go with a
# warning; no answer within READY_TIMEOUT -> fail.
deadline=$((SECONDS + ready_timeout))
first_answer=""
while :; do
  kill -0 "$server_pid" 2>/dev/null ||
    die "server exited during start-up; its log ($tmp/server.log):
$(tail -n 20 "$tmp/server.log")"
  code="$(curl -s -o "$tmp/readyz.json" -w '%{http_code}' --max-time 2 "$base/readyz" || true)"
  [[ "$code" == 200 ]] && break
  if [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]; then
    [[ -z "$first_answer" ]] && first_answer=$SECONDS
    if ((SECONDS - first_answer >= 3)); then
      echo "run_wrk: warning: /readyz answers $code ($(head -c 300 "$tmp/readyz.json"));" \
        "continuing, inline judgements need no source" >&2
      break
    fi
  fi
  ((SECONDS < deadline)) || die "server not answering on $base/readyz after ${ready_timeout}s; log:
$(tail -n 20 "$tmp/server.log")"
  sleep 0.1
done

auth=()
[[ -n "${AUGUR_TOKEN:-}" ]] && auth=(-H "Authorization: Bearer $AUGUR_TOKEN")
# One request first: a wrong body or a missing endpoint shows up here with the server's message,
# not as thousands of non-2xx responses.
code="$(curl -s -o "$tmp/first.json" -w '%{http_code}' --max-time 30 "${auth[@]}" \
  -H 'Content-Type: application/json' --data-binary "@$tmp/body.json" \
  "$base/v1/judgements" || true)"
[[ "$code" == 200 ]] ||
  die "POST /v1/judgements answered '$code': $(head -c 500 "$tmp/first.json")"
python3 - "$tmp/first.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
print(f"run_wrk: first judgement: verdict {j.get('verdict')}, score {j.get('score')}, "
      f"{len(j.get('metrics', []))} metrics, id {j.get('id')}")
EOF

echo "run_wrk: wrk -t$threads -c$connections -d$duration --latency against $base/v1/judgements"
AUGUR_BENCH_BODY="$tmp/body.json" wrk -t"$threads" -c"$connections" -d"$duration" --latency \
  --timeout 10s -s "$here/judgements.lua" "$base/v1/judgements" | tee "$tmp/wrk.out"

value() { awk -v k="$1" '$1 == "augur_bench" && $2 == k { print $3 }' "$tmp/wrk.out"; }
requests="$(value requests)"
[[ -n "$requests" ]] || die "wrk printed no results (see above)"
non2xx="$(value non2xx)"
socket_errors="$(value socket_errors)"
echo
echo "judgements/s: $(value judgements_per_s)   p50: $(value latency_p50_ms) ms" \
  "  p99: $(value latency_p99_ms) ms   max: $(value latency_max_ms) ms" \
  "  ($requests requests, $threads threads, $connections connections, $duration)"
((requests > 0)) || die "no request completed"
if ((non2xx > 0)); then
  first="$(awk '$2 == "first_non2xx"' "$tmp/wrk.out" | cut -d' ' -f3-)"
  die "$non2xx of $requests responses were not 2xx; first: $first"
fi
# A few socket errors can come from connections cut when wrk stops; more than 1% are a problem
# (the server dropped connections or took longer than wrk's 10 s timeout).
if ((socket_errors * 100 > requests)); then
  die "$socket_errors socket errors in $requests requests (see wrk's 'Socket errors' line above)"
elif ((socket_errors > 0)); then
  echo "run_wrk: warning: $socket_errors socket errors (see wrk's 'Socket errors' line above)" >&2
fi
