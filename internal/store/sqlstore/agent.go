package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nimbus-cloud/nimbus/internal/store"
)

func (t *tx) CreateJoinToken(ctx context.Context, j *store.JoinToken) error {
	fillID(&j.ID)
	stamp(&j.CreatedAt)
	if j.Labels == nil {
		j.Labels = map[string]string{}
	}
	_, err := t.exec(ctx, `INSERT INTO join_tokens (id, token_hash, cluster_id, labels, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, j.ID, j.TokenHash, j.ClusterID, jsonText(j.Labels), j.CreatedBy,
		j.CreatedAt.UnixMicro(), j.ExpiresAt.UnixMicro())
	if isForeignKey(err) {
		return &store.NotFoundError{Object: "cluster", Key: fmt.Sprintf("with id %q", j.ClusterID)}
	}
	return wrap(err, "create join token")
}

func (t *tx) UseJoinToken(ctx context.Context, tokenHash, hostID string, now time.Time) (store.JoinToken, error) {
	n, err := t.execN(ctx, `UPDATE join_tokens SET used_at = ?, host_id = ?
		WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, now.UnixMicro(), hostID, tokenHash, now.UnixMicro())
	if err != nil {
		return store.JoinToken{}, wrap(err, "use join token")
	}
	if n == 0 {
		return store.JoinToken{}, &store.NotFoundError{Object: "join token", Key: "(unknown, used or expired)"}
	}
	var j store.JoinToken
	var labels string
	var created, expires int64
	var used sql.NullInt64
	err = t.queryRow(ctx, `SELECT id, token_hash, cluster_id, labels, created_by, created_at, expires_at, used_at, host_id
		FROM join_tokens WHERE token_hash = ?`, tokenHash).Scan(&j.ID, &j.TokenHash, &j.ClusterID, &labels, &j.CreatedBy,
		&created, &expires, &used, &j.HostID)
	if err != nil {
		return j, wrap(err, "read join token")
	}
	j.CreatedAt, j.ExpiresAt, j.UsedAt = fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return j, wrap(json.Unmarshal([]byte(labels), &j.Labels), "join token labels")
}

func (t *tx) SetHostAgent(ctx context.Context, hostID string, a store.HostAgent) error {
	n, err := t.execN(ctx, `UPDATE hosts SET credential_hash = COALESCE(?, credential_hash),
		agent_key = CASE WHEN ? = '' THEN agent_key ELSE ? END, agent_url = ?, drivers = ? WHERE id = ?`,
		nullHost(a.CredentialHash), a.Key, a.Key, a.URL, a.Drivers, hostID)
	if err != nil {
		return conflictOr(err, "host", "credential", "")
	}
	if n == 0 {
		return &store.NotFoundError{Object: "host", Key: fmt.Sprintf("with id %q", hostID)}
	}
	return nil
}

func (t *tx) GetHostAgent(ctx context.Context, hostID string) (store.HostAgent, error) {
	var a store.HostAgent
	var cred sql.NullString
	err := t.queryRow(ctx, "SELECT credential_hash, agent_key, agent_url, drivers FROM hosts WHERE id = ?", hostID).
		Scan(&cred, &a.Key, &a.URL, &a.Drivers)
	a.CredentialHash = cred.String
	return a, notFound(err, "host", fmt.Sprintf("with id %q", hostID))
}

func (t *tx) GetHostByCredential(ctx context.Context, credentialHash string) (store.Host, error) {
	return t.getHost(ctx, "h.credential_hash = ?", credentialHash, "with this credential")
}

func (t *tx) BumpAssignRevision(ctx context.Context, hostID string) (int64, error) {
	if _, err := t.exec(ctx, "UPDATE hosts SET assign_rev = assign_rev + 1 WHERE id = ?", hostID); err != nil {
		return 0, wrap(err, "bump assignment revision")
	}
	return t.AssignRevision(ctx, hostID)
}

func (t *tx) AssignRevision(ctx context.Context, hostID string) (int64, error) {
	var rev int64
	err := t.queryRow(ctx, "SELECT assign_rev FROM hosts WHERE id = ?", hostID).Scan(&rev)
	return rev, notFound(err, "host", fmt.Sprintf("with id %q", hostID))
}

func (t *tx) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	until := now.Add(ttl).UnixMicro()
	n, err := t.execN(ctx, `UPDATE leases SET holder = ?, expires_at = ? WHERE name = ? AND (holder = ? OR expires_at < ?)`,
		holder, until, name, holder, now.UnixMicro())
	if err != nil {
		return false, wrap(err, "renew lease")
	}
	if n > 0 {
		return true, nil
	}
	n, err = t.execN(ctx, "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING", name, holder, until)
	return n > 0, wrap(err, "take lease")
}
