#!/usr/bin/env bash
# The gateway's own cost: crates/bcr-serve/examples/overhead.rs at several
# offered rates (direct to a trivial upstream, then through bcr serve), one
# JSON per rate and a summary table. See bench/serve/README.md.
#
#   bench/serve/overhead.sh
#   RATES="5000" SECONDS_PER_RATE=20 CONNECTIONS=1000 OUT=/tmp/ovh bench/serve/overhead.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rates=${RATES:-"1000 2000 3000 5000"}
secs=${SECONDS_PER_RATE:-10}
conns=${CONNECTIONS:-1000}
out=${OUT:-bench/results/$(date -u +%Y-%m-%d)-serve-overhead}
cargo build --release -q -p bcr-serve --example overhead
bin=${CARGO_TARGET_DIR:-target}/release/examples/overhead
mkdir -p "$out"
# 1,000 client connections + the gateway's and upstream's ends of them.
ulimit -n 16384 2>/dev/null || ulimit -n "$(ulimit -Hn)"
{
  echo "date: $(date -u +%FT%TZ)"; echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "rates: $rates"; echo "seconds per rate: $secs"; echo "connections: $conns"
  echo "cpu: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
} >"$out/config.txt"
for rate in $rates; do
  echo "== $rate req/s" >&2
  "$bin" --rate "$rate" --seconds "$secs" --connections "$conns" --out "$out/rate-$rate.json" >/dev/null
done
python3 - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = [json.load(open(p)) for p in glob.glob(os.path.join(out, "rate-*.json"))]
rows.sort(key=lambda r: r["rate"])
lines = ["| offered req/s | direct p50 / p99 ms | gateway p50 / p99 ms | added p99 ms | gateway answered/s "
         "| errors | wrong | connections held |", "|---|---|---|---|---|---|---|---|"]
for r in rows:
    d, g = r["direct"], r["gateway"]
    lines.append(f"| {r['rate']:.0f} | {d['p50_ms']:.2f} / {d['p99_ms']:.2f} | {g['p50_ms']:.2f} / {g['p99_ms']:.2f} "
                 f"| {r['added_p99_ms']:.2f} | {g['achieved_rps']:.0f} | {g['errors'] + d['errors']} "
                 f"| {g['wrong'] + d['wrong']} | {r['connections_held']} of {r['connections']} |")
text = "\n".join(lines) + "\n"
open(os.path.join(out, "summary.md"), "w").write(text)
print(text)
PY
echo "results in $out" >&2
