package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// killInterval is how often Stop repeats SIGKILL until the workload is gone.
const killInterval = 100 * time.Millisecond

// Start creates the instance's directory and cgroup, starts its shim and
// returns once the workload runs inside its limits. The workload's
// working directory defaults to <Dir>/<id>/work.
func (d *Driver) Start(ctx context.Context, spec driver.Spec) (h driver.Handle, err error) {
	if err := validID(spec.ID); err != nil {
		return driver.Handle{}, err
	}
	if len(spec.Command) == 0 {
		return driver.Handle{}, fmt.Errorf("start %s: no command", spec.ID)
	}
	if spec.WorkDir != "" && !filepath.IsAbs(spec.WorkDir) {
		return driver.Handle{}, fmt.Errorf("start %s: working directory %q is not absolute", spec.ID, spec.WorkDir)
	}
	if _, err := d.get(spec.ID); err == nil {
		return driver.Handle{}, fmt.Errorf("start %s: %w", spec.ID, fs.ErrExist)
	}
	// A directory of an instance this driver does not know is what an
	// agent left that died before it kept the handle: its workload is
	// stopped and all of it removed before the new start.
	switch err := d.Destroy(ctx, spec.ID); {
	case err == nil:
		d.log.Warn("removed the leftover of an earlier start", "id", spec.ID)
	case !errors.Is(err, driver.ErrNotFound):
		return driver.Handle{}, fmt.Errorf("start %s: remove leftover: %w", spec.ID, err)
	}
	dir := filepath.Join(d.cfg.Dir, spec.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return driver.Handle{}, fmt.Errorf("start %s: %w", spec.ID, err)
	}
	var (
		cg      cgroup
		shimCmd *exec.Cmd
	)
	defer func() {
		if err != nil {
			d.cleanupFailedStart(dir, cg, shimCmd)
			err = fmt.Errorf("start %s: %w", spec.ID, err)
		}
	}()

	cfg := shimConfig{
		ID:          spec.ID,
		Name:        spec.Name,
		Command:     spec.Command,
		Env:         spec.Env,
		WorkDir:     spec.WorkDir,
		Namespaces:  d.namespaces,
		LeasePath:   d.cfg.LeasePath,
		LogMaxBytes: d.cfg.LogMaxBytes,
		LogFiles:    d.cfg.LogFiles,
	}
	if cfg.WorkDir == "" {
		cfg.WorkDir = filepath.Join(dir, workDir)
		if err := os.Mkdir(cfg.WorkDir, 0o755); err != nil {
			return driver.Handle{}, err
		}
		if dropsRoot() {
			if err := os.Chown(cfg.WorkDir, workloadUID, workloadGID); err != nil {
				return driver.Handle{}, fmt.Errorf("hand working directory to the workloads' user: %w", err)
			}
		}
	}
	pids := spec.PIDs
	if pids <= 0 {
		pids = DefaultPIDs
	}
	if cfg.Cgroup, cg, err = d.cgroups.create(spec.ID, limits{milliCPU: spec.MilliCPU, memoryMiB: spec.MemoryMiB, pids: pids}); err != nil {
		return driver.Handle{}, err
	}
	configPath := filepath.Join(dir, configFile)
	if err := writeJSON(configPath, cfg); err != nil {
		return driver.Handle{}, fmt.Errorf("write shim config: %w", err)
	}

	if shimCmd, err = d.startShim(ctx, dir, configPath); err != nil {
		return driver.Handle{}, err
	}
	var st state
	if err := readJSON(filepath.Join(dir, stateFile), &st); err != nil {
		return driver.Handle{}, fmt.Errorf("read state: %w", err)
	}
	if st.ShimPID != shimCmd.Process.Pid {
		return driver.Handle{}, fmt.Errorf("state names shim %d, not %d", st.ShimPID, shimCmd.Process.Pid)
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return driver.Handle{}, err
	}
	inst := newInstance(st, cfg, cg)
	go func() {
		_ = shimCmd.Wait()
		inst.finish()
	}()
	d.mu.Lock()
	d.instances[spec.ID] = inst
	d.mu.Unlock()
	d.log.Info("started", "id", spec.ID, "pid", st.PID, "shim", st.ShimPID, "cgroup", st.Cgroup.Path)
	return driver.Handle{ID: spec.ID, Driver: Name, State: stateJSON}, nil
}

// startShim starts the shim detached in its own session and waits for its
// report that the workload runs and its state.json is written.
func (d *Driver) startShim(ctx context.Context, dir, configPath string) (*exec.Cmd, error) {
	logFile, err := os.OpenFile(filepath.Join(dir, shimLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	cmd := exec.Command(d.cfg.Exe)
	// One processor is plenty for a shim's pipes and timers, and costs less
	// memory per instance.
	cmd.Env = append(roleEnviron(os.Environ()), roleEnv+"="+roleShim, configEnv+"="+configPath, "GOMAXPROCS=1")
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.ExtraFiles = []*os.File{readyW} // readyFD
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	if err != nil {
		return nil, fmt.Errorf("start shim: %w", err)
	}
	got := make(chan readyMsg, 1)
	go func() {
		var msg readyMsg
		if err := json.NewDecoder(readyR).Decode(&msg); err != nil {
			msg.Error = "shim ended before reporting: " + shimLogTail(dir)
		}
		got <- msg
	}()
	select {
	case msg := <-got:
		if msg.Error != "" {
			return cmd, errors.New(msg.Error)
		}
		return cmd, nil
	case <-ctx.Done():
		return cmd, ctx.Err()
	}
}

// shimLogTail returns the last line the shim wrote to its log, for errors.
func shimLogTail(dir string) string {
	data, _ := os.ReadFile(filepath.Join(dir, shimLog))
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if last := lines[len(lines)-1]; last != "" {
		return last
	}
	return "no diagnostics"
}

// cleanupFailedStart undoes a Start that failed half-way.
func (d *Driver) cleanupFailedStart(dir string, cg cgroup, shimCmd *exec.Cmd) {
	if shimCmd != nil {
		_ = shimCmd.Process.Kill()
		_ = shimCmd.Wait()
	}
	if cg != nil {
		if err := killAll(context.Background(), cg); err != nil {
			d.log.Warn("kill leftovers of failed start", "dir", dir, "err", err)
		}
		if err := cg.remove(); err != nil {
			d.log.Warn("remove cgroup of failed start", "dir", dir, "err", err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		d.log.Warn("remove directory of failed start", "dir", dir, "err", err)
	}
}

// validID accepts instance IDs that are safe as a file and cgroup name.
func validID(id string) error {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
		return fmt.Errorf("invalid instance id %q", id)
	}
	return nil
}

// Wait blocks until the instance has ended or ctx ends.
func (d *Driver) Wait(ctx context.Context, id string) (driver.Exit, error) {
	inst, err := d.get(id)
	if err != nil {
		return driver.Exit{}, err
	}
	select {
	case <-inst.done:
		return inst.exit, nil
	case <-ctx.Done():
		return driver.Exit{}, ctx.Err()
	}
}

// Stop sends SIGTERM to every process of the instance, and after grace
// SIGKILL, repeated until the workload has ended and its cgroup is empty.
// Stopping an ended instance does nothing. An instance this driver does
// not know but whose directory exists is taken over first (see find).
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	inst, err := d.find(id)
	if err != nil {
		return err
	}
	inst.signal(unix.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-inst.done:
	case <-t.C:
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", id, ctx.Err())
	}
	tick := time.NewTicker(killInterval)
	defer tick.Stop()
	for !inst.exited() {
		inst.signal(unix.SIGKILL)
		select {
		case <-inst.done:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", id, ctx.Err())
		}
	}
	if inst.cg != nil {
		if err := killAll(ctx, inst.cg); err != nil {
			return fmt.Errorf("stop %s: %w", id, err)
		}
	}
	return nil
}

// killAll kills the processes in cg until there are none.
func killAll(ctx context.Context, cg cgroup) error {
	for {
		pids, err := cg.pids()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || len(pids) == 0 {
			return err
		}
		for _, p := range pids {
			_ = unix.Kill(p, unix.SIGKILL)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Destroy kills the instance if it runs and removes its cgroup and
// directory, logs included; like Stop, it takes over an instance known
// only from its directory.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	inst, err := d.find(id)
	if err != nil {
		return err
	}
	if err := d.Stop(ctx, id, 0); err != nil {
		return fmt.Errorf("destroy: %w", err)
	}
	if inst.cg != nil {
		if err := inst.cg.remove(); err != nil {
			return fmt.Errorf("destroy %s: remove cgroup: %w", id, err)
		}
	}
	if err := os.RemoveAll(inst.st.Dir); err != nil {
		return fmt.Errorf("destroy %s: %w", id, err)
	}
	d.mu.Lock()
	delete(d.instances, id)
	d.mu.Unlock()
	return nil
}

// Stats samples the instance's cgroup or, without one, its main process.
func (d *Driver) Stats(_ context.Context, id string) (driver.Stats, error) {
	inst, err := d.get(id)
	if err != nil {
		return driver.Stats{}, err
	}
	now := time.Now()
	if inst.cg != nil {
		cpu, mem, err := inst.cg.usage()
		if err != nil {
			return driver.Stats{}, fmt.Errorf("stats %s: %w", id, err)
		}
		return driver.Stats{CPUNanos: cpu, MemoryBytes: mem, At: now}, nil
	}
	if inst.exited() {
		return driver.Stats{}, fmt.Errorf("stats %s: %w", id, ErrNotRunning)
	}
	p, err := procStat(inst.st.PID)
	if err != nil {
		return driver.Stats{}, fmt.Errorf("stats %s: %w", id, err)
	}
	return driver.Stats{
		CPUNanos:    p.CPUTicks * uint64(time.Second/clockTicks),
		MemoryBytes: p.RSSPages * uint64(os.Getpagesize()),
		At:          now,
	}, nil
}
