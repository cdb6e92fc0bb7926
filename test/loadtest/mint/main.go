// Command mint makes the load test's JWT callers: an RSA and an ECDSA key, their JWKS
// (for an issuer's jwks_file) and one token signed by each, for subject "loadtest" and
// audience "presignd", valid for two hours. It writes jwks.json, token-rs256 and
// token-es256 into the directory given with -dir, and prints the issuer to use.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer is the iss of the tokens; it is never fetched (the config names a jwks_file).
const Issuer = "https://issuer.loadtest.invalid"

func main() {
	dir := flag.String("dir", "", "directory to write jwks.json, token-rs256 and token-es256 into")
	flag.Parse()
	if *dir == "" {
		log.Fatal("mint: -dir is required")
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	keys := []struct {
		alg  jose.SignatureAlgorithm
		kid  string
		priv crypto.Signer
		file string
	}{
		{jose.RS256, "loadtest-rs256", rsaKey, "token-rs256"},
		{jose.ES256, "loadtest-es256", ecKey, "token-es256"},
	}
	var set jose.JSONWebKeySet
	now := time.Now()
	for _, k := range keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"})
		sig, err := jose.NewSigner(jose.SigningKey{Algorithm: k.alg, Key: jose.JSONWebKey{Key: k.priv, KeyID: k.kid}},
			(&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			log.Fatal(err)
		}
		tok, err := jwt.Signed(sig).Claims(jwt.Claims{
			Issuer: Issuer, Subject: "loadtest", Audience: jwt.Audience{"presignd"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(2 * time.Hour)),
		}).Serialize()
		if err != nil {
			log.Fatal(err)
		}
		write(filepath.Join(*dir, k.file), []byte(tok))
	}
	data, err := json.Marshal(set)
	if err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*dir, "jwks.json"), data)
	fmt.Println(Issuer)
}

func write(path string, data []byte) {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		log.Fatal(err)
	}
}
