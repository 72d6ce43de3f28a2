package process

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// instance is the driver's view of one workload.
type instance struct {
	st  state
	cfg shimConfig
	cg  cgroup // nil without cgroup limits

	// done is closed once exit is known.
	done chan struct{}
	exit driver.Exit
}

func newInstance(st state, cfg shimConfig, cg cgroup) *instance {
	return &instance{st: st, cfg: cfg, cg: cg, done: make(chan struct{})}
}

// exited reports whether the workload has ended.
func (i *instance) exited() bool {
	select {
	case <-i.done:
		return true
	default:
		return false
	}
}

// finish reads how the workload ended, once its shim is gone, and wakes
// the waiters.
func (i *instance) finish() {
	if rec, err := readExit(i.st.Dir); err == nil {
		i.exit = rec.toExit()
	} else {
		i.exit = driver.Exit{Code: -1, At: time.Now(), Err: ErrLost}
	}
	close(i.done)
}

// signal sends sig to every process of the workload while it runs.
func (i *instance) signal(sig unix.Signal) {
	if !i.exited() {
		signalTree(i.cg, i.st.PID, sig)
	}
}

// waitGone blocks until the process pid, started at start, has ended: on
// a pidfd when the kernel offers one, else by polling.
func waitGone(pid int, start uint64) {
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		defer unix.Close(fd)
		// The pid may have been reused before the pidfd was opened.
		if !alive(pid, start) {
			return
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err := unix.Poll(fds, -1)
			if err == nil {
				return
			}
			if !errors.Is(err, unix.EINTR) {
				break
			}
		}
	}
	for alive(pid, start) {
		time.Sleep(250 * time.Millisecond)
	}
}
