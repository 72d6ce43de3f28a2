package cli

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/internal/loadgen"
)

func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "bench", Short: "Measure Nimbus"}
	cmd.AddCommand(a.benchAPICmd(), a.benchStartCmd(), a.benchSchedulerCmd(), a.benchFullPathCmd())
	return cmd
}

// benchResult is the machine-readable form of a load run.
type benchResult struct {
	Paths       []string `json:"paths"`
	Concurrency int      `json:"concurrency"`
	DurationS   float64  `json:"duration_s"`
	Requests    int      `json:"requests"`
	Errors      int      `json:"errors"`
	RPS         float64  `json:"requests_per_second"`
	P50Ms       float64  `json:"p50_ms"`
	P90Ms       float64  `json:"p90_ms"`
	P99Ms       float64  `json:"p99_ms"`
	MaxMs       float64  `json:"max_ms"`
}

func (a *app) benchAPICmd() *cobra.Command {
	var (
		paths       []string
		concurrency int
		duration    time.Duration
		warmup      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Load the API with token-authenticated reads and report requests/s and latency",
		Long: "Sends GET requests to the given API paths in turn from --concurrency workers for --duration,\n" +
			"with the saved login's token, and reports throughput and p50/p90/p99 latency.\n" +
			"Run it as its own process, so the load generator does not share the server's runtime.",
		Example: "  nimbus bench api --path /api/v1/tenants --path /api/v1/hosts/host-vm -c 32 -d 10s",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server, token, insecure, err := a.session()
			if err != nil {
				return err
			}
			if insecure {
				return fmt.Errorf("bench api measures plain HTTP or trusted HTTPS; run it against `nimbus dev` or a trusted certificate")
			}
			urls := make([]string, len(paths))
			for i, p := range paths {
				if !strings.HasPrefix(p, "/") {
					return fmt.Errorf("--path %q: give a path such as /api/v1/tenants", p)
				}
				urls[i] = strings.TrimSuffix(server, "/") + p
			}
			res, err := loadgen.Run(cmd.Context(), loadgen.Options{URLs: urls, Concurrency: concurrency, Duration: duration,
				Warmup: warmup, Header: http.Header{"Authorization": {"Bearer " + token}}})
			if err != nil {
				return err
			}
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			out := benchResult{Paths: paths, Concurrency: concurrency, DurationS: duration.Seconds(), Requests: res.Requests,
				Errors: res.Errors, RPS: res.RPS(), P50Ms: ms(res.P50), P90Ms: ms(res.P90), P99Ms: ms(res.P99), MaxMs: ms(res.Max)}
			if a.format != formatTable {
				return renderData(a.out, a.format, out)
			}
			_, err = fmt.Fprintln(a.out, res)
			return err
		},
	}
	cmd.Flags().StringArrayVar(&paths, "path", []string{"/api/v1/tenants"}, "API path to GET (repeat to cycle through several)")
	cmd.Flags().IntVarP(&concurrency, "concurrency", "c", 32, "concurrent workers")
	cmd.Flags().DurationVarP(&duration, "duration", "d", 10*time.Second, "measured duration")
	cmd.Flags().DurationVar(&warmup, "warmup", 2*time.Second, "unmeasured warm-up before the measurement")
	return cmd
}
