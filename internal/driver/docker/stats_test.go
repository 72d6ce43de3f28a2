package docker

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestStats(t *testing.T) {
	t.Parallel()
	d := newDriver(t)
	spec := driver.Spec{ID: uuid.NewString(), MilliCPU: 250, Command: []string{"sh", "-c", "while :; do :; done"}}
	start(t, d, spec)

	first, err := d.Stats(t.Context(), spec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.MemoryBytes == 0 || first.At.IsZero() {
		t.Errorf("first sample = %+v", first)
	}
	time.Sleep(time.Second)
	var last driver.Stats
	eventually(t, func() error {
		if last, err = d.Stats(t.Context(), spec.ID); err != nil {
			return err
		}
		if last.CPUNanos <= first.CPUNanos {
			return fmt.Errorf("cpu did not grow: %d then %d", first.CPUNanos, last.CPUNanos)
		}
		return nil
	})
	// A quarter of a core: well under half of the wall time between the
	// samples.
	used := time.Duration(last.CPUNanos - first.CPUNanos)
	wall := last.At.Sub(first.At)
	if used > wall/2 {
		t.Errorf("used %v of cpu in %v with a 250m limit", used, wall)
	}

	if _, err := d.Stats(t.Context(), uuid.NewString()); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("stats of a missing instance = %v, want ErrNotFound", err)
	}
}
