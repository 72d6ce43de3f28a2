package hostinfo

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// iface is the part of a network interface Detect looks at.
type iface struct {
	name  string
	flags net.Flags
	addrs []net.Addr
}

// interfaces lists the machine's network interfaces with their addresses.
func interfaces() ([]iface, error) {
	nis, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list network interfaces: %w", err)
	}
	out := make([]iface, 0, len(nis))
	for _, ni := range nis {
		addrs, err := ni.Addrs()
		if err != nil {
			return nil, fmt.Errorf("list addresses of %s: %w", ni.Name, err)
		}
		out = append(out, iface{name: ni.Name, flags: ni.Flags, addrs: addrs})
	}
	return out, nil
}

// networkMbps returns the highest link speed that a non-loopback interface
// reports in sysNet/<name>/speed, or DefaultNetworkMbps when none does
// (virtual and down links report nothing or -1).
func networkMbps(sysNet string, ifaces []iface) int64 {
	var best int64
	for _, ifc := range ifaces {
		if ifc.flags&net.FlagLoopback != 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(sysNet, ifc.name, "speed"))
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > best {
			best = n
		}
	}
	if best == 0 {
		return DefaultNetworkMbps
	}
	return best
}

// primaryIPv4 returns the first IPv4 address, in interface order, of an up,
// non-loopback interface, skipping link-local addresses; "127.0.0.1" if none.
func primaryIPv4(ifaces []iface) string {
	for _, ifc := range ifaces {
		if ifc.flags&net.FlagUp == 0 || ifc.flags&net.FlagLoopback != 0 {
			continue
		}
		for _, a := range ifc.addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipn.IP.To4()
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			return ip.String()
		}
	}
	return "127.0.0.1"
}
