package cli

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
)

func (a *app) tenantCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Manage tenants and who holds a role in them",
	}
	cmd.AddCommand(a.tenantCreateCmd(), a.tenantListCmd(), a.tenantShowCmd(), a.tenantUpdateCmd(), a.tenantDeleteCmd(),
		a.tenantMembersCmd(), a.tenantAddMemberCmd(), a.tenantRemoveMemberCmd())
	return cmd
}

// tenantCols are the fields of `tenant show`.
var tenantCols = []column[*api.Tenant]{
	col("NAME", func(t *api.Tenant) string { return t.Name }),
	col("ID", func(t *api.Tenant) string { return t.ID }),
	col("KIND", func(t *api.Tenant) string { return string(t.Kind) }),
	col("OWNER", func(t *api.Tenant) string { return dashPtr(t.Owner) }),
	col("DESCRIPTION", func(t *api.Tenant) string { return dash(t.Description) }),
	col("ADMIN EMAIL", func(t *api.Tenant) string { return dash(t.AdminEmail) }),
	col("USERS", func(t *api.Tenant) string { return strconv.Itoa(t.UserCount) }),
	col("CREATED", func(t *api.Tenant) string { return when(t.CreatedAt) }),
	col("UPDATED", func(t *api.Tenant) string { return when(t.UpdatedAt) }),
}

func (a *app) tenantCreateCmd() *cobra.Command {
	var description, adminEmail string
	cmd := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a group tenant",
		Example: `  nimbus tenant create RD_Dept --description "R&D department" --admin-email rd@example.com`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			body := api.TenantCreate{Name: args[0], Description: nonEmpty(description), AdminEmail: nonEmpty(adminEmail)}
			t, err := decode[api.Tenant](c.API.CreateTenant(cmd.Context(), body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, t, tenantCols)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the tenant is for")
	cmd.Flags().StringVar(&adminEmail, "admin-email", "", "contact address of the tenant's administrators")
	return cmd
}

func (a *app) tenantListCmd() *cobra.Command {
	var (
		p            pager
		kind, prefix string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the tenants you hold a role in (all of them for a platform admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			params := api.ListTenantsParams{NamePrefix: nonEmpty(prefix)}
			if kind != "" {
				if err := oneOf("kind", kind, api.TenantKindPersonal, api.TenantKindGroup); err != nil {
					return err
				}
				params.Kind = ptr(api.TenantKind(kind))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Tenant, string, error) {
				params.Limit, params.PageToken = &limit, nonEmpty(token)
				page, err := decode[api.TenantList](c.API.ListTenants(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Tenant]{
				col("NAME", func(t api.Tenant) string { return t.Name }),
				col("KIND", func(t api.Tenant) string { return string(t.Kind) }),
				col("USERS", func(t api.Tenant) string { return strconv.Itoa(t.UserCount) }),
				col("ADMIN EMAIL", func(t api.Tenant) string { return dash(t.AdminEmail) }),
				col("DESCRIPTION", func(t api.Tenant) string { return dash(t.Description) }),
			})
		},
	}
	cmd.Flags().StringVar(&kind, "kind", "", "only tenants of this kind: personal or group")
	cmd.Flags().StringVar(&prefix, "name-prefix", "", "only tenants whose name starts with this")
	completeWith(cmd, "kind", api.TenantKindPersonal, api.TenantKindGroup)
	p.register(cmd)
	return cmd
}

func (a *app) tenantShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a tenant",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := decode[api.Tenant](c.API.GetTenant(cmd.Context(), args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, t, tenantCols)
		},
	}
}

func (a *app) tenantUpdateCmd() *cobra.Command {
	var description, adminEmail string
	cmd := &cobra.Command{
		Use:   "update NAME",
		Short: "Change a tenant's description or admin email",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := api.TenantUpdate{
				Description: changed(cmd, "description", description),
				AdminEmail:  changed(cmd, "admin-email", adminEmail),
			}
			if body == (api.TenantUpdate{}) {
				return errors.New("nothing to change: pass --description or --admin-email")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			t, err := decode[api.Tenant](c.API.UpdateTenant(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, t, tenantCols)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the tenant is for")
	cmd.Flags().StringVar(&adminEmail, "admin-email", "", "contact address of the tenant's administrators (\"\" removes it)")
	return cmd
}

func (a *app) tenantDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a group tenant (refused while it holds quota usage or owns clusters)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteTenant(cmd.Context(), args[0])); err != nil {
				return err
			}
			return a.report(nil, "Tenant %s deleted.", args[0])
		},
	}
}

func (a *app) tenantMembersCmd() *cobra.Command {
	var p pager
	cmd := &cobra.Command{
		Use:   "members TENANT",
		Short: "List who holds a role in a tenant, directly or through a group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Member, string, error) {
				page, err := decode[api.MemberList](c.API.ListMembers(cmd.Context(), args[0], &api.ListMembersParams{Limit: &limit, PageToken: nonEmpty(token)}))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Member]{
				col("KIND", func(m api.Member) string { return string(m.Kind) }),
				col("NAME", func(m api.Member) string { return m.Name }),
				col("ROLE", func(m api.Member) string { return string(m.Role) }),
				col("VIA GROUP", func(m api.Member) string { return dashPtr(m.ViaGroup) }),
			})
		},
	}
	p.register(cmd)
	return cmd
}

// memberArgs resolves `TENANT USER` or `TENANT --group G` to the tenant and
// either a user or a group.
func memberArgs(args []string, group string) (tenant, user string, err error) {
	switch {
	case len(args) == 2 && group == "":
		return args[0], args[1], nil
	case len(args) == 1 && group != "":
		return args[0], "", nil
	case len(args) == 2:
		return "", "", errors.New("give a USER or --group GROUP, not both")
	}
	return "", "", errors.New("give the TENANT and a USER, or the TENANT and --group GROUP")
}

func (a *app) tenantAddMemberCmd() *cobra.Command {
	var group, role string
	cmd := &cobra.Command{
		Use:   "add-member TENANT (USER | --group GROUP) --role ROLE",
		Short: "Give a user or a group a role in a tenant, replacing any previous one",
		Example: `  nimbus tenant add-member RD_Dept alice --role admin
  nimbus tenant add-member RD_Dept --group devs --role member`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			tenant, user, err := memberArgs(args, group)
			if err != nil {
				return err
			}
			if err := oneOf("role", role, api.RoleAdmin, api.RoleMember, api.RoleViewer); err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			body := api.RoleUpdate{Role: api.Role(role)}
			var m *api.Member
			if user != "" {
				m, err = decode[api.Member](c.API.SetUserRole(cmd.Context(), tenant, user, body))
				if err != nil {
					return err
				}
				return a.report(m, "User %s is now %s of %s.", user, role, tenant)
			}
			m, err = decode[api.Member](c.API.SetGroupRole(cmd.Context(), tenant, group, body))
			if err != nil {
				return err
			}
			return a.report(m, "Group %s is now %s of %s.", group, role, tenant)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "give the role to this group instead of a user")
	cmd.Flags().StringVar(&role, "role", "", "admin, member or viewer")
	_ = cmd.MarkFlagRequired("role")
	completeWith(cmd, "role", api.RoleAdmin, api.RoleMember, api.RoleViewer)
	return cmd
}

func (a *app) tenantRemoveMemberCmd() *cobra.Command {
	var group string
	cmd := &cobra.Command{
		Use:   "remove-member TENANT (USER | --group GROUP)",
		Short: "Take a user's direct role, or a group's role, in a tenant away",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			tenant, user, err := memberArgs(args, group)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			if user != "" {
				if err := done(c.API.RemoveUserRole(cmd.Context(), tenant, user)); err != nil {
					return err
				}
				return a.report(nil, "User %s has no direct role in %s now.", user, tenant)
			}
			if err := done(c.API.RemoveGroupRole(cmd.Context(), tenant, group)); err != nil {
				return err
			}
			return a.report(nil, "Group %s has no role in %s now.", group, tenant)
		},
	}
	cmd.Flags().StringVar(&group, "group", "", "take the role of this group instead of a user")
	return cmd
}
