package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitShare is the part of the container's memory limit given to the Go
// runtime as its soft limit; the rest is for what the runtime does not count (kernel
// socket buffers, the binary's own pages).
const memoryLimitShare = 0.9

// cgroupFS is where the files memoryLimit reads are; tests point it elsewhere.
type cgroupFS struct {
	// procSelfCgroup is /proc/self/cgroup; root is the cgroup v2 mount, /sys/fs/cgroup.
	procSelfCgroup, root string
}

var hostCgroups = cgroupFS{procSelfCgroup: "/proc/self/cgroup", root: "/sys/fs/cgroup"}

// memoryMax reads the memory limit of this process's cgroup v2 (memory.max),
// following /proc/self/cgroup to the process's own cgroup; in a container with its
// own cgroup namespace that is the mount's root. ok is false when there is no limit
// ("max") or no cgroup v2.
func (c cgroupFS) memoryMax() (limit int64, path string, ok bool, err error) {
	path = filepath.Join(c.root, "memory.max")
	if f, err := os.Open(c.procSelfCgroup); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rel, found := strings.CutPrefix(sc.Text(), "0::"); found {
				path = filepath.Join(c.root, filepath.Clean("/"+rel), "memory.max")
				break
			}
		}
		f.Close()
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, path, false, nil
	}
	if err != nil {
		return 0, path, false, err
	}
	v := strings.TrimSpace(string(data))
	if v == "max" {
		return 0, path, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, path, false, fmt.Errorf("%s holds %q, not a number of bytes", path, v)
	}
	return n, path, true, nil
}

// setMemoryLimit gives the Go runtime a soft memory limit, so that the collector
// works harder as the heap nears it instead of letting a surge push the process
// over the container's limit. GOMEMLIMIT, when set, is the runtime's own and is left
// alone; else the limit is memoryLimitShare of the cgroup's memory.max, when there is
// one. It returns the limit in force (0: none).
func setMemoryLimit(getenv func(string) string, cg cgroupFS, log *slog.Logger) int64 {
	if v := getenv("GOMEMLIMIT"); v != "" {
		limit := debug.SetMemoryLimit(-1)
		log.Info("memory limit from GOMEMLIMIT", "gomemlimit", v, "bytes", limit)
		return limit
	}
	memMax, path, ok, err := cg.memoryMax()
	switch {
	case err != nil:
		log.Warn("cannot read the container's memory limit; no soft memory limit is set (set GOMEMLIMIT)", "error", err.Error())
		return 0
	case !ok:
		log.Info("no container memory limit found (cgroup v2 memory.max); no soft memory limit is set", "path", path)
		return 0
	}
	limit := int64(float64(memMax) * memoryLimitShare)
	debug.SetMemoryLimit(limit)
	log.Info("memory limit derived from the container's", "memory_max", memMax, "gomemlimit", limit, "path", path)
	return limit
}
