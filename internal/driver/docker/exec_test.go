package docker

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestExec(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Name: "exec-box", Command: []string{"sleep", "60"}}
	start(t, d, spec)

	var out, errOut strings.Builder
	code, err := d.Exec(t.Context(), spec.ID, driver.ExecOptions{Command: []string{"hostname"}, Stdout: &out})
	if err != nil || code != 0 || out.String() != "exec-box\n" {
		t.Errorf("hostname = %q, %d, %v", out.String(), code, err)
	}

	out.Reset()
	code, err = d.Exec(t.Context(), spec.ID, driver.ExecOptions{
		Command: []string{"sh", "-c", "read x; echo out $x $V; echo err >&2; exit 7"},
		Env:     []string{"V=env"},
		Stdin:   strings.NewReader("in\n"),
		Stdout:  &out,
		Stderr:  &errOut,
	})
	if err != nil || code != 7 || out.String() != "out in env\n" || errOut.String() != "err\n" {
		t.Errorf("exec = %q, %q, %d, %v", out.String(), errOut.String(), code, err)
	}

	if _, err := d.Exec(t.Context(), uuid.NewString(), driver.ExecOptions{Command: []string{"true"}}); err == nil {
		t.Error("exec in a missing instance succeeded")
	}
}

func TestExecTTY(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), Command: []string{"sleep", "60"}}
	start(t, d, spec)

	var out strings.Builder
	code, err := d.Exec(t.Context(), spec.ID, driver.ExecOptions{
		Command: []string{"sh"},
		TTY:     true,
		Stdin:   strings.NewReader("echo $((6*7))\nexit 5\n"),
		Stdout:  &out,
	})
	if err != nil || code != 5 || !strings.Contains(out.String(), "42") {
		t.Errorf("tty exec = %q, %d, %v", out.String(), code, err)
	}

	// The terminal takes the size sent on Resize; the loop waits for it.
	out.Reset()
	resize := make(chan driver.TermSize, 1)
	resize <- driver.TermSize{Rows: 33, Cols: 101}
	code, err = d.Exec(t.Context(), spec.ID, driver.ExecOptions{
		Command: []string{"sh", "-c", `for i in 1 2 3 4 5 6 7 8 9 10; do s=$(stty size); [ "$s" = "33 101" ] && break; sleep 0.2; done; echo "size $s"`},
		TTY:     true,
		Stdout:  &out,
		Resize:  resize,
	})
	if err != nil || code != 0 || !strings.Contains(out.String(), "size 33 101") {
		t.Errorf("resized tty = %q, %d, %v", out.String(), code, err)
	}
}
