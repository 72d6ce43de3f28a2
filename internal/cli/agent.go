package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/driver/docker"
	"github.com/nimbus-cloud/nimbus/internal/driver/fake"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
)

func (a *app) agentCmd() *cobra.Command {
	var (
		cfg      agent.Config
		labels   []string
		logLevel string
		sim      simulation
	)
	cmd := &cobra.Command{
		Use:   "agent --server URL --join-token TOKEN",
		Short: "Run this machine as a host: join a cluster and run the instances placed here",
		Long: `Run this machine as a host of a Nimbus cluster.

The first start trades the single-use --join-token (from ` + "`nimbus host join-command`" + `)
for a credential kept in --state-dir; later starts use that credential and
need no token. Restarting the agent neither stops nor duplicates the
instances it runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			l, err := parseLabels(labels)
			if err != nil {
				return err
			}
			cfg.Labels = l
			cfg.Logger = slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: level}))
			if cfg.StateDir == "" {
				cfg.StateDir = "/var/lib/nimbus/agent"
				if os.Geteuid() != 0 {
					cfg.StateDir = filepath.Join(os.TempDir(), fmt.Sprintf("nimbus-agent-%d", os.Getuid()))
				}
			}
			if sim.on {
				return runSimulatedAgent(cmd.Context(), cfg, sim)
			}
			if sim.cpu != 0 || sim.memoryMiB != 0 {
				return fmt.Errorf("--simulate-cpu and --simulate-memory-mib apply only with --simulate: add --simulate, or leave them out")
			}
			return runAgent(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Server, "server", "", "the server's URL (needed at the first start)")
	f.StringVar(&cfg.JoinToken, "join-token", "", "single-use join token (needed at the first start)")
	f.StringVar(&cfg.StateDir, "state-dir", "", "where the agent keeps its credential and instances (default /var/lib/nimbus/agent)")
	f.StringVar(&cfg.Listen, "listen", ":7071", "address the server reaches the agent at (logs, exec)")
	f.StringVar(&cfg.AdvertiseURL, "advertise-url", "", "URL the server uses to reach --listen (default: derived from it)")
	f.StringVar(&cfg.HostName, "host-name", "", "host name to join as (default: this machine's)")
	f.StringArrayVar(&labels, "label", nil, "host label KEY=VALUE (repeat)")
	f.BoolVar(&cfg.InsecureSkipVerify, "insecure", false, "accept the server's self-signed certificate")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	// Scale simulation only: hidden from help.
	f.BoolVar(&sim.on, "simulate", false, "run nothing: fake process and docker drivers report every instance running (scale simulation)")
	f.Float64Var(&sim.cpu, "simulate-cpu", 0, "with --simulate: cpu cores to report instead of this machine's")
	f.Int64Var(&sim.memoryMiB, "simulate-memory-mib", 0, "with --simulate: memory (MiB) to report instead of this machine's")
	for _, name := range []string{"simulate", "simulate-cpu", "simulate-memory-mib"} {
		_ = f.MarkHidden(name)
	}
	return cmd
}

// simulation is what --simulate asks for.
type simulation struct {
	on        bool
	cpu       float64
	memoryMiB int64
}

// runSimulatedAgent runs an agent whose drivers are fakes named process
// and docker, reporting the simulated capacity where one is given, until
// ctx ends.
func runSimulatedAgent(ctx context.Context, cfg agent.Config, sim simulation) error {
	cfg.Drivers = []driver.Driver{fake.New(process.Name), fake.New(docker.Name)}
	if sim.cpu != 0 || sim.memoryMiB != 0 {
		if sim.cpu <= 0 || sim.memoryMiB <= 0 {
			return fmt.Errorf("--simulate-cpu and --simulate-memory-mib must both be positive, or both left out to report this machine's capacity")
		}
		cfg.Capacity = &api.Capacity{CPU: sim.cpu, MemoryMib: sim.memoryMiB, DiskMib: 1 << 20, NetworkMbps: 10_000}
	}
	cfg.Logger.Warn("simulating: the process and docker drivers are fakes that run nothing; instances placed here are reported running but do not run",
		"simulated_cpu", sim.cpu, "simulated_memory_mib", sim.memoryMiB)
	ag, err := agent.New(cfg)
	if err != nil {
		return err
	}
	return ag.Run(ctx)
}

// runAgent builds the drivers this machine offers and runs an agent until
// ctx ends.
func runAgent(ctx context.Context, cfg agent.Config) error {
	proc, err := process.New(process.Config{Dir: filepath.Join(cfg.StateDir, "process"),
		LeasePath: agent.LeasePath(cfg.StateDir), Logger: cfg.Logger.With("driver", "process")})
	if err != nil {
		return fmt.Errorf("process driver: %w", err)
	}
	dock, err := docker.New(docker.Config{Logger: cfg.Logger.With("driver", "docker"), LeasePath: agent.LeasePath(cfg.StateDir)})
	if err != nil {
		return fmt.Errorf("docker driver: %w", err)
	}
	defer dock.Close()
	cfg.Drivers = []driver.Driver{proc, dock}
	ag, err := agent.New(cfg)
	if err != nil {
		return err
	}
	return ag.Run(ctx)
}
