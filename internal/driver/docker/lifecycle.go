package docker

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// Recover finds the container of a handle made by an earlier agent: by its
// container ID, else by the instance label. Running and exited containers
// both recover; a removed one gives driver.ErrNotFound.
func (d *Driver) Recover(ctx context.Context, h driver.Handle) error {
	var st handleState
	if len(h.State) > 0 {
		if err := json.Unmarshal(h.State, &st); err != nil {
			d.log.Warn("unreadable handle state, finding the container by label", "instance", h.ID, "err", err)
		}
	}
	if st.ContainerID != "" {
		res, err := d.cli.ContainerInspect(ctx, st.ContainerID, client.ContainerInspectOptions{})
		switch {
		case err == nil:
			d.track(h.ID, res.Container.ID)
			return nil
		case !cerrdefs.IsNotFound(err):
			return fmt.Errorf("docker recover %s: inspect %s: %w", h.ID, st.ContainerID, engineErr(err))
		}
	}
	list, err := d.cli.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: client.Filters{}.Add("label", labelInstance+"="+h.ID),
	})
	if err != nil {
		return fmt.Errorf("docker recover %s: list containers: %w", h.ID, engineErr(err))
	}
	if len(list.Items) == 0 {
		return fmt.Errorf("docker recover %s: %w", h.ID, driver.ErrNotFound)
	}
	d.track(h.ID, list.Items[0].ID)
	return nil
}

// Wait blocks until the container is no longer running and describes its
// end. An exit code above 128 is read as death by signal (code-128), the
// convention of the engine and of shells: Exit.Code is then -1 and
// Exit.Signal the signal. A program that chooses to exit with such a code
// is reported the same way.
func (d *Driver) Wait(ctx context.Context, id string) (driver.Exit, error) {
	ref := d.ref(id)
	st, err := d.state(ctx, ref)
	if err != nil {
		return driver.Exit{}, fmt.Errorf("docker wait %s: %w", id, err)
	}
	if st.Running || st.Restarting || st.Paused {
		res := d.cli.ContainerWait(ctx, ref, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
		select {
		case <-res.Result:
		case err := <-res.Error:
			return driver.Exit{}, fmt.Errorf("docker wait %s: %w", id, engineErr(err))
		case <-ctx.Done():
			return driver.Exit{}, ctx.Err()
		}
		if st, err = d.state(ctx, ref); err != nil {
			return driver.Exit{}, fmt.Errorf("docker wait %s: %w", id, err)
		}
	}
	return exitOf(st), nil
}

// state inspects the container and returns its state.
func (d *Driver) state(ctx context.Context, ref string) (*container.State, error) {
	res, err := d.cli.ContainerInspect(ctx, ref, client.ContainerInspectOptions{})
	if err != nil {
		return nil, engineErr(err)
	}
	if res.Container.State == nil {
		return nil, fmt.Errorf("container %s has no state", ref)
	}
	return res.Container.State, nil
}

// exitOf describes the end of a container that no longer runs.
func exitOf(st *container.State) driver.Exit {
	e := driver.Exit{Code: st.ExitCode, OOMKilled: st.OOMKilled}
	if at, err := time.Parse(time.RFC3339Nano, st.FinishedAt); err == nil && !at.IsZero() {
		e.At = at
	}
	if st.ExitCode > 128 && st.ExitCode <= 128+64 {
		e.Code, e.Signal = -1, st.ExitCode-128
	}
	return e
}

// Stop asks the container to end with its stop signal (SIGTERM unless the
// image says otherwise) and has the engine kill it after grace, rounded up
// to whole seconds.
func (d *Driver) Stop(ctx context.Context, id string, grace time.Duration) error {
	secs := int(math.Ceil(max(grace, 0).Seconds()))
	if _, err := d.cli.ContainerStop(ctx, d.ref(id), client.ContainerStopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("docker stop %s: %w", id, engineErr(err))
	}
	return nil
}

// Destroy removes the container, killing it if it runs, with its anonymous
// volumes and its logs. Destroying an instance that is already gone
// succeeds.
func (d *Driver) Destroy(ctx context.Context, id string) error {
	_, err := d.cli.ContainerRemove(ctx, d.ref(id), client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("docker destroy %s: %w", id, engineErr(err))
	}
	d.forget(id)
	return nil
}
