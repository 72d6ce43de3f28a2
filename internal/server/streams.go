package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/coder/websocket"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/problem"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// The log and exec streams are websockets relayed between the client and
// the agent of the instance's host; both legs speak the messages of package
// api/stream, so the server passes them through without decoding:
//
//	client ══ws══▶ server (authorize, find host) ══ws══▶ agent ──▶ driver

// maxStreamMessage bounds one websocket message on either leg.
const maxStreamMessage = 1 << 20

// httpKey carries the request's writer and request to the streaming
// handlers, which take the connection over.
type httpKey struct{}

type httpPair struct {
	w http.ResponseWriter
	r *http.Request
}

// streamOps are the operations that upgrade to a websocket.
var streamOps = map[string]bool{"StreamInstanceLogs": true, "ExecInstance": true}

// withHTTP hands the raw request and writer to the streaming operations.
func withHTTP(f api.StrictHandlerFunc, operationID string) api.StrictHandlerFunc {
	if !streamOps[operationID] {
		return f
	}
	return func(ctx context.Context, w http.ResponseWriter, r *http.Request, req any) (any, error) {
		return f(context.WithValue(ctx, httpKey{}, httpPair{w, r}), w, r, req)
	}
}

// relayed is the answer of a stream whose connection was taken over: there
// is nothing left to write.
type relayed struct{}

func (relayed) VisitStreamInstanceLogsResponse(http.ResponseWriter) error { return nil }
func (relayed) VisitExecInstanceResponse(http.ResponseWriter) error       { return nil }

// StreamInstanceLogs relays an instance's output from its agent.
func (h handlers) StreamInstanceLogs(ctx context.Context, req api.StreamInstanceLogsRequestObject) (api.StreamInstanceLogsResponseObject, error) {
	q := url.Values{}
	q.Set("follow", strconv.FormatBool(deref(req.Params.Follow)))
	q.Set("tail", strconv.Itoa(deref(req.Params.Tail)))
	check := func(i store.Instance) error {
		if req.Params.Path == nil {
			return nil
		}
		var spec api.InstanceSpec
		if err := json.Unmarshal(i.Spec, &spec); err != nil {
			return err
		}
		if declared := deref(spec.LogPath); declared == "" || *req.Params.Path != declared {
			return problem.Invalid("path", "instance %q declares no log file %q: only its spec's log_path (%q) can be read", i.Name, *req.Params.Path, declared)
		}
		q.Set("path", *req.Params.Path)
		return nil
	}
	if err := h.relay(ctx, req.Name, req.Instance, PermInstanceRead, "logs", q, check); err != nil {
		return nil, err
	}
	return relayed{}, nil
}

// ExecInstance relays a command session inside an instance.
func (h handlers) ExecInstance(ctx context.Context, req api.ExecInstanceRequestObject) (api.ExecInstanceResponseObject, error) {
	q := url.Values{"command": req.Params.Command}
	q.Set("tty", strconv.FormatBool(deref(req.Params.Tty)))
	if err := h.relay(ctx, req.Name, req.Instance, PermInstanceWrite, "exec", q, nil); err != nil {
		return nil, err
	}
	return relayed{}, nil
}

// relay authorizes the caller on the instance (and lets check refuse the
// request), dials its agent, and only then accepts the client's websocket
// and joins the two.
func (h handlers) relay(ctx context.Context, tenant, ref, perm, what string, q url.Values, check func(store.Instance) error) error {
	var i store.Instance
	var agent store.HostAgent
	err := h.store.Read(ctx, func(tx store.Tx) error {
		var err error
		if i, err = instanceFor(ctx, tx, tenant, ref, perm); err != nil {
			return err
		}
		if check != nil {
			if err := check(i); err != nil {
				return err
			}
		}
		if i.HostID == "" {
			return problem.Conflict("", "instance %q is not placed on a host (status %s)", i.Name, i.Status)
		}
		agent, err = tx.GetHostAgent(ctx, i.HostID)
		return err
	})
	if err != nil {
		return err
	}
	if agent.URL == "" {
		return problem.Conflict("", "host %s has no agent address: is `nimbus agent` running there?", i.HostName)
	}
	pair, _ := ctx.Value(httpKey{}).(httpPair)
	if pair.r == nil {
		return errors.New("stream without its HTTP request")
	}
	target, err := agentURL(agent.URL)
	if err != nil {
		return problem.Conflict("", "host %s reported an unusable agent address: %v", i.HostName, err)
	}
	target.Path += fmt.Sprintf("/v1/instances/%s/%s", i.ID, what)
	target.RawQuery = q.Encode()
	upstream, resp, err := websocket.Dial(ctx, target.String(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + agent.Key}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return problem.Conflict("", "the agent of host %s does not run instance %q (yet): try again shortly", i.HostName, i.Name)
		}
		h.log.WarnContext(ctx, "dial agent", "host", i.HostName, "err", err)
		return problem.Conflict("", "cannot reach the agent of host %s: %v", i.HostName, err)
	}
	upstream.SetReadLimit(maxStreamMessage)
	client, err := websocket.Accept(pair.w, pair.r, nil)
	if err != nil {
		upstream.Close(websocket.StatusGoingAway, "client did not upgrade")
		return nil
	}
	client.SetReadLimit(maxStreamMessage)
	pipe(ctx, client, upstream)
	return nil
}

// pipe copies messages both ways until either side closes, then closes the
// other with the same status.
func pipe(ctx context.Context, a, b *websocket.Conn) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{}, 2)
	forward := func(src, dst *websocket.Conn) {
		defer func() { done <- struct{}{} }()
		for {
			typ, data, err := src.Read(ctx)
			if err != nil {
				status, reason := websocket.CloseStatus(err), ""
				if status == -1 {
					status, reason = websocket.StatusGoingAway, "peer went away"
				}
				dst.Close(status, reason)
				return
			}
			if err := dst.Write(ctx, typ, data); err != nil {
				src.Close(websocket.StatusGoingAway, "peer went away")
				return
			}
		}
	}
	go forward(a, b)
	go forward(b, a)
	<-done
	cancel()
	<-done
}

// agentURL parses an agent's address: http or https with a host, and
// nothing after the path.
func agentURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q is not an http(s)://host[:port] address", raw)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u, nil
}
