// Package bench holds pixels' performance measurements. Its Go benchmarks drive the TrueNAS
// client against an in-process simulator and run only as benchmarks:
//
//	go test -bench . -run '^$' ./bench/
//
// The end-to-end figures (startup, calls per verb, fan-out, exec, peak RSS) come from the
// built binary: `bash bench/run.sh`, whose recipes fanout.lua and execs.lua live here too.
// docs/performance.md explains both and records a run.
package bench
