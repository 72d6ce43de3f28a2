package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// errNotReadable is wrapped by the errors of files the workloads' user may
// not read.
var errNotReadable = fmt.Errorf("not readable by the workloads' user: %w", fs.ErrPermission)

// openAsWorkload opens the file name for reading as the workload could: a
// relative name from its working directory workDir, with the workloads'
// user's permissions (see dropsRoot), so neither ancestors it may not
// search nor files it may not read are opened, whichever symbolic links
// the name passes. The instance shares the host's file system except for
// /proc, so the file is the one the workload sees, running or not; magic
// links (/proc/<pid>/root, /proc/<pid>/fd/*) and procfs files are refused,
// as is anything but a regular file.
func openAsWorkload(workDir, name string) (*os.File, error) {
	// The working directory is the workload's current directory: reaching
	// it does not take the right to search its ancestors.
	dir, err := unix.Open(workDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open working directory %s: %w", workDir, err)
	}
	defer unix.Close(dir)
	fd, err := asWorkloadUser(func() (int, error) {
		// O_NONBLOCK keeps a fifo from blocking the open; it is refused
		// below.
		return unix.Openat2(dir, name, &unix.OpenHow{
			Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY | unix.O_NONBLOCK,
			Resolve: unix.RESOLVE_NO_MAGICLINKS,
		})
	})
	switch {
	case errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM):
		return nil, errNotReadable
	case errors.Is(err, unix.ELOOP):
		return nil, fmt.Errorf("passes a magic link or too many symbolic links: %w", fs.ErrPermission)
	case err != nil:
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	if err := checkOpened(fd); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// checkOpened refuses what openAsWorkload may not return, and makes reads
// of the rest blocking again.
func checkOpened(fd int) error {
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(fd, &sfs); err != nil {
		return fmt.Errorf("stat file system: %w", err)
	}
	if sfs.Type == unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("on procfs, which differs inside the instance: %w", fs.ErrPermission)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("not a regular file: %w", fs.ErrPermission)
	}
	return unix.SetNonblock(fd, false)
}

// asWorkloadUser calls open with the credentials of the workloads' user
// when the agent is root: on a thread of its own that drops root for good
// and, locked to its goroutine until that ends, ends with it. Other
// threads keep root.
func asWorkloadUser(open func() (int, error)) (int, error) {
	if !dropsRoot() {
		return open()
	}
	type result struct {
		fd  int
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if err := threadBecomeWorkloadUser(); err != nil {
			done <- result{-1, err}
			return
		}
		fd, err := open()
		done <- result{fd, err}
	}()
	r := <-done
	return r.fd, r.err
}

// threadBecomeWorkloadUser makes the calling thread, and only it, the
// workloads' user: raw system calls change one thread, where the syscall
// and unix wrappers change every thread of the process. With all its user
// IDs non-zero, the thread loses every capability.
func threadBecomeWorkloadUser() error {
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
		return fmt.Errorf("drop supplementary groups: %w", e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, workloadGID, workloadGID, workloadGID); e != 0 {
		return fmt.Errorf("set gid %d: %w", workloadGID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, workloadUID, workloadUID, workloadUID); e != 0 {
		return fmt.Errorf("set uid %d: %w", workloadUID, e)
	}
	return nil
}
