package hostinfo

import (
	"net/netip"
	"runtime"
	"strings"
	"testing"
)

func TestDetectRealMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Detect reads Linux interfaces")
	}
	info, err := Detect(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", info)
	if info.Hostname == "" {
		t.Error("empty Hostname")
	}
	if info.CPUCores < 1 || info.CPUCores > runtime.NumCPU() {
		t.Errorf("CPUCores = %d, want 1..%d", info.CPUCores, runtime.NumCPU())
	}
	if info.MemoryMiB <= 0 {
		t.Errorf("MemoryMiB = %d", info.MemoryMiB)
	}
	if info.DiskMiB <= 0 {
		t.Errorf("DiskMiB = %d", info.DiskMiB)
	}
	if info.NetworkMbps <= 0 {
		t.Errorf("NetworkMbps = %d", info.NetworkMbps)
	}
	if !strings.HasPrefix(info.OS, runtime.GOOS) || info.Arch != runtime.GOARCH {
		t.Errorf("OS, Arch = %q, %q", info.OS, info.Arch)
	}
	if a, err := netip.ParseAddr(info.Address); err != nil || !a.Is4() {
		t.Errorf("Address = %q, want an IPv4 address", info.Address)
	}
}

func TestDetectMissingDataDir(t *testing.T) {
	if _, err := Detect(t.TempDir() + "/missing"); err == nil {
		t.Fatal("Detect with a missing data directory succeeded")
	}
}

func TestParseMemTotal(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int64
		wantErr bool
	}{
		{"typical", "MemTotal:       16318480 kB\nMemFree:         1234 kB\n", 15936, false},
		{"not first", "Foo: 1 kB\nMemTotal: 2048 kB\n", 2, false},
		{"missing", "MemFree: 1234 kB\n", 0, true},
		{"no unit", "MemTotal: 2048\n", 0, true},
		{"garbage", "MemTotal: lots kB\n", 0, true},
		{"empty", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMemTotal(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("parseMemTotal = %d, %v; want %d, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParsePrettyName(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"double quoted", "NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"single quoted", "PRETTY_NAME='Alpine Linux v3.20'\n", "Alpine Linux v3.20"},
		{"unquoted", "PRETTY_NAME=Arch\n", "Arch"},
		{"shell escape", `PRETTY_NAME="A \$B"`, `A \$B`},
		{"absent", "NAME=Debian\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parsePrettyName(strings.NewReader(tt.in)); got != tt.want {
				t.Fatalf("parsePrettyName = %q, want %q", got, tt.want)
			}
		})
	}
}
