package config_test

import (
	"encoding/json"
	"fmt"
	"reflect"
)

// mismatch returns "" when want and got are deeply equal, and both as JSON otherwise.
func mismatch(want, got any) string {
	if reflect.DeepEqual(want, got) {
		return ""
	}
	w, _ := json.MarshalIndent(want, "", "  ")
	g, _ := json.MarshalIndent(got, "", "  ")
	return fmt.Sprintf("want:\n%s\ngot:\n%s", w, g)
}
