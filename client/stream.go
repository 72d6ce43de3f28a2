package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/api/stream"
)

// dial opens the websocket of an instance stream (logs or exec). A refusal
// before the upgrade comes back as the *Error of the server's problem.
func (c *Client) dial(ctx context.Context, tenant, instance, what string, q url.Values) (*websocket.Conn, error) {
	u := strings.Replace(c.base, "http", "ws", 1) + "/api/v1/tenants/" + url.PathEscape(tenant) + "/instances/" +
		url.PathEscape(instance) + "/" + what + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base, nil)
	if err != nil {
		return nil, err
	}
	if err := c.opts.authorize(ctx, req); err != nil {
		return nil, err
	}
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: c.httpc, HTTPHeader: req.Header})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if apiErr := Err(resp, body); apiErr != nil {
				return nil, apiErr
			}
		}
		return nil, fmt.Errorf("open %s stream: %w", what, err)
	}
	conn.SetReadLimit(1 << 20)
	return conn, nil
}

// LogOptions selects the output Logs streams.
type LogOptions struct {
	// Follow keeps streaming new output until ctx ends or the output ends.
	Follow bool
	// Tail limits the history to its last N lines (0: all).
	Tail int
	// Path reads this file inside the instance instead of stdout and stderr.
	Path string
}

// Logs streams an instance's output, calling fn for each entry in order.
func (c *Client) Logs(ctx context.Context, tenant, instance string, opts LogOptions, fn func(api.LogEntry) error) error {
	q := url.Values{"follow": {strconv.FormatBool(opts.Follow)}, "tail": {strconv.Itoa(opts.Tail)}}
	if opts.Path != "" {
		q.Set("path", opts.Path)
	}
	conn, err := c.dial(ctx, tenant, instance, "logs", q)
	if err != nil {
		return err
	}
	defer conn.CloseNow()
	for {
		_, msg, err := conn.Read(ctx)
		if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read logs: %w", err)
		}
		var e api.LogEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return fmt.Errorf("read logs: %w", err)
		}
		if err := fn(e); err != nil {
			conn.Close(websocket.StatusNormalClosure, "")
			return err
		}
	}
}

// ExecOptions describes a command to run inside an instance.
type ExecOptions struct {
	Command []string
	// TTY allocates a pseudo-terminal; its output all arrives on Stdout.
	TTY    bool
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize delivers terminal size changes during a TTY session.
	Resize <-chan stream.Size
}

// Exec runs a command inside an instance and returns its exit code.
func (c *Client) Exec(ctx context.Context, tenant, instance string, opts ExecOptions) (int, error) {
	q := url.Values{"command": opts.Command, "tty": {strconv.FormatBool(opts.TTY)}}
	conn, err := c.dial(ctx, tenant, instance, "exec", q)
	if err != nil {
		return -1, err
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go sendInput(ctx, conn, opts)
	for {
		typ, msg, err := conn.Read(ctx)
		if err != nil {
			return -1, fmt.Errorf("exec ended without an exit code: %w", err)
		}
		if typ == websocket.MessageText {
			var exit stream.Exit
			if err := stream.ParseText(msg, &exit); err != nil {
				return -1, err
			}
			conn.Close(websocket.StatusNormalClosure, "")
			if exit.Error != "" {
				return exit.ExitCode, errors.New(exit.Error)
			}
			return exit.ExitCode, nil
		}
		s, data, err := stream.ParseOutput(msg)
		if err != nil {
			return -1, err
		}
		w := opts.Stdout
		if s == stream.StderrByte && opts.Stderr != nil {
			w = opts.Stderr
		}
		if w != nil {
			if _, err := w.Write(data); err != nil {
				return -1, err
			}
		}
	}
}

// sendInput forwards stdin and terminal resizes until ctx ends.
func sendInput(ctx context.Context, conn *websocket.Conn, opts ExecOptions) {
	control := func(c stream.Control) {
		b, _ := json.Marshal(c)
		_ = conn.Write(ctx, websocket.MessageText, b)
	}
	if opts.Resize != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case sz, ok := <-opts.Resize:
					if !ok {
						return
					}
					control(stream.Control{Resize: &sz})
				}
			}
		}()
	}
	if opts.Stdin == nil {
		control(stream.Control{CloseStdin: true})
		return
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := opts.Stdin.Read(buf)
		if n > 0 {
			if conn.Write(ctx, websocket.MessageBinary, buf[:n]) != nil {
				return
			}
		}
		if err != nil {
			control(stream.Control{CloseStdin: true})
			return
		}
	}
}
