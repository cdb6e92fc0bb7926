package policy_test

import (
	"testing"
	"time"

	"github.com/presignd/presignd/internal/policy"
)

func TestMaxTTL(t *testing.T) {
	now := time.Date(2026, 11, 22, 19, 45, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		env  policy.Env
		want int64
	}{
		{"credentials that do not expire", policy.Env{Now: now}, 604800},
		{"credentials for longer than 7 days", policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(8 * 24 * time.Hour)}, 604800},
		{"credentials for 2 hours", policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(2 * time.Hour)}, 7200 - 60},
		{"credentials within the margin", policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(30 * time.Second)}, 0},
		{"expired credentials", policy.Env{Now: now, CredentialsExpire: true, CredentialsExpiry: now.Add(-time.Hour)}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := policy.MaxTTL(tc.env); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
