package agent

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Config configures an Agent.
type Config struct {
	// Server is the server's base URL (scheme and host, without /api/v1).
	// It may be empty once the agent has joined: the URL saved at join time
	// is used.
	Server string
	// JoinToken is the single-use token traded for a credential on the
	// first start; ignored once the agent has joined.
	JoinToken string
	// StateDir holds the credential, the lease file and the state of every
	// instance; it is created if missing.
	StateDir string
	// Listen is the address of the agent's own HTTP server, through which
	// the server reads logs and runs commands ("127.0.0.1:0", ":7071").
	Listen string
	// AdvertiseURL is the URL the server reaches that listener at; by
	// default it is derived from the listener's address (the host's
	// primary address when listening on all interfaces).
	AdvertiseURL string
	// Labels are the host's labels, sent when joining.
	Labels map[string]string
	// HostName is the name to join as; by default the machine's host name
	// made valid by hostinfo.HostName.
	HostName string
	// Drivers run the instances; each assignment names one by its Name.
	Drivers []driver.Driver
	// Capacity, when set, is reported instead of this machine's: for
	// simulated hosts, whose fake drivers run nothing (see
	// internal/driver/fake). Leave it nil with real drivers.
	Capacity *api.Capacity
	// HTTPClient sends the requests to the server; http.DefaultClient's
	// settings when nil.
	HTTPClient *http.Client
	// InsecureSkipVerify accepts any server certificate, such as the
	// self-signed one of `nimbus server`.
	InsecureSkipVerify bool
	// Logger receives the agent's logs; slog.Default() when nil.
	Logger *slog.Logger
	// SampleInterval is the time between metric samples (default 10 s).
	SampleInterval time.Duration
	// StopGrace is how long a stopped instance has to end before it is
	// killed (default 10 s). Fencing gives 1 s.
	StopGrace time.Duration
	// Now gives the time; time.Now when nil.
	Now func() time.Time
}

// Defaults of the optional Config fields.
const (
	DefaultSampleInterval = 10 * time.Second
	DefaultStopGrace      = 10 * time.Second
)

// withDefaults checks c and fills its optional fields.
func (c Config) withDefaults() (Config, error) {
	if c.StateDir == "" {
		return c, errors.New("agent config: no state directory")
	}
	if c.Listen == "" {
		return c, errors.New("agent config: no listen address")
	}
	if len(c.Drivers) == 0 {
		return c, errors.New("agent config: no drivers")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.SampleInterval <= 0 {
		c.SampleInterval = DefaultSampleInterval
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
