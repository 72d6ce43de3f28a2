package process

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/driver"
	"github.com/nimbus-cloud/nimbus/internal/testreq"
)

// TestFileLogsAsWorkloadUser reads files through Logs as the workload
// could: its own log is readable, running or ended; files only root may
// read are refused however they are named, and so are procfs files.
func TestFileLogsAsWorkloadUser(t *testing.T) {
	t.Parallel()
	testreq.Root(t)
	if st, err := os.Stat("/etc/shadow"); err != nil || st.Mode().Perm()&0o004 != 0 {
		testreq.Missing(t, "/etc/shadow", "readable only by root and its group: %v", err)
	}
	d := newDriver(t, t.TempDir(), nil)
	h := start(t, d, driver.Spec{Command: sh(`echo mine > own.log; ln -s /etc/shadow shadow.log; echo ready; sleep 30`)})
	eventually(t, "the workload's files", func() bool {
		return output(t, d, h.ID, driver.LogOptions{})[driver.Stdout] == "ready\n"
	})
	inst, _ := d.get(h.ID)

	read := func(path string) (string, error) {
		var got strings.Builder
		err := d.Logs(ctxFor(t), h.ID, driver.LogOptions{Path: path}, func(e driver.LogEntry) error {
			got.Write(e.Data)
			return nil
		})
		return got.String(), err
	}
	refused := func(path string) {
		t.Helper()
		got, err := read(path)
		if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), path) {
			t.Errorf("logs of %s = %q, %v; want a permission error naming it", path, got, err)
		}
		t.Logf("refused: %v", err)
	}
	check := func(when string) {
		t.Helper()
		if got, err := read("own.log"); err != nil || got != "mine\n" {
			t.Errorf("%s: own.log = %q, %v; want mine", when, got, err)
		}
		refused("/etc/shadow")
		refused("shadow.log")
		refused("../" + configFile)
		refused(filepath.Join(inst.st.Dir, outputLog))
		refused("/proc/self/environ")
		refused("/proc/1/root/etc/hostname")
	}
	check("running")
	if err := d.Stop(ctxFor(t), h.ID, 0); err != nil {
		t.Fatal(err)
	}
	wait(t, d, h.ID)
	check("ended")
}
