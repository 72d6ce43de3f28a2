// Package docker is the docker driver: it runs each instance as one
// container of a local Docker engine, through the engine's API.
//
//	Start ─▶ image present? ─▶ create nimbus-<ID> ─▶ start ─▶ Handle{container ID}
//	Recover ─▶ inspect container ID ─(gone)─▶ find by label nimbus.instance=<ID>
//	Wait ─▶ inspect ─(running)─▶ wait not-running ─▶ inspect ─▶ Exit
//	Logs ─▶ container logs (stdout/stderr) │ exec tail -n N [-F] PATH (file)
//	Exec ─▶ exec create ─▶ attach (hijacked) ─▶ exec inspect ─▶ exit code
//	Stats ─▶ one-shot stats ─▶ cpu total, memory minus inactive file cache
//
// The driver never pulls: images must already be on the host (built,
// loaded or imported). Containers run with restart policy "no" because the
// agent decides about restarts, and with rotated json-file logs.
//
// The client negotiates the API version with the engine on first use, so
// the driver works with engines as old as API 1.41 (Debian's docker.io).
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Name is the driver's name in instance specs.
const Name = "docker"

// labelInstance is the container label holding the instance ID.
const labelInstance = "nimbus.instance"

// Config configures the driver.
type Config struct {
	// Host is the engine's address ("unix:///var/run/docker.sock",
	// "tcp://host:2375"); empty means DOCKER_HOST, or the default socket.
	Host string
	// Logger receives the driver's logs; nil means slog.Default().
	Logger *slog.Logger
	// LeasePath, when set, is the agent's lease file: containers are
	// labelled with it, and a watchdog stops them once its deadline has
	// passed, even when the agent itself is gone (see Reexec).
	LeasePath string
	// Exe is the binary the watchdog runs (default /proc/self/exe).
	Exe string
}

// Driver runs instances as Docker containers.
type Driver struct {
	cli   *client.Client
	log   *slog.Logger
	lease string

	mu         sync.Mutex
	containers map[string]string // instance ID → container ID
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver for the engine at cfg.Host. It does not contact the
// engine, so it succeeds when none runs: Probe then reports the driver
// unavailable and Start fails with driver.ErrUnavailable.
func New(cfg Config) (*Driver, error) {
	opts := []client.Opt{client.FromEnv, client.WithUserAgent("nimbus-agent")}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.LeasePath != "" {
		exe := cfg.Exe
		if exe == "" {
			exe = "/proc/self/exe"
		}
		if err := startWatchdog(exe, cfg.LeasePath, cfg.Host); err != nil {
			return nil, err
		}
	}
	return &Driver{
		cli:        cli,
		log:        log.With("driver", Name),
		lease:      cfg.LeasePath,
		containers: map[string]string{},
	}, nil
}

// Close releases the client's idle connections.
func (d *Driver) Close() error { return d.cli.Close() }

// Name returns "docker".
func (d *Driver) Name() string { return Name }

// Probe pings the engine, negotiating the API version, and reports the
// engine's version or why it cannot be reached.
func (d *Driver) Probe(ctx context.Context) driver.Report {
	r := driver.Report{Name: Name}
	if err := d.ping(ctx); err != nil {
		r.Detail = err.Error()
		return r
	}
	v, err := d.cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		r.Detail = fmt.Sprintf("docker engine at %s: version: %v", d.cli.DaemonHost(), err)
		return r
	}
	r.Available = true
	r.Version = fmt.Sprintf("%s (API %s)", v.Version, d.cli.ClientVersion())
	return r
}

// ping checks that the engine answers and settles the API version; its
// error is meant for people.
func (d *Driver) ping(ctx context.Context) error {
	if _, err := d.cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		return fmt.Errorf("no Docker engine at %s (start dockerd, or point DOCKER_HOST at a running engine): %w", d.cli.DaemonHost(), err)
	}
	return nil
}

// ref returns how the engine knows instance id: the container ID recorded
// by Start or Recover, else the container's name.
func (d *Driver) ref(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.containers[id]; ok {
		return c
	}
	return containerName(id)
}

// track records the container of instance id.
func (d *Driver) track(id, containerID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.containers[id] = containerID
}

// forget drops instance id's container.
func (d *Driver) forget(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.containers, id)
}

// containerName is the name of instance id's container.
func containerName(id string) string { return "nimbus-" + id }

// engineErr turns the engine's "no such container" into driver.ErrNotFound
// and an unreachable engine into driver.ErrUnavailable; other errors pass
// unchanged.
func engineErr(err error) error {
	switch {
	case err == nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return fmt.Errorf("%w: %w", driver.ErrNotFound, err)
	case client.IsErrConnectionFailed(err):
		return fmt.Errorf("%w: %w", driver.ErrUnavailable, err)
	}
	return err
}
