// Package process implements the "process" driver: it runs a command as a
// plain host process, in its own pid, mount and uts namespaces and under
// cgroup limits when the agent runs as root.
//
// Every instance has a shim, the agent's binary re-executed (see Reexec)
// and detached into its own session, like conmon or containerd-shim. The
// shim starts the workload, owns its output and waits for it, so the agent
// may die and come back (Recover) without killing the workload or losing
// its exit status:
//
//	agent ──Start──▶ shim (setsid) ──clone(NEWPID|NEWNS|NEWUTS)──▶ init
//	  │               │  joins init to /nimbus/<id> cgroup, opens gate ──▶ init: hostname,
//	  │               │                                     /proc, become nobody, exec(command)
//	  │               ├─ stdout/stderr ──▶ output.log (JSON lines, rotated)
//	  │               ├─ lease file expired? ──▶ SIGTERM, SIGKILL (fenced)
//	  │               └─ workload ends ──▶ exit.json, shim exits
//	  └─ Wait: shim's end (child wait or pidfd) ──▶ read exit.json
//
// Each instance keeps its files in <Config.Dir>/<id>: shim.json (what to
// run), state.json (the shim's and the workload's pids, as in the Handle),
// output.log* (its output), exit.json (how it ended), shim.log (the shim's
// own diagnostics) and work/ (the default working directory). The
// directory alone is enough to take the instance over: Stop, Destroy and
// Start of an instance the driver does not know find it there, so an agent
// that died before keeping a handle leaves no orphan.
//
// Under a root agent, init becomes nobody (uid and gid 65534, no
// supplementary groups) right before it execs the command, after setting
// up the namespaces; commands run by Exec become nobody too (nsenter -S
// -G, which enters the namespaces as root first). work/ belongs to nobody;
// the state directories above it stay private, so the workload reaches it
// as its current directory. Without root the workload runs as the agent's
// user.
//
// The workload shares the host's file system and network: Spec.Image,
// Ports and Volumes do not apply. Without root there are no namespaces,
// and without a writable cgroup hierarchy offering the cpu and memory
// controllers there are no limits; Probe says so. Stop and fencing then
// signal the workload's process group instead of its cgroup.
package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Name is the driver's name in instance specs.
const Name = "process"

// Defaults of Config.
const (
	DefaultLogMaxBytes = 10 << 20
	DefaultLogFiles    = 3
	// DefaultPIDs limits the tasks of an instance whose spec sets none.
	DefaultPIDs = 4096
)

var (
	// ErrFenced is the Err of an Exit when the shim stopped the workload
	// because the agent's lease (Config.LeasePath) had expired.
	ErrFenced = errors.New("process: stopped because the agent's lease expired")
	// ErrLost is the Err of an Exit when the shim ended without recording
	// how the workload ended (it was killed, say): the workload's fate is
	// unknown.
	ErrLost = errors.New("process: shim ended without recording an exit")
	// ErrNotRunning is returned by Exec, and by Stats without a cgroup,
	// once the instance has ended.
	ErrNotRunning = errors.New("process: instance not running")
)

// Config configures the driver.
type Config struct {
	// Dir is the state root (<agent state>/process, say); each instance
	// gets a directory below it.
	Dir string
	// Exe is the binary re-executed as shim; it must call Reexec first
	// thing. Default /proc/self/exe.
	Exe string
	// LeasePath, when set, is the lease file (see WriteLease) that fences
	// workloads: once the deadline in it has passed, shims stop their
	// workloads. A missing file means no fencing.
	LeasePath string
	// LogMaxBytes is the size at which output.log rotates; default
	// DefaultLogMaxBytes.
	LogMaxBytes int64
	// LogFiles is how many rotated logs are kept; default DefaultLogFiles.
	LogFiles int
	// Logger receives the driver's logs; default slog.Default() with
	// driver=process.
	Logger *slog.Logger
}

// Driver is the process driver.
type Driver struct {
	cfg        Config
	log        *slog.Logger
	namespaces bool
	cgroups    cgroupSystem
	nsenter    string // path of nsenter, for Exec into namespaces

	mu        sync.Mutex
	instances map[string]*instance
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver keeping its state in cfg.Dir. It detects what the
// host allows: namespaces need root, limits need a writable cgroup
// hierarchy with the cpu and memory controllers.
func New(cfg Config) (*Driver, error) {
	if cfg.Dir == "" {
		return nil, errors.New("process driver: no state directory")
	}
	// Shims run in their instance's directory and find it by the path.
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("process driver: state directory: %w", err)
	}
	cfg.Dir = dir
	if cfg.Exe == "" {
		cfg.Exe = "/proc/self/exe"
	}
	if cfg.LogMaxBytes <= 0 {
		cfg.LogMaxBytes = DefaultLogMaxBytes
	}
	if cfg.LogFiles <= 0 {
		cfg.LogFiles = DefaultLogFiles
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default().With("driver", Name)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("process driver: create state directory: %w", err)
	}
	d := &Driver{
		cfg:        cfg,
		log:        cfg.Logger,
		namespaces: os.Geteuid() == 0,
		cgroups:    detectCgroups(),
		instances:  map[string]*instance{},
	}
	d.nsenter, _ = exec.LookPath("nsenter")
	if d.cgroups.version == 0 {
		d.log.Warn("running without cgroup limits", "reason", d.cgroups.reason)
	}
	return d, nil
}

// Name returns "process".
func (d *Driver) Name() string { return Name }

// Probe reports the driver available, with the isolation it can give.
func (d *Driver) Probe(context.Context) driver.Report {
	var notes []string
	switch {
	case !d.namespaces && d.cgroups.version == 0:
		notes = append(notes, "not root: no namespaces, no cgroup limits")
	case !d.namespaces:
		notes = append(notes, fmt.Sprintf("not root: no namespaces; cgroup v%d limits", d.cgroups.version))
	case d.cgroups.version == 0:
		notes = append(notes, "no cgroup limits: "+d.cgroups.reason)
	default:
		notes = append(notes, fmt.Sprintf("pid, mount and uts namespaces; cgroup v%d limits", d.cgroups.version))
	}
	if d.namespaces && d.nsenter == "" {
		notes = append(notes, "no nsenter: exec unavailable")
	}
	if dropsRoot() {
		notes = append(notes, fmt.Sprintf("workloads run as nobody (uid %d, gid %d)", workloadUID, workloadGID))
	} else {
		notes = append(notes, "workloads run as the agent's user")
	}
	return driver.Report{Name: Name, Available: true, Detail: strings.Join(notes, "; ")}
}

// get returns a known instance.
func (d *Driver) get(id string) (*instance, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	inst, ok := d.instances[id]
	if !ok {
		return nil, fmt.Errorf("instance %s: %w", id, driver.ErrNotFound)
	}
	return inst, nil
}
