package process

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

// TestWorkloadRunsAsNobody checks that under a root agent the workload and
// exec'd commands, with and without namespaces, run as nobody without
// supplementary groups and can write to their working directory.
func TestWorkloadRunsAsNobody(t *testing.T) {
	t.Parallel()
	testreq.Root(t)
	for _, namespaces := range []bool{true, false} {
		d := newDriver(t, t.TempDir(), nil)
		if !namespaces {
			d.namespaces, d.cgroups = false, cgroupSystem{reason: "test"}
		}
		h := start(t, d, driver.Spec{Command: sh(`id -u; id -g; id -G; echo written > own.txt && cat own.txt; sleep 30`)})
		want := "65534\n65534\n65534\nwritten\n"
		eventually(t, "the workload's ids in its output", func() bool {
			return output(t, d, h.ID, driver.LogOptions{})[driver.Stdout] == want
		})
		if errs := output(t, d, h.ID, driver.LogOptions{})[driver.Stderr]; errs != "" {
			t.Errorf("namespaces %v: workload stderr %q", namespaces, errs)
		}

		ctx := ctxFor(t)
		var out syncBuffer
		code, err := d.Exec(ctx, h.ID, driver.ExecOptions{Command: sh("id -u; id -G; cat own.txt"), Stdout: &out, Stderr: &out})
		if err != nil || code != 0 || out.String() != "65534\n65534\nwritten\n" {
			t.Errorf("namespaces %v: exec = %d %v %q, want nobody reading own.txt", namespaces, code, err, out.String())
		}
		var tty syncBuffer
		code, err = d.Exec(ctx, h.ID, driver.ExecOptions{Command: []string{"id", "-u"}, TTY: true, Stdout: &tty})
		if err != nil || code != 0 || !regexp.MustCompile(`(?m)^65534\r?$`).MatchString(tty.String()) {
			t.Errorf("namespaces %v: exec tty = %d %v %q, want 65534", namespaces, code, err, tty.String())
		}
		if detail := d.Probe(ctx).Detail; !strings.Contains(detail, "nobody") {
			t.Errorf("probe detail %q does not say workloads run as nobody", detail)
		}
	}
}
