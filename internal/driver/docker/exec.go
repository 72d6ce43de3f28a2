package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Exec runs a command inside the running container and returns its exit
// code once its output ends. Without a TTY the engine multiplexes stdout
// and stderr on one stream, which is split again here. With a TTY, the end
// of Stdin reaches the command as ^D: end Stdin to end an interactive
// shell, since the engine leaves a TTY command running when only the
// connection goes (as when ctx ends).
func (d *Driver) Exec(ctx context.Context, id string, opts driver.ExecOptions) (int, error) {
	if len(opts.Command) == 0 {
		return -1, fmt.Errorf("docker exec %s: no command", id)
	}
	code, err := d.exec(ctx, id, opts)
	if err != nil {
		return -1, fmt.Errorf("docker exec %s: %w", id, err)
	}
	return code, nil
}

// exec runs opts.Command in instance id's container, streaming its input
// and output, and returns its exit code.
func (d *Driver) exec(ctx context.Context, id string, opts driver.ExecOptions) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	created, err := d.cli.ExecCreate(ctx, d.ref(id), client.ExecCreateOptions{
		Cmd:          opts.Command,
		Env:          opts.Env,
		TTY:          opts.TTY,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: !opts.TTY,
	})
	if err != nil {
		return -1, fmt.Errorf("create: %w", engineErr(err))
	}
	att, err := d.cli.ExecAttach(ctx, created.ID, client.ExecAttachOptions{TTY: opts.TTY})
	if err != nil {
		return -1, fmt.Errorf("attach: %w", err)
	}
	defer att.Close()
	// Closing the connection is the only way to interrupt a read from it.
	defer context.AfterFunc(ctx, att.Close)()

	if opts.Stdin != nil {
		go copyStdin(att.HijackedResponse, opts.Stdin, opts.TTY)
	}
	if opts.Resize != nil {
		go d.resize(ctx, created.ID, opts.Resize)
	}

	stdout, stderr := orDiscard(opts.Stdout), orDiscard(opts.Stderr)
	if opts.TTY {
		_, err = io.Copy(stdout, att.Reader)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, att.Reader)
	}
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if err != nil {
		return -1, fmt.Errorf("stream output: %w", err)
	}
	return d.execExit(ctx, created.ID)
}

// execExit returns the exit code of an exec whose output ended. The engine
// may take a moment to record the exit after the stream closes.
func (d *Driver) execExit(ctx context.Context, execID string) (int, error) {
	for {
		res, err := d.cli.ExecInspect(ctx, execID, client.ExecInspectOptions{})
		if err != nil {
			return -1, fmt.Errorf("inspect: %w", err)
		}
		if !res.Running {
			return res.ExitCode, nil
		}
		select {
		case <-ctx.Done():
			return -1, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// copyStdin sends the command its input and then tells it that input
// ended. Without a TTY, closing our side of the connection closes the
// command's stdin. With a TTY that would end the output stream instead, and
// leave the command running; so input ends as it does on a terminal, with
// an end-of-transmission character (^D).
func copyStdin(conn client.HijackedResponse, stdin io.Reader, tty bool) {
	if _, err := io.Copy(conn.Conn, stdin); err != nil {
		return
	}
	if tty {
		_, _ = conn.Conn.Write([]byte{eot})
		return
	}
	_ = conn.CloseWrite()
}

// eot is the terminal's end-of-input character, ^D.
const eot = 0x04

// resize passes terminal size changes on to the exec until sizes closes or
// ctx ends.
func (d *Driver) resize(ctx context.Context, execID string, sizes <-chan driver.TermSize) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sizes:
			if !ok {
				return
			}
			// The first size usually comes before the engine has started
			// the command, which it then refuses: try again for a moment.
			var err error
			for attempt := 0; attempt < 25; attempt++ {
				_, err = d.cli.ExecResize(ctx, execID, client.ExecResizeOptions{Height: uint(s.Rows), Width: uint(s.Cols)})
				if err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				d.log.Debug("exec resize", "exec", execID, "err", err)
			}
		}
	}
}

// orDiscard returns w, or io.Discard when w is nil.
func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}
