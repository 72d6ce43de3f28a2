package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// ErrJoinRefused is returned by Run when the server refuses the join token:
// it was used already or has expired.
var ErrJoinRefused = errors.New("join token refused")

// credentials is what joining gave the agent, kept in credentials.json.
type credentials struct {
	Server     string           `json:"server"`
	Host       string           `json:"host"`
	Cluster    string           `json:"cluster"`
	Credential string           `json:"credential"`
	AgentKey   string           `json:"agent_key"`
	Timings    api.AgentTimings `json:"timings"`
}

// defaultTimings apply until the server has said otherwise.
var defaultTimings = api.AgentTimings{
	HeartbeatIntervalMs: 3000,
	FenceTimeoutMs:      30_000,
	HeartbeatTimeoutMs:  60_000,
}

// joinRetryDelay is the wait before joining again after a failure that may
// pass (server unreachable, busy).
const joinRetryDelay = 3 * time.Second

func credentialsPath(stateDir string) string { return filepath.Join(stateDir, "credentials.json") }

// Joined reports whether the agent of stateDir has joined already, and so
// needs no join token to start.
func Joined(stateDir string) bool {
	_, err := os.Stat(credentialsPath(stateDir))
	return err == nil
}

// credentials loads the saved credentials, or joins the server and saves
// what it answers. A saved credential is never traded again: join tokens
// are single-use.
func (a *Agent) credentials(ctx context.Context) (credentials, error) {
	path := credentialsPath(a.cfg.StateDir)
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		var c credentials
		if err := json.Unmarshal(data, &c); err != nil {
			return credentials{}, fmt.Errorf("read %s: %w", path, err)
		}
		if c.Credential == "" || c.Server == "" {
			return credentials{}, fmt.Errorf("read %s: no credential or server in it", path)
		}
		if a.cfg.Server != "" && a.cfg.Server != c.Server {
			a.log.Warn("server URL differs from the one joined; using the new one", "joined", c.Server, "server", a.cfg.Server)
			c.Server = a.cfg.Server
		}
		if a.cfg.JoinToken != "" {
			a.log.Info("already joined; the join token is not used", "host", c.Host, "cluster", c.Cluster)
		}
		c.Timings = validTimings(c.Timings, defaultTimings)
		return c, nil
	case !errors.Is(err, os.ErrNotExist):
		return credentials{}, fmt.Errorf("read credentials: %w", err)
	}
	if a.cfg.Server == "" || a.cfg.JoinToken == "" {
		return credentials{}, fmt.Errorf("not joined yet (no %s): give the server URL and a join token (`nimbus host join-command` prints the command)", path)
	}
	return a.join(ctx)
}

// join trades the join token for a credential, retrying failures that may
// pass, and saves the answer.
func (a *Agent) join(ctx context.Context) (credentials, error) {
	c, err := client.New(a.cfg.Server, a.clientOptions()...)
	if err != nil {
		return credentials{}, fmt.Errorf("join: %w", err)
	}
	req := a.joinRequest()
	for {
		res, err := c.API.AgentJoinWithResponse(ctx, req)
		if err == nil {
			err = client.Err(res.HTTPResponse, res.Body)
		}
		if err == nil && res.JSON201 == nil {
			err = errors.New("empty answer")
		}
		if err == nil {
			j := res.JSON201
			creds := credentials{
				Server:     a.cfg.Server,
				Host:       j.Host,
				Cluster:    j.Cluster,
				Credential: j.Credential,
				AgentKey:   j.AgentKey,
				Timings:    validTimings(j.Timings, defaultTimings),
			}
			if err := saveCredentials(a.cfg.StateDir, creds); err != nil {
				return credentials{}, err
			}
			a.log.Info("joined", "host", creds.Host, "cluster", creds.Cluster, "server", creds.Server)
			return creds, nil
		}
		var apiErr *client.Error
		if errors.As(err, &apiErr) {
			switch apiErr.Status {
			case http.StatusUnauthorized:
				return credentials{}, fmt.Errorf("%w by %s: it was used already or has expired (%s); ask an admin for a new one with `nimbus host join-command`", ErrJoinRefused, a.cfg.Server, apiErr.Detail)
			case http.StatusTooManyRequests:
			default:
				if apiErr.Status < 500 {
					return credentials{}, fmt.Errorf("join %s as %q: %w", a.cfg.Server, req.HostName, err)
				}
			}
		}
		if ctx.Err() != nil {
			return credentials{}, ctx.Err()
		}
		a.log.Warn("join failed; trying again", "server", a.cfg.Server, "err", err, "in", joinRetryDelay)
		if !waitFor(ctx, joinRetryDelay, nil) {
			return credentials{}, ctx.Err()
		}
	}
}

// joinRequest describes this machine to the server.
func (a *Agent) joinRequest() api.AgentJoinRequest {
	osName, arch := a.info.OS, a.info.Arch
	if osName == "" {
		osName = runtime.GOOS
	}
	drivers := a.driverReports()
	req := api.AgentJoinRequest{
		Token:    a.cfg.JoinToken,
		HostName: a.hostName,
		Capacity: a.capacity(),
		OS:       &osName,
		Arch:     &arch,
		AgentURL: &a.url,
		Drivers:  &drivers,
	}
	if a.info.Address != "" {
		req.Address = &a.info.Address
	}
	if len(a.cfg.Labels) > 0 {
		labels := api.Labels(a.cfg.Labels)
		req.Labels = &labels
	}
	return req
}

// clientOptions are the transport options of every client of the server.
func (a *Agent) clientOptions() []client.Option {
	opts := []client.Option{client.WithUserAgent("nimbus-agent")}
	if a.cfg.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.cfg.HTTPClient))
	}
	if a.cfg.InsecureSkipVerify {
		opts = append(opts, client.WithInsecureSkipVerify())
	}
	return opts
}

// saveCredentials writes the credentials, readable by root only.
func saveCredentials(stateDir string, c credentials) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("encode credentials: %w", err)
	}
	if err := writeFileAtomic(credentialsPath(stateDir), append(data, '\n'), 0o600, true); err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// validTimings is t with every missing or nonsensical value taken from def.
func validTimings(t, def api.AgentTimings) api.AgentTimings {
	if t.HeartbeatIntervalMs <= 0 {
		t.HeartbeatIntervalMs = def.HeartbeatIntervalMs
	}
	if t.FenceTimeoutMs <= 0 {
		t.FenceTimeoutMs = def.FenceTimeoutMs
	}
	if t.HeartbeatTimeoutMs <= 0 {
		t.HeartbeatTimeoutMs = def.HeartbeatTimeoutMs
	}
	return t
}
