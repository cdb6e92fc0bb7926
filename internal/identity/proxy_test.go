package identity_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/presignd/presignd/internal/identity"
)

const (
	userHeader   = "X-Auth-Request-Email"
	groupsHeader = "X-Auth-Request-Groups"
)

func testProxy() *identity.Proxy {
	return &identity.Proxy{
		Peers: []netip.Prefix{
			netip.MustParsePrefix("127.0.0.1/32"),
			netip.MustParsePrefix("10.1.0.0/16"),
			netip.MustParsePrefix("::1/128"),
			netip.MustParsePrefix("fd00:1::/64"),
		},
		UserHeader:   userHeader,
		GroupsHeader: groupsHeader,
	}
}

// proxyRequest is a request from peer with the headers, each name given as many
// times as it has values.
func proxyRequest(peer string, headers map[string][]string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/presign", nil)
	r.RemoteAddr = peer
	for name, values := range headers {
		for _, v := range values {
			r.Header.Add(name, v)
		}
	}
	return r
}

func TestProxyTrusted(t *testing.T) {
	tests := []struct {
		peer string
		want bool
	}{
		{"127.0.0.1:41234", true},
		{"10.1.255.3:80", true},
		{"[::1]:41234", true},
		{"[fd00:1::42]:4180", true},
		{"[::ffff:127.0.0.1]:41234", true},
		{"[::ffff:10.1.2.3]:41234", true},
		{"127.0.0.2:41234", false},
		{"10.2.0.1:80", false},
		{"192.168.1.1:80", false},
		{"[fd00:2::42]:4180", false},
		{"[::ffff:192.168.1.1]:80", false},
		{"[::2]:80", false},
		{"[fe80::1%eth0]:80", false},
		{"127.0.0.1", false},
		{"", false},
		{"localhost:80", false},
		{"@", false},
	}
	p := testProxy()
	for _, tt := range tests {
		r := proxyRequest(tt.peer, nil)
		if got := p.Trusted(r); got != tt.want {
			t.Errorf("Trusted(peer %q): got %v, want %v", tt.peer, got, tt.want)
		}
	}
	if (&identity.Proxy{}).Trusted(proxyRequest("127.0.0.1:1", nil)) {
		t.Error("a proxy without peers trusts 127.0.0.1, want no peer trusted")
	}
}

func TestProxyIdentify(t *testing.T) {
	const trusted = "127.0.0.1:41234"
	tests := []struct {
		name    string
		peer    string // default trusted
		headers map[string][]string
		want    identity.Principal
		wantOK  bool
	}{
		{
			name:    "user",
			headers: map[string][]string{userHeader: {"alice@example.com"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice@example.com"},
			wantOK:  true,
		},
		{
			name:    "user and groups",
			headers: map[string][]string{userHeader: {"alice@example.com"}, groupsHeader: {"dev,ops"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice@example.com", Groups: []string{"dev", "ops"}},
			wantOK:  true,
		},
		{
			name:    "groups with spaces and empty entries",
			headers: map[string][]string{userHeader: {" alice@example.com "}, groupsHeader: {" dev , ,ops,, team red ,"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice@example.com", Groups: []string{"dev", "ops", "team red"}},
			wantOK:  true,
		},
		{
			name:    "groups over two header lines",
			headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"dev", "ops, admin"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice", Groups: []string{"dev", "ops", "admin"}},
			wantOK:  true,
		},
		{
			name:    "groups header of only commas",
			headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {" , ,"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice"},
			wantOK:  true,
		},
		{
			name:    "IPv6 peer",
			peer:    "[fd00:1::7]:4180",
			headers: map[string][]string{userHeader: {"alice"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice"},
			wantOK:  true,
		},
		{
			name:    "IPv4-mapped peer",
			peer:    "[::ffff:10.1.0.9]:4180",
			headers: map[string][]string{userHeader: {"alice"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice"},
			wantOK:  true,
		},
		{
			name:    "header names without case",
			headers: map[string][]string{"x-auth-request-email": {"alice"}, "X-AUTH-REQUEST-GROUPS": {"ops"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "alice", Groups: []string{"ops"}},
			wantOK:  true,
		},
		{
			name:    "user of 256 bytes",
			headers: map[string][]string{userHeader: {strings.Repeat("u", 256)}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: strings.Repeat("u", 256)},
			wantOK:  true,
		},
		{
			name:    "unicode user",
			headers: map[string][]string{userHeader: {"zoë@example.com"}},
			want:    identity.Principal{Kind: identity.KindProxy, Subject: "zoë@example.com"},
			wantOK:  true,
		},

		// No proxy identity: the headers are ignored.
		{name: "untrusted IPv4 peer", peer: "192.168.1.1:80", headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"ops"}}},
		{name: "untrusted IPv6 peer", peer: "[fd00:2::1]:80", headers: map[string][]string{userHeader: {"alice"}}},
		{name: "untrusted IPv4-mapped peer", peer: "[::ffff:192.168.1.1]:80", headers: map[string][]string{userHeader: {"alice"}}},
		{name: "untrusted peer with a bad header", peer: "192.168.1.1:80", headers: map[string][]string{userHeader: {"a", "b"}}},
		{name: "peer without a port", peer: "127.0.0.1", headers: map[string][]string{userHeader: {"alice"}}},
		{name: "no user header", headers: map[string][]string{groupsHeader: {"ops"}}},
		{name: "no headers"},
	}
	p := testProxy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := tt.peer
			if peer == "" {
				peer = trusted
			}
			got, ok, err := p.Identify(proxyRequest(peer, tt.headers))
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if ok != tt.wantOK {
				t.Errorf("got ok %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("principal mismatch:\n%s", diff)
			}
		})
	}
}

func TestProxyIdentifyMalformed(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string][]string
		detail  string
	}{
		{name: "two user headers", headers: map[string][]string{userHeader: {"alice", "bob"}}, detail: "the proxy's user header does not hold one user"},
		{name: "the same user twice", headers: map[string][]string{userHeader: {"alice", "alice"}}, detail: "does not hold one user"},
		{name: "empty user", headers: map[string][]string{userHeader: {""}}, detail: "does not hold one user"},
		{name: "blank user", headers: map[string][]string{userHeader: {"   "}}, detail: "does not hold one user"},
		{name: "user with a NUL", headers: map[string][]string{userHeader: {"alice\x00"}}, detail: "does not hold one user"},
		{name: "user with a newline", headers: map[string][]string{userHeader: {"alice\nbob"}}, detail: "does not hold one user"},
		{name: "user with a tab", headers: map[string][]string{userHeader: {"alice\tbob"}}, detail: "does not hold one user"},
		{name: "user with DEL", headers: map[string][]string{userHeader: {"alice\x7f"}}, detail: "does not hold one user"},
		{name: "user not UTF-8", headers: map[string][]string{userHeader: {"alice\xff"}}, detail: "does not hold one user"},
		{name: "user of 257 bytes", headers: map[string][]string{userHeader: {strings.Repeat("u", 257)}}, detail: "does not hold one user"},
		{name: "group with a control character", headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"dev,o\x01ps"}}, detail: "the proxy's groups header holds a value that is not a group"},
		{name: "group of 257 bytes", headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"dev," + strings.Repeat("g", 257)}}, detail: "holds a value that is not a group"},
		{name: "group not UTF-8", headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"\xc3"}}, detail: "holds a value that is not a group"},
		{name: "bad group on a second line", headers: map[string][]string{userHeader: {"alice"}, groupsHeader: {"dev", "\x7f"}}, detail: "holds a value that is not a group"},
	}
	p := testProxy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok, err := p.Identify(proxyRequest("[::1]:41234", tt.headers))
			var e *identity.Error
			if !errors.As(err, &e) {
				t.Fatalf("got principal %+v, error %v, want an *identity.Error", got, err)
			}
			if !ok {
				t.Errorf("got ok false, want true: a trusted peer named a user, badly")
			}
			if e.Reason != identity.ReasonMalformed || !strings.Contains(e.Detail, tt.detail) {
				t.Errorf("got %s %q, want %s %q", e.Reason, e.Detail, identity.ReasonMalformed, tt.detail)
			}
			if diff := cmp.Diff(identity.Principal{}, got); diff != "" {
				t.Errorf("got a principal beside the error:\n%s", diff)
			}
		})
	}
}
