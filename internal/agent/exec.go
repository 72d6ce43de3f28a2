package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/api/stream"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// serveExec runs a command inside an instance over a websocket framed as
// package stream says: binary messages from the peer are stdin, text
// messages are stream.Control; output goes out as binary stream.Output
// messages, then a text stream.Exit, then a close with status 1000. The
// command is killed if the peer goes away.
func (a *Agent) serveExec(w http.ResponseWriter, r *http.Request) {
	in, drv, ok := a.streamTarget(w, r)
	if !ok {
		return
	}
	command := r.URL.Query()["command"]
	if len(command) == 0 || command[0] == "" {
		http.Error(w, "command: give the program and each argument as a command parameter", http.StatusBadRequest)
		return
	}
	tty, err := queryBool(r, "tty")
	if err != nil {
		http.Error(w, "tty: want true or false", http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)

	ctx, cancel := context.WithCancel(r.Context())
	stdin, stdinW := io.Pipe()
	resize := make(chan driver.TermSize, 1)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	wg.Go(func() { readExecInput(ctx, cancel, conn, stdinW, resize) })

	code, err := drv.Exec(ctx, in.id, driver.ExecOptions{
		Command: command,
		TTY:     tty,
		Stdin:   stdin,
		Stdout:  &wsOutput{ctx: ctx, conn: conn, stream: stream.StdoutByte},
		Stderr:  &wsOutput{ctx: ctx, conn: conn, stream: stream.StderrByte},
		Resize:  resize,
	})
	_ = stdin.Close()
	if ctx.Err() != nil {
		// The peer went away, or the agent is stopping: the deferred
		// CloseNow drops the connection without waiting for a peer that
		// may not answer.
		return
	}
	exit := stream.Exit{ExitCode: code}
	if err != nil {
		exit = stream.Exit{ExitCode: -1, Error: err.Error()}
	}
	msg, _ := json.Marshal(exit)
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return
	}
	conn.Close(websocket.StatusNormalClosure, "")
}

// readExecInput feeds the peer's messages to the command: binary as stdin,
// text as control. When the peer goes away it cancels the session.
func readExecInput(ctx context.Context, cancel context.CancelFunc, conn *websocket.Conn, stdin *io.PipeWriter, resize chan driver.TermSize) {
	defer cancel()
	defer stdin.Close()
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			return
		}
		if typ == websocket.MessageBinary {
			// After the command closed its stdin, input is dropped.
			_, _ = stdin.Write(data)
			continue
		}
		var c stream.Control
		if err := stream.ParseText(data, &c); err != nil {
			conn.Close(websocket.StatusUnsupportedData, closeReason(err))
			return
		}
		if c.Resize != nil {
			setSize(resize, driver.TermSize{Rows: c.Resize.Rows, Cols: c.Resize.Cols})
		}
		if c.CloseStdin {
			_ = stdin.Close()
		}
	}
}

// setSize leaves s as the only pending size in c.
func setSize(c chan driver.TermSize, s driver.TermSize) {
	for {
		select {
		case c <- s:
			return
		default:
		}
		select {
		case <-c:
		default:
		}
	}
}

// wsOutput sends what a command writes as binary exec output messages.
type wsOutput struct {
	ctx    context.Context
	conn   *websocket.Conn
	stream byte
}

func (o *wsOutput) Write(p []byte) (int, error) {
	n := 0
	for _, c := range chunks(p, wsChunk) {
		if err := o.conn.Write(o.ctx, websocket.MessageBinary, stream.Output(o.stream, c)); err != nil {
			return n, errors.Join(io.ErrClosedPipe, err)
		}
		n += len(c)
	}
	return n, nil
}
