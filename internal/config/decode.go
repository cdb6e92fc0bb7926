package config

import (
	"encoding"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// checkTree walks the YAML tree beside the Config type. It reports every unknown or
// duplicate key and every value that cannot be decoded into its field, each with its
// path, and takes them out of the tree so that the rest decodes and validates. It
// returns the paths of the values it took out.
func checkTree(doc *yaml.Node, p *Problems) []string {
	var bad []string
	checkNode(doc, reflect.TypeFor[Config](), "", p, &bad)
	return bad
}

var durationType = reflect.TypeFor[Duration]()

// checkNode checks n against t and reports false when n cannot be decoded into t; the
// caller then replaces it with null.
func checkNode(n *yaml.Node, t reflect.Type, path string, p *Problems, bad *[]string) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return true
		}
		n = n.Alias
	}
	if isNull(n) {
		return true
	}
	reject := func(why string) bool {
		p.add(path, "%s (line %d)", why, n.Line)
		*bad = append(*bad, path)
		return false
	}
	switch {
	case t == durationType:
		if n.Kind != yaml.ScalarNode {
			return reject("must be a duration such as 90m, 24h or 7d")
		}
		if _, err := ParseDuration(n.Value); err != nil {
			return reject(err.Error())
		}
		return true
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return reject("must be a mapping")
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); tag != "" && tag != "-" {
				fields[tag] = f.Type
			}
		}
		checkMapping(n, path, p, bad, func(k string) (reflect.Type, bool) {
			ft, ok := fields[k]
			return ft, ok
		})
		return true
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			return reject("must be a mapping")
		}
		checkMapping(n, path, p, bad, func(string) (reflect.Type, bool) { return t.Elem(), true })
		return true
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return reject("must be a list")
		}
		for i, item := range n.Content {
			if !checkNode(item, t.Elem(), path+"["+strconv.Itoa(i)+"]", p, bad) {
				// Replaced, not removed, so that later items keep their index.
				n.Content[i] = nullNode(item)
			}
		}
		return true
	default:
		if n.Kind != yaml.ScalarNode {
			return reject(kindMessage(t))
		}
		if isInt(t) && n.ShortTag() != "!!int" {
			// yaml.v3 would truncate 1.5 to 1 without a word.
			return reject(kindMessage(t))
		}
		if !scalarDecodes(n, t) {
			return reject(kindMessage(t))
		}
		return true
	}
}

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

// scalarDecodes reports whether the scalar n decodes into a value of type t. A plain
// string into a string field (most of a large config) always does, unless the type
// decodes itself; anything else is decoded for real, which costs a decoder each time.
func scalarDecodes(n *yaml.Node, t reflect.Type) bool {
	if t.Kind() == reflect.String && n.ShortTag() == "!!str" {
		pt := reflect.PointerTo(t)
		if _, custom := pt.MethodByName("UnmarshalYAML"); !custom && !pt.Implements(textUnmarshalerType) {
			return true
		}
	}
	return n.Decode(reflect.New(t).Interface()) == nil
}

// checkMapping checks the pairs of a mapping node. fieldType says what a key's
// value must be, or that the key is unknown.
func checkMapping(n *yaml.Node, path string, p *Problems, bad *[]string, fieldType func(string) (reflect.Type, bool)) {
	seen := map[string]int{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.add(path, "keys must be plain names (line %d)", k.Line)
			*bad = append(*bad, path)
			continue
		}
		kp := join(path, k.Value)
		if line, dup := seen[k.Value]; dup {
			p.add(kp, "duplicate key (lines %d and %d)", line, k.Line)
			continue
		}
		seen[k.Value] = k.Line
		ft, ok := fieldType(k.Value)
		if !ok {
			p.add(kp, "unknown key (line %d)", k.Line)
			continue
		}
		if !checkNode(v, ft, kp, p, bad) {
			v = nullNode(v)
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
}

func isInt(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func kindMessage(t reflect.Type) string {
	switch {
	case t.Kind() == reflect.Bool:
		return "must be true or false"
	case isInt(t):
		return "must be a whole number"
	case t.Kind() == reflect.Float32 || t.Kind() == reflect.Float64:
		return "must be a number"
	case t.Kind() == reflect.String:
		return "must be a string"
	default:
		return "has the wrong type"
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func nullNode(at *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: at.Line, Column: at.Column}
}

// under reports whether the problem msg ("path: message") is about one of the paths
// in bad or something inside it.
func under(msg string, bad []string) bool {
	path, _, _ := strings.Cut(msg, ": ")
	for _, b := range bad {
		if path == b || strings.HasPrefix(path, b+".") || strings.HasPrefix(path, b+"[") {
			return true
		}
	}
	return false
}
