#!/usr/bin/env bash
# make bench: the built maildns --dry-run over N generated domains (N = 1,000
# and 10,000 by default), with wall time, CPU time, peak RSS and provider
# calls; the growth from the smallest to the largest N; a check that the run
# read each provider zone once; then the Go benchmarks of the hot paths.
#
#   BENCH_SIZES="1000 10000"  domain counts (the data is generated once per
#                             BENCH_DIR and reused)
#   BENCH_RUNS=3              timed runs per size: the median wall time is
#                             shown, with that run's CPU, and the largest RSS
#   BENCH_DIR=DIR             where the data, plans and logs go, kept for the
#                             next run (default: a temporary directory, removed)
#   BENCH_SHARED=4            also run the largest size with this many domains
#                             sharing each zone (0: not): still one read per zone
#   GOBENCH=0                 skip the Go benchmarks
#   GOBENCH_PATTERN=REGEXP    which Go benchmarks (default: the hot paths)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${BENCH_SIZES:-"1000 10000"}
RUNS=${BENCH_RUNS:-3}
SHARED=${BENCH_SHARED:-4}
if [ -n "${BENCH_DIR:-}" ]; then
	WORK=$BENCH_DIR
else
	WORK=$(mktemp -d -t maildns-bench.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT # generated data is kept only in a BENCH_DIR
fi
GOBENCH=${GOBENCH:-1}
PATTERN=${GOBENCH_PATTERN:-'^Benchmark(LoadConfig|Compile|ZoneParse|GetRecords|Plan|Diff|RunDryRun|ZoneResolverLookup)'}
mkdir -p "$WORK"
go build -trimpath -o "$WORK/maildns" ./cmd/maildns

# median prints the middle value of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

status=0
first_n="" first_wall="" last_n="" last_wall=""

# measure LABEL DIR N PER_ZONE: generate (once) and time the dry runs, print a row.
measure() {
	local label=$1 dir=$2 n=$3 per=$4
	local tag=${label//\//s} # for file names
	if [ ! -f "$dir/maildns.yaml" ]; then
		go run ./scripts/benchgen -n "$n" -domains-per-zone "$per" -dir "$dir" >/dev/null
	fi
	# Warm the page cache once so the figures measure maildns, not the disk.
	"$WORK/maildns" --config "$dir/maildns.yaml" --dry-run --output json >/dev/null 2>&1 || true
	local walls=() cpus=() rss_max=0 calls="" r rc t0 t1 wall cpu rss zones
	for ((r = 1; r <= RUNS; r++)); do
		set +e
		t0=$EPOCHREALTIME
		/usr/bin/time -v -o "$WORK/time.$tag" "$WORK/maildns" --config "$dir/maildns.yaml" --dry-run --output json \
			>"$WORK/plan.$tag.json" 2>"$WORK/log.$tag"
		rc=$?
		t1=$EPOCHREALTIME
		set -e
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
			echo "maildns --dry-run over $label domains failed (exit $rc):" >&2
			tail -20 "$WORK/log.$tag" >&2
			exit 1
		fi
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
		cpu=$(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.2f", u+s}' "$WORK/time.$tag")
		rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$WORK/time.$tag")
		walls+=("$wall") && cpus+=("$wall $cpu")
		rss_max=$(awk -v a="$rss_max" -v b="$rss" 'BEGIN {print (b > a ? b : a)}')
		calls=$(grep -o '"provider_calls":[0-9]*' "$WORK/log.$tag" | tail -1 | cut -d: -f2 || true)
	done
	wall=$(median "${walls[@]}")
	cpu=$(printf '%s\n' "${cpus[@]}" | awk -v w="$wall" '$1 == w {print $2; exit}')
	# One read per provider zone: benchgen writes one zone file per zone.
	zones=$(find "$dir/zones" -maxdepth 1 -name '*.zone' | wc -l)
	printf '%-8s %8s %8s %12s %15s %7s\n' "$label" "$wall" "$cpu" "$rss_max" "${calls:-?}" "$zones"
	if [ "${calls:-}" != "$zones" ]; then
		echo "FAIL: $label domains: ${calls:-no} provider calls for $zones zones (want one read per zone)" >&2
		status=1
	fi
	measured_wall=$wall
}

printf '%-8s %8s %8s %12s %15s %7s\n' domains wall_s cpu_s peak_rss_mb provider_calls zones
for n in $SIZES; do
	measure "$n" "$WORK/n$n" "$n" 1
	if [ -z "$first_n" ]; then
		first_n=$n first_wall=$measured_wall
	fi
	last_n=$n last_wall=$measured_wall
done
if [ "$SHARED" -gt 1 ]; then
	measure "$last_n/$SHARED" "$WORK/n${last_n}s$SHARED" "$last_n" "$SHARED"
fi
if [ "$first_n" != "$last_n" ]; then
	awk -v n0="$first_n" -v w0="$first_wall" -v n1="$last_n" -v w1="$last_wall" 'BEGIN {
		x = n1 / n0; t = w1 / w0
		printf "%gx the domains took %.1fx the wall time (linear: %gx; target: at most %gx)\n", x, t, x, x * 1.2
		if (t > x * 1.2) { print "WARN: superlinear growth" }
	}'
fi

if [ "$GOBENCH" = 1 ]; then
	go test -run '^$' -bench "$PATTERN" -benchmem ./policy/... ./providers/... ./sync/...
fi
exit $status
