package process

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Recover re-attaches to an instance from the state in its handle. An
// instance whose shim has ended is recovered as exited: with its recorded
// exit, or with Exit.Err wrapping ErrLost when the shim died without
// recording one. It returns driver.ErrNotFound when the instance's
// directory is gone.
func (d *Driver) Recover(_ context.Context, h driver.Handle) error {
	if h.Driver != Name {
		return fmt.Errorf("recover %s: handle of driver %q", h.ID, h.Driver)
	}
	var st state
	if err := json.Unmarshal(h.State, &st); err != nil {
		return fmt.Errorf("recover %s: decode state: %w", h.ID, err)
	}
	if _, err := d.get(h.ID); err == nil {
		return nil
	}
	var cfg shimConfig
	if err := readJSON(filepath.Join(st.Dir, configFile), &cfg); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("recover %s: %w", h.ID, driver.ErrNotFound)
		}
		return fmt.Errorf("recover %s: %w", h.ID, err)
	}
	inst := d.adopt(h.ID, st, cfg)
	d.log.Info("recovered", "id", h.ID, "exited", inst.exited())
	return nil
}

// find returns the instance this driver knows or else, when its directory
// exists, takes it over from what the directory holds: an agent that died
// between Start and keeping the handle leaves no other trace. Without a
// state.json (the shim died, or never wrote it) only the cgroup named in
// shim.json, or by the instance ID, is left to clean up.
func (d *Driver) find(id string) (*instance, error) {
	if inst, err := d.get(id); err == nil {
		return inst, nil
	}
	if err := validID(id); err != nil {
		return nil, err
	}
	dir := filepath.Join(d.cfg.Dir, id)
	if _, err := os.Stat(dir); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("instance %s: %w", id, driver.ErrNotFound)
		}
		return nil, fmt.Errorf("instance %s: %w", id, err)
	}
	cfg := shimConfig{ID: id, Cgroup: d.cgroups.ref(id)}
	if err := readJSON(filepath.Join(dir, configFile), &cfg); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("instance %s: %w", id, err)
	}
	st := state{Dir: dir, Namespaces: cfg.Namespaces, Cgroup: cfg.Cgroup}
	if err := readJSON(filepath.Join(dir, stateFile), &st); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("instance %s: %w", id, err)
	}
	d.log.Warn("taking over an instance known only from its directory", "id", id, "shim", st.ShimPID, "pid", st.PID)
	return d.adopt(id, st, cfg), nil
}

// adopt makes the instance described by st and cfg known, unless it is
// already, and returns the known one. It is exited at once when its shim
// has ended, else when the shim ends.
func (d *Driver) adopt(id string, st state, cfg shimConfig) *instance {
	cg, err := loadCgroup(st.Cgroup)
	if err != nil {
		d.log.Warn("instance without cgroup", "id", id, "cgroup", st.Cgroup.Path, "err", err)
		cg = nil
	}
	inst := newInstance(st, cfg, cg)
	if _, err := readExit(st.Dir); err == nil || !alive(st.ShimPID, st.ShimStart) {
		inst.finish()
	} else {
		go func() {
			waitGone(st.ShimPID, st.ShimStart)
			inst.finish()
		}()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if known, ok := d.instances[id]; ok {
		return known
	}
	d.instances[id] = inst
	return inst
}
