package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// errEnough ends a Logs call from its callback.
var errEnough = errors.New("enough")

// collect returns the instance's log lines as "stream:data" without the
// newline.
func collect(t *testing.T, d *Driver, id string, opts driver.LogOptions) ([]string, error) {
	t.Helper()
	var got []string
	err := d.Logs(t.Context(), id, opts, func(e driver.LogEntry) error {
		got = append(got, string(e.Stream)+":"+strings.TrimSuffix(string(e.Data), "\n"))
		return nil
	})
	return got, err
}

// logsContain says whether the instance's output holds a line.
func logsContain(t *testing.T, d *Driver, id, line string) error {
	t.Helper()
	got, err := collect(t, d, id, driver.LogOptions{})
	if err != nil {
		return err
	}
	for _, l := range got {
		if strings.HasSuffix(l, ":"+line) {
			return nil
		}
	}
	return fmt.Errorf("no line %q in %q", line, got)
}

func TestLogsTailAndFollow(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", `for i in 1 2 3 4 5; do echo line$i; done; i=0; while :; do i=$((i+1)); echo tick$i; sleep 0.2; done`}}
	start(t, d, spec)
	eventually(t, func() error { return logsContain(t, d, spec.ID, "tick1") })

	got, err := collect(t, d, spec.ID, driver.LogOptions{Tail: -1})
	if err != nil || len(got) != 0 {
		t.Errorf("tail -1 = %q, %v", got, err)
	}
	all, err := collect(t, d, spec.ID, driver.LogOptions{})
	if err != nil || len(all) < 6 || all[0] != "stdout:line1" || all[4] != "stdout:line5" {
		t.Fatalf("all logs = %q, %v", all, err)
	}
	got, err = collect(t, d, spec.ID, driver.LogOptions{Tail: 2})
	if err != nil || len(got) != 2 {
		t.Fatalf("tail 2 = %q, %v", got, err)
	}

	// Follow without history sees new ticks; the callback's error ends
	// the stream and comes back.
	var ticks []string
	err = d.Logs(t.Context(), spec.ID, driver.LogOptions{Tail: -1, Follow: true}, func(e driver.LogEntry) error {
		ticks = append(ticks, strings.TrimSpace(string(e.Data)))
		if len(ticks) == 2 {
			return errEnough
		}
		return nil
	})
	if !errors.Is(err, errEnough) || len(ticks) != 2 || !strings.HasPrefix(ticks[0], "tick") || ticks[0] == all[len(all)-1] {
		t.Errorf("follow = %q, %v", ticks, err)
	}

	// Follow ends with the context.
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	err = d.Logs(ctx, spec.ID, driver.LogOptions{Tail: -1, Follow: true}, func(driver.LogEntry) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("follow after deadline = %v", err)
	}
}

func TestLogsFollowEndsWithContainer(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", "echo a; sleep 0.5; echo b"}}
	start(t, d, spec)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var got []string
	err := d.Logs(ctx, spec.ID, driver.LogOptions{Follow: true}, func(e driver.LogEntry) error {
		got = append(got, strings.TrimSpace(string(e.Data)))
		return nil
	})
	if err != nil || strings.Join(got, ",") != "a,b" {
		t.Errorf("follow = %q, %v", got, err)
	}
}

func TestFileLogs(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sh", "-c", "for i in 1 2 3; do echo f$i >> /tmp/app.log; done; echo ready; sleep 60"}}
	start(t, d, spec)
	eventually(t, func() error { return logsContain(t, d, spec.ID, "ready") })

	path := driver.LogOptions{Path: "/tmp/app.log"}
	got, err := collect(t, d, spec.ID, path)
	if err != nil || strings.Join(got, ",") != "file:f1,file:f2,file:f3" {
		t.Errorf("file = %q, %v", got, err)
	}
	path.Tail = 2
	got, err = collect(t, d, spec.ID, path)
	if err != nil || strings.Join(got, ",") != "file:f2,file:f3" {
		t.Errorf("file tail 2 = %q, %v", got, err)
	}
	if _, err := collect(t, d, spec.ID, driver.LogOptions{Path: "/tmp/absent.log"}); err == nil || !strings.Contains(err.Error(), "absent.log") {
		t.Errorf("missing file error = %v", err)
	}

	// Follow sees an appended line; once it returns, no tail is left
	// behind in the container.
	follow := make(chan error, 1)
	var seen []string
	go func() {
		follow <- d.Logs(t.Context(), spec.ID, driver.LogOptions{Path: "/tmp/app.log", Tail: -1, Follow: true}, func(e driver.LogEntry) error {
			seen = append(seen, string(e.Data))
			if strings.Contains(string(e.Data), "f4") {
				return errEnough
			}
			return nil
		})
	}()
	eventually(t, func() error { return psHas(t, d, spec.ID, "tail", true) })
	if code, err := d.Exec(t.Context(), spec.ID, driver.ExecOptions{Command: []string{"sh", "-c", "echo f4 >> /tmp/app.log"}}); err != nil || code != 0 {
		t.Fatalf("append: %d, %v", code, err)
	}
	select {
	case err := <-follow:
		if !errors.Is(err, errEnough) || strings.Join(seen, "") != "f4\n" {
			t.Errorf("follow = %q, %v", seen, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("file follow did not see the new line")
	}
	eventually(t, func() error { return psHas(t, d, spec.ID, "tail", false) })
}

// psHas checks whether a process with the word in its command line runs
// in the container.
func psHas(t *testing.T, d *Driver, id, word string, want bool) error {
	t.Helper()
	var out strings.Builder
	if _, err := d.Exec(t.Context(), id, driver.ExecOptions{Command: []string{"ps", "-o", "args"}, Stdout: &out}); err != nil {
		return err
	}
	has := false
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, word+" ") {
			has = true
		}
	}
	if has != want {
		return fmt.Errorf("process %q running = %v, want %v:\n%s", word, has, want, out.String())
	}
	return nil
}
