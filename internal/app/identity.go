package app

import (
	"fmt"
	"reflect"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/identity"
)

// identitySources assembles the identity sources of cfg. An issuer of prev (the
// runtime in force) whose settings are unchanged is kept, with the keys it has cached,
// so that a reload never makes presignd fetch keys again or forget them while an
// issuer is down.
func identitySources(cfg *config.Config, prev api.Runtime) (api.Identity, error) {
	var id api.Identity
	if len(cfg.Identity.Issuers) > 0 {
		var kept []*identity.Issuer
		if old, ok := prev.Identity.JWT.(*identity.Issuers); ok && old != nil {
			kept = old.Issuers()
		}
		issuers := make([]*identity.Issuer, 0, len(cfg.Identity.Issuers))
		for i, ic := range cfg.Identity.Issuers {
			is, err := identity.NewIssuer(issuerConfig(ic))
			if err != nil {
				return api.Identity{}, fmt.Errorf("identity.issuers[%d]: %w", i, err)
			}
			for _, k := range kept {
				if sameIssuer(k.Config(), is.Config()) {
					is = k
					break
				}
			}
			issuers = append(issuers, is)
		}
		set, err := identity.NewIssuers(issuers...)
		if err != nil {
			return api.Identity{}, fmt.Errorf("identity.issuers: %w", err)
		}
		id.JWT = set
	}
	if tp := cfg.Identity.TrustedProxies; tp != nil {
		id.Proxy = &identity.Proxy{Peers: tp.ProxyPeers(), UserHeader: tp.UserHeaderOf(), GroupsHeader: tp.GroupsHeaderOf()}
	}
	id.ClientCertificates = cfg.TLS != nil && cfg.TLS.ClientCAFile != ""
	return id, nil
}

func issuerConfig(ic config.Issuer) identity.IssuerConfig {
	return identity.IssuerConfig{
		Name: ic.Name, Issuer: ic.Issuer, JWKSURL: ic.JWKSURL, JWKSFile: ic.JWKSFile,
		Audiences: ic.Audiences, Algorithms: ic.AlgorithmsOf(), CAFile: ic.CAFile,
		Leeway: ic.LeewayOf(), MaxKeyAge: ic.MaxKeyAgeOf(),
	}
}

// sameIssuer compares two issuers' settings, defaults filled in, the clock aside.
func sameIssuer(a, b identity.IssuerConfig) bool {
	a.Now, b.Now = nil, nil
	return reflect.DeepEqual(a, b)
}

// matches converts a client's match list.
func matches(ms []config.Match) []identity.Match {
	out := make([]identity.Match, len(ms))
	for i, m := range ms {
		out[i] = identity.Match{Issuer: m.Issuer, Subject: m.Subject, Claims: m.Claims,
			SPIFFEID: m.SPIFFEID, DNSName: m.DNSName, ProxyUser: m.ProxyUser, ProxyGroup: m.ProxyGroup}
	}
	return out
}
