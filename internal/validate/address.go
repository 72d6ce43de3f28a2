package validate

import (
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// MaxRegistryLen bounds an image registry address.
const MaxRegistryLen = 255

// registryPathRE is one path component of an image repository.
var registryPathRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)

// Address checks a host address: an IP address or DNS name, optionally
// followed by ":port" (IPv6 addresses with a port in brackets, "[::1]:22").
func Address(field, s string) error {
	if !isHostPort(s) {
		return fail(field, "must be an IP address or DNS name, optionally followed by :port (1-65535)")
	}
	return nil
}

// RegistryAddress checks an image registry address: host[:port][/path], such
// as "registry.example.com:5000/team". Path components are lowercase letters
// and digits separated by '.', '_', "__" or dashes.
func RegistryAddress(field, s string) error {
	const msg = "must be a registry address host[:port][/path], such as registry.example.com:5000/team"
	if len(s) > MaxRegistryLen {
		return fail(field, msg)
	}
	hostport, path, hasPath := strings.Cut(s, "/")
	if !isHostPort(hostport) {
		return fail(field, msg)
	}
	if hasPath {
		for _, c := range strings.Split(path, "/") {
			if !registryPathRE.MatchString(c) {
				return fail(field, msg)
			}
		}
	}
	return nil
}

// isHostPort reports whether s is an IP address or DNS name with an optional
// port.
func isHostPort(s string) bool {
	if isIP(s) {
		return true
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return isDNSName(s)
	}
	if !isPort(port) {
		return false
	}
	if strings.HasPrefix(s, "[") {
		a, err := netip.ParseAddr(host)
		return err == nil && a.Is6() && a.Zone() == ""
	}
	return isIP(host) || isDNSName(host)
}

// isIP reports whether s is an IPv4 or IPv6 address without a zone.
func isIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// isPort reports whether s is a decimal port number from 1 to 65535.
func isPort(s string) bool {
	if s == "" || len(s) > 5 || strings.Trim(s, "0123456789") != "" {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535
}

// isDNSName reports whether s is a DNS host name: at most 253 characters,
// dot-separated labels of 1-63 letters, digits and dashes that neither start
// nor end with a dash, the last label not all digits (so "1.2.3.999" is not
// mistaken for a name).
func isDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	labels := strings.Split(s, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return strings.Trim(labels[len(labels)-1], "0123456789") != ""
}
