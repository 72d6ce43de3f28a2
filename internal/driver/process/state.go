package process

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Files in an instance's state directory.
const (
	configFile = "shim.json"  // shimConfig, written by Start
	stateFile  = "state.json" // state, written by the shim before it reports
	exitFile   = "exit.json"  // exitRecord, written by the shim
	shimLog    = "shim.log"   // the shim's own diagnostics
	outputLog  = "output.log" // the workload's stdout and stderr
	workDir    = "work"       // default working directory of the workload
)

// state is what a Handle carries, and state.json holds: enough to find the
// instance again after an agent restart.
type state struct {
	// Dir is the instance's state directory.
	Dir string `json:"dir"`
	// ShimPID and ShimStart identify the shim; the start time (from
	// /proc/<pid>/stat) guards against pid reuse.
	ShimPID   int    `json:"shim_pid"`
	ShimStart uint64 `json:"shim_start"`
	// PID is the workload's pid as the host sees it.
	PID int `json:"pid"`
	// Namespaces is true when the workload runs in its own pid, mount and
	// uts namespaces.
	Namespaces bool `json:"namespaces"`
	// Cgroup locates the workload's cgroup; its zero value means none.
	Cgroup cgroupRef `json:"cgroup"`
}

// shimConfig tells the shim what to run; Start writes it to the instance
// directory.
type shimConfig struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Command     []string  `json:"command"`
	Env         []string  `json:"env"`
	WorkDir     string    `json:"work_dir"`
	Namespaces  bool      `json:"namespaces"`
	Cgroup      cgroupRef `json:"cgroup"`
	LeasePath   string    `json:"lease_path,omitempty"`
	LogMaxBytes int64     `json:"log_max_bytes"`
	LogFiles    int       `json:"log_files"`
}

// exitRecord is how the shim writes down the workload's end (exit.json).
type exitRecord struct {
	Code      int       `json:"code"`
	Signal    int       `json:"signal,omitempty"`
	OOMKilled bool      `json:"oom_killed,omitempty"`
	Fenced    bool      `json:"fenced,omitempty"`
	At        time.Time `json:"at"`
	// Error is set when the shim could not wait for the workload.
	Error string `json:"error,omitempty"`
}

// toExit converts the record to the driver's form.
func (r exitRecord) toExit() driver.Exit {
	e := driver.Exit{Code: r.Code, Signal: r.Signal, OOMKilled: r.OOMKilled, At: r.At}
	switch {
	case r.Fenced:
		e.Err = ErrFenced
	case r.Error != "":
		e.Err = fmt.Errorf("%w: %s", ErrLost, r.Error)
	}
	return e
}

// readExit reads an instance's exit record; it returns an error wrapping
// fs.ErrNotExist when the workload has not ended (or the shim died first).
func readExit(dir string) (exitRecord, error) {
	var r exitRecord
	err := readJSON(filepath.Join(dir, exitFile), &r)
	return r, err
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// writeJSON writes v to path atomically: readers see the old file or the
// whole new one.
func writeJSON(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return writeAtomic(path, data)
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// procInfo is what the driver reads from /proc/<pid>/stat.
type procInfo struct {
	// State is the one-letter process state; Z and X mean it has exited.
	State string
	// Start is the start time in clock ticks since boot: with the pid it
	// identifies a process across pid reuse.
	Start uint64
	// CPUTicks is user plus system time, in clock ticks.
	CPUTicks uint64
	// RSSPages is the resident set size, in pages.
	RSSPages uint64
}

// clockTicks is the kernel's USER_HZ, fixed at 100 on Linux.
const clockTicks = 100

// procStat reads /proc/<pid>/stat.
func procStat(pid int) (procInfo, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procInfo{}, err
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted from the last ')', so field n is fields[n-3].
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 22 {
		return procInfo{}, fmt.Errorf("parse /proc/%d/stat: %d fields", pid, len(f))
	}
	var n [4]uint64
	for j, field := range []int{14, 15, 22, 24} {
		if n[j], err = strconv.ParseUint(f[field-3], 10, 64); err != nil {
			return procInfo{}, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
	}
	return procInfo{State: f[0], Start: n[2], CPUTicks: n[0] + n[1], RSSPages: n[3]}, nil
}

// alive reports whether pid still runs the process that started at start.
func alive(pid int, start uint64) bool {
	p, err := procStat(pid)
	return err == nil && p.Start == start && p.State != "Z" && p.State != "X"
}
