package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// streamFile is the Stream of entries read from a file inside the
// container.
const streamFile driver.Stream = "file"

// maxFileLine bounds an entry read from a file: a longer line is cut into
// entries of this size.
const maxFileLine = 64 << 10

// Logs calls fn for each entry of the container's stdout and stderr, as the
// engine's json-file log keeps them, or of the file opts.Path inside the
// container. When ctx ends during a follow, Logs returns ctx's error.
func (d *Driver) Logs(ctx context.Context, id string, opts driver.LogOptions, fn func(driver.LogEntry) error) error {
	if opts.Path != "" {
		if err := d.fileLogs(ctx, id, opts, fn); err != nil {
			return fmt.Errorf("docker logs %s %s: %w", id, opts.Path, err)
		}
		return nil
	}
	tail := "all"
	switch {
	case opts.Tail < 0:
		tail = "0"
	case opts.Tail > 0:
		tail = strconv.Itoa(opts.Tail)
	}
	rc, err := d.cli.ContainerLogs(ctx, d.ref(id), client.ContainerLogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Timestamps: true,
		Follow:     opts.Follow,
		Tail:       tail,
	})
	if err != nil {
		return fmt.Errorf("docker logs %s: %w", id, engineErr(err))
	}
	defer rc.Close()
	out := &frameWriter{stream: driver.Stdout, fn: fn}
	errs := &frameWriter{stream: driver.Stderr, fn: fn}
	_, err = stdcopy.StdCopy(out, errs, rc)
	switch {
	case out.err != nil:
		return out.err
	case errs.err != nil:
		return errs.err
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		return fmt.Errorf("docker logs %s: read: %w", id, err)
	}
	return nil
}

// frameWriter turns each frame of the engine's log stream, one message
// with its timestamp in front, into a LogEntry. It relies on StdCopy
// writing each frame in one call.
type frameWriter struct {
	stream driver.Stream
	fn     func(driver.LogEntry) error
	err    error // fn's error, which ends the copy
}

func (w *frameWriter) Write(p []byte) (int, error) {
	e := driver.LogEntry{Stream: w.stream, Data: bytes.Clone(p)}
	if ts, data, ok := bytes.Cut(p, []byte(" ")); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil {
			e.Time, e.Data = t, bytes.Clone(data)
		}
	}
	if w.err = w.fn(e); w.err != nil {
		return 0, w.err
	}
	return len(p), nil
}

// fileLogs streams a file inside the container by running tail there.
// Opts.Tail counts lines as tail does; with Follow, tail -F keeps reading
// across rotation until ctx ends or the container stops.
func (d *Driver) fileLogs(ctx context.Context, id string, opts driver.LogOptions, fn func(driver.LogEntry) error) error {
	n := "+1" // the whole file
	switch {
	case opts.Tail < 0:
		n = "0"
	case opts.Tail > 0:
		n = strconv.Itoa(opts.Tail)
	}
	exec := driver.ExecOptions{Command: []string{"tail", "-n", n, "--", opts.Path}}
	if opts.Follow {
		ctx2, cancel := context.WithCancel(ctx)
		defer cancel()
		ctx = ctx2
		// The engine never ends an exec whose client went away, and tail
		// -F never ends by itself: a shell kills tail once its stdin, held
		// open until ctx ends, closes.
		exec.Command = []string{"sh", "-c", `tail -n "$1" -F -- "$2" & read -r _; kill $!`, "nimbus-logs", n, opts.Path}
		exec.Stdin = ctxReader{ctx}
	}
	lines := &lineWriter{fn: fn}
	stderr := &limitedBuffer{max: 4 << 10}
	exec.Stdout, exec.Stderr = lines, stderr
	code, err := d.exec(ctx, id, exec)
	if lines.err != nil {
		return lines.err
	}
	if err != nil {
		return err
	}
	if err := lines.flush(); err != nil {
		return err
	}
	if code != 0 && !opts.Follow {
		return fmt.Errorf("tail exited with %d: %s", code, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// lineWriter calls fn for each line written to it.
type lineWriter struct {
	fn  func(driver.LogEntry) error
	buf []byte
	err error // fn's error, which ends the copy
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		switch {
		case i >= 0:
			i++
		case len(w.buf) >= maxFileLine:
			i = maxFileLine
		default:
			return len(p), nil
		}
		if err := w.emit(w.buf[:i]); err != nil {
			return 0, err
		}
		w.buf = w.buf[i:]
	}
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	err := w.emit(w.buf)
	w.buf = nil
	return err
}

func (w *lineWriter) emit(line []byte) error {
	w.err = w.fn(driver.LogEntry{Time: time.Now(), Stream: streamFile, Data: bytes.Clone(line)})
	return w.err
}

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

// ctxReader is an input that sends nothing and ends when ctx ends.
type ctxReader struct{ ctx context.Context }

func (r ctxReader) Read([]byte) (int, error) {
	<-r.ctx.Done()
	return 0, io.EOF
}
