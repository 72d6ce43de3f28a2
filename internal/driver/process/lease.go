package process

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// WriteLease records deadline in the lease file at path (Config.LeasePath)
// as the time until which the agent may run workloads: once it has passed,
// every shim stops its workload and records the exit as fenced. The agent
// pushes the deadline forward while it can reach the server. The file is
// replaced atomically and holds the deadline in unix nanoseconds, as
// decimal text.
func WriteLease(path string, deadline time.Time) error {
	return writeAtomic(path, []byte(strconv.FormatInt(deadline.UnixNano(), 10)+"\n"))
}

// leaseDeadline reads the deadline of the lease at path. A missing or
// unreadable lease means no fencing (ok false).
func leaseDeadline(path string) (deadline time.Time, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, false
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, ns), true
}
