package process

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestNamespacesAndExec(t *testing.T) {
	t.Parallel()
	d := isolated(t, nil)
	h := start(t, d, driver.Spec{Name: "box-1", Command: []string{"sleep", "30"}, Env: []string{"GREETING=hello"}})
	ctx := ctxFor(t)

	run := func(cmd ...string) (int, string) {
		t.Helper()
		var out syncBuffer
		code, err := d.Exec(ctx, h.ID, driver.ExecOptions{Command: cmd, Stdout: &out, Stderr: &out})
		if err != nil {
			t.Fatalf("exec %q: %v", cmd, err)
		}
		return code, out.String()
	}
	if code, out := run("hostname"); code != 0 || out != "box-1\n" {
		t.Errorf("hostname = %d %q, want 0 box-1", code, out)
	}
	// The workload is the init of its pid namespace, and /proc shows that
	// namespace.
	if code, out := run("cat", "/proc/1/comm"); code != 0 || out != "sleep\n" {
		t.Errorf("/proc/1/comm = %d %q, want 0 sleep", code, out)
	}
	if code, out := run("sh", "-c", `echo "$GREETING"; exit 4`); code != 4 || out != "hello\n" {
		t.Errorf("exec = %d %q, want 4 hello", code, out)
	}
	inst, _ := d.get(h.ID)
	if code, out := run("cat", "/proc/self/cgroup"); code != 0 || !strings.Contains(out, inst.st.Cgroup.Path) {
		t.Errorf("exec cgroups = %d %q, want in %s", code, out, inst.st.Cgroup.Path)
	}

	var out syncBuffer
	resize := make(chan driver.TermSize, 1)
	resize <- driver.TermSize{Rows: 40, Cols: 100}
	code, err := d.Exec(ctx, h.ID, driver.ExecOptions{
		Command: []string{"sh"},
		TTY:     true,
		Stdin:   strings.NewReader("echo $((6*7))\nstty size\nexit 5\n"),
		Stdout:  &out,
		Resize:  resize,
	})
	if err != nil {
		t.Fatalf("exec tty: %v", err)
	}
	// Typed ahead, the commands echo first; their output follows prompts
	// (the shell runs as nobody: "$ ").
	for _, want := range []string{"42", "40 100"} {
		if !regexp.MustCompile(`(?m)(^|[#$] )` + want + `\r?$`).MatchString(out.String()) {
			t.Errorf("exec tty printed %q, want a line %q", out.String(), want)
		}
	}
	if code != 5 {
		t.Errorf("exec tty exit code %d, want 5", code)
	}
}
