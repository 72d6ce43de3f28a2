package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/hostinfo"
)

// Agent runs the assignments of one host. Make one with New and run it with
// Run, once.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	drivers  map[string]driver.Driver
	info     hostinfo.Info
	hostName string
	ln       net.Listener
	url      string

	// Set by Run before any loop starts, read-only afterwards.
	creds   credentials
	api     *client.Client
	reports []driver.Report

	// wakeWatch asks the assignment watcher to fetch again at once;
	// wakeFence tells the fence loop that the lease changed.
	wakeWatch chan struct{}
	wakeFence chan struct{}
	// wakeReport asks for a heartbeat at once: an instance's status
	// changed, and the server should know before the next interval.
	wakeReport chan struct{}

	// slots bounds the instances starting at once.
	slots *startSlots

	// supervisors counts the running instance supervisors, streams the
	// log and exec streams being served.
	supervisors sync.WaitGroup
	streams     sync.WaitGroup

	mu        sync.Mutex
	instances map[string]*instance
	events    buffer[api.AgentEvent]
	samples   buffer[api.MetricSample]
	latest    map[string]api.MetricSample
	lease     lease
	timings   api.AgentTimings
	revision  int64 // the assignment revision the last heartbeat answered
	outage    bool  // the last heartbeat failed

	// taken is the last report of each instance the server accepted. Only
	// heartbeats touch it, and they never run at once.
	taken map[string]api.InstanceReport
}

// Bounds of the buffers kept while the server cannot be reached: the newest
// entries are kept.
const (
	maxBufferedEvents  = 10_000
	maxBufferedSamples = 50_000
)

// New checks cfg, detects the machine and opens the agent's listener (Run
// serves it and closes it when it returns).
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	drivers := make(map[string]driver.Driver, len(cfg.Drivers))
	for _, d := range cfg.Drivers {
		if _, dup := drivers[d.Name()]; dup {
			return nil, fmt.Errorf("agent config: two drivers named %q", d.Name())
		}
		drivers[d.Name()] = d
	}
	if err := makeStateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	info, err := hostinfo.Detect(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("detect host: %w", err)
	}
	hostName := cfg.HostName
	if hostName == "" {
		hostName = hostinfo.HostName(info.Hostname)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("agent listen: %w", err)
	}
	url := cfg.AdvertiseURL
	if url == "" {
		url = advertisedURL(ln.Addr(), info.Address)
	}
	return &Agent{
		cfg:        cfg,
		log:        cfg.Logger.With("component", "agent"),
		drivers:    drivers,
		info:       info,
		hostName:   hostName,
		ln:         ln,
		url:        url,
		wakeWatch:  make(chan struct{}, 1),
		wakeFence:  make(chan struct{}, 1),
		wakeReport: make(chan struct{}, 1),
		slots:      newStartSlots(),
		instances:  map[string]*instance{},
		events:     buffer[api.AgentEvent]{limit: maxBufferedEvents},
		samples:    buffer[api.MetricSample]{limit: maxBufferedSamples},
		latest:     map[string]api.MetricSample{},
		timings:    defaultTimings,
	}, nil
}

// advertisedURL is the URL of a listener at addr, with the host's primary
// address standing in for an unspecified IP.
func advertisedURL(addr net.Addr, primary string) string {
	host, port := "127.0.0.1", "0"
	if ta, ok := addr.(*net.TCPAddr); ok {
		host, port = ta.IP.String(), strconv.Itoa(ta.Port)
		if ta.IP.IsUnspecified() {
			host = primary
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// URL is the URL the server reaches the agent's HTTP server at.
func (a *Agent) URL() string { return a.url }

// Run joins the server (first start only), re-attaches to the instances an
// earlier agent left running, and then heartbeats, watches assignments,
// supervises instances, samples metrics and serves the server's log and
// exec requests until ctx ends. It returns an error only when it cannot
// start (a refused join token, an unreadable state directory); workloads
// keep running after it returns.
func (a *Agent) Run(ctx context.Context) error {
	defer a.ln.Close()
	a.reports = a.probe(ctx)
	creds, err := a.credentials(ctx)
	if err != nil {
		return err
	}
	a.creds = creds
	opts := append(a.clientOptions(), client.WithToken(creds.Credential))
	if a.api, err = client.New(creds.Server, opts...); err != nil {
		return fmt.Errorf("agent client: %w", err)
	}
	a.timings = creds.Timings
	a.restoreLease()
	loaded, err := a.loadInstances()
	if err != nil {
		return err
	}
	a.log.Info("agent running", "host", creds.Host, "cluster", creds.Cluster, "server", creds.Server,
		"url", a.url, "instances", len(loaded))

	srv := a.httpServer(ctx)
	var loops sync.WaitGroup
	loops.Go(func() {
		if err := srv.Serve(a.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("agent http server", "err", err)
		}
	})
	loops.Go(func() { a.heartbeatLoop(ctx) })
	loops.Go(func() { a.fenceLoop(ctx) })
	loops.Go(func() { a.watchLoop(ctx) })
	loops.Go(func() { a.metricsLoop(ctx) })
	for _, in := range loaded {
		a.supervise(ctx, in)
	}

	<-ctx.Done()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.log.Warn("agent http server shutdown", "err", err)
	}
	loops.Wait()
	a.supervisors.Wait()
	a.streams.Wait()
	a.flush(context.WithoutCancel(ctx))
	a.log.Info("agent stopped; instances keep running")
	return nil
}

// flushTimeout bounds the last report of a stopping agent.
const flushTimeout = 2 * time.Second

// flush sends the events still buffered in a last heartbeat, so that a
// restart of the agent loses none while the server answers.
func (a *Agent) flush(ctx context.Context) {
	a.mu.Lock()
	n := len(a.events.items)
	a.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	a.heartbeat(ctx)
}

// probe asks every driver what it can do here.
func (a *Agent) probe(ctx context.Context) []driver.Report {
	reports := make([]driver.Report, 0, len(a.drivers))
	for _, d := range a.cfg.Drivers {
		r := d.Probe(ctx)
		a.log.Info("driver", "name", r.Name, "available", r.Available, "version", r.Version, "detail", r.Detail)
		reports = append(reports, r)
	}
	return reports
}

// now is the configured clock.
func (a *Agent) now() time.Time { return a.cfg.Now() }

// driverReports is the drivers' reports in API form.
func (a *Agent) driverReports() []api.DriverReport {
	out := make([]api.DriverReport, 0, len(a.reports))
	for _, r := range a.reports {
		dr := api.DriverReport{Name: r.Name, Available: r.Available}
		if r.Version != "" {
			dr.Version = &r.Version
		}
		if r.Detail != "" {
			dr.Detail = &r.Detail
		}
		out = append(out, dr)
	}
	return out
}

// capacity is the host's capacity in API form.
func (a *Agent) capacity() api.Capacity {
	if a.cfg.Capacity != nil {
		return *a.cfg.Capacity
	}
	return api.Capacity{
		CPU:         float64(a.info.CPUCores),
		MemoryMib:   a.info.MemoryMiB,
		DiskMib:     a.info.DiskMiB,
		NetworkMbps: a.info.NetworkMbps,
	}
}

// poke wakes c's reader without blocking.
func poke(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// waitFor waits d (forever when negative) or until wake fires or ctx ends,
// and reports whether ctx is still alive.
func waitFor(ctx context.Context, d time.Duration, wake <-chan struct{}) bool {
	var expire <-chan time.Time
	if d >= 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		expire = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-wake:
	case <-expire:
	}
	return true
}
