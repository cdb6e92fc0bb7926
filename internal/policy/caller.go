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

// attributes gathers the client's and the caller's attributes its templates name. A
// missing or unusable caller value is a DeniedError naming the attribute, never its
// value's bytes beyond what the caller sent.
func (tc *templatedClient) attributes(caller Attributes) (Attributes, error) {
	attrs := Attributes{AttrClient: tc.name}
	for _, n := range tc.names {
		v, ok := caller[n]
		if !ok {
			what := "has no subject"
			if claim, isClaim := strings.CutPrefix(n, AttrClaimPrefix); isClaim {
				what = fmt.Sprintf("has no string claim %q", claim)
			}
			return nil, &DeniedError{Reason: ReasonIdentityNotUsable,
				Detail: fmt.Sprintf("this client's prefixes name {%s}, and the caller's identity %s", n, what)}
		}
		if err := CheckSegment(v); err != nil {
			return nil, &DeniedError{Reason: ReasonIdentityNotUsable,
				Detail: fmt.Sprintf("the caller's {%s} cannot stand as one key segment in a prefix: it %v", n, err)}
		}
		attrs[n] = v
	}
	return attrs, nil
}

// maxCallers bounds the cache of per-caller indexes; when full it starts again.
const maxCallers = 4096

// callerCache holds the indexes compiled for callers, by client and attribute values.
type callerCache struct {
	mu sync.RWMutex
	m  map[string]*clientIndex
}

// forCaller returns tc's index for the caller's attribute values.
func (p *Policy) forCaller(tc *templatedClient, caller Attributes) (*clientIndex, error) {
	attrs, err := tc.attributes(caller)
	if err != nil {
		return nil, err
	}
	// Values hold no control character (CheckSegment), so NUL separates them.
	var b strings.Builder
	b.WriteString(tc.name)
	for _, n := range tc.names {
		b.WriteByte(0)
		b.WriteString(attrs[n])
	}
	key := b.String()
	p.callers.mu.RLock()
	ix := p.callers.m[key]
	p.callers.mu.RUnlock()
	if ix != nil {
		return ix, nil
	}
	ix, err = compileClient(tc.grants, attrs)
	if err != nil {
		// The templates compiled with stand-in values in New; a caller's value that is
		// one key segment cannot break them.
		return nil, &DeniedError{Reason: ReasonIdentityNotUsable, Detail: "the caller's identity does not fit this client's prefixes"}
	}
	p.callers.mu.Lock()
	if p.callers.m == nil || len(p.callers.m) >= maxCallers {
		p.callers.m = make(map[string]*clientIndex)
	}
	p.callers.m[key] = ix
	p.callers.mu.Unlock()
	return ix, nil
}

// ClientFor returns a client's grants with every placeholder expanded for the caller:
// what the caller may have. The error is the DeniedError Decide would give.
func (p *Policy) ClientFor(name string, caller Attributes) (Client, error) {
	c, ok := p.clients[name]
	if !ok {
		return Client{}, &DeniedError{Reason: ReasonBucketNotAllowed, Detail: fmt.Sprintf("no client %q", name)}
	}
	if tc := p.templated[name]; tc != nil {
		ix, err := p.forCaller(tc, caller)
		if err != nil {
			return Client{}, err
		}
		return Client{Name: name, Grants: ix.grants}, nil
	}
	return Client{Name: name, Grants: c.grants}, nil
}
