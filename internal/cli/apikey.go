package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
)

// permissions are every permission an API key may carry.
var permissions = []api.Permission{
	api.PermissionTenantRead, api.PermissionTenantWrite,
	api.PermissionMembersRead, api.PermissionMembersWrite,
	api.PermissionQuotaRead,
	api.PermissionClusterRead, api.PermissionClusterWrite,
	api.PermissionHostRead, api.PermissionHostWrite,
	api.PermissionApikeyWrite, api.PermissionAuditRead,
}

func (a *app) apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apikey",
		Short: "Manage API keys, which act in one tenant with chosen permissions",
	}
	cmd.AddCommand(a.apikeyCreateCmd(), a.apikeyListCmd(), a.apikeyShowCmd(), a.apikeyRevokeCmd())
	return cmd
}

// apikeyStatus says whether a key works.
func apikeyStatus(k api.APIKey, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case k.ExpiresAt != nil && !k.ExpiresAt.After(now):
		return "expired"
	}
	return "active"
}

// apikeyCols are the fields of `apikey show`.
var apikeyCols = []column[*api.APIKey]{
	col("APP KEY", func(k *api.APIKey) string { return k.AppKey }),
	col("TENANT", func(k *api.APIKey) string { return k.Tenant }),
	col("STATUS", func(k *api.APIKey) string { return apikeyStatus(*k, time.Now()) }),
	col("DESCRIPTION", func(k *api.APIKey) string { return dash(k.Description) }),
	col("PERMISSIONS", func(k *api.APIKey) string { return permissionList(&k.Permissions) }),
	col("CREATED BY", func(k *api.APIKey) string { return k.CreatedBy }),
	col("CREATED", func(k *api.APIKey) string { return when(k.CreatedAt) }),
	col("EXPIRES", func(k *api.APIKey) string { return whenPtr(k.ExpiresAt) }),
	col("REVOKED", func(k *api.APIKey) string { return whenPtr(k.RevokedAt) }),
}

func (a *app) apikeyCreateCmd() *cobra.Command {
	var (
		tenant, description string
		perms               []string
		expiresIn           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "create --tenant T --permission P...",
		Short: "Create an API key; its secret is shown only once",
		Long: `Create an API key acting in one tenant with some of your permissions there.
The AppSecret is shown only once: store it at once. Clients authenticate with
HTTP Basic APP_KEY:APP_SECRET.`,
		Example: `  nimbus apikey create --tenant RD_Dept --permission host:read --permission quota:read --expires-in 720h`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			body := api.APIKeyCreate{Description: nonEmpty(description)}
			for _, p := range perms {
				if err := oneOf("permission", p, permissions...); err != nil {
					return err
				}
				body.Permissions = append(body.Permissions, api.Permission(p))
			}
			if expiresIn < 0 {
				return fmt.Errorf("--expires-in %s: want a positive duration", expiresIn)
			}
			if expiresIn > 0 {
				body.ExpiresAt = ptr(time.Now().Add(expiresIn).UTC().Truncate(time.Second))
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			created, err := decode[api.APIKeyCreated](c.API.CreateAPIKey(cmd.Context(), tenant, body))
			if err != nil {
				return err
			}
			const warning = "The AppSecret is shown once: store it now, it cannot be retrieved later."
			if a.format != formatTable {
				fmt.Fprintln(a.errOut, warning)
				return renderData(a.out, a.format, created)
			}
			defer fmt.Fprintf(a.out, "\n%s\nAuthenticate as HTTP Basic APP_KEY:APP_SECRET.\n", warning)
			return renderOne(a.out, a.format, created, []column[*api.APIKeyCreated]{
				col("AppKey", func(k *api.APIKeyCreated) string { return k.APIKey.AppKey }),
				col("AppSecret", func(k *api.APIKeyCreated) string { return k.AppSecret }),
				col("Tenant", func(k *api.APIKeyCreated) string { return k.APIKey.Tenant }),
				col("Permissions", func(k *api.APIKeyCreated) string { return permissionList(&k.APIKey.Permissions) }),
				col("Expires", func(k *api.APIKeyCreated) string { return whenPtr(k.APIKey.ExpiresAt) }),
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant the key acts in")
	cmd.Flags().StringSliceVar(&perms, "permission", nil, "a permission of the key (repeat, or separate with commas): "+permissionNames())
	cmd.Flags().StringVar(&description, "description", "", "what the key is for")
	cmd.Flags().DurationVar(&expiresIn, "expires-in", 0, "make the key expire after this long, e.g. 720h (default: never)")
	_ = cmd.MarkFlagRequired("tenant")
	_ = cmd.MarkFlagRequired("permission")
	completeWith(cmd, "permission", permissions...)
	return cmd
}

// permissionNames lists every permission for help text.
func permissionNames() string {
	names := make([]string, len(permissions))
	for i, p := range permissions {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

func (a *app) apikeyListCmd() *cobra.Command {
	var (
		p      pager
		tenant string
	)
	cmd := &cobra.Command{
		Use:   "list --tenant T",
		Short: "List the API keys of a tenant",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.APIKey, string, error) {
				page, err := decode[api.APIKeyList](c.API.ListAPIKeys(cmd.Context(), tenant, &api.ListAPIKeysParams{Limit: &limit, PageToken: nonEmpty(token)}))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			now := time.Now()
			return printList(a, items, next, []column[api.APIKey]{
				col("APP KEY", func(k api.APIKey) string { return k.AppKey }),
				col("STATUS", func(k api.APIKey) string { return apikeyStatus(k, now) }),
				col("DESCRIPTION", func(k api.APIKey) string { return dash(k.Description) }),
				col("PERMISSIONS", func(k api.APIKey) string { return permissionList(&k.Permissions) }),
				col("CREATED BY", func(k api.APIKey) string { return k.CreatedBy }),
				col("EXPIRES", func(k api.APIKey) string { return whenPtr(k.ExpiresAt) }),
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant whose keys to list")
	_ = cmd.MarkFlagRequired("tenant")
	p.register(cmd)
	return cmd
}

func (a *app) apikeyShowCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use:   "show --tenant T APP_KEY",
		Short: "Show an API key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			k, err := decode[api.APIKey](c.API.GetAPIKey(cmd.Context(), tenant, args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, k, apikeyCols)
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant of the key")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}

func (a *app) apikeyRevokeCmd() *cobra.Command {
	var tenant string
	cmd := &cobra.Command{
		Use:   "revoke --tenant T APP_KEY",
		Short: "Revoke an API key for good",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.RevokeAPIKey(cmd.Context(), tenant, args[0])); err != nil {
				return err
			}
			return a.report(nil, "API key %s revoked.", args[0])
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "the tenant of the key")
	_ = cmd.MarkFlagRequired("tenant")
	return cmd
}
