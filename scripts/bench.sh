#!/usr/bin/env bash
# make bench: the built maildns over N generated domains (N = 1,000, 10,000
# and 100,000 by default), each domain in
# its own zone and all of them in one shared zone: --dry-run, --once with one
# domain in ten drifting (on a fresh copy each time), with wall time, CPU
# time (and per domain), peak RSS and provider calls; the growth from each
# N to the next; a check that a dry run read each provider zone once; a
# daemon run of BENCH_CYCLES cycles at BENCH_DAEMON_SIZE domains (CPU-s and
# RSS per cycle, provider calls); the measured figures against the
# performance targets; then the Go benchmarks of the hot paths. Each row
# and the daemon run show ref_cpu_s, the CPU time of a fixed piece of work
# (scripts/benchref) just before: this machine's speed at that moment.
#
#   BENCH_SIZES="1000 10000 100000"
#                             domain counts (the data is generated once per
#                             BENCH_DIR and reused; 100,000 domains take
#                             ~1.3 GB of disk and a few minutes in all)
#   BENCH_RUNS=3              timed runs per size: the median wall time is
#                             shown, with that run's CPU, and the largest RSS
#   BENCH_DIR=DIR             where the data, plans and logs go, kept for the
#                             next run (default: a temporary directory, removed)
#   BENCH_SHARED=all          also run every size with this many domains
#                             sharing each zone (all: one zone; 0: not): still
#                             one read per zone
#   BENCH_ONCE=1              also time --once (0: not)
#   BENCH_CYCLES=10           daemon cycles (0: no daemon run); the first
#                             converges the drift, the rest find none
#   BENCH_DAEMON_SIZE=10000   domains of the daemon run (one zone each)
#   BENCH_RFC2136=100         zones on BIND for a no-drift rfc2136 daemon
#                             cycle (wire messages, bytes and CPU per cycle;
#                             0: not run; 10000 takes minutes to set up)
#   GOBENCH=0                 skip the Go benchmarks
#   GOBENCH_PATTERN=REGEXP    which Go benchmarks (default: the hot paths)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${BENCH_SIZES:-"1000 10000 100000"}
RUNS=${BENCH_RUNS:-3}
SHARED=${BENCH_SHARED:-all}
ONCE=${BENCH_ONCE:-1}
CYCLES=${BENCH_CYCLES:-10}
DAEMON_SIZE=${BENCH_DAEMON_SIZE:-10000}
if [ -n "${BENCH_DIR:-}" ]; then
	WORK=$BENCH_DIR
else
	WORK=$(mktemp -d -t maildns-bench.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT # generated data is kept only in a BENCH_DIR
fi
GOBENCH=${GOBENCH:-1}
PATTERN=${GOBENCH_PATTERN:-'^Benchmark(LoadConfig|Compile|ZoneParse|GetRecords|Plan|Diff|RunDryRun|ZoneResolverLookup|SharedZoneSteps|WriteJSON)'}
mkdir -p "$WORK"
go build -trimpath -o "$WORK/maildns" ./cmd/maildns
go build -o "$WORK/benchref" ./scripts/benchref

# reference sets ref to the CPU seconds of benchref's fixed work, and
# keeps the lowest and highest seen.
ref="" ref_min="" ref_max=""
reference() {
	ref=$("$WORK/benchref")
	ref_min=$(awk -v a="${ref_min:-$ref}" -v b="$ref" 'BEGIN {print (b < a ? b : a)}')
	ref_max=$(awk -v a="${ref_max:-$ref}" -v b="$ref" 'BEGIN {print (b > a ? b : a)}')
}

# median prints the middle value of its arguments.
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

status=0
declare -A prev_wall prev_cpu res_wall res_cpu res_rss
prev_n=""
daemon_cpu="" daemon_rss=""

# gen DIR N PER_ZONE: generate the data once.
gen() {
	if [ ! -f "$1/maildns.yaml" ]; then
		go run ./scripts/benchgen -n "$2" -domains-per-zone "$3" -dir "$1" >/dev/null
	fi
}

# measure LABEL MODE DIR N: time RUNS runs of maildns --MODE over DIR (for
# --once, each on a fresh copy of DIR), print a row.
measure() {
	local label=$1 mode=$2 dir=$3 n=$4
	local tag=${label//\//s}.$mode # for file names
	local walls=() cpus=() rss_max=0 calls="" r rc t0 t1 wall cpu rss zones run_dir
	# Warm the page cache once so the figures measure maildns, not the disk.
	"$WORK/maildns" --config "$dir/maildns.yaml" --dry-run --output json >/dev/null 2>&1 || true
	reference
	for ((r = 1; r <= RUNS; r++)); do
		run_dir=$dir
		if [ "$mode" = once ]; then
			run_dir=$WORK/once
			rm -rf "$run_dir" && cp -r "$dir" "$run_dir" && rm -rf "$run_dir/state"
			# Written to disk like data that has been there a while: the
			# journal's flush must not also flush the copy just made.
			sync
		fi
		set +e
		t0=$EPOCHREALTIME
		/usr/bin/time -v -o "$WORK/time.$tag" "$WORK/maildns" --config "$run_dir/maildns.yaml" "--$mode" --output json \
			>"$WORK/plan.$tag.json" 2>"$WORK/log.$tag"
		rc=$?
		t1=$EPOCHREALTIME
		set -e
		if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
			echo "maildns --$mode over $label domains failed (exit $rc):" >&2
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
	[ "$mode" = once ] && rm -rf "$WORK/once"
	wall=$(median "${walls[@]}")
	cpu=$(printf '%s\n' "${cpus[@]}" | awk -v w="$wall" '$1 == w {print $2; exit}')
	zones=$(find "$dir/zones" -maxdepth 1 -name '*.zone' | wc -l)
	printf '%-14s %-8s %8s %8s %11s %12s %15s %7s %9s\n' "$label" "$mode" "$wall" "$cpu" \
		"$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.1f", c / n * 1e6}')" "$rss_max" "${calls:-?}" "$zones" "$ref"
	# One read per provider zone: benchgen writes one zone file per zone.
	if [ "$mode" = dry-run ] && [ "${calls:-}" != "$zones" ]; then
		echo "FAIL: $label domains: ${calls:-no} provider calls for $zones zones (want one read per zone)" >&2
		status=1
	fi
	measured_wall=$wall measured_cpu=$cpu
	res_wall[$tag]=$wall res_cpu[$tag]=$cpu res_rss[$tag]=$rss_max
}

# daemon DIR CYCLES: run the daemon on a copy of DIR every second until it
# has finished CYCLES syncs; print each cycle's CPU time and RSS (from /proc
# when its "sync finished" line appears) and provider calls.
daemon() {
	local src=$1 cycles=$2 d=$WORK/daemon pid done=0 seen=0 tick prev=0 now rss line waited=0 cpu quiet=() rss3="" rss_peak=0
	tick=$(getconf CLK_TCK)
	rm -rf "$d" && cp -r "$src" "$d" && rm -rf "$d/state"
	sed -i 's/^schedule:.*/schedule: "@every 1s"/' "$d/maildns.yaml"
	reference
	"$WORK/maildns" --config "$d/maildns.yaml" >/dev/null 2>"$d/log" &
	pid=$!
	printf '%-6s %8s %8s %15s %8s\n' cycle cpu_s rss_mb provider_calls changes
	while [ "$done" -lt "$cycles" ]; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "FAIL: the daemon exited:" >&2
			tail -20 "$d/log" >&2
			status=1
			return
		fi
		seen=$(grep -c '"msg":"sync finished"' "$d/log" || true)
		if [ "$seen" -gt "$done" ]; then
			now=$(awk '{print $14 + $15}' "/proc/$pid/stat")
			rss=$(awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
			done=$((done + 1))
			line=$(grep '"msg":"sync finished"' "$d/log" | sed -n "${done}p")
			cpu=$(awk -v a="$prev" -v b="$now" -v t="$tick" 'BEGIN {printf "%.2f", (b - a) / t}')
			# The cycles after the first two (which converge the drift and
			# read back what they wrote) have nothing to do.
			if [ "$done" -ge 3 ]; then
				quiet+=("$cpu")
				[ -z "$rss3" ] && rss3=$rss
				rss_peak=$(awk -v a="${rss_peak:-0}" -v b="$rss" 'BEGIN {print (b > a ? b : a)}')
			fi
			printf '%-6s %8s %8s %15s %8s\n' "$done" "$cpu" "$rss" \
				"$(grep -o '"provider_calls":[0-9]*' <<<"$line" | cut -d: -f2)" \
				"$(grep -o '"changes":[0-9]*' <<<"$line" | cut -d: -f2)"
			prev=$now waited=0
			continue
		fi
		sleep 0.05
		waited=$((waited + 1))
		if [ "$waited" -gt 12000 ]; then # 10 minutes without a cycle
			echo "FAIL: no daemon cycle in 10 minutes" >&2
			status=1
			break
		fi
	done
	kill "$pid" && wait "$pid" || true
	rm -rf "$d"
	if [ "${#quiet[@]}" -gt 0 ]; then
		cpu=$(median "${quiet[@]}")
		echo "daemon cycles 3-$done: median $cpu CPU-s (target 0.1 at 10,000 domains); RSS $rss3 -> $rss MB, at most $rss_peak; ref_cpu_s $ref"
		daemon_cpu=$cpu daemon_rss=$rss_peak
		awk -v a="$rss3" -v b="$rss" 'BEGIN { if (b > a * 1.1 + 5) print "WARN: daemon RSS grew from cycle 3 on" }'
	fi
}

shared_of() { # the domains per zone of the shared runs for n domains
	if [ "$SHARED" = all ]; then echo "$1"; else echo "$SHARED"; fi
}

echo "ref_cpu_s: the CPU seconds of a fixed piece of work (scripts/benchref) just before the row's runs;"
echo "this machine's speed moves: rows are comparable at the same ref_cpu_s (a higher one is a slower machine)"
printf '%-14s %-8s %8s %8s %11s %12s %15s %7s %9s\n' domains mode wall_s cpu_s cpu_us_per_d peak_rss_mb provider_calls zones ref_cpu_s
modes=dry-run
[ "$ONCE" = 1 ] && modes="dry-run once"
growth=()
for n in $SIZES; do
	per=$(shared_of "$n")
	gen "$WORK/n$n" "$n" 1
	[ "$per" != 0 ] && gen "$WORK/n${n}s$per" "$n" "$per"
	for mode in $modes; do
		keys=("$mode")
		measure "$n" "$mode" "$WORK/n$n" "$n"
		walls=("$measured_wall") cpus_=("$measured_cpu")
		if [ "$per" != 0 ]; then
			measure "$n/$per" "$mode" "$WORK/n${n}s$per" "$n"
			keys+=("$mode.shared") walls+=("$measured_wall") cpus_+=("$measured_cpu")
		fi
		for i in "${!keys[@]}"; do
			k=${keys[$i]}
			if [ -n "$prev_n" ]; then
				growth+=("$(awk -v k="$k" -v n0="$prev_n" -v w0="${prev_wall[$k]}" -v n1="$n" -v w1="${walls[$i]}" \
					-v c0="${prev_cpu[$k]}" -v c1="${cpus_[$i]}" 'BEGIN {
					x = n1 / n0; t = w1 / w0; c = (c0 > 0 ? c1 / c0 : 0)
					printf "%s %d -> %d: %gx the domains took %.1fx the wall time, %.1fx the CPU time (target: at most %gx)", k, n0, n1, x, t, c, x * 1.1
					if (c > x * 1.1) printf " -- NOT MET (CPU)"
				}')")
			fi
			prev_wall[$k]=${walls[$i]} prev_cpu[$k]=${cpus_[$i]}
		done
	done
	prev_n=$n
done
[ "${#growth[@]}" -gt 0 ] && printf '%s\n' "${growth[@]}"

if [ "$CYCLES" -gt 0 ]; then
	gen "$WORK/n$DAEMON_SIZE" "$DAEMON_SIZE" 1
	echo "daemon, $DAEMON_SIZE domains, one zone each, $CYCLES cycles (the first converges the drift):"
	daemon "$WORK/n$DAEMON_SIZE" "$CYCLES"
fi

# target LABEL VALUE LIMIT UNIT: a measured figure against its target.
target() {
	[ -n "$2" ] || return 0
	awk -v l="$1" -v v="$2" -v m="$3" -v u="$4" 'BEGIN {
		printf "%-54s %8s %-5s (target %s %s) %s\n", l, v, u, m, u, (v + 0 <= m + 0 ? "met" : "NOT MET")
	}'
}
echo "performance targets (wall times hold only on a quiet machine):"
[ -n "$ref_min" ] && echo "the machine's reference work took $ref_min to $ref_max CPU-s during the runs"
target "100,000 --dry-run, wall" "${res_wall[100000.dry-run]:-}" 5 s
target "100,000 --dry-run, peak RSS" "${res_rss[100000.dry-run]:-}" 600 MB
[ -n "${res_cpu[100000.dry-run]:-}" ] && target "100,000 --dry-run, CPU per domain" \
	"$(awk -v c="${res_cpu[100000.dry-run]}" 'BEGIN {printf "%.1f", c / 100000 * 1e6}')" 60 µs
target "10,000 --dry-run, wall" "${res_wall[10000.dry-run]:-}" 0.5 s
target "10,000 --dry-run, peak RSS" "${res_rss[10000.dry-run]:-}" 120 MB
target "10,000 in one zone, --once (1 in 10 drifting), wall" "${res_wall[10000s10000.once]:-}" 1.2 s
target "daemon $DAEMON_SIZE, no drift, CPU per cycle (median)" "$daemon_cpu" 0.1 CPU-s
target "daemon $DAEMON_SIZE, no drift, RSS" "$daemon_rss" 150 MB

RFC2136=${BENCH_RFC2136:-100}
if [ "$RFC2136" -gt 0 ]; then
	echo "rfc2136 daemon, $RFC2136 zones on BIND, a no-drift cycle (one SOA query per zone, no transfer):"
	MAILDNS_BENCH_RFC2136_ZONES=$RFC2136 go test -run '^$' -bench '^BenchmarkRFC2136DaemonCycle$' -benchtime 5x ./contract/ |
		grep -E '^(Benchmark|--- FAIL)|bench_daemon_test' || status=1
fi

if [ "$GOBENCH" = 1 ]; then
	go test -run '^$' -bench "$PATTERN" -benchmem ./policy/... ./providers/... ./sync/...
fi
exit $status
