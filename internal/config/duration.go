package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a Go duration ("90m", "24h") or a number of days ("7d", "1d12h").
type Duration struct {
	D time.Duration
}

// ParseDuration reads a Go duration, optionally starting with a whole number of days:
// "90m", "24h", "7d", "1d12h".
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := fmt.Errorf("%q is not a duration (use 90m, 24h or 7d)", orig)
	s = strings.TrimSpace(s)
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 64)
		if err != nil || n < 0 || n > 10000 || s[0] == '+' {
			return 0, bad
		}
		days, s = n, s[i+1:]
		if s == "" {
			return time.Duration(days) * 24 * time.Hour, nil
		}
		if s[0] == '-' || s[0] == '+' {
			// "7d-1h" is not a duration anyone means.
			return 0, bad
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, bad
	}
	return time.Duration(days)*24*time.Hour + d, nil
}

// UnmarshalYAML accepts a string duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: a duration must be a string such as 24h or 7d", n.Line)
	}
	v, err := ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	d.D = v
	return nil
}

// MarshalYAML writes the duration in Go form.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func (d Duration) String() string {
	if d.D%(24*time.Hour) == 0 && d.D > 0 {
		return fmt.Sprintf("%dd", d.D/(24*time.Hour))
	}
	return d.D.String()
}
