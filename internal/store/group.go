package store

import (
	"context"
	"time"
)

// Group is a named set of users that can hold tenant roles.
type Group struct {
	ID          string
	Name        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// GroupFilter selects groups for [GroupTx.ListGroups].
type GroupFilter struct {
	MemberUserID string // only groups this user belongs to
	NamePrefix   string
	Page
}

// GroupTx reads and writes groups and their members.
type GroupTx interface {
	// CreateGroup inserts g; a taken name is a *ConflictError.
	CreateGroup(ctx context.Context, g *Group) error
	GetGroup(ctx context.Context, id string) (Group, error)
	GetGroupByName(ctx context.Context, name string) (Group, error)
	ListGroups(ctx context.Context, f GroupFilter) (groups []Group, next string, err error)
	// UpdateGroup writes the description of g and sets UpdatedAt.
	UpdateGroup(ctx context.Context, g *Group) error
	// DeleteGroup deletes the group, its memberships and its roles.
	DeleteGroup(ctx context.Context, id string) error
	// AddGroupMember adds a user to a group; adding a member again is a no-op.
	AddGroupMember(ctx context.Context, groupID, userID string) error
	// RemoveGroupMember removes a user; ErrNotFound when not a member.
	RemoveGroupMember(ctx context.Context, groupID, userID string) error
	// ListGroupMembers returns the group's users sorted by name.
	ListGroupMembers(ctx context.Context, groupID string) ([]User, error)
}
