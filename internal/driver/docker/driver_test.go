package docker

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

// newDriver returns a driver on the default engine, skipping without one.
func newDriver(t *testing.T) *Driver {
	t.Helper()
	testreq.Docker(t)
	d, err := New(Config{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// start starts spec (filling ID and image) and destroys it at cleanup.
func start(t *testing.T, d *Driver, spec driver.Spec) driver.Handle {
	t.Helper()
	if spec.ID == "" {
		spec.ID = uuid.NewString()
	}
	if spec.Image == "" {
		spec.Image = testreq.BusyboxImage(t)
	}
	h, err := d.Start(t.Context(), spec)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Destroy(context.Background(), spec.ID); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return h
}

// wait waits for the instance's exit, at most 30 s.
func wait(t *testing.T, d *Driver, id string) driver.Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	e, err := d.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return e
}

// eventually retries f every 100 ms for up to 10 s until it returns nil.
func eventually(t *testing.T, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	r := d.Probe(t.Context())
	if !r.Available || r.Name != "docker" || !strings.Contains(r.Version, "API 1.") {
		t.Fatalf("probe = %+v", r)
	}
	if d.Name() != "docker" {
		t.Errorf("name = %q", d.Name())
	}
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	d, err := New(Config{Host: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	r := d.Probe(t.Context())
	if r.Available || !strings.Contains(r.Detail, sock) || !strings.Contains(r.Detail, "start dockerd") {
		t.Fatalf("probe = %+v", r)
	}
	_, err = d.Start(t.Context(), driver.Spec{ID: uuid.NewString(), Image: "busybox"})
	if !errors.Is(err, driver.ErrUnavailable) {
		t.Fatalf("start error = %v, want ErrUnavailable", err)
	}
}

func TestMissingImage(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	_, err := d.Start(t.Context(), driver.Spec{ID: uuid.NewString(), Image: "nimbus-test/absent:0"})
	if err == nil || !strings.Contains(err.Error(), "not found on this host") {
		t.Fatalf("start error = %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", "echo hi; echo err >&2; sleep 30"}}
	h := start(t, d, spec)
	if h.ID != spec.ID || h.Driver != "docker" {
		t.Fatalf("handle = %+v", h)
	}

	eventually(t, func() error {
		var got []string
		err := d.Logs(t.Context(), spec.ID, driver.LogOptions{}, func(e driver.LogEntry) error {
			if e.Time.IsZero() {
				t.Errorf("entry without time: %+v", e)
			}
			got = append(got, string(e.Stream)+":"+string(e.Data))
			return nil
		})
		if err != nil {
			return err
		}
		// The engine orders lines within a stream, not across them.
		slices.Sort(got)
		if strings.Join(got, "") != "stderr:err\nstdout:hi\n" {
			return errors.New("logs = " + strings.Join(got, "|"))
		}
		return nil
	})

	if err := d.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatalf("stop: %v", err)
	}
	e := wait(t, d, spec.ID)
	if e.Code != -1 || e.Signal != 9 || e.OOMKilled || e.At.IsZero() {
		t.Errorf("exit = %+v, want SIGKILL", e)
	}

	if err := d.Destroy(t.Context(), spec.ID); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if _, err := d.cli.ContainerInspect(t.Context(), containerName(spec.ID), client.ContainerInspectOptions{}); err == nil {
		t.Error("container still exists after destroy")
	}
	if _, err := d.Wait(t.Context(), spec.ID); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("wait after destroy = %v, want ErrNotFound", err)
	}
	if err := d.Destroy(t.Context(), spec.ID); err != nil {
		t.Errorf("second destroy: %v", err)
	}
}

func TestStopGraceful(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", `trap "exit 0" TERM; echo ready; while :; do sleep 0.1; done`}}
	start(t, d, spec)
	eventually(t, func() error { return logsContain(t, d, spec.ID, "ready") })
	began := time.Now()
	if err := d.Stop(t.Context(), spec.ID, 20*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if e := wait(t, d, spec.ID); e.Code != 0 || e.Signal != 0 {
		t.Errorf("exit = %+v, want 0", e)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Errorf("stop took %v: SIGTERM not delivered?", took)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", "exit 3"}}
	h := start(t, d, spec)
	e := wait(t, d, spec.ID)
	if e.Code != 3 || e.Signal != 0 || e.OOMKilled || e.At.IsZero() || time.Since(e.At) > time.Minute {
		t.Fatalf("exit = %+v, want code 3", e)
	}

	// An exited container recovers, and Wait answers at once.
	d2 := newDriver(t)
	if err := d2.Recover(t.Context(), h); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if e2 := wait(t, d2, spec.ID); e2 != e {
		t.Errorf("exit after recover = %+v, want %+v", e2, e)
	}
}

func TestOOM(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{
		ID:        uuid.NewString(),
		MemoryMiB: 16,
		// The shell keeps the whole substitution in memory: 100 MB.
		Command: []string{"sh", "-c", "x=$(yes | head -c 100000000); echo done"},
	}
	start(t, d, spec)
	e := wait(t, d, spec.ID)
	if !e.OOMKilled {
		t.Fatalf("exit = %+v, want OOMKilled", e)
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sleep", "60"}}
	h := start(t, d, spec)

	d2 := newDriver(t)
	if _, err := d2.Start(t.Context(), driver.Spec{ID: spec.ID, Image: testreq.BusyboxImage(t)}); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second start of the instance = %v", err)
	}
	if err := d2.Recover(t.Context(), h); err != nil {
		t.Fatalf("recover: %v", err)
	}
	// Without usable state the label finds the container.
	d3 := newDriver(t)
	if err := d3.Recover(t.Context(), driver.Handle{ID: spec.ID, Driver: "docker", State: []byte(`{"container_id":"0123456789ab"}`)}); err != nil {
		t.Fatalf("recover by label: %v", err)
	}
	var st handleState
	if err := json.Unmarshal(h.State, &st); err != nil {
		t.Fatal(err)
	}
	if got := d3.ref(spec.ID); got != st.ContainerID {
		t.Errorf("recovered by label: container %s, want %s", got, st.ContainerID)
	}

	done := make(chan driver.Exit, 1)
	go func() {
		e, _ := d2.Wait(t.Context(), spec.ID)
		done <- e
	}()
	if err := d2.Stop(t.Context(), spec.ID, 0); err != nil {
		t.Fatalf("stop: %v", err)
	}
	select {
	case e := <-done:
		if e.Signal != 9 {
			t.Errorf("exit = %+v, want SIGKILL", e)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("wait did not return after stop")
	}

	missing := driver.Handle{ID: uuid.NewString(), Driver: "docker", State: []byte(`{"container_id":"0123456789ab"}`)}
	if err := d2.Recover(t.Context(), missing); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("recover missing = %v, want ErrNotFound", err)
	}
}

func TestStartConfig(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	rw, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "in"), []byte("from host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := driver.Spec{
		ID:        uuid.NewString(),
		Name:      "config-box",
		Command:   []string{"sleep", "60"},
		Env:       []string{"FOO=bar"},
		WorkDir:   "/tmp",
		Volumes:   []driver.Volume{{Source: rw, Target: "/rw"}, {Source: ro, Target: "/ro", ReadOnly: true}},
		MilliCPU:  1500,
		MemoryMiB: 64,
		PIDs:      100,
		Labels:    map[string]string{"team": "blue"},
	}
	start(t, d, spec)

	var out strings.Builder
	code, err := d.Exec(t.Context(), spec.ID, driver.ExecOptions{
		Command: []string{"sh", "-c", `echo $FOO $(pwd) $(hostname); cat /ro/in; echo written > /rw/out; if touch /ro/x 2>/dev/null; then echo ro-writable; fi`},
		Stdout:  &out,
	})
	if err != nil || code != 0 {
		t.Fatalf("exec: %d, %v", code, err)
	}
	if want := "bar /tmp config-box\nfrom host\n"; out.String() != want {
		t.Errorf("exec output %q, want %q", out.String(), want)
	}
	if b, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(b) != "written\n" {
		t.Errorf("rw volume: %q, %v", b, err)
	}

	res, err := d.cli.ContainerInspect(t.Context(), containerName(spec.ID), client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := res.Container
	hc := c.HostConfig
	switch {
	case c.Config.Labels["nimbus.instance"] != spec.ID || c.Config.Labels["team"] != "blue":
		t.Errorf("labels = %v", c.Config.Labels)
	case hc.NanoCPUs != 1_500_000_000 || hc.Memory != 64<<20 || hc.MemorySwap != 64<<20:
		t.Errorf("resources: cpu %d, memory %d, swap %d", hc.NanoCPUs, hc.Memory, hc.MemorySwap)
	case hc.PidsLimit == nil || *hc.PidsLimit != 100:
		t.Errorf("pids limit = %v", hc.PidsLimit)
	case hc.RestartPolicy.Name != "no":
		t.Errorf("restart policy = %q", hc.RestartPolicy.Name)
	case hc.LogConfig.Type != "json-file" || hc.LogConfig.Config["max-size"] != "10m" || hc.LogConfig.Config["max-file"] != "3":
		t.Errorf("log config = %+v", hc.LogConfig)
	}
}

func TestPorts(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	spec := driver.Spec{
		ID:      uuid.NewString(),
		Command: []string{"sh", "-c", "mkdir /www && echo hello-nimbus > /www/index.html && exec httpd -f -p 8080 -h /www"},
		Ports:   []driver.Port{{HostPort: port, ContainerPort: 8080, Protocol: "tcp"}},
	}
	start(t, d, spec)
	url := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	eventually(t, func() error {
		resp, err := http.Get(url)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if string(b) != "hello-nimbus\n" {
			return errors.New("body " + strconv.Quote(string(b)))
		}
		return nil
	})
}

func TestBadPort(t *testing.T) {
	t.Parallel()
	_, _, err := containerConfig(driver.Spec{ID: "x", Image: "y", Ports: []driver.Port{{HostPort: 80, ContainerPort: 80, Protocol: "sctp"}}})
	if err == nil {
		t.Error("sctp port accepted")
	}
	_, _, err = containerConfig(driver.Spec{ID: "x", Image: "y", Ports: []driver.Port{{HostPort: 0, ContainerPort: 80}}})
	if err == nil {
		t.Error("host port 0 accepted")
	}
}

func TestStartFailureRemovesContainer(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	spec := driver.Spec{
		ID:      uuid.NewString(),
		Image:   testreq.BusyboxImage(t),
		Command: []string{"sleep", "60"},
		Ports:   []driver.Port{{HostPort: l.Addr().(*net.TCPAddr).Port, ContainerPort: 80}},
	}
	if _, err := d.Start(t.Context(), spec); err == nil {
		_ = d.Destroy(context.Background(), spec.ID)
		t.Fatal("start succeeded on a host port in use")
	}
	if _, err := d.cli.ContainerInspect(t.Context(), containerName(spec.ID), client.ContainerInspectOptions{}); err == nil {
		t.Error("failed start left its container behind")
	}
}
