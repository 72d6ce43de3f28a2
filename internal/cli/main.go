// Package cli is the nimbus command line: the server and development-mode
// entry points and every client verb, built with cobra. Client verbs talk to
// the REST API through the client package only.
package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/client"
)

// app holds what every command shares: streams, global flags, the login.
type app struct {
	in     io.Reader
	out    io.Writer
	errOut io.Writer
	format string
	server string
	// lines buffers in for line prompts; see readLine.
	lines *bufio.Reader
}

// Main runs the CLI with args and returns the process exit code.
func Main(args []string) int {
	a := &app{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := a.rootCmd()
	root.SetArgs(args)
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			return int(code)
		}
		fmt.Fprintln(a.errOut, "Error:", err)
		if hint := hintFor(cmd, err); hint != "" {
			fmt.Fprintln(a.errOut, "Hint:", hint)
		}
		return 1
	}
	return 0
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "nimbus",
		Short:         "Nimbus: a multi-tenant private cloud in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return checkFormat(a.format)
		},
	}
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.errOut)
	root.PersistentFlags().StringVarP(&a.format, "output", "o", formatTable, "output format: table, json or yaml")
	root.PersistentFlags().StringVar(&a.server, "server", "", "server URL (default: $NIMBUS_SERVER, else the one saved at login)")
	root.AddGroup(&cobra.Group{ID: "run", Title: "Run Nimbus:"}, &cobra.Group{ID: "use", Title: "Use Nimbus:"})
	for _, c := range []*cobra.Command{a.devCmd(), a.serverCmd(), a.agentCmd()} {
		c.GroupID = "run"
		root.AddCommand(c)
	}
	for _, c := range a.clientCmds() {
		c.GroupID = "use"
		root.AddCommand(c)
	}
	return root
}

// exitCode ends the CLI with a status of its own and no message: the exit
// status of a command run by `instance exec`.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

// userAgent names the CLI to the server (session lists show it).
const userAgent = "nimbus-cli"

// errNotLoggedIn tells the user what to do when no credentials are saved.
var errNotLoggedIn = errors.New("not logged in: run `nimbus login --server URL --username NAME` first")

// session is the server and token commands use: --server, $NIMBUS_SERVER
// and $NIMBUS_TOKEN override what `nimbus login` saved.
func (a *app) session() (server, token string, insecure bool, err error) {
	creds, err := loadCredentials()
	if err != nil {
		return "", "", false, err
	}
	server = firstNonEmpty(a.server, os.Getenv("NIMBUS_SERVER"), creds.Server)
	token = firstNonEmpty(os.Getenv("NIMBUS_TOKEN"), creds.Token)
	if server == "" || token == "" {
		return "", "", false, errNotLoggedIn
	}
	return server, token, creds.Insecure, nil
}

// client returns an API client for the current session.
func (a *app) client() (*client.Client, error) {
	server, token, insecure, err := a.session()
	if err != nil {
		return nil, err
	}
	opts := []client.Option{client.WithToken(token), client.WithUserAgent(userAgent)}
	if insecure {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	return client.New(server, opts...)
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
