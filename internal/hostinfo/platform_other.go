//go:build !linux

package hostinfo

import (
	"errors"
	"fmt"
	"runtime"
)

// cpuCores returns the number of CPUs usable by the process.
func cpuCores() int { return runtime.NumCPU() }

// diskMiB is implemented on Linux only.
func diskMiB(dir string) (int64, error) {
	return 0, fmt.Errorf("statfs %s: %w", dir, errors.ErrUnsupported)
}
