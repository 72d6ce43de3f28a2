package testpg

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
)

// missingError reports that the PostgreSQL binaries are not installed.
type missingError struct{ searched []string }

func (e *missingError) Error() string {
	return fmt.Sprintf("initdb and pg_ctl not found (set NIMBUS_TEST_PG_BIN; searched %v)", e.searched)
}

// server is a running PostgreSQL cluster in a temporary directory.
type server struct {
	bin  string // directory of initdb and pg_ctl
	dir  string // temporary root: data/, sock/, log
	port int
	cred *syscall.Credential // set when running as root
}

func (s *server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// findBin returns the directory holding initdb and pg_ctl.
func findBin() (string, error) {
	var dirs []string
	if d := os.Getenv("NIMBUS_TEST_PG_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	dirs = append(dirs, "/usr/local/bin")
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return pgVersion(b) - pgVersion(a) }) // newest first
	dirs = append(dirs, versions...)
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", &missingError{searched: dirs}
}

// pgVersion reads the major version from /usr/lib/postgresql/N/bin.
func pgVersion(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// startAttempts bounds retries when another process takes our port.
const startAttempts = 5

func startServer() (*server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("/tmp", "nimbus-testpg-")
	if err != nil {
		return nil, fmt.Errorf("create temp dir: %w", err)
	}
	s := &server{bin: bin, dir: dir}
	if err := s.prepare(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.run("initdb", "-D", s.path("data"), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		if s.port, err = freePort(); err != nil {
			break
		}
		if err = s.start(); err == nil {
			return s, nil
		}
		if attempt == startAttempts {
			break
		}
	}
	os.RemoveAll(dir)
	return nil, err
}

// prepare creates the socket directory and, as root, hands the tree to
// nobody: initdb refuses to run as root.
func (s *server) prepare() error {
	if err := os.Mkdir(s.path("sock"), 0o700); err != nil {
		return fmt.Errorf("create socket dir: %w", err)
	}
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return fmt.Errorf("running as root needs user nobody: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	for _, p := range []string{s.dir, s.path("sock")} {
		if err := os.Chown(p, uid, gid); err != nil {
			return fmt.Errorf("chown %s: %w", p, err)
		}
	}
	s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	return nil
}

func (s *server) path(name string) string { return filepath.Join(s.dir, name) }

func (s *server) start() error {
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=200", s.port, s.path("sock"))
	return s.run("pg_ctl", "start", "-w", "-t", "60", "-D", s.path("data"), "-l", s.path("log"), "-o", opts)
}

func (s *server) stop() {
	_ = s.run("pg_ctl", "stop", "-m", "immediate", "-w", "-D", s.path("data"))
	os.RemoveAll(s.dir)
}

// run runs one of the binaries, as nobody when we are root.
func (s *server) run(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, name), args...)
	cmd.Dir = s.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	if err := cmd.Run(); err != nil {
		log, _ := os.ReadFile(s.path("log"))
		return fmt.Errorf("%s %v: %w\n%s%s", name, args, err, out.Bytes(), log)
	}
	return nil
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process
// may take it before the server binds; start retries then.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("find free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}
