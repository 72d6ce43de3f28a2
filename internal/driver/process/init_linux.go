package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// The descriptors between init and its parent.
const (
	// gateFD is where init waits until its parent has put it into the
	// instance's cgroup: nothing it starts can escape the limits.
	gateFD = 3
	// statusFD closes when init execs the command; before that init
	// writes there why it failed.
	statusFD = 4
	// initReadyFD is where init says it has started and prepared its
	// namespaces. Only then does it join the cgroup: the start-up of a Go
	// program is not charged to the instance's cpu quota, which at a few
	// hundredths of a core would stretch it to a second.
	initReadyFD = 5
)

// startGated starts cmd, an init role, puts it into cg, opens the gate and
// returns once init has become the command, or with the reason it could
// not.
func startGated(cmd *exec.Cmd, cg cgroup) error {
	gateR, gateW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer gateW.Close()
	statusR, statusW, err := os.Pipe()
	if err != nil {
		gateR.Close()
		return err
	}
	defer statusR.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		gateR.Close()
		statusW.Close()
		return err
	}
	defer readyR.Close()
	cmd.ExtraFiles = []*os.File{gateR, statusW, readyW} // gateFD, statusFD, initReadyFD
	err = cmd.Start()
	gateR.Close()
	statusW.Close()
	readyW.Close()
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	fail := func(err error) error {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	if n, _ := readyR.Read(make([]byte, 1)); n != 1 {
		msg, _ := io.ReadAll(statusR)
		if len(msg) == 0 {
			msg = []byte("init ended before it was ready")
		}
		return fail(errors.New(strings.TrimSpace(string(msg))))
	}
	if cg != nil {
		if err := cg.add(cmd.Process.Pid); err != nil {
			return fail(fmt.Errorf("join cgroup: %w", err))
		}
	}
	// A failed write means init has ended: its status says why.
	_, _ = gateW.Write([]byte{1})
	msg, err := io.ReadAll(statusR)
	if err != nil {
		return fail(fmt.Errorf("read init status: %w", err))
	}
	if len(msg) > 0 {
		return fail(errors.New(strings.TrimSpace(string(msg))))
	}
	return nil
}

// runInit is the init role. args are the resolved program path and then
// the argv to execute. When hostnameEnv is set, init is the first process
// of new pid, mount and uts namespaces: it sets the host name, makes all
// mounts private and mounts a /proc of its own. It then waits at the gate,
// becomes the workloads' user (unless keepUserEnv says the command does
// that itself) and replaces itself with the command. It returns only on
// failure, with a shell-like exit code, after writing why to statusFD.
func runInit(args []string) int {
	// Supplementary groups are dropped on this thread only: it must be the
	// one that execs.
	runtime.LockOSThread()
	status := os.NewFile(statusFD, "status")
	unix.CloseOnExec(statusFD)
	fail := func(code int, err error) int {
		_, _ = fmt.Fprintf(status, "init: %v", err)
		return code
	}
	if len(args) < 2 {
		return fail(127, errors.New("no command"))
	}
	if hostname := os.Getenv(hostnameEnv); hostname != "" {
		if err := setupNamespaces(hostname); err != nil {
			return fail(126, err)
		}
	}
	ready := os.NewFile(initReadyFD, "ready")
	_, _ = ready.Write([]byte{1})
	_ = ready.Close()
	gate := os.NewFile(gateFD, "gate")
	var b [1]byte
	if n, _ := gate.Read(b[:]); n != 1 {
		return fail(126, errors.New("parent gave up before release"))
	}
	_ = gate.Close()
	if os.Getenv(keepUserEnv) == "" {
		if err := becomeWorkloadUser(); err != nil {
			return fail(126, err)
		}
	}
	err := unix.Exec(args[0], args[1:], roleEnviron(os.Environ()))
	if errors.Is(err, unix.ENOENT) {
		return fail(127, fmt.Errorf("exec %s: %w", args[1], err))
	}
	return fail(126, fmt.Errorf("exec %s: %w", args[1], err))
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
