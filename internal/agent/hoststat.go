package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
)

// userHZ is the unit of /proc/stat's cpu times (USER_HZ, 100 on Linux).
const userHZ = 100

// hostSampler derives the host's cpu and memory use from /proc.
type hostSampler struct {
	procStat, memInfo string
	prevBusy          uint64 // busy cpu time in USER_HZ ticks
	prevAt            time.Time
}

// sample reads the host's use; nil (and no error) for the first call,
// which only takes the cpu reading that the next one is measured from.
func (h *hostSampler) sample(now time.Time) (*api.MetricSample, error) {
	busy, err := readBusyTicks(h.procStat)
	if err != nil {
		return nil, err
	}
	used, err := readMemUsed(h.memInfo)
	if err != nil {
		return nil, err
	}
	prevBusy, prevAt := h.prevBusy, h.prevAt
	h.prevBusy, h.prevAt = busy, now
	if prevAt.IsZero() || busy < prevBusy || !now.After(prevAt) {
		return nil, nil
	}
	cpuNanos := (busy - prevBusy) * uint64(time.Second/userHZ)
	return &api.MetricSample{At: now.UTC(), CPU: cores(cpuNanos, now.Sub(prevAt)), MemoryBytes: used}, nil
}

// readBusyTicks sums the non-idle times of the "cpu" line of /proc/stat:
// user nice system idle iowait irq softirq steal (guest times are already
// in user and nice).
func readBusyTicks(path string) (uint64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read cpu times: %w", err)
	}
	line, _, _ := bytes.Cut(data, []byte("\n"))
	fields := strings.Fields(string(line))
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, fmt.Errorf("read cpu times: unexpected first line %q", line)
	}
	var busy uint64
	for i, f := range fields[1:min(len(fields), 9)] {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read cpu times: %w", err)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += v
		}
	}
	return busy, nil
}

// readMemUsed is MemTotal - MemAvailable from a meminfo file, in bytes.
func readMemUsed(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read memory use: %w", err)
	}
	defer f.Close()
	var total, avail int64 = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() && (total < 0 || avail < 0) {
		key, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok || (key != "MemTotal" && key != "MemAvailable") {
			continue
		}
		kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("read memory use: %s: %w", key, err)
		}
		if key == "MemTotal" {
			total = kib
		} else {
			avail = kib
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read memory use: %w", err)
	}
	if total < 0 || avail < 0 {
		return 0, errors.New("read memory use: no MemTotal or MemAvailable")
	}
	return max(total-avail, 0) * 1024, nil
}
