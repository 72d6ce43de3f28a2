package process

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sys/unix"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestLogsAndStopKillsTree(t *testing.T) {
	t.Parallel()
	d := isolated(t, nil)
	h := start(t, d, driver.Spec{Name: "tree", Command: sh("echo hi; echo err >&2; sleep 1000 & sleep 30")})
	eventually(t, "both streams in the log", func() bool {
		out := output(t, d, h.ID, driver.LogOptions{})
		return out[driver.Stdout] == "hi\n" && out[driver.Stderr] == "err\n"
	})
	inst, _ := d.get(h.ID)
	type proc struct {
		pid   int
		start uint64
	}
	var procs []proc
	eventually(t, "sh and both sleeps in the cgroup", func() bool {
		pids, err := inst.cg.pids()
		if err != nil {
			t.Fatal(err)
		}
		procs = procs[:0]
		for _, pid := range pids {
			if p, err := procStat(pid); err == nil {
				procs = append(procs, proc{pid, p.Start})
			}
		}
		return len(procs) >= 3
	})
	if err := d.Stop(ctxFor(t), h.ID, 2*time.Second); err != nil {
		t.Fatalf("stop: %v", err)
	}
	for _, p := range procs {
		if alive(p.pid, p.start) {
			t.Errorf("pid %d survived Stop", p.pid)
		}
	}
	e := wait(t, d, h.ID)
	if e.Err != nil || e.At.IsZero() || (e.Code == 0 && e.Signal == 0) {
		t.Errorf("exit = %+v, want a recorded exit after a kill", e)
	}
	if _, err := os.Stat(filepath.Join(inst.st.Dir, exitFile)); err != nil {
		t.Errorf("exit not recorded: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), nil)
	h := start(t, d, driver.Spec{Command: sh("exit 3")})
	if e := wait(t, d, h.ID); e.Code != 3 || e.Signal != 0 || e.OOMKilled || e.Err != nil {
		t.Errorf("exit = %+v, want code 3", e)
	}
}

func TestStartFailsForMissingCommand(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), nil)
	// IDs name cgroups, which are global: unique IDs keep concurrent runs
	// of the tests apart.
	id := uuid.NewString()
	_, err := d.Start(ctxFor(t), driver.Spec{ID: id, Command: []string{"no-such-command-here"}})
	if err == nil || !strings.Contains(err.Error(), "no-such-command-here") {
		t.Fatalf("start = %v, want an error naming the command", err)
	}
	if _, err := os.Stat(filepath.Join(d.cfg.Dir, id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed start left its directory: %v", err)
	}

	// Init reports a failed exec. The program lies where the workloads'
	// user may look (test directories are private).
	public, err := os.MkdirTemp("", "nimbus-process-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(public) })
	if err := os.Chmod(public, 0o755); err != nil {
		t.Fatal(err)
	}
	bogus := filepath.Join(public, "bogus")
	if err := os.WriteFile(bogus, []byte{0, 1, 2, 3}, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = d.Start(ctxFor(t), driver.Spec{ID: uuid.NewString(), Command: []string{bogus}})
	if err == nil || !strings.Contains(err.Error(), "exec format error") {
		t.Fatalf("start = %v, want exec format error", err)
	}
}

func TestOOMKilled(t *testing.T) {
	t.Parallel()
	d := isolated(t, nil)
	// The string doubles until it no longer fits in 32 MiB.
	h := start(t, d, driver.Spec{MemoryMiB: 32, Command: []string{"awk", `BEGIN { s = "a"; while (1) s = s s }`}})
	e := wait(t, d, h.ID)
	t.Logf("exit %+v", e)
	if !e.OOMKilled {
		t.Errorf("exit = %+v, want OOM killed", e)
	}
}

func TestCPUQuota(t *testing.T) {
	t.Parallel()
	d := isolated(t, nil)
	h := start(t, d, driver.Spec{MilliCPU: 200, Command: sh("while :; do :; done")})
	ctx := ctxFor(t)
	first, err := d.Stats(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond)
	last, err := d.Stats(ctx, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	cores := float64(last.CPUNanos-first.CPUNanos) / float64(last.At.Sub(first.At).Nanoseconds())
	t.Logf("used %.3f cores with a 0.2 core limit; memory %d bytes", cores, last.MemoryBytes)
	if cores >= 0.35 || cores <= 0 {
		t.Errorf("used %.3f cores, want (0, 0.35)", cores)
	}
	if last.MemoryBytes == 0 {
		t.Error("memory use is 0")
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newDriver(t, dir, nil)
	h := start(t, a, driver.Spec{Command: []string{"sleep", "30"}})
	instA, _ := a.get(h.ID)

	b := newDriver(t, dir, nil)
	ctx := ctxFor(t)
	if err := b.Recover(ctx, h); err != nil {
		t.Fatalf("recover: %v", err)
	}
	instB, err := b.get(h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if instB.st.PID != instA.st.PID || instB.exited() {
		t.Fatalf("recovered pid %d (exited %v), want running pid %d", instB.st.PID, instB.exited(), instA.st.PID)
	}
	if p, err := procStat(instA.st.PID); err != nil || p.State == "Z" {
		t.Fatalf("workload not running after recover: %v %+v", err, p)
	}
	if err := b.Stop(ctx, h.ID, time.Second); err != nil {
		t.Fatalf("stop via recovered driver: %v", err)
	}
	if e := wait(t, b, h.ID); e.Err != nil || e.Code == 0 && e.Signal == 0 {
		t.Errorf("exit via recovered driver = %+v, want a kill", e)
	}
	if err := b.Destroy(ctx, h.ID); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	c := newDriver(t, dir, nil)
	if err := c.Recover(ctx, h); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("recover destroyed = %v, want ErrNotFound", err)
	}
}

// TestRecoverAfterAgentKilled kills an agent (the test binary in another
// role) with SIGKILL: its workload keeps running and a new driver takes
// it over.
func TestRecoverAfterAgentKilled(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	agent := exec.Command(os.Args[0])
	agent.Env = append(os.Environ(), agentEnv+"="+dir)
	agent.Stderr = t.Output()
	stdout, err := agent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := agent.Start(); err != nil {
		t.Fatal(err)
	}
	var h driver.Handle
	decodeErr := json.NewDecoder(stdout).Decode(&h)
	_ = agent.Process.Kill()
	_ = agent.Wait()
	if decodeErr != nil {
		t.Fatalf("read handle from agent: %v", decodeErr)
	}

	d := newDriver(t, dir, nil)
	ctx := ctxFor(t)
	if err := d.Recover(ctx, h); err != nil {
		t.Fatalf("recover: %v", err)
	}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), h.ID) })
	inst, _ := d.get(h.ID)
	if !alive(inst.st.ShimPID, inst.st.ShimStart) || inst.exited() {
		t.Fatal("shim or workload died with the agent")
	}
	if p, err := procStat(inst.st.PID); err != nil || p.State == "Z" {
		t.Fatalf("workload died with the agent: %v", err)
	}
	if err := d.Stop(ctx, h.ID, 0); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, d, h.ID); e.Signal != int(unix.SIGKILL) && e.Signal != int(unix.SIGTERM) {
		t.Errorf("exit = %+v, want killed by Stop", e)
	}
}

func TestRecoverExitedWhileAway(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newDriver(t, dir, nil)
	h := start(t, a, driver.Spec{Command: sh("sleep 1; exit 7")})
	inst, _ := a.get(h.ID)
	eventually(t, "exit.json", func() bool {
		_, err := os.Stat(filepath.Join(inst.st.Dir, exitFile))
		return err == nil
	})
	b := newDriver(t, dir, nil)
	if err := b.Recover(ctxFor(t), h); err != nil {
		t.Fatalf("recover: %v", err)
	}
	if e := wait(t, b, h.ID); e.Code != 7 || e.Err != nil {
		t.Errorf("exit = %+v, want code 7", e)
	}
}

func TestFencing(t *testing.T) {
	t.Parallel()
	lease := filepath.Join(t.TempDir(), "lease")
	d := newDriver(t, t.TempDir(), func(c *Config) { c.LeasePath = lease })

	if err := WriteLease(lease, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	h := start(t, d, driver.Spec{Command: []string{"sleep", "60"}})
	if e := wait(t, d, h.ID); !errors.Is(e.Err, ErrFenced) {
		t.Errorf("exit = %+v, want fenced", e)
	}

	renew, stop := context.WithCancel(context.Background())
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for renew.Err() == nil {
			if err := WriteLease(lease, time.Now().Add(3*time.Second)); err != nil {
				t.Error(err)
			}
			select {
			case <-renew.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	defer func() { stop(); <-renewed }()
	h = start(t, d, driver.Spec{Command: []string{"sleep", "60"}})
	time.Sleep(3 * time.Second)
	inst, _ := d.get(h.ID)
	if inst.exited() {
		t.Errorf("instance with a renewed lease ended: %+v", inst.exit)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), nil)
	r := d.Probe(ctxFor(t))
	if r.Name != Name || !r.Available {
		t.Errorf("probe = %+v, want an available process driver", r)
	}
	want := "not root: no namespaces"
	if os.Geteuid() == 0 {
		want = "namespaces"
	}
	if !strings.Contains(r.Detail, want) {
		t.Errorf("probe detail %q, want it to say %q", r.Detail, want)
	}
}

// TestWithoutIsolation runs the driver as it runs without root: no
// namespaces, no cgroup; Stop then kills the workload's process group.
func TestWithoutIsolation(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), nil)
	d.namespaces, d.cgroups = false, cgroupSystem{reason: "test"}
	h := start(t, d, driver.Spec{Command: sh("sleep 1000 & echo $! > bg.pid; sleep 30")})
	inst, _ := d.get(h.ID)
	var bg int
	eventually(t, "background pid", func() bool {
		data, err := os.ReadFile(filepath.Join(inst.cfg.WorkDir, "bg.pid"))
		if err != nil || !strings.HasSuffix(string(data), "\n") {
			return false
		}
		bg, err = strconv.Atoi(strings.TrimSpace(string(data)))
		return err == nil
	})
	bgProc, err := procStat(bg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	var out syncBuffer
	code, err := d.Exec(ctx, h.ID, driver.ExecOptions{Command: sh("pwd; exit 2"), Stdout: &out})
	if err != nil || code != 2 || out.String() != inst.cfg.WorkDir+"\n" {
		t.Errorf("exec = %d %v %q, want 2 and the working directory", code, err, out.String())
	}
	if st, err := d.Stats(ctx, h.ID); err != nil || st.MemoryBytes == 0 {
		t.Errorf("stats = %+v %v, want the main process's use", st, err)
	}
	if err := d.Stop(ctx, h.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if e := wait(t, d, h.ID); e.Signal != int(unix.SIGTERM) || e.Code != -1 {
		t.Errorf("exit = %+v, want SIGTERM", e)
	}
	if alive(bg, bgProc.Start) {
		t.Errorf("background pid %d survived Stop", bg)
	}
}
