package deploytest

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// lifecycleConfiguration is the JSON shape of `aws s3api
// put-bucket-lifecycle-configuration --lifecycle-configuration`, as far as the rule
// presignd ships uses it.
type lifecycleConfiguration struct {
	Rules []struct {
		ID     string `json:"ID"`
		Status string `json:"Status"`
		Filter *struct {
			Prefix *string `json:"Prefix"`
		} `json:"Filter"`
		AbortIncompleteMultipartUpload *struct {
			DaysAfterInitiation int `json:"DaysAfterInitiation"`
		} `json:"AbortIncompleteMultipartUpload"`
	} `json:"Rules"`
}

// TestS3LifecycleAbortsIncompleteMultipartUploads checks the lifecycle rule of
// deploy/s3: it parses strictly (any other field, such as an Expiration that would
// delete objects, fails), covers the whole bucket, is enabled and aborts uploads
// after one day.
func TestS3LifecycleAbortsIncompleteMultipartUploads(t *testing.T) {
	data, err := os.ReadFile(deployPath(t, "s3", "lifecycle-abort-incomplete-multipart.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var cfg lifecycleConfiguration
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("the lifecycle configuration does not parse: %v", err)
	}
	if dec.More() {
		t.Fatal("the lifecycle configuration has data after its JSON object")
	}
	if len(cfg.Rules) != 1 {
		t.Fatalf("got %d rules, want 1", len(cfg.Rules))
	}
	r := cfg.Rules[0]
	switch {
	case r.ID == "" || len(r.ID) > 255:
		t.Errorf("rule ID %q: want a name of 1 to 255 characters", r.ID)
	case r.Status != "Enabled":
		t.Errorf("rule Status %q, want Enabled", r.Status)
	case r.Filter == nil || r.Filter.Prefix == nil || *r.Filter.Prefix != "":
		t.Errorf("rule Filter %+v, want {Prefix: \"\"}, the whole bucket", r.Filter)
	case r.AbortIncompleteMultipartUpload == nil || r.AbortIncompleteMultipartUpload.DaysAfterInitiation != 1:
		t.Errorf("rule AbortIncompleteMultipartUpload %+v, want DaysAfterInitiation 1", r.AbortIncompleteMultipartUpload)
	}
}
