package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// The state directory:
//
//	credentials.json      the host credential and agent key (0600)
//	lease                 the fencing deadline, unix nanoseconds
//	instances/<id>.json   one record per instance
const instancesDir = "instances"

// record is what the agent keeps of an instance across its own restarts.
type record struct {
	Assignment api.Assignment `json:"assignment"`
	// Handle is the driver's handle of the latest run, nil before the first
	// start.
	Handle *driver.Handle `json:"handle,omitempty"`
	// Live is true while the handle's run has not been seen to end.
	Live bool `json:"live"`
	// AppliedRestartSeq is the restart_seq last acted upon.
	AppliedRestartSeq int64 `json:"applied_restart_seq"`
	// InARow counts the restarts since the instance last ran long enough.
	InARow int `json:"in_a_row"`
	// NextStart is when a pending start is due, nil when none is.
	NextStart *time.Time `json:"next_start,omitempty"`

	Status    api.InstanceStatus `json:"status"`
	ExitCode  *int               `json:"exit_code,omitempty"`
	OOMKilled bool               `json:"oom_killed"`
	Restarts  int                `json:"restarts"`
	Message   string             `json:"message"`
	StartedAt *time.Time         `json:"started_at,omitempty"`
}

// makeStateDir creates the state directory and its instances folder.
func makeStateDir(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, instancesDir), 0o700); err != nil {
		return fmt.Errorf("make state directory: %w", err)
	}
	return nil
}

func recordPath(stateDir, id string) string {
	return filepath.Join(stateDir, instancesDir, id+".json")
}

// saveRecord writes an instance's record atomically.
func saveRecord(stateDir string, r record) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode instance %s: %w", r.Assignment.ID, err)
	}
	if err := writeFileAtomic(recordPath(stateDir, r.Assignment.ID), data, 0o600, true); err != nil {
		return fmt.Errorf("save instance %s: %w", r.Assignment.ID, err)
	}
	return nil
}

// removeRecord forgets an instance.
func removeRecord(stateDir, id string) error {
	if err := os.Remove(recordPath(stateDir, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove instance %s: %w", id, err)
	}
	return nil
}

// loadRecords reads every instance record. Leftover temporary files are
// removed; unreadable records are an error, since guessing could run an
// instance twice.
func loadRecords(stateDir string) ([]record, error) {
	dir := filepath.Join(stateDir, instancesDir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read instance records: %w", err)
	}
	var out []record
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read instance record: %w", err)
		}
		var r record
		err = json.Unmarshal(data, &r)
		if err == nil && r.Assignment.ID+".json" != name {
			err = fmt.Errorf("it holds instance %q", r.Assignment.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("instance record %s: %w (move it away to start the agent; its workload, if it runs, is then no longer managed)",
				filepath.Join(dir, name), err)
		}
		out = append(out, r)
	}
	return out, nil
}

// writeFileAtomic replaces path with data: readers see the old content or
// the new, never a mix. A durable write also survives a crash of the
// machine.
func writeFileAtomic(path string, data []byte, perm os.FileMode, durable bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
