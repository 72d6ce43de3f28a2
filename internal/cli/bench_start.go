package cli

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// startResult is the machine-readable form of `bench start`.
type startResult struct {
	Driver       string  `json:"driver"`
	Starts       int     `json:"starts"`
	P50Ms        float64 `json:"p50_ms"`
	P99Ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	DockerRunP50 float64 `json:"docker_run_p50_ms,omitempty"`
	DockerRunP99 float64 `json:"docker_run_p99_ms,omitempty"`
}

func (a *app) benchStartCmd() *cobra.Command {
	var (
		t       tenantFlag
		driver  string
		image   string
		count   int
		compare bool
		cpu     float64
		memory  int64
	)
	cmd := &cobra.Command{
		Use:   "start",
		Short: "Measure instance start latency: API call to running, one start at a time",
		Long: `Create --count instances one after the other and time each from the create call
until the API reports it running, then delete them. With --driver docker and
--compare, also time ` + "`docker run -d`" + ` of the same image, command and limits in the same run.`,
		Example: `  nimbus bench start --driver process --count 100
  nimbus bench start --driver docker --image busybox:local --count 100 --compare`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, tenant, err := a.instanceClient(cmd, &t)
			if err != nil {
				return err
			}
			command := []string{"sleep", "3600"}
			spec := api.InstanceSpec{Driver: api.InstanceDriver(driver), Command: &command, CPU: &cpu, MemoryMib: &memory}
			if driver == string(api.InstanceDriverDocker) {
				if image == "" {
					return fmt.Errorf("--driver docker needs --image (a local image with sleep)")
				}
				spec.Image = &image
			}
			prefix := fmt.Sprintf("bench-%d", time.Now().Unix())
			var times []time.Duration
			defer cleanupBench(c, tenant, prefix, count)
			for n := range count {
				d, err := timeStart(ctx, c, tenant, fmt.Sprintf("%s-%d", prefix, n), spec)
				if err != nil {
					return err
				}
				times = append(times, d)
			}
			res := startResult{Driver: driver, Starts: count}
			res.P50Ms, res.P99Ms, res.MaxMs = percentiles(times)
			if compare && driver == string(api.InstanceDriverDocker) {
				limits := []string{"--cpus", strconv.FormatFloat(cpu, 'f', -1, 64), "--memory", fmt.Sprintf("%dm", memory)}
				runs, err := timeDockerRun(ctx, image, limits, command, count)
				if err != nil {
					return err
				}
				res.DockerRunP50, res.DockerRunP99, _ = percentiles(runs)
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, res)
			}
			fmt.Fprintf(a.out, "%s: %d starts, API call to running p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
				driver, count, res.P50Ms, res.P99Ms, res.MaxMs)
			if res.DockerRunP50 > 0 {
				fmt.Fprintf(a.out, "docker run -d, same image: p50 %.1f ms, p99 %.1f ms (nimbus/docker p50: %.2fx)\n",
					res.DockerRunP50, res.DockerRunP99, res.P50Ms/res.DockerRunP50)
			}
			return nil
		},
	}
	t.register(cmd)
	cmd.Flags().StringVar(&driver, "driver", "process", "process or docker")
	cmd.Flags().StringVar(&image, "image", "", "image for the docker driver")
	cmd.Flags().IntVar(&count, "count", 100, "number of starts")
	cmd.Flags().BoolVar(&compare, "compare", false, "also time `docker run -d` of the same image (docker driver)")
	cmd.Flags().Float64Var(&cpu, "cpu", 0.1, "cpu of each instance (a start runs under this limit)")
	cmd.Flags().Int64Var(&memory, "memory", 64, "memory of each instance, MiB")
	return cmd
}

// timeStart creates one instance and polls it until it runs.
func timeStart(ctx context.Context, c *client.Client, tenant, name string, spec api.InstanceSpec) (time.Duration, error) {
	start := time.Now()
	if _, err := decode[api.Instance](c.API.CreateInstance(ctx, tenant, api.InstanceCreate{Name: name, Spec: spec})); err != nil {
		return 0, err
	}
	for {
		inst, err := decode[api.Instance](c.API.GetInstance(ctx, tenant, name))
		if err != nil {
			return 0, err
		}
		switch inst.Status {
		case api.InstanceStatusRunning:
			return time.Since(start), nil
		case api.InstanceStatusFailed, api.InstanceStatusExited:
			return 0, fmt.Errorf("instance %s %s: %s", name, inst.Status, inst.Message)
		}
		if time.Since(start) > time.Minute {
			return 0, fmt.Errorf("instance %s still %s after a minute: %s", name, inst.Status, inst.Message)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// timeDockerRun times `docker run -d` of the image n times with the same
// limits as the instances (runc's own start-up runs under them), removing
// each.
func timeDockerRun(ctx context.Context, image string, limits, command []string, n int) ([]time.Duration, error) {
	var times []time.Duration
	args := append(append(append([]string{"run", "-d"}, limits...), image), command...)
	for range n {
		start := time.Now()
		out, err := exec.CommandContext(ctx, "docker", args...).Output()
		if err != nil {
			return nil, fmt.Errorf("docker run: %w", err)
		}
		times = append(times, time.Since(start))
		_ = exec.CommandContext(ctx, "docker", "rm", "-f", strings.TrimSpace(string(out))).Run()
	}
	return times, nil
}

func cleanupBench(c *client.Client, tenant, prefix string, count int) {
	ctx := context.Background()
	for n := range count {
		_ = done(c.API.DeleteInstance(ctx, tenant, fmt.Sprintf("%s-%d", prefix, n)))
	}
}

// percentiles returns p50, p99 and max in milliseconds.
func percentiles(d []time.Duration) (p50, p99, most float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	at := func(q float64) float64 { return ms(s[min(len(s)-1, int(q*float64(len(s))))]) }
	return at(0.50), at(0.99), ms(s[len(s)-1])
}
