#!/usr/bin/env bash
# bench/run.sh: pixels' performance figures, measured in one run on this machine.
#
#   bash bench/run.sh
#
# BENCH_REPS (default 7) and BENCH_SLOW_REPS (default 3) set the repetitions of the quick
# and of the slow figures; BENCH_ONLY="calls exec" runs only the sections named (startup,
# calls, fanout, exec, memory); BENCH_NO_GNU_TIME=1 measures peak RSS from /proc even where
# /usr/bin/time exists.
#
# It builds pixels once into a temporary directory and runs it against built-in simulators
# in throwaway HOME/XDG directories ("worlds"), one per figure, so nothing of the user's
# configuration, cache or real NAS is touched. Machines here are shared and noisy, so every
# figure is a ratio of two medians taken in the same run, the two sides interleaved. Every
# simulator started is stopped and every temporary directory removed on exit, also on
# failure. Targets are reported as PASS/FAIL; the script still exits 0 when one is missed,
# and non-zero only when pixels itself fails.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
reps=${BENCH_REPS:-7}
slow_reps=${BENCH_SLOW_REPS:-3}

sections=${BENCH_ONLY:-startup calls fanout exec memory}
for section in $sections; do
	case $section in
	startup | calls | fanout | exec | memory) ;;
	*) echo "bench: unknown section $section in BENCH_ONLY" >&2 && exit 2 ;;
	esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/pixels-bench.XXXXXX")
bin="$work/bin/pixels"
declare -A faults=() polls=()
worlds=()

cleanup() {
	local w
	for w in "${worlds[@]}"; do
		px "$w" sim stop >/dev/null 2>&1 || echo "bench: could not stop the simulator of $w" >&2
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# world NAME [FAULTS] [POLL]: a fresh HOME with its own config, cache (and so simulator).
world() {
	worlds+=("$1")
	faults[$1]=${2:-}
	polls[$1]=${3:-}
	mkdir -p "$work/$1/config/pixels/scripts" "$work/$1/cache" "$work/$1/data"
}

# pxenv WORLD: sets pxvars to the environment of pixels in WORLD, holding nothing of the
# caller's (no PIXELS_TRUENAS_*, no agent), so only the world's simulator is ever reached.
pxenv() {
	local w=$1
	pxvars=(PATH="$PATH" TMPDIR="${TMPDIR:-/tmp}" HOME="$work/$w"
		XDG_CONFIG_HOME="$work/$w/config" XDG_CACHE_HOME="$work/$w/cache"
		XDG_DATA_HOME="$work/$w/data" SSH_AUTH_SOCK= PIXELS_SIM_IDLE=5m)
	if [[ -n ${faults[$w]} ]]; then pxvars+=(PIXELS_SIM_FAULTS="${faults[$w]}"); fi
	if [[ -n ${polls[$w]} ]]; then
		pxvars+=(PIXELS_POLL_INTERVAL="${polls[$w]}" PIXELS_RETRY_INTERVAL="${polls[$w]}")
	fi
}

# px WORLD ARGS...: pixels in WORLD.
px() {
	pxenv "$1"
	env -i "${pxvars[@]}" "$bin" "${@:2}"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# timed WORLD ARGS...: prints the wall time of one pixels run in ms; its output is dropped.
# A failed run prints its stderr and returns 1.
timed() {
	local t0 t1
	t0=$(now_ms)
	if ! px "$@" >/dev/null 2>"$work/last.err"; then
		echo "bench: FAILED: pixels ${*:2}:" >&2
		{ grep -v 'warning: this run created' "$work/last.err" || true; } |
			sed 's/^/bench:   /' | head -n 4 >&2 || true
		return 1
	fi
	t1=$(now_ms)
	echo $((t1 - t0))
}

median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN {print (r < t ? "PASS" : "FAIL")}'; }

summary=()
# figure NAME A_MS B_MS TARGET: one line of the results; TARGET "-" means none.
figure() {
	local r
	r=$(ratio "$2" "$3")
	if [[ $4 == - ]]; then
		summary+=("$(printf '%-34s %7sx  (%s ms / %s ms)' "$1" "$r" "$2" "$3")")
	else
		summary+=("$(printf '%-34s %7sx  (%s ms / %s ms)  target < %sx: %s' \
			"$1" "$r" "$2" "$3" "$4" "$(verdict "$r" "$4")")")
	fi
	echo "  ${summary[-1]}"
}

# bench_startup: --help and list with no user scripts and with 50 trivial ones.
bench_startup() {
	echo
	echo "startup (median of $reps):"
	world s0
	world s50
	local i
	for i in $(seq 1 50); do
		cat >"$work/s50/config/pixels/scripts/bench$i.lua" <<-LUA
			local px = require("pixels")
			return px.command { name = "bench$i", summary = "trivial command $i",
			  run = function() return $i end }
		LUA
	done
	px s0 list >/dev/null 2>&1 # start the simulators: list is measured warm ("cached")
	px s50 list >/dev/null 2>&1
	local h0=() h50=() l0=() l50=() t
	for ((i = 0; i < reps; i++)); do
		t=$(timed s0 --help) || exit 1
		h0+=("$t")
		t=$(timed s50 --help) || exit 1
		h50+=("$t")
		t=$(timed s0 list) || exit 1
		l0+=("$t")
		t=$(timed s50 list) || exit 1
		l50+=("$t")
	done
	figure "startup --help, 50 scripts / 0" "$(median "${h50[@]}")" "$(median "${h0[@]}")" 1.5
	figure "startup list, 50 scripts / 0" "$(median "${l50[@]}")" "$(median "${l0[@]}")" 1.5
}

# calls WORLD ARGS...: one pixels run under --debug; prints "total session polls breakdown",
# counting the client's "truenas call" log lines (one per JSON-RPC request it sends).
calls() {
	local w=$1
	shift
	if ! px "$w" --debug "$@" >/dev/null 2>"$work/calls.log"; then
		echo "bench: pixels $* failed:" >&2
		cat "$work/calls.log" >&2
		exit 1
	fi
	{ grep 'msg="truenas call"' "$work/calls.log" || true; } | sed 's/.* method=\([^ ]*\).*/\1/' |
		sort | uniq -c | awk '
			{t += $1}
			$2 ~ /^(auth\.login_ex|core\.subscribe|system\.version)$/ {session += $1; next}
			$2 == "core.get_jobs" {polls += $1; next}
			{out = out sprintf("%s%s%s", (out == "" ? "" : ", "), $2, ($1 > 1 ? " x" $1 : ""))}
			END {printf "%d %d %d %s\n", t, session, polls, out}'
}

# bench_calls: JSON-RPC requests per verb, at the default poll interval and job time.
bench_calls() {
	echo
	echo "API round trips per verb (session = login + subscribe + version, once per process;"
	echo "polls = core.get_jobs back-stop polls of jobs whose event was late):"
	world rt
	px rt list >/dev/null 2>&1 # the simulator's start is not a verb's cost
	printf '  %-34s %5s %7s %5s  %s\n' verb total session polls "verb's own calls"
	local v line
	local -a verbs=("list" "create box" "list" "stop box" "start box" "exec box -- true"
		"checkpoint create box --label b1" "destroy box --force")
	for v in "${verbs[@]}"; do
		# shellcheck disable=SC2086 # the verb's words are split on purpose
		line=$(calls rt $v)
		read -r total session polls rest <<<"$line"
		printf '  %-34s %5s %7s %5s  %s\n' "$v" "$total" "$session" "$polls" "$rest"
	done
}

# bench_fanout: 20 creates through one px.parallel against 1 create, with 1 s jobs (so a
# create's job alone takes 3 s); the destroys between repetitions are not timed. A failed
# run is counted and reported, not timed, and the figure comes from the runs that worked.
bench_fanout() {
	echo
	echo "fan-out with job_time=1s (median of $slow_reps):"
	world fan job_time=1s 100ms
	px fan list >/dev/null 2>&1
	local one=() twenty=() ten=() bad=0 i t
	local recipe=(run "$here/fanout.lua" --)
	for ((i = 0; i < slow_reps; i++)); do
		t=$(timed fan "${recipe[@]}" --count 1) || exit 1
		one+=("$t")
		timed fan "${recipe[@]}" --count 1 --limit 10 --destroy >/dev/null || exit 1
		if t=$(timed fan "${recipe[@]}" --count 20); then twenty+=("$t"); else bad=$((bad + 1)); fi
		timed fan "${recipe[@]}" --count 20 --limit 10 --destroy >/dev/null || exit 1
		t=$(timed fan "${recipe[@]}" --count 20 --limit 10) || exit 1
		ten+=("$t")
		timed fan "${recipe[@]}" --count 20 --limit 10 --destroy >/dev/null || exit 1
	done
	local m1
	m1=$(median "${one[@]}")
	if ((${#twenty[@]} > 0)); then
		figure "fan-out, 20 creates / 1 create" "$(median "${twenty[@]}")" "$m1" 3
	fi
	if ((bad > 0)); then
		summary+=("fan-out, 20 creates: $bad of $slow_reps runs FAILED (see above): FAIL")
		echo "  ${summary[-1]}"
	fi
	figure "fan-out, 20 creates (limit 10) / 1" "$(median "${ten[@]}")" "$m1" -
}

# bench_exec: 50 px.exec calls in one recipe (one process, one SSH connection) against 50
# `pixels exec` processes, each logging in and connecting afresh.
bench_exec() {
	echo
	echo "exec, 50 commands (median of $slow_reps):"
	world ex "" 100ms
	px ex create box >/dev/null 2>&1
	local recipe=() procs=() i j t t0
	for ((i = 0; i < slow_reps; i++)); do
		t=$(timed ex run "$here/execs.lua" -- --name box --count 50) || exit 1
		recipe+=("$t")
		t0=$(now_ms)
		for ((j = 0; j < 50; j++)); do
			timed ex exec box -- true >/dev/null || exit 1
		done
		procs+=("$(($(now_ms) - t0))")
	done
	figure "exec, 50 processes / 1 recipe" "$(median "${procs[@]}")" "$(median "${recipe[@]}")" -
}

# peak WORLD ARGS...: the peak resident set of one pixels run, in KiB: GNU time's figure when
# /usr/bin/time is there, else the process's VmHWM polled from /proc until it exits. A failed
# run still has a peak; it prints its stderr and the figure is marked.
peak() {
	pxenv "$1"
	local rc=0
	if [[ -x /usr/bin/time && -z ${BENCH_NO_GNU_TIME:-} ]]; then
		/usr/bin/time -f '%M' -o "$work/peak" env -i "${pxvars[@]}" "$bin" "${@:2}" \
			>/dev/null 2>"$work/last.err" || rc=$?
		peak_kib=$(tail -n 1 "$work/peak")
	else
		env -i "${pxvars[@]}" "$bin" "${@:2}" >/dev/null 2>"$work/last.err" &
		local pid=$! v
		peak_kib=0
		while v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null) && [[ -n $v ]]
		do
			peak_kib=$v
			sleep 0.01
		done
		wait "$pid" || rc=$?
	fi
	if ((rc != 0)); then
		echo "bench: FAILED: pixels ${*:2}:" >&2
		{ grep -v 'warning: this run created' "$work/last.err" || true; } |
			sed 's/^/bench:   /' | head -n 4 >&2 || true
		peak_kib="$peak_kib (run FAILED)"
	fi
}

# bench_memory: peak RSS of `pixels list` and of a recipe creating 20 containers.
bench_memory() {
	echo
	echo "memory (peak RSS of the pixels process; the simulator is a separate process):"
	world mem "" 100ms
	px mem list >/dev/null 2>&1
	peak mem list
	summary+=("$(printf '%-34s %7s KiB' "peak RSS, pixels list" "$peak_kib")")
	echo "  ${summary[-1]}"
	peak mem run "$here/fanout.lua" -- --count 20
	summary+=("$(printf '%-34s %7s KiB' "peak RSS, 20-container recipe" "$peak_kib")")
	echo "  ${summary[-1]}"
	if [[ $peak_kib == *FAILED* ]]; then
		timed mem run "$here/fanout.lua" -- --count 20 --limit 10 --destroy >/dev/null || exit 1
		peak mem run "$here/fanout.lua" -- --count 20 --limit 10
		summary+=("$(printf '%-34s %7s KiB' "peak RSS, same with limit 10" "$peak_kib")")
		echo "  ${summary[-1]}"
	fi
	timed mem run "$here/fanout.lua" -- --count 20 --limit 10 --destroy >/dev/null || exit 1
}

echo "pixels benchmarks, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, reps $reps/$slow_reps"
echo "building pixels..."
(cd "$root" && go build -o "$bin" .)

for section in $sections; do
	"bench_$section"
done

if ((${#summary[@]} > 0)); then
	echo
	echo "summary (ratios of medians):"
	printf '  %s\n' "${summary[@]}"
fi
