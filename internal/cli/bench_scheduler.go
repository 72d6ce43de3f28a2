package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/internal/scheduler"
)

func (a *app) benchSchedulerCmd() *cobra.Command {
	var (
		o       scheduler.SimOptions
		all     bool
		binpack bool
	)
	cmd := &cobra.Command{
		Use:   "scheduler [--hosts N] [--instances M] [--seed S] [--all] [--binpack] [--preempt]",
		Short: "Run the real scheduler on simulated hosts and report placements/s and packing",
		Long: `Place --instances simulated requests (mixed sizes, label selectors, zones,
anti-affinity groups) one by one on --hosts simulated hosts (mixed sizes, zones and
labels) with the real scheduler code, and report decisions per second (refusals
included), placements per second until the first request finds no host, p50/p99 time per
decision, peak heap, the share of capacity used at the first failure and at the end, and
the share a best-fit-decreasing packing of the same input reaches.

By default each decision scores a seeded sample of the hosts that fit (as Nomad and
kube-scheduler do); --all scores every host.

With --preempt, a request of priority 1 or 2 (requests have priorities 0-2) that finds no
host evicts lower-priority instances for it when that makes room; the victims are tried
once more after the last request. It reports the preemptions, the victims evicted and
placed again, and p50/p99 time per preemption search.`,
		Example: "  nimbus bench scheduler --hosts 10000 --instances 1000000 --seed 1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Hosts < 1 || o.Instances < 1 {
				return fmt.Errorf("--hosts and --instances must be at least 1")
			}
			if !all {
				o.Sample = scheduler.Limit(o.Hosts)
			}
			if binpack {
				o.Strategy = scheduler.Binpack
			}
			r := scheduler.Simulate(o)
			if a.format != formatTable {
				return renderData(a.out, a.format, r)
			}
			mode := fmt.Sprintf("sampling %d fitting hosts", o.Sample)
			if all {
				mode = "scoring every host"
			}
			fmt.Fprintf(a.out, "%d hosts, %d requests, %s: %d placed in %s\n", r.Hosts, r.Requests, mode, r.Placed, r.Elapsed.Round(1e6))
			fmt.Fprintf(a.out, "  %.0f decisions/s, p50 %s, p99 %s per decision, peak heap %.0f MiB\n", r.PerSecond, r.P50, r.P99, r.PeakHeapMiB)
			if r.FirstFailure >= 0 {
				fmt.Fprintf(a.out, "  first failure at request %d (%.0f placements/s until then): cpu %.1f %%, memory %.1f %% used\n",
					r.FirstFailure, r.PlacedPerSecond, 100*r.CPUUsed, 100*r.MemUsed)
			} else {
				fmt.Fprintf(a.out, "  no request failed: %.0f placements/s\n", r.PlacedPerSecond)
			}
			if o.Preempt {
				fmt.Fprintf(a.out, "  %d preemptions evicted %d instances, %d placed again at the end; %d preemption searches, p50 %s, p99 %s each\n",
					r.Preemptions, r.Evicted, r.Replaced, r.PreemptCalls, r.PreemptP50, r.PreemptP99)
			}
			fmt.Fprintf(a.out, "  at the end: cpu %.1f %%, memory %.1f %% used; best-fit-decreasing bound: cpu %.1f %%, memory %.1f %%\n",
				100*r.EndCPUUsed, 100*r.EndMemUsed, 100*r.BoundCPUUsed, 100*r.BoundMemUsed)
			return nil
		},
	}
	cmd.Flags().IntVar(&o.Hosts, "hosts", 10000, "simulated hosts")
	cmd.Flags().IntVar(&o.Instances, "instances", 1000000, "simulated requests")
	cmd.Flags().Uint64Var(&o.Seed, "seed", 1, "seed of the simulated input and of tie-breaking")
	cmd.Flags().BoolVar(&all, "all", false, "score every host instead of a sample")
	cmd.Flags().BoolVar(&binpack, "binpack", false, "binpack instead of spread")
	cmd.Flags().BoolVar(&o.Preempt, "preempt", false, "evict lower-priority instances for requests that find no host")
	return cmd
}
