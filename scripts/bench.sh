#!/usr/bin/env bash
# make bench: the built maildns --dry-run over N generated domains (N = 1,000
# and 10,000 by default), with wall time, CPU time, peak RSS and provider
# calls; then the Go benchmarks of the hot paths.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${BENCH_SIZES:-"1000 10000"}
WORK=${BENCH_DIR:-$(mktemp -d -t maildns-bench.XXXXXX)}
GOBENCH=${GOBENCH:-1}
mkdir -p "$WORK"
go build -trimpath -o "$WORK/maildns" ./cmd/maildns

printf '%-8s %10s %10s %12s %s\n' domains wall_s cpu_s peak_rss_mb provider_calls
for n in $SIZES; do
	dir="$WORK/n$n"
	if [ ! -f "$dir/maildns.yaml" ]; then
		go run ./scripts/benchgen -n "$n" -dir "$dir" >/dev/null
	fi
	# Warm the page cache once so the figures measure maildns, not the disk.
	"$WORK/maildns" --config "$dir/maildns.yaml" --dry-run --output json >/dev/null 2>&1 || true
	set +e
	/usr/bin/time -v -o "$WORK/time.$n" "$WORK/maildns" --config "$dir/maildns.yaml" --dry-run --output json \
		>"$WORK/plan.$n.json" 2>"$WORK/log.$n"
	rc=$?
	set -e
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
		echo "maildns --dry-run over $n domains failed (exit $rc):" >&2
		tail -20 "$WORK/log.$n" >&2
		exit 1
	fi
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$WORK/time.$n")
	cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$WORK/time.$n")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/time.$n")
	calls=$(grep -o '"provider_calls":[0-9]*' "$WORK/log.$n" | tail -1 | cut -d: -f2 || true)
	printf '%-8s %10s %10s %12s %s\n' "$n" "$wall" "$cpu" "$rss" "${calls:-?}"
done

if [ "$GOBENCH" = 1 ]; then
	go test -run '^$' -bench . -benchmem ./policy/... ./providers/... ./sync/...
fi
