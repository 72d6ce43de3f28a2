package cli

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage users (each has a personal tenant of the same name)",
	}
	cmd.AddCommand(a.userCreateCmd(), a.userListCmd(), a.userShowCmd(), a.userUpdateCmd(), a.userDeleteCmd())
	return cmd
}

// userListCols are the columns of `user list`.
var userListCols = []column[api.User]{
	col("NAME", func(u api.User) string { return u.Name }),
	col("DISPLAY NAME", func(u api.User) string { return dash(u.DisplayName) }),
	col("EMAIL", func(u api.User) string { return dash(u.Email) }),
	col("ENABLED", func(u api.User) string { return yesNo(u.Enabled) }),
	col("PLATFORM ADMIN", func(u api.User) string { return yesNo(u.PlatformAdmin) }),
	col("CREATED", func(u api.User) string { return when(u.CreatedAt) }),
}

// userCols are the fields of `user show`.
var userCols = []column[*api.User]{
	col("NAME", func(u *api.User) string { return u.Name }),
	col("ID", func(u *api.User) string { return u.ID }),
	col("DISPLAY NAME", func(u *api.User) string { return dash(u.DisplayName) }),
	col("EMAIL", func(u *api.User) string { return dash(u.Email) }),
	col("ENABLED", func(u *api.User) string { return yesNo(u.Enabled) }),
	col("PLATFORM ADMIN", func(u *api.User) string { return yesNo(u.PlatformAdmin) }),
	col("PERSONAL TENANT", func(u *api.User) string { return u.PersonalTenant }),
	col("CREATED", func(u *api.User) string { return when(u.CreatedAt) }),
	col("UPDATED", func(u *api.User) string { return when(u.UpdatedAt) }),
}

// userCreateFlags are the flags of `user create`, for one user or a batch.
type userCreateFlags struct {
	email, displayName, password string
	platformAdmin, disabled      bool
	tenant, role                 string

	prefix, rangeSpec, suffix, emailDomain, displayNamePrefix string
}

// Flags of `user create` that apply to one user or to a batch only.
var (
	singleUserFlags = []string{"email", "display-name", "platform-admin"}
	batchUserFlags  = []string{"range", "suffix", "email-domain", "display-name-prefix"}
)

// check validates the flags and arguments of `user create` before any request.
func (f *userCreateFlags) check(cmd *cobra.Command, args []string) error {
	set := cmd.Flags().Changed
	if f.prefix != "" {
		if len(args) > 0 {
			return fmt.Errorf("give either a NAME or --prefix with --range, not both (got %q)", args[0])
		}
		for _, flag := range singleUserFlags {
			if set(flag) {
				return fmt.Errorf("--%s creates one user; with --prefix use --email-domain or --display-name-prefix", flag)
			}
		}
		if f.rangeSpec == "" {
			return errors.New("--prefix needs --range FIRST-LAST, e.g. --range 003-050")
		}
		if _, err := parseRange(f.rangeSpec); err != nil {
			return err
		}
	} else {
		if len(args) != 1 {
			return errors.New("give one user NAME, or --prefix and --range for many users")
		}
		for _, flag := range batchUserFlags {
			if set(flag) {
				return fmt.Errorf("--%s needs --prefix (a batch of users)", flag)
			}
		}
	}
	if (f.tenant == "") != (f.role == "") {
		return errors.New("--tenant and --role go together: give both or neither")
	}
	if f.role != "" {
		return oneOf("role", f.role, api.RoleAdmin, api.RoleMember, api.RoleViewer)
	}
	return nil
}

// numberRange is an inclusive range of user numbers, printed zero-padded to width.
type numberRange struct {
	first, last, width int
}

// maxBatchUsers is the largest batch the API creates.
const maxBatchUsers = 10000

var rangePattern = regexp.MustCompile(`^([0-9]{1,6})-([0-9]{1,6})$`)

// parseRange parses a --range like "003-050".
func parseRange(s string) (numberRange, error) {
	m := rangePattern.FindStringSubmatch(s)
	if m == nil {
		return numberRange{}, fmt.Errorf("--range %q: want FIRST-LAST with up to 6 digits each, e.g. 003-050", s)
	}
	first, _ := strconv.Atoi(m[1])
	last, _ := strconv.Atoi(m[2])
	r := numberRange{first: first, last: last, width: len(m[1])}
	if first > last {
		return r, fmt.Errorf("--range %q: %d is after %d", s, first, last)
	}
	if n := r.count(); n > maxBatchUsers {
		return r, fmt.Errorf("--range %q: %d users, at most %d at once", s, n, maxBatchUsers)
	}
	return r, nil
}

// count is the number of users in the range.
func (r numberRange) count() int { return r.last - r.first + 1 }

// name is the user name numbered n.
func (r numberRange) name(prefix, suffix string, n int) string {
	return fmt.Sprintf("%s%0*d%s", prefix, r.width, n, suffix)
}

func (a *app) userCreateCmd() *cobra.Command {
	var f userCreateFlags
	cmd := &cobra.Command{
		Use:   "create NAME | --prefix P --range FIRST-LAST",
		Short: "Create a user, or a numbered batch of users (all or none)",
		Long: `Create a user with a personal tenant of the same name, or with --prefix and
--range a numbered batch of users, all or none (every taken name is listed).

The password comes from --password, else $NIMBUS_NEW_PASSWORD, else a prompt
(twice), else one line of stdin.`,
		Example: `  nimbus user create alice --email alice@example.com --tenant RD_Dept --role member
  nimbus user create --prefix rduser --range 003-050 --tenant RD_Dept --role member --password 'Initial-Pass-1'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(cmd, args); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			who := "the new users"
			if len(args) == 1 {
				who = args[0]
			}
			if f.password == "" {
				if f.password, err = a.newPassword(who); err != nil {
					return err
				}
			}
			if f.prefix != "" {
				return a.createUserBatch(cmd, c, f)
			}
			body := api.UserCreate{
				Name:          args[0],
				Email:         nonEmpty(f.email),
				DisplayName:   nonEmpty(f.displayName),
				Password:      &f.password,
				PlatformAdmin: changed(cmd, "platform-admin", f.platformAdmin),
				Tenant:        nonEmpty(f.tenant),
			}
			if f.disabled {
				body.Enabled = ptr(false)
			}
			if f.role != "" {
				body.Role = ptr(api.Role(f.role))
			}
			u, err := decode[api.User](c.API.CreateUser(cmd.Context(), body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, u, userCols)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.email, "email", "", "email address")
	fl.StringVar(&f.displayName, "display-name", "", "name for display")
	fl.StringVar(&f.password, "password", "", "initial password (default: $NIMBUS_NEW_PASSWORD or a prompt)")
	fl.BoolVar(&f.platformAdmin, "platform-admin", false, "make the user a platform admin")
	fl.BoolVar(&f.disabled, "disabled", false, "create the user unable to log in")
	fl.StringVar(&f.tenant, "tenant", "", "also give the user --role in this group tenant")
	fl.StringVar(&f.role, "role", "", "role in --tenant: admin, member or viewer")
	fl.StringVar(&f.prefix, "prefix", "", "batch: start of every name")
	fl.StringVar(&f.rangeSpec, "range", "", "batch: inclusive numbers FIRST-LAST; FIRST's zero padding is kept (003-050)")
	fl.StringVar(&f.suffix, "suffix", "", "batch: end of every name")
	fl.StringVar(&f.emailDomain, "email-domain", "", "batch: give each user the email NAME@DOMAIN")
	fl.StringVar(&f.displayNamePrefix, "display-name-prefix", "", "batch: display each user as this followed by its number")
	completeWith(cmd, "role", api.RoleAdmin, api.RoleMember, api.RoleViewer)
	return cmd
}

// createUserBatch creates the users of a --prefix/--range batch.
func (a *app) createUserBatch(cmd *cobra.Command, c *client.Client, f userCreateFlags) error {
	body := api.UserBatchCreate{
		Prefix:            f.prefix,
		Range:             f.rangeSpec,
		Suffix:            nonEmpty(f.suffix),
		EmailDomain:       nonEmpty(f.emailDomain),
		DisplayNamePrefix: nonEmpty(f.displayNamePrefix),
		Password:          f.password,
		Tenant:            nonEmpty(f.tenant),
	}
	if f.disabled {
		body.Enabled = ptr(false)
	}
	if f.role != "" {
		body.Role = ptr(api.Role(f.role))
	}
	batch, err := decode[api.UserBatchResult](c.API.BatchCreateUsers(cmd.Context(), body))
	if err != nil {
		var apiErr *client.Error
		if errors.As(err, &apiErr) && len(apiErr.Conflicts) > 0 {
			return fmt.Errorf("nothing created: %d of the names are taken: %s (choose another --prefix or --range, or delete those users)",
				len(apiErr.Conflicts), strings.Join(apiErr.Conflicts, ", "))
		}
		return err
	}
	r, _ := parseRange(f.rangeSpec)
	msg := fmt.Sprintf("Created %d users: %s .. %s", batch.Count, r.name(f.prefix, f.suffix, r.first), r.name(f.prefix, f.suffix, r.last))
	if f.tenant != "" {
		msg += fmt.Sprintf(", each %s of %s", f.role, f.tenant)
	}
	return a.report(batch, "%s.", msg)
}

func (a *app) userListCmd() *cobra.Command {
	var (
		p              pager
		params         api.ListUsersParams
		tenant, prefix string
		enabled        bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			params.Tenant = nonEmpty(tenant)
			params.NamePrefix = nonEmpty(prefix)
			params.Enabled = changed(cmd, "enabled", enabled)
			items, next, err := collect(p, func(limit int, token string) ([]api.User, string, error) {
				params.Limit, params.PageToken = &limit, nonEmpty(token)
				page, err := decode[api.UserList](c.API.ListUsers(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, userListCols)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only users holding a role in this tenant")
	cmd.Flags().BoolVar(&enabled, "enabled", false, "only enabled users (--enabled=false: only disabled ones)")
	cmd.Flags().StringVar(&prefix, "name-prefix", "", "only users whose name starts with this")
	p.register(cmd)
	return cmd
}

func (a *app) userShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a user",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := decode[api.User](c.API.GetUser(cmd.Context(), args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, u, userCols)
		},
	}
}

func (a *app) userUpdateCmd() *cobra.Command {
	var (
		email, displayName, password string
		enable, disable, admin       bool
	)
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a user",
		Example: `  nimbus user update alice --display-name "Alice Liddell" --email alice@example.com
  nimbus user update bob --disable
  nimbus user update carol --platform-admin=true`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := api.UserUpdate{
				Email:         changed(cmd, "email", email),
				DisplayName:   changed(cmd, "display-name", displayName),
				PlatformAdmin: changed(cmd, "platform-admin", admin),
				Password:      changed(cmd, "password", password),
			}
			switch {
			case enable:
				body.Enabled = ptr(true)
			case disable:
				body.Enabled = ptr(false)
			}
			if body == (api.UserUpdate{}) {
				return errors.New("nothing to change: pass --email, --display-name, --enable, --disable, --platform-admin or --password")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			u, err := decode[api.User](c.API.UpdateUser(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, u, userCols)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&email, "email", "", "new email address (\"\" removes it)")
	fl.StringVar(&displayName, "display-name", "", "new name for display")
	fl.BoolVar(&enable, "enable", false, "let the user log in")
	fl.BoolVar(&disable, "disable", false, "stop the user from logging in")
	fl.BoolVar(&admin, "platform-admin", false, "make (=true) or unmake (=false) the user a platform admin")
	fl.StringVar(&password, "password", "", "new password")
	cmd.MarkFlagsMutuallyExclusive("enable", "disable")
	return cmd
}

func (a *app) userDeleteCmd() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a user with its personal tenant, sessions and API keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if !yes {
				if err := a.confirm(fmt.Sprintf("Delete user %s with its personal tenant, sessions and API keys?", name), "--yes"); err != nil {
					return err
				}
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteUser(cmd.Context(), name)); err != nil {
				return err
			}
			return a.report(nil, "User %s deleted.", name)
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
