package hostinfo

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestNetworkMbps(t *testing.T) {
	sys := t.TempDir()
	for name, speed := range map[string]string{"lo": "100000", "eth0": "1000\n", "eth1": "25000\n", "wlan0": "-1\n", "br0": "x"} {
		if err := os.MkdirAll(filepath.Join(sys, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, name, "speed"), []byte(speed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	lo := iface{name: "lo", flags: net.FlagUp | net.FlagLoopback}
	up := func(name string) iface { return iface{name: name, flags: net.FlagUp} }
	tests := []struct {
		name   string
		ifaces []iface
		want   int64
	}{
		{"fastest wins", []iface{lo, up("eth0"), up("eth1")}, 25000},
		{"loopback ignored", []iface{lo, up("eth0")}, 1000},
		{"nothing reported", []iface{lo, up("wlan0"), up("br0"), up("veth9")}, DefaultNetworkMbps},
		{"no interfaces", nil, DefaultNetworkMbps},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := networkMbps(sys, tt.ifaces); got != tt.want {
				t.Fatalf("networkMbps = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPrimaryIPv4(t *testing.T) {
	ipnet := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		if err != nil {
			t.Fatal(err)
		}
		n.IP = ip
		return n
	}
	lo := iface{name: "lo", flags: net.FlagUp | net.FlagLoopback, addrs: []net.Addr{ipnet("127.0.0.1/8")}}
	tests := []struct {
		name   string
		ifaces []iface
		want   string
	}{
		{"first up", []iface{lo, {flags: net.FlagUp, addrs: []net.Addr{ipnet("fe80::1/64"), ipnet("10.1.2.3/24")}}, {flags: net.FlagUp, addrs: []net.Addr{ipnet("192.168.1.5/24")}}}, "10.1.2.3"},
		{"skips down", []iface{{addrs: []net.Addr{ipnet("10.9.9.9/8")}}, {flags: net.FlagUp, addrs: []net.Addr{ipnet("192.168.1.5/24")}}}, "192.168.1.5"},
		{"skips link-local", []iface{{flags: net.FlagUp, addrs: []net.Addr{ipnet("169.254.3.4/16"), ipnet("172.16.0.2/12")}}}, "172.16.0.2"},
		{"only loopback", []iface{lo}, "127.0.0.1"},
		{"ipv6 only", []iface{{flags: net.FlagUp, addrs: []net.Addr{ipnet("2001:db8::1/64")}}}, "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := primaryIPv4(tt.ifaces); got != tt.want {
				t.Fatalf("primaryIPv4 = %q, want %q", got, tt.want)
			}
		})
	}
}
