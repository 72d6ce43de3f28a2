package process

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// pollInterval is how often a following reader looks for new output.
const pollInterval = 100 * time.Millisecond

// Logs calls fn with the instance's output: the last opts.Tail lines of
// output.log and its rotated files (all with Tail 0, none with -1), then,
// with Follow, new output as it comes, across rotations, until ctx ends or
// the instance has ended and all its output is read. With opts.Path it
// reads a file instead (see fileLogs).
func (d *Driver) Logs(ctx context.Context, id string, opts driver.LogOptions, fn func(driver.LogEntry) error) error {
	inst, err := d.get(id)
	if err != nil {
		return err
	}
	if opts.Path != "" {
		return fileLogs(ctx, inst, opts, fn)
	}
	dir := inst.st.Dir
	readers, err := openLogs(dir)
	if err != nil {
		return err
	}
	defer func() {
		for _, r := range readers {
			r.f.Close()
		}
	}()
	emit := func(line []byte) error {
		if e, ok := decodeEntry(line); ok {
			return fn(e)
		}
		return nil
	}
	switch {
	case opts.Tail == 0:
		for _, r := range readers {
			if err := r.lines(emit); err != nil {
				return err
			}
		}
	case opts.Tail < 0:
		if len(readers) > 0 {
			if err := readers[len(readers)-1].lines(func([]byte) error { return nil }); err != nil {
				return err
			}
		}
	default:
		entries, err := tailEntries(readers, opts.Tail)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	if !opts.Follow {
		return nil
	}
	var cur *lineReader
	if len(readers) > 0 {
		cur = readers[len(readers)-1]
		readers = readers[:len(readers)-1]
	}
	return followLogs(ctx, inst, cur, emit)
}

// followLogs reads output.log as it grows, from where cur stands, and
// moves on to the next file when the shim rotates it. It closes the file
// it reads last.
func followLogs(ctx context.Context, inst *instance, cur *lineReader, emit func([]byte) error) error {
	defer func() {
		if cur != nil {
			cur.f.Close()
		}
	}()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		// The shim records the exit after the last output: once ended,
		// one more pass reads everything.
		ended := inst.exited()
		if cur == nil {
			if f, err := os.Open(filepath.Join(inst.st.Dir, outputLog)); err == nil {
				cur = &lineReader{f: f}
			}
		}
		if cur != nil {
			if err := cur.lines(emit); err != nil {
				return err
			}
			next, err := successor(inst.st.Dir, cur.f)
			if err != nil {
				return err
			}
			if next != nil {
				// The shim closes a log before renaming it: what remains
				// to read of it now is all there is.
				if err := cur.lines(emit); err != nil {
					return err
				}
				cur.f.Close()
				cur = next
				continue
			}
		}
		if ended {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// logNames lists the instance's log files, oldest first.
func logNames(dir string) ([]string, error) {
	base := filepath.Join(dir, outputLog)
	rotated, err := filepath.Glob(base + ".*")
	if err != nil {
		return nil, err
	}
	type numbered struct {
		name string
		n    int
	}
	var old []numbered
	for _, name := range rotated {
		if n, err := strconv.Atoi(strings.TrimPrefix(name, base+".")); err == nil {
			old = append(old, numbered{name, n})
		}
	}
	slices.SortFunc(old, func(a, b numbered) int { return b.n - a.n })
	names := make([]string, 0, len(old)+1)
	for _, o := range old {
		names = append(names, o.name)
	}
	return append(names, base), nil
}

// openLogs opens the existing log files, oldest first.
func openLogs(dir string) ([]*lineReader, error) {
	names, err := logNames(dir)
	if err != nil {
		return nil, err
	}
	var readers []*lineReader
	for _, name := range names {
		f, err := os.Open(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			for _, r := range readers {
				r.f.Close()
			}
			return nil, err
		}
		readers = append(readers, &lineReader{f: f})
	}
	return readers, nil
}

// successor returns a reader of the log file written after f once f is no
// longer output.log, or nil while it still is (or output.log is being
// replaced).
func successor(dir string, f *os.File) (*lineReader, error) {
	cur, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, err := os.Stat(filepath.Join(dir, outputLog))
	if err != nil || os.SameFile(cur, st) {
		return nil, nil
	}
	names, err := logNames(dir)
	if err != nil {
		return nil, err
	}
	// f is among the rotated files, or already deleted: then every file
	// left is newer and the oldest comes next.
	next := 0
	for i, name := range names {
		if st, err := os.Stat(name); err == nil && os.SameFile(cur, st) {
			next = i + 1
		}
	}
	nf, err := os.Open(names[next])
	if err != nil {
		return nil, nil
	}
	return &lineReader{f: nf}, nil
}

// decodeEntry parses a line of output.log; it skips lines it cannot read.
func decodeEntry(line []byte) (driver.LogEntry, bool) {
	var l logLine
	if err := json.Unmarshal(line, &l); err != nil {
		return driver.LogEntry{}, false
	}
	return driver.LogEntry{Time: l.T, Stream: driver.Stream(l.S), Data: []byte(l.D)}, true
}

// tailEntries returns the entries holding the last n lines of output,
// reading the files from the newest back as far as needed. The newest is
// always read to its end.
func tailEntries(readers []*lineReader, n int) ([]driver.LogEntry, error) {
	var out []driver.LogEntry
	count := 0
	for i := len(readers) - 1; i >= 0 && count < n; i-- {
		var file []driver.LogEntry
		err := readers[i].lines(func(line []byte) error {
			if e, ok := decodeEntry(line); ok {
				file = append(file, e)
				count += countLines(e.Data)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(file, out...)
	}
	return lastLines(out, n), nil
}

// lastLines trims entries to their last n lines, cutting the first entry
// kept if needed.
func lastLines(entries []driver.LogEntry, n int) []driver.LogEntry {
	for i := len(entries) - 1; i >= 0; i-- {
		k := countLines(entries[i].Data)
		if k >= n {
			e := entries[i]
			e.Data = lastNLines(e.Data, n)
			return append([]driver.LogEntry{e}, entries[i+1:]...)
		}
		n -= k
	}
	return entries
}

// countLines counts lines, a final unterminated one included.
func countLines(data []byte) int {
	n := bytes.Count(data, []byte{'\n'})
	if len(data) > 0 && data[len(data)-1] != '\n' {
		n++
	}
	return n
}

// lastNLines returns the last n lines of data.
func lastNLines(data []byte, n int) []byte {
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			if n--; n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}

// lineReader reads the complete lines of a file that may still grow,
// keeping a partial last line until its end arrives.
type lineReader struct {
	f       *os.File
	partial []byte
	buf     []byte
}

// lines calls fn with each complete line (without its newline) up to the
// current end of the file. The line is only valid during the call.
func (r *lineReader) lines(fn func([]byte) error) error {
	if r.buf == nil {
		r.buf = make([]byte, 64<<10)
	}
	for {
		n, err := r.f.Read(r.buf)
		data := r.buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				r.partial = append(r.partial, data...)
				break
			}
			line := data[:i]
			if len(r.partial) > 0 {
				r.partial = append(r.partial, line...)
				line = r.partial
			}
			if err := fn(line); err != nil {
				return err
			}
			r.partial = r.partial[:0]
			data = data[i+1:]
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// flush calls fn with a pending partial line, if any.
func (r *lineReader) flush(fn func([]byte) error) error {
	if len(r.partial) == 0 {
		return nil
	}
	defer func() { r.partial = r.partial[:0] }()
	return fn(r.partial)
}
