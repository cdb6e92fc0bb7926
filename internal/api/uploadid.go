package api

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"

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

// openUpload checks an upload_id and that it belongs to this client, bucket and key.
func openUpload(key []byte, id, client, bucket, objectKey string) (uploadHandle, error) {
	bad := errorf(CodeInvalidRequest, "upload_id is not one presignd issued for this bucket and key")
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
	if err := json.Unmarshal(body, &h); err != nil || h.Client != client || h.Bucket != bucket || h.Key != objectKey {
		return uploadHandle{}, bad
	}
	if h.ContentLength >= 0 {
		if _, err := signer.PlanParts(h.ContentLength, h.PartSize); err != nil || h.PartSize == 0 {
			return uploadHandle{}, bad
		}
	}
	return h, nil
}
