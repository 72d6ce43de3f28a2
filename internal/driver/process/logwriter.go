package process

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// logLine is one line of output.log (docker's json-file format).
type logLine struct {
	T time.Time `json:"t"`
	S string    `json:"s"`
	D string    `json:"d"`
}

// logWriter appends the workload's output to output.log, rotating it to
// output.log.1, .2, … when it would exceed maxBytes.
type logWriter struct {
	mu       sync.Mutex
	base     string
	maxBytes int64
	keep     int
	f        *os.File
	size     int64
}

func newLogWriter(dir string, maxBytes int64, keep int) (*logWriter, error) {
	w := &logWriter{base: filepath.Join(dir, outputLog), maxBytes: maxBytes, keep: keep}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *logWriter) open() error {
	f, err := os.OpenFile(w.base, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("open log: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open log: %w", err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// write appends one chunk of a stream as one line.
func (w *logWriter) write(stream string, data []byte) error {
	line, err := json.Marshal(logLine{T: time.Now().UTC(), S: stream, D: string(data)})
	if err != nil {
		return err
	}
	line = append(line, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return errors.New("log closed")
	}
	if w.size > 0 && w.size+int64(len(line)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(line)
	w.size += int64(n)
	return err
}

// rotate closes the log, shifts the old files by one (dropping the
// oldest) and starts an empty log. Readers rely on the order: the old file
// is complete before it is renamed.
func (w *logWriter) rotate() error {
	errClose := w.f.Close()
	w.f = nil
	_ = os.Remove(fmt.Sprintf("%s.%d", w.base, w.keep))
	for i := w.keep - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", w.base, i), fmt.Sprintf("%s.%d", w.base, i+1))
	}
	errRename := os.Rename(w.base, w.base+".1")
	if err := w.open(); err != nil {
		return err
	}
	return errors.Join(errClose, errRename)
}

// close closes the log; later writes fail.
func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		_ = w.f.Close()
		w.f = nil
	}
}
