package config

import (
	"fmt"
	"slices"
)

// Warnings lists what is valid but probably not meant: rules that can never apply.
func (c *Config) Warnings() []string {
	var w []string
	for i, cl := range c.Clients {
		for j, g := range cl.Grants {
			path := fmt.Sprintf("clients[%d].grants[%d]", i, j)
			if !slices.Contains(g.Methods, "PUT") {
				if len(g.ContentTypes) > 0 {
					w = append(w, path+".content_types: applies to uploads only, and this grant does not allow PUT")
				}
				if g.MaxContentLength != nil {
					w = append(w, path+".max_content_length: applies to uploads only, and this grant does not allow PUT")
				}
			}
		}
	}
	return w
}
