package process

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The user and group workloads run as when the agent runs as root: nobody
// and nogroup. Every instance's workload shares them; pid namespaces keep
// instances from signalling each other, and the private state directories
// above each working directory keep them out of each other's files.
const (
	workloadUID = 65534
	workloadGID = 65534
)

// dropsRoot reports whether workloads run as workloadUID and workloadGID:
// whenever the agent runs as root. Otherwise they run as the agent's user.
func dropsRoot() bool { return os.Geteuid() == 0 }

// becomeWorkloadUser makes the calling process, when root, the workloads'
// user: no supplementary groups, then the group, then the user. Setgid and
// Setuid change every thread; setgroups only the calling one, so the
// caller must hold its thread (runtime.LockOSThread) until it execs.
func becomeWorkloadUser() error {
	if !dropsRoot() {
		return nil
	}
	if err := unix.Setgroups(nil); err != nil {
		return fmt.Errorf("drop supplementary groups: %w", err)
	}
	if err := unix.Setgid(workloadGID); err != nil {
		return fmt.Errorf("set gid %d: %w", workloadGID, err)
	}
	if err := unix.Setuid(workloadUID); err != nil {
		return fmt.Errorf("set uid %d: %w", workloadUID, err)
	}
	return nil
}
