package policy

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// templatedClient is a client whose prefixes name attributes of the caller.
type templatedClient struct {
	name   string
	grants []Grant
	// names are the caller attributes its templates name, sorted, without repeats:
	// the values a compiled index depends on.
	names []string
}

// newTemplatedClient returns nil for a client whose templates name no caller
// attribute. Otherwise it checks the templates, expanded with stand-in values, as New
// checks any client's, so that a config error is found before the first caller.
func newTemplatedClient(c Client) (*templatedClient, error) {
	seen := map[string]bool{}
	var names []string
	for i, g := range c.Grants {
		for _, pfx := range g.Prefixes {
			ns, err := Names(pfx)
			if err != nil {
				return nil, fmt.Errorf("grants[%d]: %w", i, err)
			}
			for _, n := range ns {
				if CallerAttribute(n) && !seen[n] {
					seen[n] = true
					names = append(names, n)
				}
			}
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	standIn := clientAttributes(c)
	for _, n := range names {
		standIn[n] = "x"
	}
	if _, err := compileClient(c.Grants, standIn); err != nil {
		return nil, err
	}
	return &templatedClient{name: c.Name, grants: c.Grants, names: names}, nil
}

// callerIndex is a templated client's grants compiled for one caller. A prefix whose
// caller attribute is missing, or is not one key segment, is left out: it covers
// nothing for this caller, and can never be widened by the value.
type callerIndex struct {
	ix *clientIndex
	// dropped are the prefixes left out, for the denial of a request under them.
	dropped []droppedPrefix
}

type droppedPrefix struct {
	bucket string
	head   string // the template's text before its first placeholder
	err    *DeniedError
}

// deny is the denial of a request the index refused with err: identity_not_usable
// when a prefix left out for this caller could have covered the key.
func (ci *callerIndex) deny(req Request, err error) error {
	var de *DeniedError
	if !asDenied(err, &de) || de.Reason != ReasonPrefixNotAllowed && de.Reason != ReasonBucketNotAllowed {
		return err
	}
	for _, d := range ci.dropped {
		if d.bucket == req.Bucket && strings.HasPrefix(req.Key, d.head) {
			return d.err
		}
	}
	return err
}

func asDenied(err error, de **DeniedError) bool {
	d, ok := err.(*DeniedError)
	*de = d
	return ok
}

// compile expands tc's templates for the caller's attributes.
func (tc *templatedClient) compile(caller Attributes) (*callerIndex, error) {
	attrs := Attributes{AttrClient: tc.name}
	unusable := map[string]*DeniedError{}
	for _, n := range tc.names {
		if err := callerValue(n, caller); err != nil {
			unusable[n] = err
			continue
		}
		attrs[n] = caller[n]
	}
	ci := &callerIndex{}
	grants := make([]Grant, len(tc.grants))
	for i, g := range tc.grants {
		ng := g
		ng.Prefixes = make([]string, 0, len(g.Prefixes))
		for _, pfx := range g.Prefixes {
			if err := firstUnusable(pfx, unusable); err != nil {
				head, _, _ := strings.Cut(pfx, "{")
				ci.dropped = append(ci.dropped, droppedPrefix{bucket: g.Bucket, head: head, err: err})
				continue
			}
			exp, err := Expand(pfx, attrs)
			if err != nil {
				return nil, fmt.Errorf("grants[%d]: %w", i, err)
			}
			ng.Prefixes = append(ng.Prefixes, exp)
		}
		// A grant left with no prefix covers nothing (it is not the whole bucket).
		grants[i] = ng
	}
	ix, err := newClientIndex(grants)
	if err != nil {
		return nil, err
	}
	ci.ix = ix
	return ci, nil
}

// callerValue says why the caller's attribute n cannot fill a placeholder, or nil.
func callerValue(n string, caller Attributes) *DeniedError {
	v, ok := caller[n]
	if !ok {
		what := "has no subject"
		if claim, isClaim := strings.CutPrefix(n, AttrClaimPrefix); isClaim {
			what = fmt.Sprintf("has no string claim %q", claim)
		}
		return &DeniedError{Reason: ReasonIdentityNotUsable,
			Detail: fmt.Sprintf("the prefix names {%s}, and the caller's identity %s", n, what)}
	}
	if err := CheckSegment(v); err != nil {
		return &DeniedError{Reason: ReasonIdentityNotUsable,
			Detail: fmt.Sprintf("the caller's {%s} cannot stand as one key segment in a prefix: it %v", n, err)}
	}
	return nil
}

// firstUnusable is the error of the first unusable caller attribute template names.
func firstUnusable(template string, unusable map[string]*DeniedError) *DeniedError {
	if len(unusable) == 0 {
		return nil
	}
	names, _ := Names(template)
	for _, n := range names {
		if err := unusable[n]; err != nil {
			return err
		}
	}
	return nil
}

// maxCallers bounds the cache of per-caller indexes; when full it starts again.
const maxCallers = 4096

// callerCache holds the indexes compiled for callers, by client and attribute values.
type callerCache struct {
	mu sync.RWMutex
	m  map[string]*callerIndex
}

// forCaller returns tc's index for the caller's attribute values.
func (p *Policy) forCaller(tc *templatedClient, caller Attributes) (*callerIndex, error) {
	// The key holds each value the index depends on, or why it is unusable. Usable
	// values hold no control character (CheckSegment), so NUL separates them.
	var b strings.Builder
	b.WriteString(tc.name)
	for _, n := range tc.names {
		b.WriteByte(0)
		if err := callerValue(n, caller); err != nil {
			b.WriteByte(1)
			b.WriteString(err.Detail)
			continue
		}
		b.WriteString(caller[n])
	}
	key := b.String()
	p.callers.mu.RLock()
	ci := p.callers.m[key]
	p.callers.mu.RUnlock()
	if ci != nil {
		return ci, nil
	}
	ci, err := tc.compile(caller)
	if err != nil {
		return nil, err
	}
	p.callers.mu.Lock()
	if p.callers.m == nil || len(p.callers.m) >= maxCallers {
		p.callers.m = make(map[string]*callerIndex)
	}
	p.callers.m[key] = ci
	p.callers.mu.Unlock()
	return ci, nil
}

// ClientFor returns a client's grants with every placeholder expanded for the caller:
// what the caller may have. A prefix the caller's identity cannot fill is left out.
func (p *Policy) ClientFor(name string, caller Attributes) (Client, error) {
	c, ok := p.clients[name]
	if !ok {
		return Client{}, &DeniedError{Reason: ReasonBucketNotAllowed, Detail: fmt.Sprintf("no client %q", name)}
	}
	if tc := p.templated[name]; tc != nil {
		ci, err := p.forCaller(tc, caller)
		if err != nil {
			return Client{}, err
		}
		return Client{Name: name, Grants: ci.ix.grants}, nil
	}
	return Client{Name: name, Grants: c.grants}, nil
}
