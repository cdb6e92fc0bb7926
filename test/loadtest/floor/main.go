// Command floor is the load test's lower bound for presignd's GET presign: a chi
// handler that does only the work no presign service can skip under presignd's
// contract, and nothing else. For each request it reads the body, hashes the bearer
// token and compares it with the configured one, makes a request ID, signs one SigV4
// query-string URL (the day's signing key is derived once a day; a signature is a
// SHA-256 of the canonical request and one HMAC from the key's saved pad states),
// writes a JSON audit line to stderr with a write(2) of its own before answering, and
// answers with the headers and about the bytes of presignd's answer. It has no policy,
// validation, metrics, limits or middleware, and it signs the same object whatever the
// body asks for. TestFloorSignsAsTheSDK holds its URL to the AWS SDK's v4 signer. It
// prints its listen address on stdout.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"hash"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/presignd/presignd/test/loadtest/refserver"
)

// The one object the floor signs, and its credentials (the AWS documentation's example).
const (
	host       = "media.s3.us-east-1.amazonaws.com"
	objectPath = "/reports/2026/q3%20summary.pdf"
	region     = "us-east-1"
	accessKey  = "AKIAIOSFODNN7EXAMPLE"
	secretKey  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	expiresIn  = 3600
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "listen `address`")
	token := flag.String("token", "", "the bearer `token` callers send")
	flag.Parse()
	r := chi.NewRouter()
	r.Method(http.MethodPost, "/v1/presign", newFloor(*token, os.Stderr, time.Now))
	log.Fatal(refserver.ListenAndServe(*listen, r))
}

type floor struct {
	token [sha256.Size]byte // the SHA-256 of the bearer token
	now   func() time.Time
	key   atomic.Pointer[dayKey]

	mu    sync.Mutex // one audit line at a time, as any log writer serialises them
	audit io.Writer
}

// dayKey is a day's signing key, as the SHA-256 states after its HMAC pads.
type dayKey struct {
	date         string
	inner, outer []byte
}

type digest interface {
	hash.Hash
	encoding.BinaryUnmarshaler
}

type scratch struct {
	body, canonical, toSign, url, line, out []byte
	inner, outer                            digest
	sum                                     [sha256.Size]byte
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{inner: sha256.New().(digest), outer: sha256.New().(digest)}
}}

func newFloor(token string, audit io.Writer, now func() time.Time) *floor {
	return &floor{token: sha256.Sum256([]byte(token)), now: now, audit: audit}
}

func (f *floor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	body, err := readAll(sc.body[:0], r.Body)
	sc.body = body
	if err != nil {
		http.Error(w, "the body could not be read", http.StatusBadRequest)
		return
	}
	auth := r.Header.Get("Authorization")
	if len(auth) < len("Bearer ") {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	if sum := sha256.Sum256([]byte(auth[len("Bearer "):])); subtle.ConstantTimeCompare(sum[:], f.token[:]) != 1 {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}

	now := f.now().UTC()
	var dateBuf [16]byte
	amzDate := now.AppendFormat(dateBuf[:0], "20060102T150405Z")
	key := f.dayKey(string(amzDate[:8]))
	u := append(sc.url[:0], "https://"+host+objectPath+"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+accessKey+"%2F"...)
	u = append(u, amzDate[:8]...)
	u = append(u, "%2F"+region+"%2Fs3%2Faws4_request&X-Amz-Date="...)
	u = append(u, amzDate...)
	u = append(u, "&X-Amz-Expires="+strconv.Itoa(expiresIn)+"&X-Amz-SignedHeaders=host&x-id=GetObject"...)
	query := u[len("https://"+host+objectPath+"?"):]
	c := append(sc.canonical[:0], "GET\n"+objectPath+"\n"...)
	c = append(c, query...)
	c = append(c, "\nhost:"+host+"\n\nhost\nUNSIGNED-PAYLOAD"...)
	sc.canonical = c
	hashed := sha256.Sum256(c)
	m := append(sc.toSign[:0], "AWS4-HMAC-SHA256\n"...)
	m = append(m, amzDate...)
	m = append(m, '\n')
	m = append(m, amzDate[:8]...)
	m = append(m, "/"+region+"/s3/aws4_request\n"...)
	m = hex.AppendEncode(m, hashed[:])
	sc.toSign = m
	if sc.inner.UnmarshalBinary(key.inner) != nil || sc.outer.UnmarshalBinary(key.outer) != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	sc.inner.Write(m)
	sc.outer.Write(sc.inner.Sum(sc.sum[:0]))
	u = append(u, "&X-Amz-Signature="...)
	u = hex.AppendEncode(u, sc.outer.Sum(sc.sum[:0]))
	sc.url = u

	var idBuf [12]byte
	binary.LittleEndian.PutUint64(idBuf[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(idBuf[8:], rand.Uint32())
	id := hex.EncodeToString(idBuf[:])
	line := append(sc.line[:0], `{"time":"`...)
	line = now.AppendFormat(line, time.RFC3339Nano)
	line = append(line, `","level":"INFO","msg":"presign","request_id":"`...)
	line = append(line, id...)
	line = append(line, `","client":"loadtest","bucket":"media","key":"reports/2026/q3 summary.pdf","method":"GET","requested_ttl":3600,"expires_in":3600,"outcome":"issued"}`+"\n"...)
	sc.line = line
	f.mu.Lock()
	_, err = f.audit.Write(line)
	f.mu.Unlock()
	if err != nil {
		http.Error(w, "the audit line could not be written", http.StatusInternalServerError)
		return
	}

	out := append(sc.out[:0], `{"url":"`...)
	out = append(out, u...)
	out = append(out, `","method":"GET","expires_at":"`...)
	out = now.Add(expiresIn*time.Second).AppendFormat(out, time.RFC3339)
	out = append(out, `","expires_in":`+strconv.Itoa(expiresIn)+`,"headers":{}}`+"\n"...)
	sc.out = out
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	h["Content-Type"] = []string{"application/json"}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	h["X-Request-Id"] = []string{id}
	_, _ = w.Write(out)
}

// readAll appends what r reads to b, growing b as it fills.
func readAll(b []byte, r io.Reader) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// dayKey returns the signing key of date (YYYYMMDD), derived on the day's first use.
func (f *floor) dayKey(date string) *dayKey {
	if k := f.key.Load(); k != nil && k.date == date {
		return k
	}
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac(mac(mac(mac([]byte("AWS4"+secretKey), date), region), "s3"), "aws4_request")
	dk := &dayKey{date: date, inner: padState(k, 0x36), outer: padState(k, 0x5c)}
	f.key.Store(dk)
	return dk
}

// padState returns the marshaled state of a SHA-256 digest that has hashed key XOR pad.
func padState(key []byte, pad byte) []byte {
	var block [sha256.BlockSize]byte
	for i := range block {
		var k byte
		if i < len(key) {
			k = key[i]
		}
		block[i] = k ^ pad
	}
	h := sha256.New()
	h.Write(block[:])
	state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(err) // crypto/sha256's digest always marshals
	}
	return state
}
