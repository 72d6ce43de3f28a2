package process

import (
	"os"
	"strings"
)

// Environment variables that select and configure a re-executed role.
const (
	roleEnv = "NIMBUS_PROCESS_ROLE"
	// configEnv gives the shim the path of its shim.json.
	configEnv = "NIMBUS_PROCESS_CONFIG"
	// hostnameEnv tells init to set up the new namespaces, with this host
	// name.
	hostnameEnv = "NIMBUS_PROCESS_HOSTNAME"
	// keepUserEnv tells init not to become the workloads' user: the
	// command it runs (nsenter -S -G) switches once it has entered the
	// instance's namespaces, which takes root.
	keepUserEnv = "NIMBUS_PROCESS_KEEP_USER"
)

// The roles of a re-executed binary.
const (
	roleShim = "shim"
	roleInit = "init"
)

// Reexec runs one of the driver's helper roles when the environment says
// this process is one (a shim watching an instance, or the init that
// prepares a workload's namespaces and then becomes the workload), and
// then exits. Otherwise it returns false at once.
//
// Call it first thing in main, and in TestMain of tests that start
// instances: the driver starts its helpers by re-executing the current
// binary (Config.Exe).
func Reexec() bool {
	switch os.Getenv(roleEnv) {
	case roleShim:
		os.Exit(runShim(os.Getenv(configEnv)))
	case roleInit:
		os.Exit(runInit(os.Args[1:]))
	}
	return false
}

// roleEnviron returns env without the variables that select roles, so the
// workload does not inherit them.
func roleEnviron(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if k != roleEnv && k != configEnv && k != hostnameEnv && k != keepUserEnv {
			out = append(out, kv)
		}
	}
	return out
}
