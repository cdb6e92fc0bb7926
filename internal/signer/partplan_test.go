package signer_test

import (
	"strings"
	"testing"

	"github.com/presignd/presignd/internal/signer"
)

const mib = 1 << 20

func TestPlanParts(t *testing.T) {
	tests := []struct {
		name          string
		size, asked   int64
		wantPartSize  int64
		wantCount     int32
		wantLastBytes int64
		wantErr       string
	}{
		{name: "the smallest upload, one part", size: 5 * mib, wantPartSize: 5 * mib, wantCount: 1, wantLastBytes: 5 * mib},
		{name: "a short last part", size: 6*mib + 321, wantPartSize: 5 * mib, wantCount: 2, wantLastBytes: mib + 321},
		{name: "10000 parts of 5 MiB exactly", size: 10000 * 5 * mib, wantPartSize: 5 * mib, wantCount: 10000, wantLastBytes: 5 * mib},
		{name: "one byte more takes a MiB more per part", size: 10000*5*mib + 1, wantPartSize: 6 * mib, wantCount: 8334, wantLastBytes: 10000*5*mib + 1 - 8333*6*mib},
		{name: "the largest object", size: signer.MaxObjectSize, wantPartSize: 525 * mib, wantCount: 9987, wantLastBytes: signer.MaxObjectSize - 9986*525*mib},
		{name: "a part size asked for", size: 100 * mib, asked: 8 * mib, wantPartSize: 8 * mib, wantCount: 13, wantLastBytes: 4 * mib},
		{name: "a part size that is no whole MiB", size: 20 * mib, asked: 5*mib + 1, wantPartSize: 5*mib + 1, wantCount: 4, wantLastBytes: 20*mib - 3*(5*mib+1)},
		{name: "the largest part", size: signer.MaxPartSize, asked: signer.MaxPartSize, wantPartSize: signer.MaxPartSize, wantCount: 1, wantLastBytes: signer.MaxPartSize},
		{name: "below 5 MiB", size: 5*mib - 1, wantErr: "between 5 MiB"},
		{name: "nothing", size: 0, wantErr: "between 5 MiB"},
		{name: "above 5 TiB", size: signer.MaxObjectSize + 1, wantErr: "5 TiB"},
		{name: "a part size below 5 MiB", size: 20 * mib, asked: 5*mib - 1, wantErr: "a part holds between"},
		{name: "a part size above 5 GiB", size: 20 * mib, asked: signer.MaxPartSize + 1, wantErr: "a part holds between"},
		{name: "a part size that needs too many parts", size: 100 << 30, asked: 5 * mib, wantErr: "20480 parts, above S3's limit of 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := signer.PlanParts(tt.size, tt.asked)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("PlanParts(%d, %d): got %+v, %v; want an error containing %q", tt.size, tt.asked, p, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PlanParts(%d, %d): %v", tt.size, tt.asked, err)
			}
			if p.PartSize != tt.wantPartSize || p.Count() != tt.wantCount || p.PartLength(p.Count()) != tt.wantLastBytes {
				t.Errorf("got part size %d, %d parts, last %d bytes; want %d, %d, %d",
					p.PartSize, p.Count(), p.PartLength(p.Count()), tt.wantPartSize, tt.wantCount, tt.wantLastBytes)
			}
			checkPlan(t, p)
		})
	}
}

func TestPartPlanUnbounded(t *testing.T) {
	var p signer.PartPlan
	if p.Bounded() || p.Count() != 0 || p.PartLength(1) != -1 {
		t.Errorf("the zero plan: got bounded %t, %d parts, part 1 of %d bytes; want unbounded, 0, -1", p.Bounded(), p.Count(), p.PartLength(1))
	}
}

// checkPlan holds a plan to its invariants: the parts add up to the size exactly,
// each but the last is PartSize, none is empty, and S3's limits hold.
func checkPlan(t testing.TB, p signer.PartPlan) {
	t.Helper()
	n := p.Count()
	if n < 1 || n > signer.MaxParts || p.PartSize < signer.MinPartSize || p.PartSize > signer.MaxPartSize {
		t.Fatalf("plan %+v: %d parts; S3's limits are broken", p, n)
	}
	last := p.PartLength(n)
	if last < 1 || last > p.PartSize {
		t.Fatalf("plan %+v: last part %d bytes", p, last)
	}
	if p.PartLength(1) != min(p.PartSize, p.Size) || p.PartLength(n-1) != p.PartSize && n > 1 {
		t.Fatalf("plan %+v: parts other than the last are not PartSize", p)
	}
	if sum := int64(n-1)*p.PartSize + last; sum != p.Size {
		t.Fatalf("plan %+v: the parts add up to %d, want %d", p, sum, p.Size)
	}
	for _, outside := range []int32{0, -1, n + 1, signer.MaxParts + 1} {
		if got := p.PartLength(outside); got != -1 {
			t.Fatalf("plan %+v: part %d has length %d, want -1", p, outside, got)
		}
	}
}

func FuzzPlanParts(f *testing.F) {
	for _, seed := range [][2]int64{{5 * mib, 0}, {6*mib + 321, 0}, {50000 * mib, 0}, {50000*mib + 1, 0}, {signer.MaxObjectSize, 0},
		{100 * mib, 8 * mib}, {1, 0}, {-1, 0}, {signer.MaxObjectSize + 1, 0}, {signer.MaxObjectSize, signer.MaxPartSize}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, size, asked int64) {
		p, err := signer.PlanParts(size, asked)
		if err != nil {
			if size >= signer.MinPartSize && size <= signer.MaxObjectSize && asked == 0 {
				t.Fatalf("PlanParts(%d, 0) refused a size S3 allows: %v", size, err)
			}
			return
		}
		if p.Size != size || asked != 0 && p.PartSize != asked {
			t.Fatalf("PlanParts(%d, %d) = %+v", size, asked, p)
		}
		if asked == 0 && p.PartSize%mib != 0 {
			t.Fatalf("PlanParts(%d, 0) chose %d bytes, not a whole MiB", size, p.PartSize)
		}
		checkPlan(t, p)
	})
}
