package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind names a kind of check.
type Kind string

// The kinds of checks.
const (
	HTTP Kind = "http"
	TCP  Kind = "tcp"
	Exec Kind = "exec"
)

// Check describes one health check.
type Check struct {
	Kind Kind
	// Port is the instance port checked (HTTP, TCP).
	Port int
	// Path is the HTTP path, "/" when empty.
	Path string
	// Command runs inside the instance (Exec).
	Command []string
	// Interval is the time between probes.
	Interval time.Duration
	// Timeout bounds one probe.
	Timeout time.Duration
	// Retries is how many failures in a row make the instance unhealthy.
	Retries int
	// StartPeriod is the time after a start during which failures do not
	// count, unless a probe has already succeeded.
	StartPeriod time.Duration
}

// Target says how to reach an instance.
type Target struct {
	// Host is the address the instance's ports are reached on from this
	// host, "127.0.0.1" when empty.
	Host string
	// HostPorts maps an instance port to the host port forwarded to it; a
	// port without a mapping is reached on itself.
	HostPorts map[int]int
	// Exec runs a command inside the instance, writing its output to out,
	// and returns its exit code.
	Exec func(ctx context.Context, command []string, out io.Writer) (int, error)
}

// maxReason bounds the output quoted in an exec check's failure.
const maxReason = 200

// Probe runs the check once, bounded by its Timeout, and returns nil when
// the instance is healthy, else an error saying why not.
func Probe(ctx context.Context, c Check, t Target) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	switch c.Kind {
	case HTTP:
		return probeHTTP(ctx, c, t)
	case TCP:
		return probeTCP(ctx, c, t)
	case Exec:
		return probeExec(ctx, c, t)
	default:
		return fmt.Errorf("unknown health check type %q", c.Kind)
	}
}

// address is host:port of the check's port as reached from this host.
func (t Target) address(port int) string {
	host := t.Host
	if host == "" {
		host = "127.0.0.1"
	}
	if hp, ok := t.HostPorts[port]; ok {
		port = hp
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func probeHTTP(ctx context.Context, c Check, t Target) error {
	path := c.Path
	if path == "" {
		path = "/"
	}
	target := "http://" + t.address(c.Port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("http check: %w", err)
	}
	hc := &http.Client{
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
		// A redirect is an answer: 3xx counts as healthy.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, unwrapURL(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 399 {
		return fmt.Errorf("GET %s answered %s", target, resp.Status)
	}
	return nil
}

// unwrapURL drops the *url.Error layer, which repeats the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func probeTCP(ctx context.Context, c Check, t Target) error {
	addr := t.address(c.Port)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("connect %s: %w", addr, err)
	}
	_ = conn.Close()
	return nil
}

func probeExec(ctx context.Context, c Check, t Target) error {
	if len(c.Command) == 0 {
		return errors.New("exec check: no command")
	}
	if t.Exec == nil {
		return errors.New("exec check: the instance cannot run commands")
	}
	var out tailBuffer
	code, err := t.Exec(ctx, c.Command, &out)
	if err != nil {
		return fmt.Errorf("run %s: %w", strings.Join(c.Command, " "), err)
	}
	if code != 0 {
		msg := fmt.Sprintf("%s exited with code %d", strings.Join(c.Command, " "), code)
		if s := strings.TrimSpace(out.String()); s != "" {
			msg += ": " + s
		}
		return errors.New(msg)
	}
	return nil
}

// tailBuffer keeps the last maxReason bytes written to it; safe for
// concurrent writers (a command's stdout and stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if extra := b.buf.Len() - maxReason; extra > 0 {
		b.buf.Next(extra)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
