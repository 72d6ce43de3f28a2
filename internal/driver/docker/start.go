package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strconv"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/nimbus-cloud/nimbus/internal/driver"
)

// handleState is what a Handle's State holds.
type handleState struct {
	ContainerID string `json:"container_id"`
}

// Start creates the instance's container from a local image and starts it.
func (d *Driver) Start(ctx context.Context, spec driver.Spec) (driver.Handle, error) {
	if spec.ID == "" || spec.Image == "" {
		return driver.Handle{}, errors.New("docker start: spec needs an ID and an image")
	}
	if err := d.ping(ctx); err != nil {
		return driver.Handle{}, fmt.Errorf("docker start %s: %w: %w", spec.ID, driver.ErrUnavailable, err)
	}
	if _, err := d.cli.ImageInspect(ctx, spec.Image); err != nil {
		if cerrdefs.IsNotFound(err) {
			return driver.Handle{}, fmt.Errorf("docker start %s: image %q not found on this host: load or build it (docker load / docker import); nimbus never pulls", spec.ID, spec.Image)
		}
		return driver.Handle{}, fmt.Errorf("docker start %s: inspect image %q: %w", spec.ID, spec.Image, err)
	}
	cfg, host, err := containerConfig(spec)
	if err == nil && d.lease != "" {
		cfg.Labels[labelLease] = d.lease
	}
	if err != nil {
		return driver.Handle{}, fmt.Errorf("docker start %s: %w", spec.ID, err)
	}
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Name:       containerName(spec.ID),
		Config:     cfg,
		HostConfig: host,
	})
	if cerrdefs.IsConflict(err) {
		return driver.Handle{}, fmt.Errorf("docker start %s: container %s already exists: recover or destroy the instance first: %w", spec.ID, containerName(spec.ID), err)
	}
	if err != nil {
		return driver.Handle{}, fmt.Errorf("docker start %s: create container: %w", spec.ID, err)
	}
	for _, w := range created.Warnings {
		d.log.Warn("container create", "instance", spec.ID, "warning", w)
	}
	if _, err := d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		// A container that never ran is of no use to anyone: remove it so
		// a retry can take the name again.
		_, rmErr := d.cli.ContainerRemove(context.WithoutCancel(ctx), created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		return driver.Handle{}, errors.Join(fmt.Errorf("docker start %s: start container: %w", spec.ID, err), rmErr)
	}
	d.track(spec.ID, created.ID)
	state, err := json.Marshal(handleState{ContainerID: created.ID})
	if err != nil {
		return driver.Handle{}, fmt.Errorf("docker start %s: encode handle: %w", spec.ID, err)
	}
	d.log.Info("container started", "instance", spec.ID, "container", created.ID, "image", spec.Image)
	return driver.Handle{ID: spec.ID, Driver: Name, State: state}, nil
}

// containerConfig translates a Spec into the engine's container and host
// configuration.
func containerConfig(spec driver.Spec) (*container.Config, *container.HostConfig, error) {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[labelInstance] = spec.ID

	cfg := &container.Config{
		Image:      spec.Image,
		Hostname:   spec.Name,
		Cmd:        spec.Command,
		Env:        spec.Env,
		WorkingDir: spec.WorkDir,
		Labels:     labels,
	}
	host := &container.HostConfig{
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		LogConfig: container.LogConfig{
			Type:   "json-file",
			Config: map[string]string{"max-size": "10m", "max-file": "3"},
		},
		Resources: container.Resources{
			NanoCPUs: spec.MilliCPU * 1_000_000,
			Memory:   spec.MemoryMiB << 20,
			// Swap equal to memory means no swap: a workload over its
			// limit is OOM-killed rather than slowed down unseen.
			MemorySwap: spec.MemoryMiB << 20,
		},
	}
	if spec.PIDs > 0 {
		host.PidsLimit = &spec.PIDs
	}
	if len(spec.Ports) > 0 {
		cfg.ExposedPorts = network.PortSet{}
		host.PortBindings = network.PortMap{}
	}
	for _, p := range spec.Ports {
		port, err := containerPort(p)
		if err != nil {
			return nil, nil, err
		}
		cfg.ExposedPorts[port] = struct{}{}
		host.PortBindings[port] = append(host.PortBindings[port], network.PortBinding{
			HostIP:   netip.IPv4Unspecified(),
			HostPort: strconv.Itoa(p.HostPort),
		})
	}
	for _, v := range spec.Volumes {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   v.Source,
			Target:   v.Target,
			ReadOnly: v.ReadOnly,
		})
	}
	return cfg, host, nil
}

// containerPort checks a port mapping and returns its container side.
func containerPort(p driver.Port) (network.Port, error) {
	proto := network.IPProtocol(p.Protocol)
	switch proto {
	case "":
		proto = network.TCP
	case network.TCP, network.UDP:
	default:
		return network.Port{}, fmt.Errorf("port %d: protocol %q is neither tcp nor udp", p.ContainerPort, p.Protocol)
	}
	if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 1 || p.HostPort > 65535 {
		return network.Port{}, fmt.Errorf("port mapping %d→%d: ports must be within 1-65535", p.HostPort, p.ContainerPort)
	}
	port, _ := network.PortFrom(uint16(p.ContainerPort), proto)
	return port, nil
}
