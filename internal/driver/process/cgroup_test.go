package process

import (
	"testing"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

func TestCPUQuotaMinimum(t *testing.T) {
	for milli, want := range map[int64]int64{1: 1000, 9: 1000, 10: 1000, 11: 1100, 1500: 150_000} {
		if got := cpuQuota(milli); got != want {
			t.Errorf("cpuQuota(%d) = %d, want %d", milli, got, want)
		}
	}
}

// TestTinyCPULimit starts an instance with less cpu than the kernel's
// smallest quota.
func TestTinyCPULimit(t *testing.T) {
	t.Parallel()
	d := isolated(t, nil)
	h := start(t, d, driver.Spec{MilliCPU: 1, Command: sh("exit 0")})
	if e := wait(t, d, h.ID); e.Code != 0 || e.Err != nil {
		t.Errorf("exit = %+v, want 0", e)
	}
}
