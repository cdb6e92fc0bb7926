package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// The matcher. A client's grants are indexed by bucket, then by literal prefix, then
// by method, so that a decision costs the same whatever the number of clients and
// whatever the number of grants that do not cover the key:
//
//	bucket -> prefix -> method -> grants, best first
//
// Prefixes are "" or end in "/", so the only prefixes that can cover a key are ""
// and the key's own slash-terminated starts ("a/" and "a/b/" for "a/b/c"); each is
// one binary search in the bucket's sorted prefixes, and none is looked up past the
// bucket's longest prefix. Under each prefix and method the grants are listed by rank
// (longest max_ttl, then first in the config), so the first whose upload rules pass
// is the best at that prefix.
//
// A client's index is a few flat slices whose strings share one allocation, so that
// a decision touches little memory even when the policy holds many clients.

// methodSlot numbers the grant methods for the index; -1 for anything else.
func methodSlot(m string) int {
	switch m {
	case MethodGet:
		return 0
	case MethodPut:
		return 1
	case MethodHead:
		return 2
	case MethodDelete:
		return 3
	}
	return -1
}

const methodSlots = 4

// clientIndex is a client's grants, indexed. Grants hold literal prefixes only:
// placeholders are expanded before indexing (see compileClient).
type clientIndex struct {
	grants []Grant
	// order lists the grant indexes by rank: longest max_ttl first, then config order.
	order []int32
	// buckets are sorted by name.
	buckets []bucketIndex
	// ranks holds, for each prefix entry and method, the ranks (positions in order)
	// of the grants that name the prefix and allow the method, ascending.
	ranks []int32
}

// bucketIndex holds the prefixes of one bucket, sorted.
type bucketIndex struct {
	name    string
	maxLen  int // the longest prefix: no longer start of a key is looked up
	entries []prefixEntry
}

// prefixEntry is one prefix named by some grant of the bucket. The ranks of the
// grants allowing method slot m are ranks[start[m]:start[m+1]].
type prefixEntry struct {
	prefix string
	start  [methodSlots + 1]int32
}

// checkPrefix reports a prefix the index cannot hold: one that is neither "" nor
// ends in "/" would match keys across a segment boundary ("uploads" and
// "uploads-evil/x").
func checkPrefix(p string) error {
	if p != "" && !strings.HasSuffix(p, "/") {
		return fmt.Errorf("prefix %q must be \"\" (the whole bucket) or end in \"/\"", p)
	}
	return nil
}

// posting says that the grant of rank rank names prefix in bucket and allows slot.
type posting struct {
	bucket, prefix string
	slot           int
	rank           int32
}

func comparePostings(a, b posting) int {
	if c := strings.Compare(a.bucket, b.bucket); c != 0 {
		return c
	}
	if c := strings.Compare(a.prefix, b.prefix); c != 0 {
		return c
	}
	if c := cmp.Compare(a.slot, b.slot); c != 0 {
		return c
	}
	return cmp.Compare(a.rank, b.rank)
}

// newClientIndex indexes grants whose prefixes are literal (already expanded).
func newClientIndex(grants []Grant) (*clientIndex, error) {
	order, rank := rankByMaxTTL(grants)
	ps, err := postingsOf(grants, rank)
	if err != nil {
		return nil, err
	}

	// One allocation for every bucket name and prefix of the client, one for the
	// order and the ranks, one for the buckets and one for the prefixes, so that a
	// decision touches few places in memory.
	names, buckets, entries := newInterner(ps)
	ints := append(make([]int32, 0, len(order)+len(ps)), order...)
	ix := &clientIndex{
		grants:  grants,
		order:   ints[:len(order):len(order)],
		ranks:   ints[len(order):],
		buckets: make([]bucketIndex, 0, buckets),
	}
	all := make([]prefixEntry, 0, entries)
	for i := 0; i < len(ps); {
		b := bucketIndex{name: names.next(ps[i].bucket)}
		first := len(all)
		for i < len(ps) && ps[i].bucket == b.name {
			e := prefixEntry{prefix: names.next(ps[i].prefix)}
			b.maxLen = max(b.maxLen, len(e.prefix))
			for s := range methodSlots + 1 {
				for i < len(ps) && ps[i].bucket == b.name && ps[i].prefix == e.prefix && ps[i].slot < s {
					if ps[i].slot >= 0 {
						ix.ranks = append(ix.ranks, ps[i].rank)
					}
					i++
				}
				e.start[s] = int32(len(ix.ranks))
			}
			all = append(all, e)
		}
		b.entries = all[first:len(all):len(all)]
		ix.buckets = append(ix.buckets, b)
	}
	return ix, nil
}

// rankByMaxTTL returns the indexes of grants from the longest max TTL to the shortest,
// keeping the config's order among equals, and the rank of each grant in that order.
func rankByMaxTTL(grants []Grant) (order, rank []int32) {
	order = make([]int32, len(grants))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		return cmp.Compare(grants[b].MaxTTL, grants[a].MaxTTL)
	})
	rank = make([]int32, len(grants))
	for r, gi := range order {
		rank[gi] = int32(r)
	}
	return order, rank
}

// postingsOf returns the postings of grants, sorted and without duplicates.
func postingsOf(grants []Grant, rank []int32) ([]posting, error) {
	var ps []posting
	for gi := range grants {
		g := &grants[gi]
		for _, p := range g.Prefixes {
			if err := checkPrefix(p); err != nil {
				return nil, fmt.Errorf("grants[%d]: %w", gi, err)
			}
			named := false
			for _, m := range g.Methods {
				if s := methodSlot(m); s >= 0 {
					ps = append(ps, posting{bucket: g.Bucket, prefix: p, slot: s, rank: rank[gi]})
					named = true
				}
			}
			if !named {
				// A grant without a known method still covers its prefixes.
				ps = append(ps, posting{bucket: g.Bucket, prefix: p, slot: -1})
			}
		}
	}
	slices.SortFunc(ps, comparePostings)
	return slices.Compact(ps), nil // a prefix or method a grant names twice
}

// interner hands out the distinct bucket names and prefixes of sorted postings, in
// their order, as pieces of one string.
type interner struct {
	text string
	off  int
}

// newInterner returns the interner of ps, with the number of distinct buckets and of
// distinct (bucket, prefix) pairs in ps.
func newInterner(ps []posting) (in *interner, buckets, entries int) {
	var arena strings.Builder
	for i, p := range ps {
		if i == 0 || p.bucket != ps[i-1].bucket {
			arena.WriteString(p.bucket)
			buckets++
		}
		if i == 0 || p.bucket != ps[i-1].bucket || p.prefix != ps[i-1].prefix {
			arena.WriteString(p.prefix)
			entries++
		}
	}
	return &interner{text: arena.String()}, buckets, entries
}

// next returns s from the arena; s must be the next name or prefix in order.
func (in *interner) next(s string) string {
	s = in.text[in.off : in.off+len(s)]
	in.off += len(s)
	return s
}

// bucket returns the index of a bucket, or nil when no grant names it.
func (ix *clientIndex) bucket(name string) *bucketIndex {
	lo, hi := 0, len(ix.buckets)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ix.buckets[mid].name < name {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(ix.buckets) && ix.buckets[lo].name == name {
		return &ix.buckets[lo]
	}
	return nil
}

// entry returns the entry of a prefix, or nil when no grant names it.
func (b *bucketIndex) entry(prefix string) *prefixEntry {
	lo, hi := 0, len(b.entries)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if b.entries[mid].prefix < prefix {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(b.entries) && b.entries[lo].prefix == prefix {
		return &b.entries[lo]
	}
	return nil
}

// match finds the grant that allows req and the longest of its prefixes that covers
// the key. When several grants allow it, the one with the longest max_ttl wins, then
// the first in the config. When none does, the error names the furthest stage any
// grant reached: bucket, prefix, method, then upload rules (those of the first grant
// in the config that reached them).
func (ix *clientIndex) match(req Request) (int, string, error) {
	b := ix.bucket(req.Bucket)
	if b == nil {
		return -1, "", &DeniedError{Reason: ReasonBucketNotAllowed, Detail: fmt.Sprintf("no grant allows bucket %q", req.Bucket)}
	}
	slot := methodSlot(req.Method)
	if slot < 0 {
		return -1, "", &InvalidError{Field: FieldMethod, Detail: fmt.Sprintf("method %q is not one of GET, PUT, HEAD, DELETE", req.Method)}
	}
	const none = int32(-1)
	best, bestPrefix := none, ""
	uploadGrant, uploadErr := -1, (*DeniedError)(nil)
	coversKey := false
	// Covering prefixes shortest first: "", then each slash-terminated start of the key.
	end := 0
	for {
		prefix := req.Key[:end]
		if e := b.entry(prefix); e != nil {
			coversKey = true
			for _, r := range ix.ranks[e.start[slot]:e.start[slot+1]] {
				if best != none && r >= best {
					if r == best {
						// The same grant under a longer prefix: report the longer one.
						bestPrefix = prefix
					}
					break // the rest rank lower
				}
				if req.Method == MethodPut {
					gi := int(ix.order[r])
					if err := checkUpload(&ix.grants[gi], req); err != nil {
						if uploadGrant < 0 || gi < uploadGrant {
							uploadGrant, uploadErr = gi, err
						}
						continue
					}
				}
				best, bestPrefix = r, prefix
				break
			}
		}
		i := strings.IndexByte(req.Key[end:], '/')
		if i < 0 || end+i+1 > b.maxLen {
			break
		}
		end += i + 1
	}
	switch {
	case best != none:
		return int(ix.order[best]), bestPrefix, nil
	case uploadErr != nil:
		return -1, "", uploadErr
	case coversKey:
		return -1, "", &DeniedError{Reason: ReasonMethodNotAllowed, Detail: fmt.Sprintf("method %s is not allowed for this key", req.Method)}
	default:
		return -1, "", &DeniedError{Reason: ReasonPrefixNotAllowed, Detail: fmt.Sprintf("no grant on bucket %q covers this key", req.Bucket)}
	}
}
