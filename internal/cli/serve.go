package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/internal/agent"
	"github.com/nimbus-cloud/nimbus/internal/hostinfo"
	"github.com/nimbus-cloud/nimbus/internal/server"
	"github.com/nimbus-cloud/nimbus/internal/store/sqlstore"
	"github.com/nimbus-cloud/nimbus/internal/tlscert"
)

// serveFlags are the flags `nimbus server` and `nimbus dev` share.
type serveFlags struct {
	addr     string
	dataDir  string
	db       string
	logLevel string
	tokenTTL time.Duration
}

func (f *serveFlags) register(cmd *cobra.Command, defaultAddr string) {
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "address to listen on")
	cmd.Flags().StringVar(&f.dataDir, "data-dir", "", "data directory (default $XDG_DATA_HOME/nimbus)")
	cmd.Flags().StringVar(&f.db, "db", "", "store: sqlite:PATH or postgres://... (default sqlite in the data directory)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().DurationVar(&f.tokenTTL, "token-ttl", 24*time.Hour, "lifetime of login tokens")
}

// prepare resolves the data directory and store address and sets up logging.
func (f *serveFlags) prepare(a *app) (*slog.Logger, error) {
	if f.dataDir == "" {
		base := os.Getenv("XDG_DATA_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return nil, fmt.Errorf("find a data directory: %w (pass --data-dir)", err)
			}
			base = filepath.Join(home, ".local", "share")
		}
		f.dataDir = filepath.Join(base, "nimbus")
	}
	if err := os.MkdirAll(f.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	if f.db == "" {
		f.db = "sqlite:" + filepath.Join(f.dataDir, "nimbus.db")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(a.errOut, &slog.HandlerOptions{Level: level})), nil
}

func (a *app) devCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: server, agent and embedded store, with this machine as the first host",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !loopback(f.addr) {
				return fmt.Errorf("--addr %s: nimbus dev serves plain HTTP, so it listens on loopback only (127.0.0.1, ::1, localhost); use `nimbus server` for other addresses", f.addr)
			}
			log, err := f.prepare(a)
			if err != nil {
				return err
			}
			return a.run(cmd.Context(), log, f, nil)
		},
	}
	f.register(cmd, "127.0.0.1:7070")
	return cmd
}

func (a *app) serverCmd() *cobra.Command {
	var f serveFlags
	var certFile, keyFile string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Nimbus API server over HTTPS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := f.prepare(a)
			if err != nil {
				return err
			}
			var cert tls.Certificate
			switch {
			case certFile != "" && keyFile != "":
				cert, err = tlscert.Load(certFile, keyFile)
			case certFile != "" || keyFile != "":
				return errors.New("--tls-cert and --tls-key go together: give both, or neither for a self-signed certificate")
			default:
				host, _, _ := net.SplitHostPort(f.addr)
				cert, err = tlscert.LoadOrCreate(filepath.Join(f.dataDir, "tls"), []string{host})
			}
			if err != nil {
				return fmt.Errorf("load TLS certificate: %w", err)
			}
			return a.run(cmd.Context(), log, f, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		},
	}
	f.register(cmd, ":7443")
	cmd.Flags().StringVar(&certFile, "tls-cert", "", "TLS certificate file (PEM); default: a self-signed one kept in the data directory")
	cmd.Flags().StringVar(&keyFile, "tls-key", "", "TLS private key file (PEM)")
	return cmd
}

// run opens the store, bootstraps it, and serves until ctx ends. A nil
// tlsConf serves plain HTTP and registers this machine as a host (dev mode).
func (a *app) run(ctx context.Context, log *slog.Logger, f serveFlags, tlsConf *tls.Config) error {
	started := time.Now()
	if os.Getenv("GOGC") == "" {
		// The server's live heap is small and it allocates fast: collecting
		// at 400 % growth instead of 100 % costs a few MiB and serves a
		// quarter more authenticated reads (docs/benchmarks.md).
		debug.SetGCPercent(400)
	}
	st, err := sqlstore.Open(ctx, f.db, log.With("subsystem", "store"))
	if err != nil {
		return fmt.Errorf("open store %s: %w", f.db, err)
	}
	defer st.Close()

	boot := server.BootstrapOptions{AdminPassword: os.Getenv("NIMBUS_ADMIN_PASSWORD")}
	if tlsConf == nil {
		info, err := hostinfo.Detect(f.dataDir)
		if err != nil {
			return fmt.Errorf("detect this machine: %w", err)
		}
		boot.LocalHost = &info
	}
	res, err := server.Bootstrap(ctx, st, boot)
	if err != nil {
		return fmt.Errorf("bootstrap: %w", err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another Nimbus running? pass --addr)", f.addr, err)
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConf)
	}
	url := scheme + "://" + displayAddr(ln.Addr())
	srv, err := server.New(server.Options{Store: st, Logger: log, TokenTTL: f.tokenTTL, AdvertiseURL: url})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = srv.Run(ctx) }()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("nimbus started", "url", url, "store", st.Dialect(), "data_dir", f.dataDir, "startup", time.Since(started))
	a.printWelcome(url, res, tlsConf != nil)

	errc := make(chan error, 2)
	go func() { errc <- hs.Serve(ln) }()
	if tlsConf == nil {
		agentDir := filepath.Join(f.dataDir, "agent")
		token, err := server.DevSetup(ctx, st, !agent.Joined(agentDir))
		if err != nil {
			return fmt.Errorf("prepare the local agent: %w", err)
		}
		go func() {
			err := runAgent(ctx, agent.Config{Server: url, JoinToken: token, StateDir: agentDir,
				Listen: "127.0.0.1:0", HostName: res.HostName, Logger: log.With("subsystem", "agent")})
			if err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("local agent: %w", err)
			}
		}()
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return hs.Shutdown(shutdownCtx)
}

// printWelcome tells the user where Nimbus is and how to log in.
func (a *app) printWelcome(url string, res server.BootstrapResult, insecure bool) {
	w := a.out
	fmt.Fprintf(w, "\nNimbus is running at %s\n", url)
	fmt.Fprintf(w, "  API document:  %s/api/v1/openapi.json\n", url)
	login := fmt.Sprintf("nimbus login --server %s --username admin", url)
	if insecure {
		login += " --insecure"
	}
	fmt.Fprintf(w, "  Log in:        %s\n", login)
	switch {
	case res.GeneratedPassword != "":
		fmt.Fprintf(w, "  Admin password (shown once, keep it): %s\n", res.GeneratedPassword)
	case res.AdminCreated:
		fmt.Fprintln(w, "  Admin password: the value of NIMBUS_ADMIN_PASSWORD")
	default:
		fmt.Fprintln(w, "  Admin password: the one set at first start")
	}
	fmt.Fprintln(w, "Press Ctrl-C to stop.")
}

// loopback reports whether the listen address addr stays on this machine.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
