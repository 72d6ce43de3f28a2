package hostinfo

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// cpuCores counts the CPUs in this process's affinity mask, which is smaller
// than the machine's CPU count under taskset or a cpuset cgroup.
func cpuCores() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() == 0 {
		return runtime.NumCPU()
	}
	return set.Count()
}

// diskMiB returns the total size of the file system that holds dir.
func diskMiB(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	// f_blocks counts fragments of f_frsize bytes; old kernels leave it 0.
	unit := int64(st.Frsize)
	if unit == 0 {
		unit = int64(st.Bsize)
	}
	return int64(st.Blocks) * unit / (1 << 20), nil
}
