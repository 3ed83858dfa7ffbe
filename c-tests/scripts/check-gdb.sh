#!/bin/sh
# check-gdb.sh: HERMIT_DEBUG=1 — GDB (gdb -batch) debugs gdb_target through the proxy's stub.
# usage: check-gdb.sh <proxy> <gdb_target image> <gdb_target.c> <scratch directory> <case>
# Cases: main (break at main, next three lines, a local, bt into libc_start, two vCPUs in
# info threads, continue to the exit status), thread (a breakpoint in the second thread, its
# FS base, an AVX register written),
# hypercall-step (stepi over a port access), interrupt (Ctrl-C, write a variable, continue),
# detach, drop (GDB killed mid-run), kill, port-in-use, tasks-1cpu and tasks-2cpus (the
# blocked threads of a 3-thread program in info threads, `thread N` + bt on each), segv (a NULL
# write stops GDB with SIGSEGV at its line; continue ends with 242), watch (a software
# watchpoint stops at the writing line). Each run takes a free port: a port the proxy cannot
# bind is retried with another one.
set -eu
proxy=$1 image=$2 source=$3 dir=$4 case=$5
mkdir -p "$dir"
out=$dir/$case
command -v gdb > /dev/null || { echo "FAIL: gdb is not installed (apt-get install gdb)"; exit 1; }

fail() {
	echo "FAIL ($case): $*"
	for f in "$out.gdb" "$out.out" "$out.err"; do
		[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
	done
	[ -n "${pid:-}" ] && kill "$pid" 2> /dev/null
	exit 1
}
expect() { # expect <file> <extended regex> <what>
	grep -Eq "$2" "$1" || fail "$3: no line matching /$2/ in $1"
}

# start_proxy [VAR=value...] -- [program arguments]: a waiting proxy in the background ($pid,
# $port); retries with another port if the one it chose is taken.
start_proxy() {
	env_vars=""
	while [ "$1" != "--" ]; do env_vars="$env_vars $1"; shift; done
	shift
	for attempt in 1 2 3 4 5 6 7 8; do
		port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
		# The shell creates the output files in the background: a stale "waiting for GDB" of
		# an earlier run must not be taken for this proxy's.
		rm -f "$out.out" "$out.err"
		# shellcheck disable=SC2086
		env $env_vars HERMIT_DEBUG=1 HERMIT_DEBUG_PORT=$port "$proxy" "$image" "$@" > "$out.out" 2> "$out.err" &
		pid=$!
		i=0
		while [ $i -lt 200 ]; do
			grep -qs "waiting for GDB" "$out.err" && return 0
			kill -0 "$pid" 2> /dev/null || break
			sleep 0.05
			i=$((i + 1))
		done
		wait "$pid" || true
		grep -q "cannot listen for GDB" "$out.err" || fail "the proxy did not wait for GDB"
	done
	fail "no free port found"
}

# run_gdb <commands...>: gdb -batch against the waiting proxy; then the proxy's status ($status).
run_gdb() {
	printf '%s\n' "$@" > "$out.cmds"
	timeout 120 gdb -nx -batch -ex "set confirm off" -ex "set pagination off" -ex "set backtrace past-main on" \
		-ex "target remote 127.0.0.1:$port" -x "$out.cmds" "$image" > "$out.gdb" 2>&1 || true
	status=0
	wait "$pid" || status=$?
	pid=""
}

write_line=$(grep -n 'through a hypercall' "$source" | cut -d: -f1)
null_line=$(grep -n 'the NULL write' "$source" | cut -d: -f1)
watched_line=$(grep -n 'the watched write' "$source" | cut -d: -f1)
# GDB commands that select the thread of hermit task <id in variable $1> (GDB numbers threads
# itself; the stub's thread id of a waiting task is 1000 + its id).
select_task() {
	printf '%s\n' "python" "want = 1000 + int(gdb.parse_and_eval('$1'))" \
		"[t.switch() for t in gdb.selected_inferior().threads() if t.ptid[1] == want]" \
		"print('selected %s' % gdb.selected_thread().ptid[1])" "end"
}
case $case in
main)
	start_proxy HERMIT_CPUS=2 --
	run_gdb "break main" "continue" "next" "next" "next" "print local" "bt" "info threads" "continue"
	expect "$out.gdb" "hit Breakpoint 1, main \(" "the breakpoint at main"
	expect "$out.gdb" '^\$1 = 42$' "the local after three lines"
	expect "$out.gdb" '^#0 .*main \(.*gdb_target.c:[0-9]+' "bt: main with its source line"
	expect "$out.gdb" '^#1 .* in libc_start \(.*crt0.c:[0-9]+' "bt: libc_start below main"
	expect "$out.gdb" '^\* 1 +Thread 1.1 \(vCPU 0, task [0-9]+\)' "info threads: vCPU 0 runs main's task"
	expect "$out.gdb" '^  2 +Thread 1.2 \(vCPU 1' "info threads: vCPU 1"
	expect "$out.gdb" "exited with code 03" "GDB saw the exit status"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status, not the program's 3"
	;;
thread)
	start_proxy HERMIT_CPUS=2 --
	run_gdb "break worker" "continue" "info threads" "next" "next" "print worker_result" \
		'printf "fs_base %#lx\n", $fs_base' 'set var $ymm3.v4_int64[3] = 77' "stepi" 'print $ymm3.v4_int64[3]' "continue"
	expect "$out.gdb" "Thread 2 hit Breakpoint 1, worker \(" "the breakpoint in the second thread"
	expect "$out.gdb" '^\* 2 +Thread 1.2 \(vCPU 1, task [0-9]+\) +worker' "the second vCPU runs the worker"
	expect "$out.gdb" '^\$1 = 25$' "the worker's result after two lines"
	expect "$out.gdb" '^fs_base 0x[1-9a-f][0-9a-f]+$' "the thread's FS base (its TLS)"
	expect "$out.gdb" '^\$2 = 77$' "an AVX register written by GDB, kept across a step"
	expect "$out.gdb" "exited with code 03" "GDB saw the exit status"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status"
	;;
hypercall-step)
	# Without the fast channel every host call is an `out` (a #GP to the CPL-0 trampoline).
	start_proxy HERMIT_FASTCALL=0 --
	run_gdb "break $write_line" "continue" \
		'while *(unsigned char *)$pc != 0xef && *(unsigned char *)$pc != 0xee' "stepi" "end" \
		'set $at = $pc' "stepi" 'printf "stepped from %#lx to %#lx\n", $at, $pc' "continue"
	line=$(grep -E '^stepped from' "$out.gdb") || fail "no single step over a port access"
	from=$(echo "$line" | awk '{print $3}') to=$(echo "$line" | awk '{print $5}')
	[ $((to)) -eq $((from + 1)) ] || fail "the step over the 1-byte out at $from stopped at $to"
	expect "$out.out" "^a line through a hypercall$" "the stepped hypercall's output"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status"
	;;
interrupt)
	start_proxy HERMIT_CPUS=2 -- spin
	# Stop in spin first, so that the Ctrl-C a second later surely finds the loop running.
	run_gdb "break spin" "continue" "delete" 'shell (sleep 1; kill -INT $PPID) &' "continue" "bt" \
		"set var keep_spinning = 0" "continue"
	expect "$out.gdb" "received signal SIGINT" "Ctrl-C stopped the guest"
	expect "$out.gdb" '^#0 .* in spin \(' "the interrupted loop"
	expect "$out.out" "^spin: the spin ended$" "the variable GDB wrote"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status"
	;;
detach | drop)
	start_proxy HERMIT_CPUS=2 --
	if [ "$case" = detach ]; then
		run_gdb "break main" "continue" "detach"
		expect "$out.err" "GDB detached; the guest runs on" "the proxy saw the detach"
	else
		run_gdb "break main" "continue" 'shell kill -9 $PPID'
		expect "$out.err" "connection to GDB ended" "the proxy saw the connection end"
	fi
	expect "$out.gdb" "hit Breakpoint 1, main \(" "the breakpoint at main"
	expect "$out.out" "^local=42 worker=25 watched=7$" "the guest ran to its end"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status, not the program's 3"
	;;
tasks-1cpu | tasks-2cpus)
	cpus=${case#tasks-}
	cpus=${cpus%%cpu*}
	start_proxy HERMIT_CPUS=$cpus -- tasks
	run_gdb "break tasks_blocked" "continue" "info threads" "$(select_task locker_id)" "bt" \
		"$(select_task joiner_id)" "bt" "thread 1" "continue"
	expect "$out.gdb" "hit Breakpoint 1, tasks_blocked \(" "the breakpoint while two threads wait"
	locker=$(grep -E '^tasks: ' "$out.out" | sed 's/.*locker \([0-9]*\).*/\1/')
	joiner=$(grep -E '^tasks: ' "$out.out" | sed 's/.*joiner \([0-9]*\).*/\1/')
	[ -n "$locker" ] && [ -n "$joiner" ] || fail "the program did not print its task ids"
	expect "$out.gdb" "Thread 1\\.$((1000 + locker)) \\(task $locker, blocked" "info threads: the blocked locker"
	expect "$out.gdb" "Thread 1\\.$((1000 + joiner)) \\(task $joiner, blocked" "info threads: the blocked joiner"
	expect "$out.gdb" "^selected $((1000 + locker))$" "thread: the locker selected"
	expect "$out.gdb" "^#[0-9]+ .*pthread_mutex_lock \(" "bt: the locker waits in pthread_mutex_lock"
	expect "$out.gdb" "^#[0-9]+ .* in locker \(.*gdb_target.c:[0-9]+" "bt: ... called by locker"
	expect "$out.gdb" "^selected $((1000 + joiner))$" "thread: the joiner selected"
	expect "$out.gdb" "^#[0-9]+ .*pthread_join \(" "bt: the joiner waits in pthread_join"
	expect "$out.gdb" "^#[0-9]+ .* in joiner \(.*gdb_target.c:[0-9]+" "bt: ... called by joiner"
	expect "$out.gdb" "exited with code 03" "GDB saw the exit status"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status"
	;;
segv)
	start_proxy -- segv
	run_gdb "continue" "bt" "continue"
	expect "$out.gdb" "received signal SIGSEGV, Segmentation fault" "GDB stopped at the fault"
	expect "$out.gdb" "^#0 .*crash \(p=0x0\) at .*gdb_target.c:$null_line" "bt: the NULL write's line"
	expect "$out.gdb" "^#1 .* in main \(" "bt: main below crash"
	expect "$out.gdb" "exited with code 0362" "GDB saw the status 242"
	expect "$out.err" "write at address 0x0 \(null pointer dereference\)" "the kernel's fault report"
	[ "$status" -eq 242 ] || fail "the proxy exited with $status, not 242"
	;;
watch)
	# No hardware watchpoints on PVM (see ARCHITECTURE.md): a software one, which GDB checks
	# by single-stepping, from a breakpoint just before the write.
	start_proxy HERMIT_CPUS=2 --
	run_gdb "break touch" "continue" "set can-use-hw-watchpoints 0" "watch watched" "continue" "delete" "continue"
	expect "$out.gdb" "^Watchpoint 2: watched" "a software watchpoint"
	expect "$out.gdb" "^New value = 7$" "the write stopped GDB"
	expect "$out.gdb" "^touch \\(\\) at .*gdb_target.c:$watched_line" "stopped at the writing line"
	expect "$out.gdb" "exited with code 03" "GDB saw the exit status"
	[ "$status" -eq 3 ] || fail "the proxy exited with $status"
	;;
kill)
	start_proxy --
	run_gdb "break main" "continue" "kill"
	expect "$out.err" "GDB killed the guest" "the proxy's message"
	[ "$status" -eq 137 ] || fail "the proxy exited with $status, not 137"
	;;
port-in-use)
	start_proxy --
	first=$pid
	set +e
	HERMIT_DEBUG=1 HERMIT_DEBUG_PORT=$port "$proxy" "$image" > "$out.second" 2>&1
	code=$?
	set -e
	kill "$first"
	wait "$first" 2> /dev/null || true
	pid=""
	[ "$code" -eq 1 ] || fail "a second proxy on port $port exited with $code, not 1"
	grep -q "cannot listen for GDB on 127.0.0.1:$port" "$out.second" || fail "no clear message: $(cat "$out.second")"
	;;
*)
	fail "unknown case"
	;;
esac
echo "ok   gdb $case"
