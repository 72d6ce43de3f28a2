package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nimbus-cloud/nimbus/api"
	"github.com/nimbus-cloud/nimbus/client"
)

func (a *app) groupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "group",
		Short: "Manage groups of users (a group can hold a role in tenants)",
	}
	cmd.AddCommand(a.groupCreateCmd(), a.groupListCmd(), a.groupShowCmd(), a.groupUpdateCmd(), a.groupDeleteCmd(),
		a.groupMemberCmd("add-member", "Add users to a group"), a.groupMemberCmd("remove-member", "Remove users from a group"))
	return cmd
}

// groupCols are the fields of `group show`.
var groupCols = []column[*api.Group]{
	col("NAME", func(g *api.Group) string { return g.Name }),
	col("ID", func(g *api.Group) string { return g.ID }),
	col("DESCRIPTION", func(g *api.Group) string { return dash(g.Description) }),
	col("MEMBERS", func(g *api.Group) string {
		if g.Members == nil || len(*g.Members) == 0 {
			return "-"
		}
		return strings.Join(*g.Members, ", ")
	}),
	col("CREATED", func(g *api.Group) string { return when(g.CreatedAt) }),
}

func (a *app) groupCreateCmd() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a group",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			g, err := decode[api.Group](c.API.CreateGroup(cmd.Context(), api.GroupCreate{Name: args[0], Description: nonEmpty(description)}))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, g, groupCols)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	return cmd
}

func (a *app) groupListCmd() *cobra.Command {
	var (
		p      pager
		prefix string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List groups",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			items, next, err := collect(p, func(limit int, token string) ([]api.Group, string, error) {
				params := api.ListGroupsParams{NamePrefix: nonEmpty(prefix), Limit: &limit, PageToken: nonEmpty(token)}
				page, err := decode[api.GroupList](c.API.ListGroups(cmd.Context(), &params))
				if err != nil {
					return nil, "", err
				}
				return page.Items, page.NextPageToken, nil
			})
			if err != nil {
				return err
			}
			return printList(a, items, next, []column[api.Group]{
				col("NAME", func(g api.Group) string { return g.Name }),
				col("DESCRIPTION", func(g api.Group) string { return dash(g.Description) }),
				col("CREATED", func(g api.Group) string { return when(g.CreatedAt) }),
			})
		},
	}
	cmd.Flags().StringVar(&prefix, "name-prefix", "", "only groups whose name starts with this")
	p.register(cmd)
	return cmd
}

func (a *app) groupShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a group and its members",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			g, err := decode[api.Group](c.API.GetGroup(cmd.Context(), args[0]))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, g, groupCols)
		},
	}
}

func (a *app) groupUpdateCmd() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "update NAME --description TEXT",
		Short: "Change a group's description",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			body := api.GroupUpdate{Description: changed(cmd, "description", description)}
			if body.Description == nil {
				return errors.New("nothing to change: pass --description")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			g, err := decode[api.Group](c.API.UpdateGroup(cmd.Context(), args[0], body))
			if err != nil {
				return err
			}
			return renderOne(a.out, a.format, g, groupCols)
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "what the group is for")
	return cmd
}

func (a *app) groupDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a group and its role assignments",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			if err := done(c.API.DeleteGroup(cmd.Context(), args[0])); err != nil {
				return err
			}
			return a.report(nil, "Group %s deleted.", args[0])
		},
	}
}

// groupMemberCmd is `group add-member` or `group remove-member`.
func (a *app) groupMemberCmd(verb, short string) *cobra.Command {
	add := verb == "add-member"
	return &cobra.Command{
		Use:   verb + " GROUP USER...",
		Short: short,
		Args:  cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			group, users := args[0], args[1:]
			for i, user := range users {
				if err := setGroupMember(cmd.Context(), c, group, user, add); err != nil {
					if i > 0 {
						return fmt.Errorf("user %s: %w (done for %s)", user, err, strings.Join(users[:i], ", "))
					}
					return fmt.Errorf("user %s: %w", user, err)
				}
			}
			if add {
				return a.report(nil, "Added to group %s: %s.", group, strings.Join(users, ", "))
			}
			return a.report(nil, "Removed from group %s: %s.", group, strings.Join(users, ", "))
		},
	}
}

// setGroupMember adds user to group, or removes it.
func setGroupMember(ctx context.Context, c *client.Client, group, user string, add bool) error {
	if add {
		return done(c.API.AddGroupMember(ctx, group, user))
	}
	return done(c.API.RemoveGroupMember(ctx, group, user))
}
