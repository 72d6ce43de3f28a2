package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// FileStream is the Stream of entries read from a file (LogOptions.Path).
const FileStream driver.Stream = "file"

// fileLogs reads a file of the instance like tail -F: the last opts.Tail
// lines and, with Follow, lines appended later, reopening the file when it
// is replaced or truncated and waiting for it while it does not exist. The
// file is opened as the workload could (see openAsWorkload), a relative
// path from the instance's working directory, whether the instance runs or
// has ended; a file the workload may not read is refused.
func fileLogs(ctx context.Context, inst *instance, opts driver.LogOptions, fn func(driver.LogEntry) error) error {
	name := opts.Path
	if !filepath.IsAbs(name) {
		name = filepath.Join(inst.cfg.WorkDir, name)
	}
	open := func() (*os.File, error) { return openAsWorkload(inst.cfg.WorkDir, opts.Path) }
	emit := func(line []byte) error {
		data := make([]byte, len(line)+1)
		copy(data, line)
		data[len(line)] = '\n'
		return fn(driver.LogEntry{Time: time.Now(), Stream: FileStream, Data: data})
	}
	flush := func(line []byte) error {
		return fn(driver.LogEntry{Time: time.Now(), Stream: FileStream, Data: append([]byte(nil), line...)})
	}

	var cur *lineReader
	defer func() {
		if cur != nil {
			cur.f.Close()
		}
	}()
	f, err := open()
	switch {
	case err == nil:
		if err := seekTail(f, opts.Tail); err != nil {
			f.Close()
			return fmt.Errorf("read %s: %w", opts.Path, err)
		}
		cur = &lineReader{f: f}
		if err := cur.lines(emit); err != nil {
			return err
		}
	case !errors.Is(err, fs.ErrNotExist) || !opts.Follow:
		return fmt.Errorf("read %s: %w", opts.Path, err)
	}
	if !opts.Follow {
		return cur.flush(flush)
	}

	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		ended := inst.exited()
		if cur == nil {
			if f, err := open(); err == nil {
				cur = &lineReader{f: f}
			}
		}
		if cur != nil {
			if err := cur.lines(emit); err != nil {
				return err
			}
			replaced, err := checkFile(cur, name)
			if err != nil {
				return err
			}
			if replaced {
				if err := cur.lines(emit); err != nil {
					return err
				}
				if err := cur.flush(flush); err != nil {
					return err
				}
				cur.f.Close()
				cur = nil
				continue
			}
		}
		if ended {
			if cur != nil {
				return cur.flush(flush)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// checkFile reports whether the file at name is no longer the one cur
// reads; a truncated file is read again from its start.
func checkFile(cur *lineReader, name string) (replaced bool, err error) {
	st, err := os.Stat(name)
	if err != nil {
		// Gone for now (tail -F keeps the old one until a new one comes).
		return false, nil
	}
	have, err := cur.f.Stat()
	if err != nil {
		return false, err
	}
	if !os.SameFile(have, st) {
		return true, nil
	}
	pos, err := cur.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return false, err
	}
	if st.Size() < pos {
		cur.partial = cur.partial[:0]
		_, err = cur.f.Seek(0, io.SeekStart)
	}
	return false, err
}

// seekTail positions f at the start of its last n lines: its start for
// n == 0, its end for n < 0.
func seekTail(f *os.File, n int) error {
	switch {
	case n == 0:
		return nil
	case n < 0:
		_, err := f.Seek(0, io.SeekEnd)
		return err
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	buf := make([]byte, 32<<10)
	for pos := size; pos > 0; {
		chunk := min(pos, int64(len(buf)))
		pos -= chunk
		if _, err := f.ReadAt(buf[:chunk], pos); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		for i := chunk - 1; i >= 0; i-- {
			// The newline ending the file ends the last line, it does not
			// start one.
			if buf[i] != '\n' || pos+i == size-1 {
				continue
			}
			if n--; n == 0 {
				_, err := f.Seek(pos+i+1, io.SeekStart)
				return err
			}
		}
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}
