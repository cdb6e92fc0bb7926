package api

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
)

// headerIdentity stands for a further identity source: it answers for requests with
// an X-Test-User header only.
type headerIdentity map[string]*caller

func (h headerIdentity) identify(r *http.Request) (Principal, *caller, string) {
	u := r.Header.Get("X-Test-User")
	if u == "" {
		return Principal{}, nil, ""
	}
	if c, ok := h[u]; ok {
		return Principal{Kind: "test", Subject: u}, c, ""
	}
	return Principal{}, nil, "unknown_user"
}

// TestIdentitiesTryEachSource: the sources of a config are tried in turn; the first
// that knows the request names the client, and a request none knows fails with the
// first reason given.
func TestIdentitiesTryEachSource(t *testing.T) {
	app, ops := &caller{name: "app"}, &caller{name: "ops"}
	ids := identities{
		staticTokens{sha256.Sum256([]byte("app-token")): app},
		headerIdentity{"alice": ops},
	}
	for _, tc := range []struct {
		name, auth, user string
		want             *caller
		kind, subject    string
		failure          string
	}{
		{name: "token", auth: "Bearer app-token", want: app, kind: "token", subject: "app"},
		{name: "token in another case of the scheme", auth: "bearer app-token", want: app, kind: "token", subject: "app"},
		{name: "second source", user: "alice", want: ops, kind: "test", subject: "alice"},
		{name: "unknown token, known user", auth: "Bearer nope", user: "alice", want: ops, kind: "test", subject: "alice"},
		{name: "nothing", failure: authMissing},
		{name: "malformed header", auth: "Basic abc", failure: authMalformed},
		{name: "two tokens", auth: "Bearer a b", failure: authMalformed},
		{name: "unknown token", auth: "Bearer nope", failure: authUnknown},
		{name: "unknown user only", user: "mallory", failure: authMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/presign", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			if tc.user != "" {
				r.Header.Set("X-Test-User", tc.user)
			}
			p, c, failure := ids.identify(r)
			if c != tc.want || failure != tc.failure || p.Kind != tc.kind || p.Subject != tc.subject {
				t.Errorf("got %+v, %v, %q; want {%s %s}, %v, %q", p, c, failure, tc.kind, tc.subject, tc.want, tc.failure)
			}
		})
	}
}
