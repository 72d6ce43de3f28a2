// Package driver defines what the agent asks of a workload driver: start an
// instance from a Spec, find it again after an agent restart, wait for its
// exit, stop it, read its logs, run commands inside it and measure it.
//
// Drivers live in sub-packages (process, docker). Each keeps whatever it
// needs to re-attach in the Handle it returns from Start; the agent persists
// handles in its state directory and gives them back to Recover after a
// restart, so a restarted agent neither kills nor duplicates workloads.
//
//	agent ── Start(spec) ──▶ driver ──▶ workload (cgroup / container)
//	  │  ◀── Handle ────────┘
//	  ├── Wait ◀── Exit{code, signal, oom}
//	  ├── Stop(grace) / Destroy
//	  ├── Logs(follow, tail) / Exec(tty)
//	  └── Stats ──▶ cpu and memory samples
package driver

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a driver does not know the instance (never
// started, or destroyed).
var ErrNotFound = errors.New("driver: instance not found")

// ErrUnavailable is returned by Start when the driver cannot run workloads on
// this host (no Docker engine, say); Probe says why.
var ErrUnavailable = errors.New("driver: unavailable on this host")

// Spec is everything a driver needs to run one instance.
type Spec struct {
	// ID is the instance's stable identity (a UUID); drivers name their
	// resources after it so they can find them again.
	ID string
	// Name is the instance's name, used as host name inside it.
	Name string
	// Image is the container image (docker); empty for process.
	Image string
	// Command is the argv to run: the program and its arguments (process),
	// or an override of the image's command (docker).
	Command []string
	// Env holds environment variables as KEY=VALUE.
	Env []string
	// WorkDir is the working directory; empty means the driver's default.
	WorkDir string
	// Ports maps host ports to ports inside the instance.
	Ports []Port
	// Volumes binds host paths into the instance.
	Volumes []Volume
	// MilliCPU limits cpu time, in thousandths of a core (1500 = 1.5 cores);
	// 0 means unlimited.
	MilliCPU int64
	// MemoryMiB limits memory; 0 means unlimited.
	MemoryMiB int64
	// PIDs limits the number of tasks; 0 means the driver's default.
	PIDs int64
	// Labels are attached to the driver's resources where it has labels.
	Labels map[string]string
}

// Port maps a host port to a port inside the instance.
type Port struct {
	HostPort      int
	ContainerPort int
	// Protocol is "tcp" or "udp".
	Protocol string
}

// Volume binds a host path into the instance.
type Volume struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Handle is a driver's note to itself about a running instance, persisted by
// the agent and given back to Recover.
type Handle struct {
	// ID is the instance ID of the Spec.
	ID string `json:"id"`
	// Driver names the driver that made the handle.
	Driver string `json:"driver"`
	// State is driver-specific (a pid and cgroup path, a container ID).
	State []byte `json:"state"`
}

// Exit describes how an instance ended.
type Exit struct {
	// Code is the exit status, or -1 when a signal ended it.
	Code int
	// Signal is the signal that ended it, 0 if none.
	Signal int
	// OOMKilled is true when the kernel killed it for exceeding its memory
	// limit.
	OOMKilled bool
	// At is when it ended.
	At time.Time
	// Err is set when the driver lost track of the instance rather than
	// seeing it end.
	Err error
}

// Stats is one sample of an instance's resource use.
type Stats struct {
	// CPUNanos is cumulative cpu time used, in nanoseconds.
	CPUNanos uint64
	// MemoryBytes is the current memory use.
	MemoryBytes uint64
	// At is when the sample was taken.
	At time.Time
}

// Stream names an output stream of an instance.
type Stream string

// The output streams.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// LogEntry is one chunk of an instance's output.
type LogEntry struct {
	Time   time.Time
	Stream Stream
	Data   []byte
}

// LogOptions selects the output Logs returns.
type LogOptions struct {
	// Tail limits the history to its last N lines; 0 means all, -1 none.
	Tail int
	// Follow keeps streaming new output until ctx ends or the instance's
	// output ends.
	Follow bool
	// Path reads a file inside the instance (tail -F style) instead of
	// stdout and stderr. Its entries carry Stream "file".
	Path string
}

// TermSize is a terminal's size in character cells.
type TermSize struct {
	Rows, Cols uint16
}

// ExecOptions describes a command to run inside an instance.
type ExecOptions struct {
	Command []string
	Env     []string
	// TTY allocates a pseudo-terminal; Stderr is then unused.
	TTY    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize delivers terminal size changes while a TTY session runs.
	Resize <-chan TermSize
}

// Report says what a driver can do on this host.
type Report struct {
	// Name is the driver's name ("process", "docker").
	Name string `json:"name"`
	// Available is false when the driver cannot run workloads here.
	Available bool `json:"available"`
	// Version is the engine's version where there is one.
	Version string `json:"version,omitempty"`
	// Detail explains unavailability or reduced isolation, in words for
	// people ("no Docker engine at unix:///var/run/docker.sock", "not
	// root: no namespaces, no cgroup limits").
	Detail string `json:"detail,omitempty"`
}

// Driver runs instances of one kind on this host. Every method is safe for
// concurrent use.
type Driver interface {
	// Name is the driver's name as used in instance specs.
	Name() string
	// Probe checks what the driver can do here; the agent calls it at start
	// and reports the result.
	Probe(ctx context.Context) Report
	// Start creates and starts an instance and returns once it runs.
	Start(ctx context.Context, spec Spec) (Handle, error)
	// Recover re-attaches to an instance started by an earlier agent
	// process. It returns ErrNotFound when the instance is gone; an exited
	// instance is recovered and its Wait answers at once.
	Recover(ctx context.Context, h Handle) error
	// Wait blocks until the instance exits or ctx ends.
	Wait(ctx context.Context, id string) (Exit, error)
	// Stop asks the instance to end (SIGTERM), and kills it and everything
	// it started after grace.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Destroy stops the instance if needed and removes everything the
	// driver made for it, logs included.
	Destroy(ctx context.Context, id string) error
	// Logs calls fn for each log entry, in order, until the history ends
	// (or, with Follow, until ctx ends or the output closes).
	Logs(ctx context.Context, id string, opts LogOptions, fn func(LogEntry) error) error
	// Exec runs a command inside the instance's namespaces or container and
	// returns its exit code.
	Exec(ctx context.Context, id string, opts ExecOptions) (int, error)
	// Stats samples the instance's resource use.
	Stats(ctx context.Context, id string) (Stats, error)
}
