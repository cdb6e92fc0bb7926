package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"

	"github.com/presignd/presignd/internal/signer"
)

// uploadHandle is what presignd remembers of a multipart upload between create and
// complete, carried by the client as upload_id and authenticated with HMAC-SHA256, so
// presignd stays stateless and a client cannot change the declared size, move the
// upload to another key or use another client's upload.
type uploadHandle struct {
	UploadID      string `json:"u"`
	Client        string `json:"c"`
	Bucket        string `json:"b"`
	Key           string `json:"k"`
	ContentType   string `json:"t,omitempty"`
	ContentLength int64  `json:"n"` // declared total size; -1 when none was declared
	// PartSize is the size of every part but the last, fixed at create, so that each
	// part URL signs its part's exact Content-Length; 0 when no size was declared.
	PartSize int64 `json:"p,omitempty"`
}

// plan is how the upload is cut into parts; the zero plan when no size was declared.
func (h uploadHandle) plan() signer.PartPlan {
	if h.ContentLength < 0 {
		return signer.PartPlan{}
	}
	return signer.PartPlan{Size: h.ContentLength, PartSize: h.PartSize}
}

// uploadHandleVersion starts every upload_id. v2 seals the part size; a v1 id (from
// before part URLs signed their size) is refused, so its upload must start again.
const uploadHandleVersion = "v2."

func sealUpload(key []byte, h uploadHandle) string {
	body, _ := json.Marshal(h)
	payload := base64.RawURLEncoding.EncodeToString(body)
	return uploadHandleVersion + payload + "." + base64.RawURLEncoding.EncodeToString(uploadMAC(key, payload))
}

func uploadMAC(key []byte, payload string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(uploadHandleVersion + payload))
	return m.Sum(nil)
}

// errUploadID is the answer to an upload_id that is not one presignd issued for the
// request's client, bucket and key.
func errUploadID() *Error {
	return errorf(CodeInvalidRequest, "upload_id is not one presignd issued for this bucket and key")
}

// belongsTo reports whether the upload is this client's, for this bucket and key.
func (h *uploadHandle) belongsTo(client, bucket, objectKey string) bool {
	return h.Client == client && h.Bucket == bucket && h.Key == objectKey
}

// verifyUpload checks that presignd sealed an upload_id with key, and opens it.
func verifyUpload(key []byte, id string) (uploadHandle, error) {
	bad := errUploadID()
	rest, ok := strings.CutPrefix(id, uploadHandleVersion)
	if !ok {
		if strings.HasPrefix(id, "v1.") {
			return uploadHandle{}, errorf(CodeInvalidRequest,
				"upload_id is of an earlier version of presignd, which no longer accepts it; start the upload again with POST /v1/multipart/create")
		}
		return uploadHandle{}, bad
	}
	payload, sig, ok := strings.Cut(rest, ".")
	if !ok {
		return uploadHandle{}, bad
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, uploadMAC(key, payload)) {
		return uploadHandle{}, bad
	}
	body, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return uploadHandle{}, bad
	}
	var h uploadHandle
	if err := json.Unmarshal(body, &h); err != nil {
		return uploadHandle{}, bad
	}
	if h.ContentLength >= 0 {
		if _, err := signer.PlanParts(h.ContentLength, h.PartSize); err != nil || h.PartSize == 0 {
			return uploadHandle{}, bad
		}
	}
	return h, nil
}

// uploadCache remembers the upload_ids verified lately, so that the part URL calls of
// an upload, many per upload, skip the MAC and the decoding (15% of their CPU). An id
// is cached only once verified, under the one upload key a Server has; what it opens
// to is checked against each request as it would be. It holds at most
// uploadCacheBytes of ids and forgets them all when full.
type uploadCache struct {
	mu    sync.Mutex
	m     map[string]uploadHandle
	bytes int
}

const (
	uploadCacheBytes = 4 << 20
	// uploadCacheEntry is what an entry costs besides its id and key.
	uploadCacheEntry = 256
)

func (c *uploadCache) open(key []byte, id, client, bucket, objectKey string) (uploadHandle, error) {
	c.mu.Lock()
	h, ok := c.m[id]
	c.mu.Unlock()
	if !ok {
		var err error
		if h, err = verifyUpload(key, id); err != nil {
			return uploadHandle{}, err
		}
		c.put(id, h)
	}
	if !h.belongsTo(client, bucket, objectKey) {
		return uploadHandle{}, errUploadID()
	}
	return h, nil
}

func (c *uploadCache) put(id string, h uploadHandle) {
	size := len(id) + len(h.Key) + len(h.ContentType) + uploadCacheEntry
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || c.bytes+size > uploadCacheBytes {
		c.m, c.bytes = make(map[string]uploadHandle), 0
	}
	if _, ok := c.m[id]; !ok {
		c.m[id] = h
		c.bytes += size
	}
}
