package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestLogsFollowAcrossRotationAndTail(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), func(c *Config) { c.LogMaxBytes = 512 })
	const n = 200
	h := start(t, d, driver.Spec{Command: sh(fmt.Sprintf(
		`sleep 1; i=0; while [ $i -lt %d ]; do echo line$i; i=$((i+1)); [ $((i %% 20)) = 0 ] && sleep 0.1; done`, n))})

	var got strings.Builder
	err := d.Logs(ctxFor(t), h.ID, driver.LogOptions{Follow: true}, func(e driver.LogEntry) error {
		got.WriteString(string(e.Data))
		return nil
	})
	if err != nil {
		t.Fatalf("follow: %v", err)
	}
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("line%d", i))
	}
	if lines := lines(got.String()); !reflect.DeepEqual(lines, want) {
		t.Errorf("followed %d lines, want line0..line%d in order; got %q", len(lines), n-1, lines)
	}
	inst, _ := d.get(h.ID)
	rotated, _ := filepath.Glob(filepath.Join(inst.st.Dir, outputLog+".*"))
	if len(rotated) != DefaultLogFiles {
		t.Errorf("rotated files %q, want %d", rotated, DefaultLogFiles)
	}

	tail := output(t, d, h.ID, driver.LogOptions{Tail: 5})[driver.Stdout]
	if want := "line195\nline196\nline197\nline198\nline199\n"; tail != want {
		t.Errorf("tail 5 = %q, want %q", tail, want)
	}
	if none := output(t, d, h.ID, driver.LogOptions{Tail: -1}); len(none) != 0 {
		t.Errorf("tail -1 = %q, want nothing", none)
	}
}

func TestLastLines(t *testing.T) {
	entries := []driver.LogEntry{
		{Stream: driver.Stdout, Data: []byte("a\nb\nc\n")},
		{Stream: driver.Stderr, Data: []byte("d")},
		{Stream: driver.Stdout, Data: []byte("e\n")},
	}
	for n, want := range map[int]string{1: "e\n", 2: "de\n", 3: "c\nde\n", 4: "b\nc\nde\n", 9: "a\nb\nc\nde\n"} {
		var got string
		for _, e := range lastLines(entries, n) {
			got += string(e.Data)
		}
		if got != want {
			t.Errorf("last %d lines = %q, want %q", n, got, want)
		}
	}
}

func TestSeekTail(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	for _, tc := range []struct {
		data string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc\n"},
		{"a\nb\nc", 2, "b\nc"},
		{"a\nb\nc\n", 5, "a\nb\nc\n"},
		{"a\nb\nc\n", 0, "a\nb\nc\n"},
		{"a\nb\nc\n", -1, ""},
		{"", 3, ""},
	} {
		if err := os.WriteFile(name, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := seekTail(f, tc.n); err != nil {
			t.Fatal(err)
		}
		rest, _ := io.ReadAll(f)
		f.Close()
		if string(rest) != tc.want {
			t.Errorf("seekTail(%q, %d) leaves %q, want %q", tc.data, tc.n, rest, tc.want)
		}
	}
}

func TestFileLogs(t *testing.T) {
	t.Parallel()
	d := newDriver(t, t.TempDir(), nil)
	h := start(t, d, driver.Spec{Command: sh(
		`for i in 1 2 3; do echo f$i >> app.log; done; while [ ! -e more ]; do sleep 0.1; done; echo f4 >> app.log; sleep 30`)})
	inst, _ := d.get(h.ID)

	eventually(t, "three lines in app.log", func() bool {
		var got string
		err := d.Logs(ctxFor(t), h.ID, driver.LogOptions{Path: "app.log"}, func(e driver.LogEntry) error {
			got += string(e.Data)
			return nil
		})
		return err == nil && got == "f1\nf2\nf3\n"
	})
	errDone := errors.New("done")
	var got []string
	err := d.Logs(ctxFor(t), h.ID, driver.LogOptions{Path: "app.log", Tail: 2, Follow: true}, func(e driver.LogEntry) error {
		if e.Stream != FileStream {
			t.Errorf("stream %q, want %q", e.Stream, FileStream)
		}
		got = append(got, string(e.Data))
		switch len(got) {
		case 2: // the tail is read: have the workload write more
			return os.WriteFile(filepath.Join(inst.cfg.WorkDir, "more"), nil, 0o600)
		case 3:
			return errDone
		}
		return nil
	})
	if !errors.Is(err, errDone) {
		t.Fatalf("follow file: %v", err)
	}
	if want := []string{"f2\n", "f3\n", "f4\n"}; !reflect.DeepEqual(got, want) {
		t.Errorf("followed %q, want %q", got, want)
	}

	if err := d.Stop(ctxFor(t), h.ID, 0); err != nil {
		t.Fatal(err)
	}
	if got := output(t, d, h.ID, driver.LogOptions{Path: "app.log", Tail: 1})[FileStream]; got != "f4\n" {
		t.Errorf("after exit, tail 1 of app.log = %q, want f4", got)
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	if err := d.Logs(ctx, h.ID, driver.LogOptions{Path: "absent.log"}, func(driver.LogEntry) error { return nil }); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("logs of a missing file = %v, want not exist", err)
	}
}
