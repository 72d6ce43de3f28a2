package hostinfo

import (
	"fmt"
	"os"
	"runtime"
)

// Info is what Detect learns about the local machine.
type Info struct {
	Hostname    string // the kernel's host name, unmodified; see HostName
	CPUCores    int    // logical CPUs this process may run on
	MemoryMiB   int64  // MemTotal from /proc/meminfo
	DiskMiB     int64  // total size of the file system holding the data directory
	NetworkMbps int64  // fastest reported non-loopback link, or DefaultNetworkMbps
	OS          string // runtime.GOOS, with the distribution name when known
	Arch        string // runtime.GOARCH
	Address     string // primary IPv4 address, or "127.0.0.1"
}

// DefaultNetworkMbps is reported when no network interface states its speed,
// as with most virtual NICs.
const DefaultNetworkMbps = 1000

// Detect inspects the local machine. dataDir must exist; its file system's
// size is reported as the disk capacity.
func Detect(dataDir string) (Info, error) {
	hostname, err := os.Hostname()
	if err != nil {
		return Info{}, fmt.Errorf("read host name: %w", err)
	}
	mem, err := memTotalMiB("/proc/meminfo")
	if err != nil {
		return Info{}, err
	}
	disk, err := diskMiB(dataDir)
	if err != nil {
		return Info{}, err
	}
	ifaces, err := interfaces()
	if err != nil {
		return Info{}, err
	}
	return Info{
		Hostname:    hostname,
		CPUCores:    cpuCores(),
		MemoryMiB:   mem,
		DiskMiB:     disk,
		NetworkMbps: networkMbps("/sys/class/net", ifaces),
		OS:          osName([]string{"/etc/os-release", "/usr/lib/os-release"}),
		Arch:        runtime.GOARCH,
		Address:     primaryIPv4(ifaces),
	}, nil
}
