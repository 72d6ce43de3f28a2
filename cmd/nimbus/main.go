// Command nimbus is the whole of Nimbus in one binary: the server, the
// development mode that runs everything on one machine, and the CLI.
package main

import (
	"os"

	"github.com/nimbus-cloud/nimbus/internal/cli"
	"github.com/nimbus-cloud/nimbus/internal/driver/docker"
	"github.com/nimbus-cloud/nimbus/internal/driver/process"
)

func main() {
	// A process instance's shim and init, and the watchdog that fences
	// containers, are this binary started again.
	if process.Reexec() || docker.Reexec() {
		return
	}
	os.Exit(cli.Main(os.Args[1:]))
}
