package api

import (
	"strconv"
	"strings"
	"testing"
)

func TestUploadCache(t *testing.T) {
	key := []byte("test-upload-key-0123456789abcdef")
	h := uploadHandle{UploadID: "u-1", Client: "app", Bucket: "media", Key: "uploads/a.bin", ContentLength: -1}
	id := sealUpload(key, h)
	var c uploadCache
	for i := range 2 { // the second time from the cache
		got, err := c.open(key, id, "app", "media", "uploads/a.bin")
		if err != nil || got != h {
			t.Fatalf("open #%d: got %+v, %v; want %+v", i+1, got, err, h)
		}
		// Cached or not, the id opens only for its own client, bucket and key.
		for _, other := range [][3]string{{"web", "media", "uploads/a.bin"}, {"app", "other", "uploads/a.bin"}, {"app", "media", "uploads/b.bin"}} {
			if _, err := c.open(key, id, other[0], other[1], other[2]); err == nil {
				t.Errorf("open #%d: the upload of app/media/uploads/a.bin opened for %v", i+1, other)
			}
		}
	}
	// An id sealed with another key, or altered, is refused and never cached.
	forged := sealUpload([]byte("another-key-0123456789abcdef0000"), h)
	altered := id[:len(id)-2] + "AA"
	for _, bad := range []string{forged, altered, "v2.", "", "v1.x.y"} {
		for range 2 {
			if _, err := c.open(key, bad, "app", "media", "uploads/a.bin"); err == nil {
				t.Errorf("open(%q) was accepted", bad)
			}
		}
		if _, ok := c.m[bad]; ok {
			t.Errorf("%q was cached", bad)
		}
	}
	// The cache is bounded: it starts again when full.
	for i := range 20000 {
		hi := h
		hi.Key = "uploads/" + strings.Repeat("k", 500) + strconv.Itoa(i)
		if _, err := c.open(key, sealUpload(key, hi), "app", "media", hi.Key); err != nil {
			t.Fatal(err)
		}
		if c.bytes > uploadCacheBytes {
			t.Fatalf("the cache holds %d bytes, above its %d", c.bytes, uploadCacheBytes)
		}
	}
	if len(c.m) == 0 || len(c.m) >= 20000 {
		t.Errorf("the cache holds %d entries after 20000 uploads", len(c.m))
	}
}
