package process

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// gateFD is the descriptor on which init waits until its parent has put it
// into the instance's cgroup: nothing it starts can escape the limits.
const gateFD = 3

// runInit is the init role. args are the resolved program path and then
// the argv to execute. When hostnameEnv is set, init is the first process
// of new pid, mount and uts namespaces: it sets the host name, makes all
// mounts private and mounts a /proc of its own. It then waits at the gate
// and replaces itself with the command. It returns only on failure, with a
// shell-like exit code, after printing why on stderr (the instance's log).
func runInit(args []string) int {
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "nimbus init: no command")
		return 127
	}
	if hostname := os.Getenv(hostnameEnv); hostname != "" {
		if err := setupNamespaces(hostname); err != nil {
			fmt.Fprintf(os.Stderr, "nimbus init: %v\n", err)
			return 126
		}
	}
	gate := os.NewFile(gateFD, "gate")
	var b [1]byte
	if n, _ := gate.Read(b[:]); n != 1 {
		fmt.Fprintln(os.Stderr, "nimbus init: parent gave up before release")
		return 126
	}
	_ = gate.Close()
	err := unix.Exec(args[0], args[1:], roleEnviron(os.Environ()))
	fmt.Fprintf(os.Stderr, "nimbus init: exec %s: %v\n", args[1], err)
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}

// setupNamespaces prepares the namespaces init was cloned into.
func setupNamespaces(hostname string) error {
	if err := unix.Sethostname([]byte(hostname)); err != nil {
		return fmt.Errorf("set host name: %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	return nil
}
