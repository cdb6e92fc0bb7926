package rulegen_test

import (
	"strings"
	"testing"

	"github.com/presignd/presignd/deploy/test/internal/rulegen"
)

const ruleFile = `# A heading comment, left out.
groups:
  - name: example
    rules:
      # Kept.
      - alert: Down
        expr: up == 0
        for: 5m
        labels: {severity: critical}
`

func TestGenerate(t *testing.T) {
	got, err := rulegen.Generate([]byte(ruleFile))
	if err != nil {
		t.Fatal(err)
	}
	want := rulegen.Header + `apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: presignd
  labels:
    app.kubernetes.io/name: presignd
spec:
  groups:
    - name: example
      rules:
        # Kept.
        - alert: Down
          expr: up == 0
          for: 5m
          labels: {severity: critical}
`
	if string(got) != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestGenerateRejects(t *testing.T) {
	for name, src := range map[string]string{
		"misspelt field":      strings.Replace(ruleFile, "expr:", "exrp:", 1),
		"field in wrong case": strings.Replace(ruleFile, "labels:", "Labels:", 1),
		"no groups":           "groups: []\n",
		"not YAML":            "groups: [\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := rulegen.Generate([]byte(src)); err == nil {
				t.Errorf("Generate accepted:\n%s", src)
			}
		})
	}
}
