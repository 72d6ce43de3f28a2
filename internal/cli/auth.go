package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) loginCmd() *cobra.Command {
	var (
		username string
		insecure bool
		ttl      time.Duration
	)
	cmd := &cobra.Command{
		Use:   "login --server URL --username NAME",
		Short: "Log in to a Nimbus server and keep the session for later commands",
		Long: `Log in to a Nimbus server and keep the session for later commands.

The password comes from $NIMBUS_PASSWORD, else a prompt on the terminal, else
one line of stdin. The session is saved (mode 0600) in $XDG_CONFIG_HOME/nimbus.`,
		Example: `  nimbus login --server http://127.0.0.1:7070 --username admin
  nimbus login --server https://nimbus.example:7443 --username alice --insecure`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			saved, err := loadCredentials()
			if err != nil {
				return err
			}
			server := strings.TrimRight(firstNonEmpty(a.server, os.Getenv("NIMBUS_SERVER"), saved.Server), "/")
			if server == "" {
				return errors.New("no server: pass --server URL (the address `nimbus dev` or `nimbus server` printed)")
			}
			username = firstNonEmpty(username, saved.Username)
			if username == "" {
				return errors.New("no user name: pass --username NAME")
			}
			if !cmd.Flags().Changed("insecure") && server == saved.Server {
				insecure = saved.Insecure
			}
			password := os.Getenv("NIMBUS_PASSWORD")
			if password == "" {
				if password, err = a.readSecret(fmt.Sprintf("Password for %s at %s: ", username, server)); err != nil {
					return err
				}
			}
			opts := []client.Option{client.WithUserAgent(userAgent)}
			if insecure {
				opts = append(opts, client.WithInsecureSkipVerify())
			}
			c, err := client.New(server, opts...)
			if err != nil {
				return err
			}
			body := api.LoginRequest{Username: username, Password: password}
			if ttl > 0 {
				body.TTLSeconds = ptr(int(ttl.Seconds()))
			}
			login, err := decode[api.LoginResponse](c.API.Login(cmd.Context(), body))
			if err != nil {
				return err
			}
			creds := credentials{Server: server, Username: login.User.Name, Token: login.Token, Insecure: insecure}
			if err := saveCredentials(creds); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "Logged in to %s as %s; the session ends %s.\n", server, login.User.Name, when(login.ExpiresAt))
			return nil
		},
	}
	cmd.Flags().StringVar(&username, "username", "", "user name (default: the one of the last login)")
	cmd.Flags().BoolVar(&insecure, "insecure", false, "accept any server certificate (for a self-signed one)")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "session lifetime, 1m to 720h (default: the server's, 24h)")
	return cmd
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "End the session on the server and forget it here",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ended := "Logged out."
			if err := done(c.API.Logout(cmd.Context())); err != nil {
				var apiErr *client.Error
				if !errors.As(err, &apiErr) || apiErr.Code != api.ProblemCodeUnauthenticated {
					return err
				}
				ended = "The session had already ended; logged out."
			}
			if err := removeCredentials(); err != nil {
				return err
			}
			fmt.Fprintln(a.out, ended)
			return nil
		},
	}
}

func (a *app) whoamiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "whoami",
		Short: "Show who you are logged in as, and your tenants and roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			me, err := decode[api.WhoAmI](c.API.WhoAmI(cmd.Context()))
			if err != nil {
				return err
			}
			if a.format != formatTable {
				return renderData(a.out, a.format, me)
			}
			cols := []column[*api.WhoAmI]{
				col("USER", func(w *api.WhoAmI) string { return w.User.Name }),
				col("DISPLAY NAME", func(w *api.WhoAmI) string { return dash(w.User.DisplayName) }),
				col("EMAIL", func(w *api.WhoAmI) string { return dash(w.User.Email) }),
				col("PLATFORM ADMIN", func(w *api.WhoAmI) string { return yesNo(w.User.PlatformAdmin) }),
				col("PERSONAL TENANT", func(w *api.WhoAmI) string { return w.User.PersonalTenant }),
			}
			if me.APIKey != nil {
				cols = append(cols,
					col("API KEY", func(w *api.WhoAmI) string { return *w.APIKey }),
					col("PERMISSIONS", func(w *api.WhoAmI) string { return permissionList(w.Permissions) }))
			}
			if err := renderOne(a.out, a.format, me, cols); err != nil {
				return err
			}
			fmt.Fprintln(a.out)
			return renderList(a.out, a.format, me.Tenants, []column[api.TenantRole]{
				col("TENANT", func(t api.TenantRole) string { return t.Tenant }),
				col("ROLE", func(t api.TenantRole) string { return string(t.Role) }),
			})
		},
	}
}

// permissionList shows permissions as "a, b".
func permissionList(perms *[]api.Permission) string {
	if perms == nil || len(*perms) == 0 {
		return "-"
	}
	names := make([]string, len(*perms))
	for i, p := range *perms {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

func (a *app) sessionCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "session",
		Short: "List and revoke your sessions",
	}
	var p pager
	list := &cobra.Command{
		Use:   "list",
		Short: "List your active sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Session, string, error) {
				page, err := decode[api.SessionList](c.API.ListSessions(cmd.Context(), &api.ListSessionsParams{Limit: &limit, PageToken: nonEmpty(token)}))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Session]{
				col("ID", func(s api.Session) string { return s.ID }),
				col("CURRENT", func(s api.Session) string { return yesNo(s.Current) }),
				col("CREATED", func(s api.Session) string { return when(s.CreatedAt) }),
				col("EXPIRES", func(s api.Session) string { return when(s.ExpiresAt) }),
				col("SOURCE IP", func(s api.Session) string { return dash(s.SourceIP) }),
				col("USER AGENT", func(s api.Session) string { return dash(s.UserAgent) }),
			})
		},
	}
	p.register(list)
	revoke := &cobra.Command{
		Use:   "revoke ID",
		Short: "End one of your sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.RevokeSession(cmd.Context(), args[0])); err != nil {
				return err
			}
			return a.report(nil, "Session %s revoked.", args[0])
		},
	}
	cmd.AddCommand(list, revoke)
	return cmd
}

func (a *app) passwordCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "password",
		Short: "Change your password",
		Long: `Change your password.

The current password comes from $NIMBUS_PASSWORD and the new one from
$NIMBUS_NEW_PASSWORD; either is asked for on the terminal when unset (the new
one twice), else read as one line of stdin each.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			current := os.Getenv("NIMBUS_PASSWORD")
			if current == "" {
				if current, err = a.readSecret("Current password: "); err != nil {
					return err
				}
			}
			next, err := a.newPassword("you")
			if err != nil {
				return err
			}
			if err := done(c.API.ChangePassword(cmd.Context(), api.PasswordChange{CurrentPassword: current, NewPassword: next})); err != nil {
				return err
			}
			return a.report(nil, "Password changed.")
		},
	}
}
