package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/auth"
	"github.com/nimbus-cloud/nimbus/internal/hostinfo"
	"github.com/nimbus-cloud/nimbus/internal/store"
)

// Names of what the first start creates.
const (
	AdminUser      = "admin"
	DefaultCluster = "default"
)

// BootstrapOptions say what the first start of a store creates.
type BootstrapOptions struct {
	// AdminPassword is the platform admin's password; empty generates one.
	AdminPassword string
	// LocalHost, when set, is registered in the default cluster (dev mode),
	// or has its capacity refreshed when it is already there.
	LocalHost *hostinfo.Info
}

// BootstrapResult tells what Bootstrap did.
type BootstrapResult struct {
	AdminCreated bool
	// GeneratedPassword is set when the admin was created with a generated
	// password: it is shown once and never stored in clear.
	GeneratedPassword string
	HostName          string
}

// Bootstrap creates the platform admin, the default cluster and, in dev
// mode, the local host, when they are missing. It is idempotent and safe
// when several servers start at once on one database.
func Bootstrap(ctx context.Context, st store.Store, opts BootstrapOptions) (BootstrapResult, error) {
	var res BootstrapResult
	var exists bool
	if err := st.Read(ctx, func(tx store.Tx) error {
		_, err := tx.GetUserByName(ctx, AdminUser)
		exists = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		return res, fmt.Errorf("look up admin: %w", err)
	}
	password := opts.AdminPassword
	if exists {
		password = ""
	} else if password == "" {
		password = rand.Text()
	} else if err := auth.CheckPassword(password); err != nil {
		return res, fmt.Errorf("NIMBUS_ADMIN_PASSWORD: %w", err)
	}
	if password != "" {
		if err := createAdmin(ctx, st, password, &res); err != nil {
			return res, err
		}
	}
	if res.AdminCreated && opts.AdminPassword == "" {
		res.GeneratedPassword = password
	}

	var cluster store.Cluster
	err := st.Write(ctx, func(tx store.Tx) (err error) {
		cluster, err = tx.GetClusterByName(ctx, DefaultCluster)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		cluster = store.Cluster{Name: DefaultCluster, Description: "Created at first start", CPUOvercommit: 1,
			MemoryOvercommit: 1, Strategy: store.StrategySpread}
		if err := tx.CreateCluster(ctx, &cluster); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, &store.AuditRecord{ActorName: "system", Action: "cluster.create", ObjectType: "cluster",
			ObjectName: DefaultCluster, Result: store.AuditSuccess})
	})
	if errors.Is(err, store.ErrConflict) {
		err = st.Read(ctx, func(tx store.Tx) (err error) {
			cluster, err = tx.GetClusterByName(ctx, DefaultCluster)
			return err
		})
	}
	if err != nil {
		return res, fmt.Errorf("create the default cluster: %w", err)
	}
	if opts.LocalHost == nil {
		return res, nil
	}
	res.HostName = hostinfo.HostName(opts.LocalHost.Hostname)
	if err := st.Write(ctx, func(tx store.Tx) error { return registerLocalHost(ctx, tx, cluster, res.HostName, *opts.LocalHost) }); err != nil {
		return res, fmt.Errorf("register this machine as host %q: %w", res.HostName, err)
	}
	return res, nil
}

// createAdmin creates the platform admin unless another server just did.
func createAdmin(ctx context.Context, st store.Store, password string, res *BootstrapResult) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	err = st.Write(ctx, func(tx store.Tx) error {
		res.AdminCreated = false
		_, err := tx.GetUserByName(ctx, AdminUser)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		u := store.User{Name: AdminUser, DisplayName: "Platform admin", Enabled: true, PlatformAdmin: true, PasswordHash: hash}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		res.AdminCreated = true
		return tx.InsertAudit(ctx, &store.AuditRecord{ActorName: "system", Action: "user.create", ObjectType: "user",
			ObjectName: AdminUser, Result: store.AuditSuccess})
	})
	if err != nil && !errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("create admin: %w", err)
	}
	return nil
}

// registerLocalHost adds this machine to the cluster, or refreshes what it
// reports about itself when that changed since the last start.
func registerLocalHost(ctx context.Context, tx store.Tx, cluster store.Cluster, name string, info hostinfo.Info) error {
	capacity := store.HostResources{CPU: float64(info.CPUCores), MemoryMiB: info.MemoryMiB, DiskMiB: info.DiskMiB, NetworkMbps: info.NetworkMbps}
	audit := func(action string) error {
		return tx.InsertAudit(ctx, &store.AuditRecord{ActorName: "system", Action: action, ObjectType: "host",
			ObjectName: name, Result: store.AuditSuccess})
	}
	h, err := tx.GetHostByName(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		h = store.Host{Name: name, ClusterID: cluster.ID, Address: info.Address, Capacity: capacity,
			State: store.HostReady, OS: info.OS, Arch: info.Arch}
		if err := tx.CreateHost(ctx, &h); err != nil {
			return err
		}
		return audit("host.create")
	}
	if err != nil {
		return err
	}
	if h.ClusterID != cluster.ID {
		return fmt.Errorf("a host named %q already belongs to another cluster; remove it or rename this machine", name)
	}
	if h.Address == info.Address && h.Capacity == capacity && h.OS == info.OS && h.Arch == info.Arch {
		return nil
	}
	h.Address, h.Capacity, h.OS, h.Arch = info.Address, capacity, info.OS, info.Arch
	if err := tx.UpdateHost(ctx, &h); err != nil {
		return err
	}
	return audit("host.update")
}

// DevSetup prepares a store for `nimbus dev`, where this machine is the
// only host: it gives the admin's personal tenant a quota on the default
// cluster (the reference defaults) when it has none and, when withToken,
// returns a fresh single-use join token (valid ten minutes) for the
// in-process agent.
func DevSetup(ctx context.Context, st store.Store, withToken bool) (joinToken string, err error) {
	token := ""
	if withToken {
		token = auth.NewJoinToken()
	}
	err = st.Write(ctx, func(tx store.Tx) error {
		c, err := tx.GetClusterByName(ctx, DefaultCluster)
		if err != nil {
			return err
		}
		t, err := tx.GetTenantByName(ctx, AdminUser)
		if err != nil {
			return err
		}
		if _, err := tx.GetQuota(ctx, t.ID, c.ID); errors.Is(err, store.ErrNotFound) {
			q := store.Quota{TenantID: t.ID, ClusterID: c.ID, Tiers: []store.QuotaTier{{Priority: 0, Limits: store.Resources{
				CPU: 24, MemoryMiB: 102400, StorageMiB: 102400, NetworkMbps: 10240}}}}
			if _, err := tx.PutQuota(ctx, &q, time.Now()); err != nil {
				return err
			}
			if err := tx.InsertAudit(ctx, &store.AuditRecord{ActorName: "system", Action: "quota.put", ObjectType: "quota",
				ObjectName: AdminUser + "/" + DefaultCluster, TenantID: t.ID, TenantName: t.Name, Result: store.AuditSuccess}); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		if token == "" {
			return nil
		}
		now := time.Now()
		return tx.CreateJoinToken(ctx, &store.JoinToken{TokenHash: auth.HashSecret(token), ClusterID: c.ID,
			CreatedBy: "system", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute)})
	})
	return token, err
}
