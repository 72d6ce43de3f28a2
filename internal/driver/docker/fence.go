package docker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moby/moby/client"
	"golang.org/x/sys/unix"
)

// Containers outlive the agent, so an agent killed outright could leave
// them running while the server places their instances elsewhere. The
// process driver's shims guard against that each for itself; for
// containers, one watchdog process per agent does: it reads the agent's
// lease file and, once the deadline has passed, stops every container the
// agent labelled with that lease. The watchdog is this binary started
// again (see Reexec), survives the agent, and ends when the agent's state
// directory is removed, removing the agent's containers with it.

// Environment of the watchdog role.
const (
	watchdogEnv     = "NIMBUS_DOCKER_WATCHDOG"      // the lease file to watch
	watchdogHostEnv = "NIMBUS_DOCKER_WATCHDOG_HOST" // the engine's address
	// labelLease marks the containers of the agent whose lease it names.
	labelLease = "nimbus.lease"
	// watchdogRecheck bounds the time between two reads of the lease (one
	// process per agent: a wake-up a second costs nothing).
	watchdogRecheck = time.Second
)

// Reexec runs the watchdog role when the environment says this process is
// one, and exits; otherwise it returns false at once. Call it first thing
// in main, and in TestMain of tests that fence containers.
func Reexec() bool {
	lease := os.Getenv(watchdogEnv)
	if lease == "" {
		return false
	}
	os.Exit(runWatchdog(lease, os.Getenv(watchdogHostEnv)))
	return true
}

// startWatchdog starts the watchdog of the lease file unless one runs
// already (it holds a lock on the file beside the lease).
func startWatchdog(exe, lease, host string) error {
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), watchdogEnv+"="+lease, watchdogHostEnv+"="+host, "GOMAXPROCS=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start container watchdog: %w", err)
	}
	return cmd.Process.Release()
}

// runWatchdog is the watchdog role.
func runWatchdog(lease, host string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("role", "docker-watchdog", "lease", lease)
	lock, err := os.OpenFile(lease+".watchdog", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		log.Error("open lock", "err", err)
		return 1
	}
	if unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return 0 // another watchdog keeps this lease
	}
	opts := []client.Opt{client.FromEnv}
	if host != "" {
		opts = append(opts, client.WithHost(host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		log.Error("docker client", "err", err)
		return 1
	}
	for {
		if _, err := os.Stat(filepath.Dir(lease)); err != nil {
			// The agent's state is gone: nothing will ever manage its
			// containers again.
			removeContainers(cli, lease, log)
			return 0
		}
		wait := watchdogRecheck
		if deadline, err := readLease(lease); err == nil {
			if now := time.Now(); now.After(deadline) {
				fenceContainers(cli, lease, log)
			} else {
				wait = min(deadline.Sub(now)+time.Millisecond, watchdogRecheck)
			}
		}
		time.Sleep(wait)
	}
}

// readLease reads the deadline the agent writes (unix nanoseconds).
func readLease(path string) (time.Time, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(0, ns), nil
}

// fenceContainers stops every running container of the lease.
func fenceContainers(cli *client.Client, lease string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	timeout := 1
	for _, id := range leaseContainers(ctx, cli, lease, true, log) {
		log.Warn("lease expired: stopping container", "container", id)
		if _, err := cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
			log.Error("stop container", "container", id, "err", err)
		}
	}
}

// removeContainers removes every container of the lease, running or not.
func removeContainers(cli *client.Client, lease string, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, id := range leaseContainers(ctx, cli, lease, false, log) {
		log.Warn("agent state gone: removing container", "container", id)
		if _, err := cli.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			log.Error("remove container", "container", id, "err", err)
		}
	}
}

// leaseContainers lists the IDs of the lease's containers, only the
// running ones when running.
func leaseContainers(ctx context.Context, cli *client.Client, lease string, running bool, log *slog.Logger) []string {
	f := make(client.Filters).Add("label", labelLease+"="+lease)
	if running {
		f = f.Add("status", "running")
	}
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: !running, Filters: f})
	if err != nil {
		log.Error("list containers", "err", err)
		return nil
	}
	ids := make([]string, len(list.Items))
	for i, c := range list.Items {
		ids[i] = c.ID
	}
	return ids
}
