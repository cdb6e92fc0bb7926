package policy

// MaxCallers is the number of per-caller indexes a Policy keeps.
const MaxCallers = maxCallers

// CachedCallers is the number of per-caller indexes p holds.
func CachedCallers(p *Policy) int {
	p.callers.mu.RLock()
	defer p.callers.mu.RUnlock()
	return len(p.callers.m)
}
