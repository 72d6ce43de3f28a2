// Package hostinfo describes the local machine as a Nimbus host: its name,
// its real capacity (CPU cores, memory, disk, network) and its platform.
//
// Detect reads Linux sources (/proc/meminfo, /sys/class/net, statfs,
// sched_getaffinity, /etc/os-release); HostName turns the machine's host name
// into one that satisfies the Nimbus host name rule.
package hostinfo
