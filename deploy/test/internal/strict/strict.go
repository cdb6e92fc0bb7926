// Package strict decodes YAML into Go types the way the Kubernetes API server's strict
// field validation does: field names match case-sensitively, and an unknown field or
// a duplicate key is an error.
package strict

import (
	"errors"
	"fmt"

	"sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Unmarshal decodes one YAML document into v.
//
// encoding/json (and so sigs.k8s.io/yaml.UnmarshalStrict) matches field names without
// regard to case, so "readOnlyRootFileSystem" would fill ReadOnlyRootFilesystem. This
// does not.
func Unmarshal(doc []byte, v any) error {
	j, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return err
	}
	strictErrs, err := json.UnmarshalStrict(j, v, json.DisallowDuplicateFields, json.DisallowUnknownFields)
	if err != nil {
		return err
	}
	if len(strictErrs) > 0 {
		return fmt.Errorf("strict decoding: %w", errors.Join(strictErrs...))
	}
	return nil
}
