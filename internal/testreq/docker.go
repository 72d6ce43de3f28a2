package testreq

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// BusyboxTag names the test image BusyboxImage builds. Bump its version when
// the image's contents change.
const BusyboxTag = "nimbus-test/busybox:1"

// busyboxPath is where Debian's busybox-static installs its binary.
const busyboxPath = "/bin/busybox"

// Docker skips the test unless a Docker engine answers a ping at DOCKER_HOST
// (or the default socket).
func Docker(t testing.TB) {
	t.Helper()
	cli, err := client.New(client.FromEnv)
	if err != nil {
		Missing(t, "a Docker engine", "docker client: %v", err)
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := cli.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		Missing(t, "a Docker engine", "no engine at %s: %v", cli.DaemonHost(), err)
	}
}

// BusyboxImage returns the tag of a small local image made of Debian's
// statically linked busybox, importing it into the engine first when it is
// missing. No registry is involved. Test processes running in parallel
// serialize the import with a file lock under os.TempDir().
func BusyboxImage(t testing.TB) string {
	t.Helper()
	Docker(t)
	if _, err := os.Stat(busyboxPath); err != nil {
		Missing(t, "busybox-static", "%v", err)
	}
	cli, err := client.New(client.FromEnv)
	if err != nil {
		t.Fatalf("docker client: %v", err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	unlock, err := lockFile(filepath.Join(os.TempDir(), "nimbus-test-busybox.lock"))
	if err != nil {
		t.Fatalf("lock busybox image: %v", err)
	}
	defer unlock()

	if _, err := cli.ImageInspect(ctx, BusyboxTag); err == nil {
		return BusyboxTag
	} else if !cerrdefs.IsNotFound(err) {
		t.Fatalf("inspect %s: %v", BusyboxTag, err)
	}
	if err := importBusybox(ctx, cli); err != nil {
		t.Fatalf("import %s: %v", BusyboxTag, err)
	}
	return BusyboxTag
}

// importBusybox streams a root file system tar into the engine's image
// import.
func importBusybox(ctx context.Context, cli *client.Client) error {
	rootfs, err := busyboxRootfs()
	if err != nil {
		return err
	}
	res, err := cli.ImageImport(ctx,
		client.ImageImportSource{Source: bytes.NewReader(rootfs), SourceName: "-"},
		BusyboxTag,
		client.ImageImportOptions{
			Message: "nimbus test image",
			Changes: []string{
				`CMD ["sh"]`,
				"ENV PATH=/bin",
			},
		})
	if err != nil {
		return err
	}
	defer res.Close()
	// The answer is a JSON progress stream; an error inside it shows as a
	// missing tag afterwards.
	if _, err := io.Copy(io.Discard, res); err != nil {
		return fmt.Errorf("read import progress: %w", err)
	}
	if _, err := cli.ImageInspect(ctx, BusyboxTag); err != nil {
		return fmt.Errorf("image missing after import: %w", err)
	}
	return nil
}

// busyboxRootfs builds the image's file system as a tar: /bin/busybox, a
// symlink per applet, /etc/passwd and /etc/group, /tmp and /root.
func busyboxRootfs() ([]byte, error) {
	bin, err := os.ReadFile(busyboxPath)
	if err != nil {
		return nil, err
	}
	list, err := exec.Command(busyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("list busybox applets: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	now := time.Unix(0, 0)
	dir := func(name string, mode int64) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, ModTime: now})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: now}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	steps := []error{
		dir("bin", 0o755), dir("etc", 0o755), dir("root", 0o700), dir("tmp", 0o1777),
		dir("proc", 0o755), dir("sys", 0o755), dir("dev", 0o755),
		file("bin/busybox", 0o755, bin),
		file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")),
		file("etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")),
	}
	if err := errors.Join(steps...); err != nil {
		return nil, err
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + applet, Linkname: "busybox", Mode: 0o777, ModTime: now})
		if err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// lockFile takes an exclusive lock on path, creating it, and returns the
// function that releases it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
