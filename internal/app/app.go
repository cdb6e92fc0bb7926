// Package app assembles what a validated config becomes for the API: the policy, the
// clients with their token hashes, matches and rate limits, the identity sources
// (JWT issuers, client certificates, a trusted proxy), the allowed browser origins
// and the connection limits. Start and reload both go through it (cmd/presignd build), and
// so do the API's tests, so the API never reads a config file's shape.
package app

import (
	"encoding/hex"
	"fmt"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/origin"
)

// Runtime assembles the API's runtime from a config that config.Load or
// config.Parse has validated, signing with sg (nil: keep the signer in force). prev is
// the runtime in force, the zero Runtime at start: what it holds that the new config
// leaves unchanged, such as a JWT issuer's cached keys, is kept.
func Runtime(cfg *config.Config, sg api.Presigner, prev api.Runtime) (api.Runtime, error) {
	pol, err := cfg.Policy()
	if err != nil {
		return api.Runtime{}, err
	}
	origins, err := origin.ParseList(cfg.CORS.AllowedOrigins)
	if err != nil {
		return api.Runtime{}, err
	}
	id, err := identitySources(cfg, prev)
	if err != nil {
		return api.Runtime{}, err
	}
	rt := api.Runtime{
		Identity: id,
		Policy:   pol,
		Origins:  origins,
		Limits: api.Limits{
			MaxConnections: cfg.MaxConnections(),
			CloseIdleAbove: cfg.CloseIdleAbove(),
			MaxInFlight:    cfg.MaxInFlight(),
		},
		S3Timeout: cfg.S3CallTimeout(),
		Signer:    sg,
		Clients:   make([]api.Client, len(cfg.Clients)),
	}
	for i, cl := range cfg.Clients {
		c := api.Client{Name: cl.Name, Match: matches(cl.Match)}
		if cl.TokenSHA256 != "" {
			if _, err := hex.Decode(c.TokenSHA256[:], []byte(cl.TokenSHA256.Reveal())); err != nil {
				return api.Runtime{}, fmt.Errorf("clients[%d].token_sha256 is not hex", i)
			}
			c.HasToken = true
		}
		if rl := cl.RateLimit; rl != nil {
			c.RateLimit = &api.RateLimit{RPS: rl.RPS, Burst: rl.Burst}
		}
		rt.Clients[i] = c
	}
	return rt, nil
}
