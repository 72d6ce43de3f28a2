package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readyFD is the descriptor on which the shim tells Start that the
// workload runs (or why it does not).
const readyFD = 3

// Timings of the shim.
const (
	// leaseRecheck bounds the time between two reads of the lease. In
	// between, the shim sleeps until the deadline it read: a shim costs a
	// wake-up every few seconds, not four a second.
	leaseRecheck = 5 * time.Second
	// fenceGrace is how long a fenced workload has between SIGTERM and
	// SIGKILL.
	fenceGrace = time.Second
	// drainTimeout bounds the wait for the last output once the workload
	// has ended (a process outside the cgroup may still hold the pipes).
	drainTimeout = 5 * time.Second
)

// readyMsg is what the shim writes to readyFD: the workload runs, and its
// state is in state.json, unless Error says why not.
type readyMsg struct {
	Error string `json:"error,omitempty"`
}

// shim watches one workload: it owns the workload's output pipes and its
// exit status, so neither depends on the agent staying alive.
type shim struct {
	cfg    shimConfig
	dir    string
	log    *slog.Logger
	cmd    *exec.Cmd
	cg     cgroup
	logs   *logWriter
	copied sync.WaitGroup
	fenced atomic.Bool
}

// runShim is the shim role: it starts the workload described by the
// shim.json at configPath, writes state.json, reports on readyFD, records
// the workload's output and finally its exit in exit.json. A workload it
// cannot record or report is killed: Start has given up on it, or the
// agent has died before it learnt of it, and a new agent will find only
// the directory.
func runShim(configPath string) int {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ready := os.NewFile(readyFD, "ready")
	s, err := startWorkload(configPath, log)
	if err != nil {
		log.Error("start workload", "err", err)
		_ = json.NewEncoder(ready).Encode(readyMsg{Error: err.Error()})
		return 1
	}
	if err = s.writeState(); err != nil {
		_ = json.NewEncoder(ready).Encode(readyMsg{Error: err.Error()})
	} else {
		err = json.NewEncoder(ready).Encode(readyMsg{})
	}
	_ = ready.Close()
	if err != nil {
		log.Error("workload not recorded or reported: killing it", "err", err)
		signalTree(s.cg, s.cmd.Process.Pid, unix.SIGKILL)
	}
	// A shim lives as long as its workload, one per instance: give back
	// what starting the binary allocated, and keep the heap small.
	debug.SetGCPercent(20)
	debug.FreeOSMemory()

	rec := s.wait()
	if err := writeJSON(filepath.Join(s.dir, exitFile), rec); err != nil {
		log.Error("record exit", "err", err)
		return 1
	}
	log.Info("workload ended", "code", rec.Code, "signal", rec.Signal, "oom_killed", rec.OOMKilled, "fenced", rec.Fenced)
	return 0
}

// startWorkload starts the workload through the init role and releases it
// once it is in its cgroup.
func startWorkload(configPath string, log *slog.Logger) (*shim, error) {
	s := &shim{dir: filepath.Dir(configPath), log: log}
	if err := readJSON(configPath, &s.cfg); err != nil {
		return nil, err
	}
	if len(s.cfg.Command) == 0 {
		return nil, errors.New("no command")
	}
	env := withDefaultPath(s.cfg.Env)
	prog, err := lookPath(s.cfg.Command[0], env, s.cfg.WorkDir)
	if err != nil {
		return nil, err
	}
	if s.cg, err = loadCgroup(s.cfg.Cgroup); err != nil {
		return nil, fmt.Errorf("load cgroup: %w", err)
	}
	if s.logs, err = newLogWriter(s.dir, s.cfg.LogMaxBytes, s.cfg.LogFiles); err != nil {
		return nil, err
	}

	s.cmd = exec.Command("/proc/self/exe", append([]string{prog}, s.cfg.Command...)...)
	s.cmd.Env = append(roleEnviron(env), roleEnv+"="+roleInit)
	s.cmd.Dir = s.cfg.WorkDir
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if s.cfg.Namespaces {
		s.cmd.Env = append(s.cmd.Env, hostnameEnv+"="+hostname(s.cfg))
		s.cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS | unix.CLONE_NEWUTS
	}
	stdout, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	stderr, errW, err := os.Pipe()
	if err != nil {
		stdout.Close()
		outW.Close()
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = outW, errW
	err = startGated(s.cmd, s.cg)
	// The child has its copies of the write ends (or failed): the reads
	// end when the workload and everything it started are gone.
	outW.Close()
	errW.Close()
	if err != nil {
		stdout.Close()
		stderr.Close()
		s.logs.close()
		return nil, err
	}
	s.copied.Add(2)
	go s.copy(stdout, "stdout")
	go s.copy(stderr, "stderr")
	return s, nil
}

// writeState records in state.json, atomically, what finds the instance
// again: the shim, the workload and its cgroup.
func (s *shim) writeState() error {
	self, err := procStat(os.Getpid())
	if err != nil {
		return fmt.Errorf("read own start time: %w", err)
	}
	st := state{
		Dir:        s.dir,
		ShimPID:    os.Getpid(),
		ShimStart:  self.Start,
		PID:        s.cmd.Process.Pid,
		Namespaces: s.cfg.Namespaces,
		Cgroup:     s.cfg.Cgroup,
	}
	if err := writeJSON(filepath.Join(s.dir, stateFile), st); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// copy writes one output stream of the workload to the log.
func (s *shim) copy(r *os.File, stream string) {
	defer s.copied.Done()
	defer r.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := s.logs.write(stream, buf[:n]); werr != nil {
				s.log.Error("write log", "err", werr)
			}
		}
		if err != nil {
			return
		}
	}
}

// wait waits for the workload to end, makes sure nothing it started
// survives it, and describes how it ended.
func (s *shim) wait() exitRecord {
	ended := make(chan struct{})
	if s.cfg.LeasePath != "" {
		go s.watchLease(ended)
	}
	err := s.cmd.Wait()
	close(ended)
	rec := exitRecord{At: time.Now()}
	if ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus); ok {
		if ws.Signaled() {
			rec.Code, rec.Signal = -1, int(ws.Signal())
		} else {
			rec.Code = ws.ExitStatus()
		}
	} else if err != nil {
		rec.Code, rec.Error = -1, err.Error()
	}
	s.sweep()
	drained := make(chan struct{})
	go func() {
		s.copied.Wait()
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		s.log.Warn("output still open after the workload ended")
	}
	s.logs.close()
	if s.cg != nil {
		if n, err := s.cg.oomKills(); err != nil {
			s.log.Warn("read oom kills", "err", err)
		} else {
			rec.OOMKilled = n > 0
		}
	}
	rec.Fenced = s.fenced.Load()
	return rec
}

// sweep kills whatever the workload left behind. In a pid namespace the
// kernel has done so already.
func (s *shim) sweep() {
	pid := s.cmd.Process.Pid
	if s.cg == nil {
		_ = unix.Kill(-pid, unix.SIGKILL)
		return
	}
	deadline := time.Now().Add(drainTimeout)
	for time.Now().Before(deadline) {
		pids, err := s.cg.pids()
		if err != nil || len(pids) == 0 {
			return
		}
		signalTree(s.cg, pid, unix.SIGKILL)
		time.Sleep(20 * time.Millisecond)
	}
	s.log.Warn("processes left in cgroup", "cgroup", s.cfg.Cgroup.Path)
}

// watchLease stops the workload once the agent's lease has run out:
// SIGTERM at once, SIGKILL from fenceGrace on, until the workload ends.
func (s *shim) watchLease(ended <-chan struct{}) {
	var fencedAt time.Time
	wait := time.Duration(0)
	for {
		t := time.NewTimer(wait)
		select {
		case <-ended:
			t.Stop()
			return
		case <-t.C:
		}
		pid := s.cmd.Process.Pid
		if s.fenced.Load() {
			if time.Since(fencedAt) >= fenceGrace {
				signalTree(s.cg, pid, unix.SIGKILL)
			}
			wait = killInterval
			continue
		}
		deadline, ok := leaseDeadline(s.cfg.LeasePath)
		now := time.Now()
		_, dirErr := os.Stat(s.dir)
		switch {
		case dirErr != nil:
			// Nothing can manage the instance once its directory is gone
			// (its agent's state was removed): it stops as if fenced.
			s.log.Warn("instance directory gone: stopping workload", "dir", s.dir)
			s.fenced.Store(true)
			fencedAt = now
			signalTree(s.cg, pid, unix.SIGTERM)
			wait = killInterval
		case !ok:
			wait = leaseRecheck
		case now.After(deadline):
			s.log.Warn("lease expired: stopping workload", "lease", s.cfg.LeasePath)
			s.fenced.Store(true)
			fencedAt = now
			signalTree(s.cg, pid, unix.SIGTERM)
			wait = killInterval
		default:
			wait = min(deadline.Sub(now)+time.Millisecond, leaseRecheck)
		}
	}
}

// hostname is the host name inside the instance: its name, else its ID,
// cut to the kernel's limit.
func hostname(cfg shimConfig) string {
	h := cfg.Name
	if h == "" {
		h = cfg.ID
	}
	if len(h) > 64 {
		h = h[:64]
	}
	return h
}
