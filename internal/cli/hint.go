package cli

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

// hintFor says what to do next after cmd failed with err, or "" when the
// error says it already.
func hintFor(cmd *cobra.Command, err error) string {
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		return apiHint(cmd, apiErr)
	}
	var certErr *tls.CertificateVerificationError
	var authorityErr x509.UnknownAuthorityError
	if errors.As(err, &certErr) || errors.As(err, &authorityErr) {
		return "the server's certificate is not trusted; for a server with a self-signed certificate, log in with --insecure"
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return "check that the server is running and its URL (--server, $NIMBUS_SERVER, or the one saved by `nimbus login`)"
	}
	return ""
}

// apiHint says what to do after an API error answer.
func apiHint(cmd *cobra.Command, err *client.Error) string {
	if cmd == nil {
		return ""
	}
	switch err.Code {
	case api.ProblemCodeUnauthenticated:
		if cmd.Name() == "login" {
			return "check the user name and password"
		}
		return "your session may have ended: log in again with `nimbus login`"
	case api.ProblemCodeForbidden:
		return "you may see this but not change it; ask a platform admin or an admin of the tenant"
	case api.ProblemCodeNotFound:
		if list := listCmdFor(cmd); list != "" {
			return fmt.Sprintf("check the names; `%s` shows what exists", list)
		}
	case api.ProblemCodeInvalidField, api.ProblemCodeUnknownField, api.ProblemCodeInvalidJSON:
		return fmt.Sprintf("see `%s --help`", cmd.CommandPath())
	case api.ProblemCodeQuotaExceeded:
		return "see the tenant's quota with `nimbus quota show TENANT --cluster CLUSTER`"
	}
	return ""
}

// listCmdFor returns the path of the list command beside cmd (e.g. `nimbus
// user list` for `nimbus user show`), or "".
func listCmdFor(cmd *cobra.Command) string {
	for _, c := range []*cobra.Command{cmd, cmd.Parent()} {
		if c == nil {
			continue
		}
		for _, sub := range c.Commands() {
			if sub.Name() == "list" {
				return sub.CommandPath()
			}
		}
	}
	return ""
}
