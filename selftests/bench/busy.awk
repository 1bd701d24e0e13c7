# SPDX-License-Identifier: GPL-2.0
#
# The guest's non-idle time in a timed window, from an ftrace of the
# power:cpu_idle events (trace_clock mono) with markers:
#
#   cpu_mark          written by a task pinned to each CPU before the
#                     window: that CPU is running now (its state is known
#                     from here on; CPUs without one are ignored)
#   bench_first       the window's start (kbench/kgob: the first byte)
#   bench_last        its end (the last byte)
#
# Under QEMU's icount clock (run-vm.sh --icount) the vCPUs take turns on
# one host thread and the clock advances one nanosecond per instruction
# of whichever runs, skipping ahead only when all of them are idle. So
# the time in the window during which at least one CPU was not idle is
# the guest's instructions / 1e9, exactly. /proc/stat cannot tell that:
# it counts each busy CPU for the whole time, also while the other one
# runs, and gives up to NCPU times as much when they are busy together.
#
#   awk -f busy.awk /sys/kernel/tracing/trace
#
# prints "trace_busy_s=S trace_window_s=W trace_cpus=N trace_events=E"
# (busy and window empty when the markers are missing).

{
	# "task-pid [cpu] flags 123.456789: event: fields"
	for (i = 1; i <= NF; i++)
		if ($i ~ /^[0-9]+\.[0-9]+:$/)
			break
	if (i >= NF)
		next
	t = substr($i, 1, length($i) - 1) + 0
	ev = $(i + 1)
	if (in_win && t > last_t && running > 0)
		busy += t - last_t
	if (in_win)
		last_t = t
	if (ev == "cpu_idle:") {
		# "state=N cpu_id=C"; N = 4294967295 (-1) leaves idle
		split($(i + 2), st, "=")
		split($(i + 3), id, "=")
		cpu = id[2]
		if (!(cpu in idle))
			next
		now = st[2] != 4294967295
		if (now != idle[cpu]) {
			idle[cpu] = now
			running += now ? -1 : 1
		}
		events++
	} else if (ev == "tracing_mark_write:") {
		m = $(i + 2)
		if (m == "cpu_mark") {
			cpu = substr($2, 2, length($2) - 2) + 0
			if (!(cpu in idle)) {
				idle[cpu] = 0
				running++
				cpus++
			}
		} else if (m == "bench_first" && !in_win && !done) {
			in_win = 1
			first = t
			last_t = t
		} else if (m == "bench_last" && in_win) {
			in_win = 0
			done = 1
			last = t
		}
	}
}

END {
	if (done)
		printf "trace_busy_s=%.4f trace_window_s=%.4f", busy, last - first
	else
		printf "trace_busy_s= trace_window_s="
	printf " trace_cpus=%d trace_events=%d\n", cpus, events
}
