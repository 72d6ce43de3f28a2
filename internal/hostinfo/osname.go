package hostinfo

import (
	"bufio"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// osName returns runtime.GOOS followed by the PRETTY_NAME of the first
// readable os-release file among paths, e.g. "linux (Debian GNU/Linux 12 (bookworm))".
func osName(paths []string) string {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		pretty := parsePrettyName(f)
		f.Close()
		if pretty != "" {
			return runtime.GOOS + " (" + pretty + ")"
		}
	}
	return runtime.GOOS
}

// parsePrettyName returns the PRETTY_NAME value of an os-release file,
// removing shell quoting, or "" when absent.
func parsePrettyName(r io.Reader) string {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "PRETTY_NAME=")
		if !ok {
			continue
		}
		switch {
		case len(v) >= 2 && v[0] == '"':
			if u, err := strconv.Unquote(v); err == nil {
				return u
			}
			return strings.Trim(v, `"`)
		case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
			return v[1 : len(v)-1]
		default:
			return v
		}
	}
	return ""
}
