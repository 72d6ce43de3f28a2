package cli

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/driver/docker"
	"github.com/nimbus-cloud/nimbus/internal/driver/fake"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
)

// fullPathOptions are the flags of `bench fullpath`.
type fullPathOptions struct {
	hosts, instances, concurrency int
	seed                          uint64
	timeout                       time.Duration
	logLevel                      string
	cpuProfile                    string
}

// fullPathResult is the machine-readable form of `bench fullpath`. Times
// count from the first create call.
type fullPathResult struct {
	Hosts       int    `json:"hosts"`
	Instances   int    `json:"instances"`
	Concurrency int    `json:"concurrency"`
	Seed        uint64 `json:"seed"`
	Created     int    `json:"created"`
	Errors      int    `json:"errors"`
	// FirstError is the first refused create, if any.
	FirstError     string  `json:"first_error,omitempty"`
	CreateS        float64 `json:"create_s"`
	CreatesPerS    float64 `json:"creates_per_second"`
	CreateP50Ms    float64 `json:"create_p50_ms"`
	CreateP99Ms    float64 `json:"create_p99_ms"`
	CreateMaxMs    float64 `json:"create_max_ms"`
	PlacedS        float64 `json:"placed_s"`
	PlacementsPerS float64 `json:"placements_per_second"`
	RunningS       float64 `json:"running_s"`
	RunningPerS    float64 `json:"running_per_second"`
	// PeakHeapMiB and PeakRSSMiB are of the whole process: the server, the
	// simulated agents and the load generator.
	PeakHeapMiB float64 `json:"peak_heap_mib"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
}

func (a *app) benchFullPathCmd() *cobra.Command {
	var o fullPathOptions
	cmd := &cobra.Command{
		Use:   "fullpath [--hosts N] [--instances M] [--concurrency C] [--seed S]",
		Short: "Create instances through the API of an in-process Nimbus with simulated hosts, and time them until running",
		Long: `Start an in-process Nimbus as ` + "`nimbus dev`" + ` does (embedded SQLite in a temporary
directory, the reconciler), join --hosts simulated agents (fake drivers that run
nothing), give the admin's tenant room, then create --instances process instances
through the Go client from --concurrency workers (seeded mix of sizes), and report
creates/s accepted by the API, p50/p99 create latency, placements/s, the time until
every instance reports running, and the process's peak heap and RSS. Everything,
temporary directory included, is removed at the end.`,
		Example: "  nimbus bench fullpath --hosts 20 --instances 100000 --concurrency 32 --seed 1",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.hosts < 1 || o.instances < 1 || o.concurrency < 1 {
				return errors.New("--hosts, --instances and --concurrency must be at least 1")
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: level}))
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			if o.cpuProfile != "" {
				f, err := os.Create(o.cpuProfile)
				if err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("--cpuprofile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			res, err := runFullPath(ctx, o, log, a.progress())
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, res)
			}
			printFullPath(a, res)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.hosts, "hosts", 20, "simulated hosts")
	f.IntVar(&o.instances, "instances", 100000, "instances to create")
	f.IntVarP(&o.concurrency, "concurrency", "c", 32, "concurrent create calls")
	f.Uint64Var(&o.seed, "seed", 1, "seed of the mix of instance sizes")
	f.DurationVar(&o.timeout, "timeout", time.Hour, "give up after this long")
	f.StringVar(&o.logLevel, "log-level", "warn", "log level of the server and agents: debug, info, warn or error")
	f.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (server, agents, load) to this file, for `go tool pprof`")
	return cmd
}

// progress is where a run in table mode says how it gets on; nowhere with
// -o json or yaml.
func (a *app) progress() func(format string, args ...any) {
	if a.format != formatTable {
		return func(string, ...any) {}
	}
	return func(format string, args ...any) { fmt.Fprintf(a.errOut, format+"\n", args...) }
}

func printFullPath(a *app, r fullPathResult) {
	rows := [][2]string{
		{"hosts / instances / concurrency", fmt.Sprintf("%d / %d / %d", r.Hosts, r.Instances, r.Concurrency)},
		{"creates accepted", fmt.Sprintf("%d in %.1f s: %.0f/s (%d refused)", r.Created, r.CreateS, r.CreatesPerS, r.Errors)},
		{"create latency", fmt.Sprintf("p50 %.1f ms, p99 %.1f ms, max %.1f ms", r.CreateP50Ms, r.CreateP99Ms, r.CreateMaxMs)},
		{"all placed", fmt.Sprintf("after %.1f s: %.0f placements/s", r.PlacedS, r.PlacementsPerS)},
		{"all running", fmt.Sprintf("after %.1f s: %.0f instances/s end to end", r.RunningS, r.RunningPerS)},
		{"peak heap / RSS (whole process)", fmt.Sprintf("%.0f MiB / %.0f MiB", r.PeakHeapMiB, r.PeakRSSMiB)},
	}
	for _, row := range rows {
		fmt.Fprintf(a.out, "%-32s %s\n", row[0], row[1])
	}
	if r.FirstError != "" {
		fmt.Fprintf(a.out, "%-32s %s\n", "first refusal", r.FirstError)
	}
}

// benchInstanceCPU and benchInstanceMemory are the sizes instances are
// drawn from.
var (
	benchInstanceCPU    = []float64{0.05, 0.1, 0.25}
	benchInstanceMemory = []int64{32, 64, 128}
)

// benchSpecs draws n instance specs of seeded sizes and sums what they
// need.
func benchSpecs(n int, seed uint64) ([]api.InstanceSpec, float64, int64) {
	rng := mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	command := []string{"sleep", "infinity"}
	specs := make([]api.InstanceSpec, n)
	var cpu float64
	var mem int64
	for i := range specs {
		c := benchInstanceCPU[rng.IntN(len(benchInstanceCPU))]
		m := benchInstanceMemory[rng.IntN(len(benchInstanceMemory))]
		specs[i] = api.InstanceSpec{Driver: api.InstanceDriverProcess, Command: &command, CPU: &c, MemoryMib: &m}
		cpu += c
		mem += m
	}
	return specs, cpu, mem
}

// runFullPath runs the benchmark and removes everything it made.
func runFullPath(ctx context.Context, o fullPathOptions, log *slog.Logger, say func(string, ...any)) (fullPathResult, error) {
	res := fullPathResult{Hosts: o.hosts, Instances: o.instances, Concurrency: o.concurrency, Seed: o.seed}
	specs, needCPU, needMem := benchSpecs(o.instances, o.seed)

	dir, err := os.MkdirTemp("", "nimbus-bench-fullpath-")
	if err != nil {
		return res, fmt.Errorf("make a temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400) // as `nimbus dev`
	}
	peak := watchMemory(ctx)

	password := rand.Text()
	url, stopServer, err := startBenchServer(ctx, dir, password, log)
	if err != nil {
		return res, err
	}
	defer stopServer()
	c, err := benchLogin(ctx, url, password, o.concurrency)
	if err != nil {
		return res, err
	}
	// Room for everything, with a quarter to spare on every host.
	if err := done(c.API.PutQuota(ctx, server.AdminUser, server.DefaultCluster, api.QuotaPut{Tiers: []api.QuotaTierSpec{{
		CPU: ptr(needCPU * 1.25), MemoryMib: ptr(needMem + needMem/4)}}})); err != nil {
		return res, fmt.Errorf("give the admin's tenant a quota: %w", err)
	}
	capacity := api.Capacity{CPU: needCPU * 1.25 / float64(o.hosts), MemoryMib: (needMem + needMem/4) / int64(o.hosts),
		DiskMib: 1 << 20, NetworkMbps: 10_000}
	stopAgents, err := startBenchAgents(ctx, c, url, dir, o.hosts, capacity, log)
	if err != nil {
		return res, err
	}
	defer stopAgents()
	say("%d simulated hosts ready; creating %d instances with %d workers", o.hosts, o.instances, o.concurrency)

	start := time.Now()
	var accepted atomic.Int64
	created := make(chan struct{})
	var lat []time.Duration
	go func() {
		defer close(created)
		lat, res.Errors, res.FirstError = createAll(ctx, c, specs, o.concurrency, &accepted)
	}()
	m, err := follow(ctx, c, start, created, &accepted, say)
	<-created
	if err != nil {
		return res, fmt.Errorf("%w (%d of %d created after %s)", err, accepted.Load(), o.instances, time.Since(start).Round(time.Second))
	}
	res.Created = len(lat)
	res.CreateS, res.PlacedS, res.RunningS = m.created.Seconds(), m.placed.Seconds(), m.running.Seconds()
	res.CreatesPerS = float64(res.Created) / res.CreateS
	res.PlacementsPerS = float64(res.Created) / res.PlacedS
	res.RunningPerS = float64(res.Created) / res.RunningS
	res.CreateP50Ms, res.CreateP99Ms, res.CreateMaxMs = percentiles(lat)
	res.PeakHeapMiB = float64(peak.Load()) / (1 << 20)
	res.PeakRSSMiB = peakRSSMiB()
	return res, nil
}

// milestones are the times, from the first create call, when every create
// was answered, every instance placed, every instance running.
type milestones struct {
	created, placed, running time.Duration
}

// progressEvery is how often a run says how far it got.
const progressEvery = 30 * time.Second

// follow polls the API twice a second until every accepted instance runs,
// and says how far the run got every progressEvery. created is closed when
// the creates are done; accepted counts those accepted so far.
func follow(ctx context.Context, c *client.Client, start time.Time, created <-chan struct{}, accepted *atomic.Int64,
	say func(string, ...any)) (milestones, error) {
	var m milestones
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	said := start
	for {
		select {
		case <-ctx.Done():
			return m, fmt.Errorf("gave up: %w", ctx.Err())
		case <-created:
			m.created, created = time.Since(start), nil
			say("%6.1f s  %d creates accepted", m.created.Seconds(), accepted.Load())
			continue
		case <-tick.C:
		}
		if time.Since(said) >= progressEvery {
			said = time.Now()
			placed, err := placedCount(ctx, c)
			if err != nil {
				return m, err
			}
			say("%6.1f s  %d accepted, %d placed", time.Since(start).Seconds(), accepted.Load(), placed)
		}
		if created != nil {
			continue
		}
		if m.placed == 0 {
			placed, err := placedCount(ctx, c)
			if err != nil {
				return m, err
			}
			if int64(placed) < accepted.Load() {
				continue
			}
			m.placed = time.Since(start)
			say("%6.1f s  all placed", m.placed.Seconds())
		}
		waiting, err := notRunning(ctx, c)
		if err != nil {
			return m, err
		}
		if !waiting {
			m.running = time.Since(start)
			say("%6.1f s  all running", m.running.Seconds())
			return m, nil
		}
	}
}

// startBenchServer runs a server over a fresh SQLite store in dir, with
// its reconciler and an admin of the given password, on a loopback port;
// stop ends it and closes the store.
func startBenchServer(ctx context.Context, dir, password string, log *slog.Logger) (url string, stop func(), err error) {
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "nimbus.db"), log.With("subsystem", "store"))
	if err != nil {
		return "", nil, fmt.Errorf("open the store: %w", err)
	}
	if _, err := server.Bootstrap(ctx, st, server.BootstrapOptions{AdminPassword: password}); err != nil {
		st.Close()
		return "", nil, fmt.Errorf("bootstrap: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		st.Close()
		return "", nil, fmt.Errorf("listen on loopback: %w", err)
	}
	url = "http://" + ln.Addr().String()
	srv, err := server.New(server.Options{Store: st, Logger: log, AdvertiseURL: url})
	if err != nil {
		ln.Close()
		st.Close()
		return "", nil, err
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Run(sctx) })
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	wg.Go(func() { _ = hs.Serve(ln) })
	stop = func() {
		cancel()
		shutdownCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = hs.Shutdown(shutdownCtx)
		wg.Wait()
		st.Close()
	}
	return url, stop, nil
}

// benchLogin bootstraps the admin with password and logs in, with a
// connection pool sized for the workers.
func benchLogin(ctx context.Context, url, password string, workers int) (*client.Client, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: workers + 8, MaxIdleConnsPerHost: workers + 8}}
	anon, err := client.New(url, client.WithHTTPClient(hc), client.WithUserAgent("nimbus-bench"))
	if err != nil {
		return nil, err
	}
	login, err := decode[api.LoginResponse](anon.API.Login(ctx, api.LoginRequest{Username: server.AdminUser, Password: password}))
	if err != nil {
		return nil, fmt.Errorf("log in as admin: %w", err)
	}
	return client.New(url, client.WithHTTPClient(hc), client.WithUserAgent("nimbus-bench"), client.WithToken(login.Token))
}

// startBenchAgents joins n simulated agents of the given capacity, each
// with fake process and docker drivers and a state directory under dir,
// and waits until the server has them all ready; stop ends them.
func startBenchAgents(ctx context.Context, c *client.Client, url, dir string, n int, capacity api.Capacity, log *slog.Logger) (stop func(), err error) {
	actx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	stop = func() {
		cancel()
		wg.Wait()
	}
	for i := range n {
		tok, err := decode[api.JoinToken](c.API.CreateJoinToken(ctx, server.DefaultCluster, api.JoinTokenCreate{}))
		if err != nil {
			stop()
			return nil, fmt.Errorf("make a join token: %w", err)
		}
		name := fmt.Sprintf("sim-%03d", i+1)
		ag, err := agent.New(agent.Config{
			Server: url, JoinToken: tok.Token, StateDir: filepath.Join(dir, "agents", name), Listen: "127.0.0.1:0",
			HostName: name, Drivers: []driver.Driver{fake.New(process.Name), fake.New(docker.Name)},
			Capacity:   &capacity,
			HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}},
			Logger:     log.With("subsystem", "agent", "host", name),
		})
		if err != nil {
			stop()
			return nil, fmt.Errorf("simulated agent %s: %w", name, err)
		}
		wg.Go(func() {
			if err := ag.Run(actx); err != nil {
				log.Error("simulated agent stopped", "host", name, "err", err)
			}
		})
	}
	for {
		hosts, err := decode[api.HostList](c.API.ListHosts(ctx, &api.ListHostsParams{Limit: ptr(maxLimit)}))
		if err != nil {
			stop()
			return nil, fmt.Errorf("list hosts: %w", err)
		}
		ready := 0
		for _, h := range hosts.Items {
			if h.State == api.HostStateReady {
				ready++
			}
		}
		if ready == n {
			return stop, nil
		}
		select {
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("waiting for %d simulated hosts (%d ready): %w", n, ready, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// createAll creates an instance of each spec from workers goroutines,
// counting those accepted in accepted, and returns the latency of each
// accepted create, the count of refused ones and the first refusal.
func createAll(ctx context.Context, c *client.Client, specs []api.InstanceSpec, workers int, accepted *atomic.Int64) ([]time.Duration, int, string) {
	var (
		next    atomic.Int64
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, len(specs))
		refused int
		first   string
		wg      sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				n := int(next.Add(1)) - 1
				if n >= len(specs) {
					return
				}
				t0 := time.Now()
				_, err := decode[api.Instance](c.API.CreateInstance(ctx, server.AdminUser,
					api.InstanceCreate{Name: fmt.Sprintf("sim-%07d", n), Spec: specs[n]}))
				d := time.Since(t0)
				mu.Lock()
				if err == nil {
					lat = append(lat, d)
					accepted.Add(1)
				} else if ctx.Err() == nil {
					refused++
					if first == "" {
						first = err.Error()
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat, refused, first
}

// placedCount is the number of instances on hosts, from the hosts' counts.
func placedCount(ctx context.Context, c *client.Client) (int, error) {
	hosts, err := decode[api.HostList](c.API.ListHosts(ctx, &api.ListHostsParams{Limit: ptr(maxLimit)}))
	if err != nil {
		return 0, fmt.Errorf("list hosts: %w", err)
	}
	n := 0
	for _, h := range hosts.Items {
		n += h.InstanceCount
	}
	return n, nil
}

// notRunning reports whether an instance of the admin's tenant is still
// on its way to running (pending, scheduled or starting).
func notRunning(ctx context.Context, c *client.Client) (bool, error) {
	for _, st := range []api.InstanceStatus{api.InstanceStatusPending, api.InstanceStatusScheduled, api.InstanceStatusStarting} {
		list, err := decode[api.InstanceList](c.API.ListInstances(ctx, server.AdminUser, &api.ListInstancesParams{Status: &st, Limit: ptr(1)}))
		if err != nil {
			return false, fmt.Errorf("list %s instances: %w", st, err)
		}
		if len(list.Items) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// watchMemory samples the Go heap in use every second until ctx ends and
// keeps its peak.
func watchMemory(ctx context.Context) *atomic.Uint64 {
	var peak atomic.Uint64
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > peak.Load() {
			peak.Store(ms.HeapInuse)
		}
	}
	sample()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return &peak
}

// peakRSSMiB is the process's peak resident set (VmHWM), 0 if unknown.
func peakRSSMiB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return float64(kib) / 1024
		}
	}
	return 0
}
