package e2e

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/api/stream"
	"github.com/nimbus-cloud/nimbus/client"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

// TestProcessInstanceLifecycle runs a process instance through the API on a
// real agent: placed, started, its output read and a command run in it
// over the websockets, stopped, started again and deleted.
func TestProcessInstanceLifecycle(t *testing.T) {
	e := newEnv(t)
	e.startAgent("host-one", t.TempDir(), nil)
	ctx := context.Background()
	c := e.admin
	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "hello", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverProcess, Command: &[]string{"sh", "-c", "echo hello from nimbus; echo oops >&2; exec sleep 300"},
		MemoryMib: ptr(int64(64)), CPU: ptr(0.25)}})).ok(t)
	inst := e.waitStatus(c, "admin", "hello", api.InstanceStatusRunning, 15*time.Second)
	if inst.Host != "host-one" || inst.StartedAt == nil {
		t.Fatalf("running instance: host %q started %v", inst.Host, inst.StartedAt)
	}
	e.eventually(5*time.Second, "output", func() (bool, string) {
		out := logsOf(t, c, "admin", "hello")
		return strings.Contains(out, "hello from nimbus") && strings.Contains(out, "oops"), out
	})
	out, code := execIn(t, c, "admin", "hello", "sh", "-c", "hostname; exit 3")
	if code != 3 || strings.TrimSpace(out) != "hello" {
		t.Fatalf("exec: code %d output %q, want 3 and the instance's host name", code, out)
	}
	e.eventually(10*time.Second, "metrics", func() (bool, string) {
		series := call(c.API.GetInstanceMetricsWithResponse(ctx, "admin", "hello", nil)).ok(t).JSON200
		host := call(c.API.GetHostMetricsWithResponse(ctx, "host-one", nil)).ok(t).JSON200
		if len(series.Points) == 0 || len(host.Points) == 0 || series.ResolutionSeconds != 10 {
			return false, fmt.Sprintf("%d instance and %d host points", len(series.Points), len(host.Points))
		}
		last := series.Points[len(series.Points)-1]
		return last.MemoryBytes > 0 && last.MemoryBytes < 64<<20, fmt.Sprintf("last point %+v", last)
	})
	scrape := e.scrape()
	for _, want := range []string{`nimbus_instance_memory_bytes{host="host-one",instance_id="` + inst.ID + `"}`, `nimbus_host_cpu_cores{host="host-one"}`} {
		if !strings.Contains(scrape, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	call(c.API.InstanceActionWithResponse(ctx, "admin", "hello", api.InstanceActionRequest{Action: api.InstanceActionRequestActionStop})).ok(t)
	e.waitStatus(c, "admin", "hello", api.InstanceStatusStopped, 15*time.Second)
	call(c.API.InstanceActionWithResponse(ctx, "admin", "hello", api.InstanceActionRequest{Action: api.InstanceActionRequestActionStart})).ok(t)
	e.waitStatus(c, "admin", "hello", api.InstanceStatusRunning, 15*time.Second)

	events := call(c.API.ListInstanceEventsWithResponse(ctx, "admin", "hello", nil)).ok(t)
	var types []string
	for _, ev := range events.JSON200.Items {
		types = append(types, ev.Type)
	}
	for _, want := range []string{"created", "scheduled", "running", "stopping", "stopped"} {
		if !strings.Contains(" "+strings.Join(types, " ")+" ", " "+want+" ") {
			t.Errorf("events %v lack %q", types, want)
		}
	}

	call(c.API.DeleteInstanceWithResponse(ctx, "admin", "hello")).ok(t)
	e.eventually(10*time.Second, "host usage released", func() (bool, string) {
		h := call(c.API.GetHostWithResponse(ctx, "host-one")).ok(t)
		return h.JSON200.Usage.CPU == 0 && h.JSON200.Usage.MemoryMib == 0, "still charged"
	})
	q := call(c.API.GetQuotaWithResponse(ctx, "admin", "default")).ok(t)
	if used := q.JSON200.Tiers[0].Used; used.CPU != 0 || used.MemoryMib != 0 {
		t.Fatalf("quota still used after delete: %+v", used)
	}
}

// TestDockerInstance runs a container instance on a real engine.
func TestDockerInstance(t *testing.T) {
	image := testreq.BusyboxImage(t)
	e := newEnv(t)
	e.startAgent("host-one", t.TempDir(), nil)
	ctx := context.Background()
	c := e.admin
	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "box", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverDocker, Image: &image,
		Command: &[]string{"sh", "-c", "echo hello from a container; exec sleep 300"}}})).ok(t)
	e.waitStatus(c, "admin", "box", api.InstanceStatusRunning, 20*time.Second)
	e.eventually(5*time.Second, "output", func() (bool, string) {
		out := logsOf(t, c, "admin", "box")
		return strings.Contains(out, "hello from a container"), out
	})
	out, code := execIn(t, c, "admin", "box", "hostname")
	if code != 0 || strings.TrimSpace(out) != "box" {
		t.Fatalf("exec hostname: code %d output %q", code, out)
	}
	call(c.API.DeleteInstanceWithResponse(ctx, "admin", "box")).ok(t)
}

// TestQuotaRefusesInstance checks that an instance beyond its tenant's
// quota is refused with the numbers, and nothing is created.
func TestQuotaRefusesInstance(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.admin
	res, err := c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "huge", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverProcess, Command: &[]string{"true"}, CPU: ptr(100.0)}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode() != 409 || res.ApplicationProblemJSON409 == nil || res.ApplicationProblemJSON409.Code != api.ProblemCodeQuotaExceeded ||
		!strings.Contains(deref(res.ApplicationProblemJSON409.Detail), "requested 100") {
		t.Fatalf("status %d: %s", res.StatusCode(), res.Body)
	}
	if got := call(c.API.GetInstanceWithResponse(ctx, "admin", "huge")); got.err != nil || got.res.StatusCode() != 404 {
		t.Fatalf("refused instance exists: %v %d", got.err, got.res.StatusCode())
	}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// followTicks follows an instance that prints "tick N" lines and returns
// once it has seen three new ones arrive.
func followTicks(t *testing.T, c *client.Client, tenant, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seen []string
	err := c.Logs(ctx, tenant, name, client.LogOptions{Follow: true, Tail: 1}, func(e api.LogEntry) error {
		for _, line := range strings.Split(strings.TrimSpace(e.Data), "\n") {
			if strings.HasPrefix(line, "tick ") {
				seen = append(seen, line)
			}
		}
		if len(seen) >= 4 {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) {
		t.Fatalf("follow logs of %s: %v (saw %v)", name, err, seen)
	}
	if seen[0] == seen[3] {
		t.Fatalf("follow repeated %q", seen[0])
	}
}

var errEnough = errors.New("enough")

// tickCommand prints a numbered line five times a second.
var tickCommand = []string{"sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"}

// TestFollowLogs follows the output of a process and of a container over
// the websocket, as `nimbus instance logs -f` does.
func TestFollowLogs(t *testing.T) {
	image := testreq.BusyboxImage(t)
	e := newEnv(t)
	e.startAgent("host-one", t.TempDir(), nil)
	ctx := context.Background()
	c := e.admin
	for _, spec := range []api.InstanceSpec{
		{Driver: api.InstanceDriverProcess, Command: &tickCommand},
		{Driver: api.InstanceDriverDocker, Image: &image, Command: &tickCommand},
	} {
		name := "ticker-" + string(spec.Driver)
		call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: name, Spec: spec})).ok(t)
		e.waitStatus(c, "admin", name, api.InstanceStatusRunning, 20*time.Second)
		followTicks(t, c, "admin", name)
		call(c.API.DeleteInstanceWithResponse(ctx, "admin", name)).ok(t)
	}
}

// TestAgentRestartKeepsInstances restarts an agent under a running
// instance: the same process keeps running, and no second copy starts.
func TestAgentRestartKeepsInstances(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	first := e.startAgent("host-one", dir, nil)
	ctx := context.Background()
	c := e.admin
	marker := "NIMBUS_E2E_MARK=" + rand.Text()
	key, val, _ := strings.Cut(marker, "=")
	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "steady", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverProcess, Command: &[]string{"sleep", "3600"}, Env: &map[string]string{key: val}}})).ok(t)
	before := e.waitStatus(c, "admin", "steady", api.InstanceStatusRunning, 15*time.Second)
	pids := copies(marker)
	if len(pids) != 1 {
		t.Fatalf("%d copies before the restart", len(pids))
	}
	most := watchCopies(t, marker)
	first.stop()
	e.startAgent("host-one", dir, nil)
	time.Sleep(2 * time.Second) // a few heartbeats and an assignment pass
	after := e.waitStatus(c, "admin", "steady", api.InstanceStatusRunning, 5*time.Second)
	if now := copies(marker); len(now) != 1 || now[0] != pids[0] {
		t.Fatalf("copies after the restart %v, want the same process %v", now, pids)
	}
	if !after.StartedAt.Equal(*before.StartedAt) || after.Generation != before.Generation {
		t.Fatalf("instance restarted: started %v -> %v, generation %d -> %d", before.StartedAt, after.StartedAt,
			before.Generation, after.Generation)
	}
	if n := most.Load(); n > 1 {
		t.Fatalf("%d copies at once", n)
	}
	call(c.API.DeleteInstanceWithResponse(ctx, "admin", "steady")).ok(t)
	e.eventually(10*time.Second, "stopped after delete", func() (bool, string) { return len(copies(marker)) == 0, "still running" })
}

// TestFileLogs reads the log file an instance declares, as
// `nimbus instance logs --file` does, for both drivers.
func TestFileLogs(t *testing.T) {
	image := testreq.BusyboxImage(t)
	e := newEnv(t)
	e.startAgent("host-one", t.TempDir(), nil)
	ctx := context.Background()
	c := e.admin
	logFile := "/tmp/nimbus-e2e-" + rand.Text() + ".log"
	t.Cleanup(func() { os.Remove(logFile) })
	write := []string{"sh", "-c", "i=0; while true; do i=$((i+1)); echo line $i >> " + logFile + "; sleep 0.2; done"}
	for _, spec := range []api.InstanceSpec{
		{Driver: api.InstanceDriverProcess, Command: &write, LogPath: &logFile},
		{Driver: api.InstanceDriverDocker, Image: &image, Command: &write, LogPath: &logFile},
	} {
		name := "writer-" + string(spec.Driver)
		call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: name, Spec: spec})).ok(t)
		e.waitStatus(c, "admin", name, api.InstanceStatusRunning, 20*time.Second)
		e.eventually(10*time.Second, "file log of "+name, func() (bool, string) {
			var b strings.Builder
			err := c.Logs(ctx, "admin", name, client.LogOptions{Path: logFile, Tail: 5}, func(e api.LogEntry) error {
				if e.Stream != api.LogEntryStreamFile {
					return fmt.Errorf("stream %s", e.Stream)
				}
				b.WriteString(e.Data)
				return nil
			})
			return err == nil && strings.Contains(b.String(), "line 2"), fmt.Sprint(err, b.String())
		})
		call(c.API.DeleteInstanceWithResponse(ctx, "admin", name)).ok(t)
	}
}

// TestExecTerminal opens an interactive terminal in a process and in a
// container through the server's websocket relay, as `nimbus instance
// exec -t NAME -- sh` does.
func TestExecTerminal(t *testing.T) {
	image := testreq.BusyboxImage(t)
	e := newEnv(t)
	e.startAgent("host-one", t.TempDir(), nil)
	ctx := context.Background()
	c := e.admin
	sleep := []string{"sleep", "3600"}
	for _, spec := range []api.InstanceSpec{
		{Driver: api.InstanceDriverProcess, Command: &sleep},
		{Driver: api.InstanceDriverDocker, Image: &image, Command: &sleep},
	} {
		name := "term-" + string(spec.Driver)
		call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: name, Spec: spec})).ok(t)
		e.waitStatus(c, "admin", name, api.InstanceStatusRunning, 20*time.Second)
		// The engine takes a size only once the command runs: the shell
		// waits a moment before it asks for it.
		var out syncBuffer
		resize := make(chan stream.Size, 1)
		resize <- stream.Size{Rows: 30, Cols: 90}
		tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		code, err := c.Exec(tctx, "admin", name, client.ExecOptions{Command: []string{"sh"}, TTY: true,
			Stdin: strings.NewReader("sleep 1; stty size; echo $((6*7))\nexit 5\n"), Stdout: &out, Resize: resize})
		cancel()
		if err != nil || code != 5 || !strings.Contains(out.String(), "42") || !strings.Contains(out.String(), "30 90") {
			t.Fatalf("%s: terminal exit %d, err %v, output %q", name, code, err, out.String())
		}
		call(c.API.DeleteInstanceWithResponse(ctx, "admin", name)).ok(t)
	}
}

// TestContainersFencedWithoutTheirAgent ends an agent outright under a
// running container: the watchdog it left stops the container once the
// agent's lease lapses, before the server would place the instance
// elsewhere.
func TestContainersFencedWithoutTheirAgent(t *testing.T) {
	image := testreq.BusyboxImage(t)
	e := newEnv(t)
	ctx := context.Background()
	call(e.admin.API.UpdateClusterWithResponse(ctx, "default", api.ClusterUpdate{HeartbeatTimeoutSeconds: ptr(5)})).ok(t)
	h := e.startAgent("host-one", t.TempDir(), nil)
	c := e.admin
	call(c.API.CreateInstanceWithResponse(ctx, "admin", api.InstanceCreate{Name: "boxed", Spec: api.InstanceSpec{
		Driver: api.InstanceDriverDocker, Image: &image, Command: &[]string{"sleep", "3600"}}})).ok(t)
	inst := e.waitStatus(c, "admin", "boxed", api.InstanceStatusRunning, 20*time.Second)
	running := func() bool {
		out, _ := exec.Command("docker", "ps", "-q", "--filter", "label=nimbus.instance="+inst.ID).Output()
		return strings.TrimSpace(string(out)) != ""
	}
	if !running() {
		t.Fatal("no running container for the instance")
	}
	stopped := time.Now()
	h.stop()
	e.eventually(10*time.Second, "container fenced", func() (bool, string) { return !running(), "still running" })
	if waited := time.Since(stopped); waited > 5*time.Second {
		t.Errorf("fenced %s after the agent ended, later than the heartbeat timeout", waited)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", "nimbus-"+inst.ID).Run() })
}
