package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/presignd/presignd/internal/config"
)

// serverTLS loads the API listener's certificate and client CAs; nil without tls. A
// reload loads them again, so that a renewed certificate or CA bundle takes effect
// on SIGHUP; new connections get the new ones (listenerTLS).
func serverTLS(t *config.TLS) (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cannot load cert_file and key_file: %w", err)
	}
	tc := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
	}
	if t.ClientCAFile == "" {
		return tc, nil
	}
	pem, err := os.ReadFile(t.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cannot read client_ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("tls: client_ca_file holds no PEM certificate")
	}
	tc.ClientCAs = pool
	tc.ClientAuth = tls.VerifyClientCertIfGiven
	if t.RequireClientCert {
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	// A resumed session skips certificate verification and keeps the identity of the
	// handshake that made it, possibly against a CA bundle a reload has since
	// replaced: every connection verifies its certificate in full instead.
	tc.SessionTicketsDisabled = true
	return tc, nil
}

// listenerTLS serves each new connection with the TLS config in force.
func listenerTLS(current func() *tls.Config) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			return current(), nil
		},
	}
}
