package hostinfo

import "strings"

// Limits of a Nimbus host name: ^[a-z0-9][a-z0-9-]{2,28}[a-z0-9]$.
const (
	minNameLen = 4
	maxNameLen = 30
)

// HostName turns a machine host name into a valid Nimbus host name: it
// lowercases it, replaces every character other than a-z and 0-9 with a
// dash, collapses runs of dashes, trims dashes from both ends, truncates it to
// 30 characters and prefixes names shorter than 4 with "host-". For example
// "Web01.Example.COM" becomes "web01-example-com" and "vm" becomes "host-vm".
func HostName(hostname string) string {
	var b strings.Builder
	dash := true // suppresses leading dashes and runs of dashes
	for _, r := range strings.ToLower(hostname) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := b.String()
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	name = strings.TrimRight(name, "-")
	if len(name) < minNameLen {
		name = strings.TrimRight("host-"+name, "-")
	}
	return name
}
