package deploytest

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/presignd/presignd/deploy/test/internal/rulegen"
	"github.com/presignd/presignd/deploy/test/internal/strict"
)

// ruleFile is Prometheus's rule file format, as much of it as the tests read.
type ruleFile struct {
	Groups []struct {
		Name     string `json:"name"`
		Interval string `json:"interval,omitempty"`
		Rules    []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Record      string            `json:"record,omitempty"`
	Alert       string            `json:"alert,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

func rulesPath(t *testing.T) string { return deployPath(t, "monitoring", "presignd.rules.yml") }

func readRules(t *testing.T) []rule {
	t.Helper()
	b, err := os.ReadFile(rulesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var f ruleFile
	if err := strict.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", rulesPath(t), err)
	}
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatal("the rule file has no rules")
	}
	return rules
}

// TestPrometheusRuleUpToDate fails when deploy/base/prometheusrule.yaml is not what
// the generator makes of the rule file.
func TestPrometheusRuleUpToDate(t *testing.T) {
	src, err := os.ReadFile(rulesPath(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := rulegen.Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(deployPath(t, "base", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatal("deploy/base/prometheusrule.yaml is out of date with deploy/monitoring/presignd.rules.yml; run: cd deploy/test && go run ./cmd/genrule")
	}

	// And what kustomize renders carries the same rules.
	r := render(t, "base")
	var n int
	for _, g := range r.PrometheusRule.Spec.Groups {
		n += len(g.Rules)
	}
	if n != len(readRules(t)) {
		t.Errorf("the rendered PrometheusRule has %d rules, the rule file %d", n, len(readRules(t)))
	}
}

// TestRuleConventions checks what promtool does not: every alert has a severity, a
// summary and a description, and every recorded name is level:metric:operations.
func TestRuleConventions(t *testing.T) {
	recordRE := regexp.MustCompile(`^presignd:[a-z0-9_]+:[a-z0-9_]+$`)
	names := map[string]bool{}
	for _, r := range readRules(t) {
		name := r.Alert + r.Record
		if names[name] {
			t.Errorf("%s is defined twice", name)
		}
		names[name] = true
		if r.Record != "" {
			if !recordRE.MatchString(r.Record) {
				t.Errorf("recording rule %s is not named presignd:metric:operations", r.Record)
			}
			continue
		}
		if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) {
			t.Errorf("alert %s: severity %q, want critical, warning or info", r.Alert, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s needs a summary and a description", r.Alert)
		}
		if r.For == "" {
			t.Errorf("alert %s has no for: one bad scrape would page", r.Alert)
		}
	}
}

func promtool(t *testing.T, args ...string) {
	t.Helper()
	bin := lookPath(t, "promtool")
	cmd := exec.Command(bin, args...)
	cmd.Dir = deployPath(t, "monitoring")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("promtool %s:\n%s", strings.Join(args, " "), out)
}

// TestPromtoolCheckRules validates the rule file: syntax, PromQL, templates.
func TestPromtoolCheckRules(t *testing.T) {
	promtool(t, "check", "rules", "presignd.rules.yml")
}

// TestPromtoolTestRules runs the alerts' unit tests.
func TestPromtoolTestRules(t *testing.T) {
	files, err := filepath.Glob(deployPath(t, "monitoring", "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit test files in deploy/monitoring/tests (%v)", err)
	}
	promtool(t, append([]string{"test", "rules"}, files...)...)
}

// ruleTests is promtool's unit test file format, as much of it as the tests read.
type ruleTests struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name          string `json:"name"`
		AlertRuleTest []struct {
			Alertname string `json:"alertname"`
			ExpAlerts []any  `json:"exp_alerts"`
		} `json:"alert_rule_test"`
	} `json:"tests"`
}

// TestEveryAlertIsUnitTested wants, for each alert, a unit test where it fires and
// one where it stays quiet.
func TestEveryAlertIsUnitTested(t *testing.T) {
	files, err := filepath.Glob(deployPath(t, "monitoring", "tests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no unit test files in deploy/monitoring/tests (%v)", err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Lenient: promtool itself checks the whole format.
		var rt ruleTests
		if err := yaml.Unmarshal(b, &rt); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !slices.Contains(rt.RuleFiles, "../presignd.rules.yml") {
			t.Errorf("%s does not test ../presignd.rules.yml", f)
		}
		for _, tc := range rt.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					quiet[a.Alertname] = true
				}
			}
		}
	}
	for _, r := range readRules(t) {
		if r.Alert == "" {
			continue
		}
		if !fires[r.Alert] {
			t.Errorf("no unit test makes %s fire", r.Alert)
		}
		if !quiet[r.Alert] {
			t.Errorf("no unit test checks that %s stays quiet", r.Alert)
		}
	}
}
