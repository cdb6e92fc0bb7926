package signer_test

import (
	"mime"
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/signer"
)

func TestAttachmentDisposition(t *testing.T) {
	tests := []struct {
		name string
		want string
	}{
		{"report.pdf", `attachment; filename="report.pdf"`},
		{"q3 summary (final);v2.csv", `attachment; filename="q3 summary (final);v2.csv"`},
		{`say "hi".txt`, `attachment; filename="say _hi_.txt"; filename*=UTF-8''say%20%22hi%22.txt`},
		{"Grüße.txt", `attachment; filename="Gr__e.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.txt`},
		{"報告.pdf", `attachment; filename="__.pdf"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf`},
		{"📄 50% off.pdf", `attachment; filename="_ 50% off.pdf"; filename*=UTF-8''%F0%9F%93%84%2050%25%20off.pdf`},
		{"e\u0301te\u0301.txt", `attachment; filename="e_te_.txt"; filename*=UTF-8''e%CC%81te%CC%81.txt`},
		{strings.Repeat("a", 255), `attachment; filename="` + strings.Repeat("a", 255) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := signer.AttachmentDisposition(tt.name)
			if err != nil {
				t.Fatalf("AttachmentDisposition(%q): %v", tt.name, err)
			}
			if got != tt.want {
				t.Errorf("AttachmentDisposition(%q) = %s, want %s", tt.name, got, tt.want)
			}
			// A standard parser must read back the exact name (from filename* when present).
			disp, params, err := mime.ParseMediaType(got)
			if err != nil {
				t.Fatalf("mime.ParseMediaType(%s): %v", got, err)
			}
			if disp != "attachment" || params["filename"] != tt.name {
				t.Errorf("parsed back as %q with filename %q, want attachment with %q", disp, params["filename"], tt.name)
			}
		})
	}
}

func TestAttachmentDispositionRefuses(t *testing.T) {
	for _, name := range []string{
		"",
		".",
		"..",
		"a\x00b.txt",
		"a\tb.txt",
		"line\nbreak.txt",
		"cr\r.txt",
		"del\x7f.txt",
		"c1\u0085.txt",
		"c1\u009f.txt",
		"dir/file.txt",
		"../etc/passwd",
		`dir\file.txt`,
		"bad\xffutf8.txt",
		"\xc3",
		strings.Repeat("a", 256),
		strings.Repeat("é", 128),
	} {
		if got, err := signer.AttachmentDisposition(name); err == nil {
			t.Errorf("AttachmentDisposition(%q) = %s, want an error", name, got)
		}
	}
}
