package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/nimbus-cloud/nimbus/api"
	"net/http"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// serveLogs streams an instance's output: each entry as a text message
// holding a LogEntry, then a close with status 1000 when the history ends
// (or, following, when the output ends).
func (a *Agent) serveLogs(w http.ResponseWriter, r *http.Request) {
	in, drv, ok := a.streamTarget(w, r)
	if !ok {
		return
	}
	opts, err := logOptions(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(wsReadLimit)
	ctx := conn.CloseRead(r.Context())
	err = drv.Logs(ctx, in.id, opts, func(e driver.LogEntry) error {
		for _, data := range chunks(e.Data, wsChunk) {
			msg, err := json.Marshal(api.LogEntry{Time: e.Time.UTC(), Stream: api.LogEntryStream(e.Stream), Data: string(data)})
			if err != nil {
				return err
			}
			if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
				return err
			}
		}
		return nil
	})
	switch {
	case ctx.Err() != nil:
		// The peer went away, or the agent is stopping: the deferred
		// CloseNow drops the connection without waiting for a peer that
		// may not answer.
	case errors.Is(err, driver.ErrNotFound):
		conn.Close(websocket.StatusInternalError, "no output: the instance has not run on this host")
	case err != nil:
		a.log.Warn("logs", "instance", in.id, "err", err)
		conn.Close(websocket.StatusInternalError, closeReason(err))
	default:
		conn.Close(websocket.StatusNormalClosure, "")
	}
}

// logOptions reads the query of a logs request.
func logOptions(r *http.Request) (driver.LogOptions, error) {
	var opts driver.LogOptions
	var err error
	if opts.Follow, err = queryBool(r, "follow"); err != nil {
		return opts, fmt.Errorf("follow: want true or false")
	}
	if v := r.URL.Query().Get("tail"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > maxTail {
			return opts, fmt.Errorf("tail: want a number of lines from 0 (all) to %d", maxTail)
		}
		opts.Tail = n
	}
	if p := r.URL.Query().Get("path"); p != "" {
		if !strings.HasPrefix(p, "/") {
			return opts, fmt.Errorf("path: want an absolute path inside the instance")
		}
		opts.Path = p
	}
	return opts, nil
}
