package signer

import "fmt"

// S3's limits on multipart uploads.
const (
	// MinPartSize is the smallest size of a part other than the last.
	MinPartSize = 5 << 20
	// MaxPartSize is the largest size of a part.
	MaxPartSize = 5 << 30
	// MaxParts is the largest number of parts, and the highest part number.
	MaxParts = 10000
	// MaxObjectSize is the largest object S3 stores (and a multipart upload can
	// assemble); a single PUT is signed up to it too.
	MaxObjectSize = 5 << 40
)

// MaxPostObjectSize is the largest object a single POST upload may carry (5 GiB).
const MaxPostObjectSize = 5 << 30

// MaxMetadataBytes is S3's limit on an object's user-defined metadata, names and
// values together.
const MaxMetadataBytes = 2048

// partSizeStep is what a chosen part size is rounded up to.
const partSizeStep = 1 << 20

// PartPlan cuts an upload of a known size into parts of a fixed size: every part
// is PartSize bytes but the last, which holds the rest. Each part URL signs its
// part's exact Content-Length, so the parts can never hold more than Size bytes.
//
// The zero PartPlan is an upload of unknown size, whose part URLs bind no size.
type PartPlan struct {
	Size     int64
	PartSize int64
}

// PlanParts plans the parts of an upload of size bytes. partSize 0 picks the smallest
// whole number of MiB, at least MinPartSize, that needs no more than MaxParts parts.
func PlanParts(size, partSize int64) (PartPlan, error) {
	switch {
	case size < MinPartSize || size > MaxObjectSize:
		return PartPlan{}, fmt.Errorf("a multipart upload holds between 5 MiB (%d bytes) and 5 TiB; %d bytes is outside", MinPartSize, size)
	case partSize == 0:
		partSize = max(MinPartSize, ceilDiv(ceilDiv(size, MaxParts), partSizeStep)*partSizeStep)
	case partSize < MinPartSize || partSize > MaxPartSize:
		return PartPlan{}, fmt.Errorf("a part holds between 5 MiB (%d bytes) and 5 GiB (%d bytes); %d bytes is outside", MinPartSize, MaxPartSize, partSize)
	}
	p := PartPlan{Size: size, PartSize: partSize}
	if n := ceilDiv(size, partSize); n > MaxParts {
		return PartPlan{}, fmt.Errorf("%d bytes in parts of %d bytes are %d parts, above S3's limit of %d; parts of at least %d bytes are needed",
			size, partSize, n, MaxParts, ceilDiv(size, MaxParts))
	}
	return p, nil
}

// Bounded reports whether the plan binds the size of each part.
func (p PartPlan) Bounded() bool { return p.PartSize > 0 }

// Count is the number of parts; 0 when the plan is not bounded.
func (p PartPlan) Count() int32 {
	if !p.Bounded() {
		return 0
	}
	return int32(ceilDiv(p.Size, p.PartSize))
}

// PartLength is the exact size of part n (1 to Count), or -1 when the plan is not
// bounded or n is not one of its parts.
func (p PartPlan) PartLength(n int32) int64 {
	if !p.Bounded() || n < 1 || n > p.Count() {
		return -1
	}
	if n < p.Count() {
		return p.PartSize
	}
	return p.Size - int64(n-1)*p.PartSize
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
