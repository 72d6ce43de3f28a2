package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// execWaitDelay bounds the wait for an exec's output (and the copying of
// its input) once the command has ended.
const execWaitDelay = 2 * time.Second

// Exec runs a command in the instance: in its namespaces through nsenter
// when it has them, in its cgroup, as the workloads' user, with the
// instance's environment plus opts.Env and in its working directory. The
// command starts as an init role that waits until it is in the cgroup, so
// nothing it starts escapes the limits. A command killed by a signal returns 128 plus the signal, as
// shells do. Exec returns when the command ends, without waiting for
// opts.Stdin to end.
func (d *Driver) Exec(ctx context.Context, id string, opts driver.ExecOptions) (int, error) {
	inst, err := d.get(id)
	if err != nil {
		return -1, err
	}
	if len(opts.Command) == 0 {
		return -1, fmt.Errorf("exec in %s: no command", id)
	}
	if inst.exited() {
		return -1, fmt.Errorf("exec in %s: %w", id, ErrNotRunning)
	}
	env := withDefaultPath(append(slices.Clip(inst.cfg.Env), opts.Env...))
	var prog string
	argv := opts.Command
	roleVars := []string{roleEnv + "=" + roleInit}
	if inst.st.Namespaces {
		if d.nsenter == "" {
			return -1, fmt.Errorf("exec in %s: nsenter not found", id)
		}
		prog = d.nsenter
		// Entering a mount namespace moves to its root: --wd returns to
		// the working directory, found through the instance's root so
		// that it lies in the namespace's mounts (else getcwd fails).
		pid := strconv.Itoa(inst.st.PID)
		argv = []string{"nsenter", "-t", pid, "-m", "-u", "-p", "--wd=/proc/" + pid + "/root" + inst.cfg.WorkDir}
		if dropsRoot() {
			// Entering the namespaces takes root: nsenter becomes the
			// workloads' user after that, instead of init before.
			argv = append(argv, "-S", strconv.Itoa(workloadUID), "-G", strconv.Itoa(workloadGID))
			roleVars = append(roleVars, keepUserEnv+"=1")
		}
		argv = append(argv, "--")
		if opts.TTY {
			// A session made outside the pid namespace is invisible
			// inside it (a shell fails to hand the terminal back on
			// exit): the command leads a session of its own in there,
			// with the terminal as its controlling terminal.
			argv = append(argv, "setsid", "--ctty", "--")
		}
		argv = append(argv, opts.Command...)
	} else if prog, err = lookPath(opts.Command[0], env, inst.cfg.WorkDir); err != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, err)
	}

	cmd := exec.CommandContext(ctx, d.cfg.Exe, append([]string{prog}, argv...)...)
	cmd.Env = append(roleEnviron(env), roleVars...)
	cmd.Dir = inst.cfg.WorkDir
	// The command leads its own process group (nsenter's child included):
	// cancelling kills them all.
	cmd.Cancel = func() error { return unix.Kill(-cmd.Process.Pid, unix.SIGKILL) }
	cmd.WaitDelay = execWaitDelay
	if opts.TTY {
		err = execTTY(cmd, inst.cg, opts, !inst.st.Namespaces)
	} else {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err = startGated(cmd, inst.cg); err == nil {
			err = cmd.Wait()
		}
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("exec in %s: %w", id, ctx.Err())
	}
	if cmd.ProcessState != nil {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return cmd.ProcessState.ExitCode(), nil
	}
	return -1, fmt.Errorf("exec in %s: %w", id, err)
}

// execTTY runs cmd in a new session on a new pseudo-terminal, copying
// opts.Stdin to it and its output to opts.Stdout. With ctty the terminal
// becomes the session's controlling terminal; otherwise the command takes
// it later itself.
func execTTY(cmd *exec.Cmd, cg cgroup, opts driver.ExecOptions, ctty bool) error {
	ptmx, tty, err := pty.Open()
	if err != nil {
		return fmt.Errorf("open pty: %w", err)
	}
	defer ptmx.Close()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: ctty}
	err = startGated(cmd, cg)
	tty.Close()
	if err != nil {
		return err
	}

	// Resizing must stop before the pty closes (its descriptor is read
	// without the file's lock).
	ended, resized := make(chan struct{}), make(chan struct{})
	defer func() {
		close(ended)
		<-resized
	}()
	go func() {
		defer close(resized)
		for {
			select {
			case <-ended:
				return
			case s, ok := <-opts.Resize:
				if !ok {
					return
				}
				_ = pty.Setsize(ptmx, &pty.Winsize{Rows: s.Rows, Cols: s.Cols})
			}
		}
	}()
	if opts.Stdin != nil {
		go func() { _, _ = io.Copy(ptmx, opts.Stdin) }()
	}
	stdout := opts.Stdout
	if stdout == nil {
		stdout = io.Discard
	}
	copied := make(chan struct{})
	go func() {
		// Reading the pty fails with EIO once every holder of the
		// terminal has gone.
		_, _ = io.Copy(stdout, ptmx)
		close(copied)
	}()
	err = cmd.Wait()
	select {
	case <-copied:
	case <-time.After(execWaitDelay):
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		return nil
	}
	return err
}
