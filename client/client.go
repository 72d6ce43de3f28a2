// Package client is the Go client of the Nimbus API: a thin layer over the
// generated api.ClientWithResponses that adds authentication and turns
// problem responses into *Error.
//
//	c, err := client.New("https://nimbus.example:8443", client.WithToken(token))
//	res, err := c.API.GetUserWithResponse(ctx, "alice")
//	if err != nil { ... }                                   // transport error
//	if err := client.Err(res.HTTPResponse, res.Body); err != nil { ... } // API error
//	user := res.JSON200
package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/nimbus-cloud/nimbus/api"
)

// Client talks to one Nimbus server.
type Client struct {
	// API is the generated client; every operation of the spec is a method.
	API *api.ClientWithResponses

	opts  options
	base  string
	httpc *http.Client
}

// Authorize adds the client's credentials to req, for requests made outside
// the generated client (streams, websockets).
func (c *Client) Authorize(ctx context.Context, req *http.Request) error {
	return c.opts.authorize(ctx, req)
}

// Option configures New.
type Option func(*options)

type options struct {
	userAgent  string
	httpClient *http.Client
	insecure   bool
	token      string
	appKey     string
	appSecret  string
}

// WithToken authenticates with a session token (`nmt_...`) from Login.
func WithToken(token string) Option {
	return func(o *options) { o.token = token }
}

// WithAPIKey authenticates with an API key and its secret (`nak_...`, `nas_...`).
func WithAPIKey(appKey, appSecret string) Option {
	return func(o *options) { o.appKey, o.appSecret = appKey, appSecret }
}

// WithUserAgent names the program in the User-Agent header, which the
// server shows in session lists.
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// WithHTTPClient sends requests through c instead of a default client.
func WithHTTPClient(c *http.Client) Option {
	return func(o *options) { o.httpClient = c }
}

// WithInsecureSkipVerify accepts any server certificate, such as the
// self-signed one of `nimbus server`. It needs the HTTP client's transport to
// be an *http.Transport (or unset).
func WithInsecureSkipVerify() Option {
	return func(o *options) { o.insecure = true }
}

// New returns a client of the server at baseURL (scheme and host, e.g.
// "https://nimbus.example:8443"; the spec's paths carry /api/v1).
func New(baseURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("parse server url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server url %q: want http(s)://host[:port]", baseURL)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p == "/api/v1" || strings.HasSuffix(p, "/api/v1") {
		return nil, fmt.Errorf("server url %q: give the server's address without /api/v1, e.g. %s://%s", baseURL, u.Scheme, u.Host)
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.token != "" && o.appKey != "" {
		return nil, errors.New("both a token and an API key given")
	}
	hc := o.httpClient
	if hc == nil {
		hc = &http.Client{}
	}
	if o.insecure {
		if hc, err = insecureClient(hc); err != nil {
			return nil, err
		}
	}
	c, err := api.NewClientWithResponses(baseURL,
		api.WithHTTPClient(hc),
		api.WithRequestEditorFn(o.authorize))
	if err != nil {
		return nil, fmt.Errorf("new api client: %w", err)
	}
	return &Client{API: c, opts: o, base: strings.TrimSuffix(baseURL, "/"), httpc: hc}, nil
}

// authorize adds the configured credentials to a request.
func (o *options) authorize(_ context.Context, req *http.Request) error {
	if o.userAgent != "" {
		req.Header.Set("User-Agent", o.userAgent)
	}
	switch {
	case o.token != "":
		req.Header.Set("Authorization", "Bearer "+o.token)
	case o.appKey != "":
		req.SetBasicAuth(o.appKey, o.appSecret)
	}
	return nil
}

// insecureClient returns a copy of hc whose transport skips certificate
// verification.
func insecureClient(hc *http.Client) (*http.Client, error) {
	rt := hc.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	t, ok := rt.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("insecure skip verify: transport is %T, not *http.Transport", rt)
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true
	c := *hc
	c.Transport = t
	return &c, nil
}
