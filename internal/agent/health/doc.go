// Package health checks that an instance works: Probe runs one HTTP, TCP or
// exec check against it, Monitor turns results into transitions (the first
// pass or the first counted failure of a run, which end its start; then
// unhealthy after Retries failures in a row, ignoring failures during the
// start period, and healthy again), and Watch probes at the check's
// interval.
//
//	Watch ── every Interval ──▶ Probe(Timeout) ──▶ Monitor.Observe ──▶ notify(Passed | Failing | Unhealthy | Healthy)
//
// The package knows nothing of the agent or of drivers: a Target says how to
// reach the instance (an address, its port mappings, a way to run a command
// inside it).
package health
