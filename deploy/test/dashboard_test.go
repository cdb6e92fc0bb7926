package deploytest

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// dashboard is the part of Grafana's dashboard JSON the tests read.
type dashboard struct {
	Title      string  `json:"title"`
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []templateVar `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int         `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	GridPos    struct {
		H, W, X, Y int
	} `json:"gridPos"`
	Targets []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type templateVar struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Datasource *datasource     `json:"datasource"`
}

// queryString is a query variable's query, in either of Grafana's forms.
func (v templateVar) queryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(deployPath(t, "monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("grafana-dashboard.json: %v", err)
	}
	return d
}

// panels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// panelQuery is one PromQL query of the dashboard.
type panelQuery struct {
	Panel, RefID, Expr string
}

func (d dashboard) queries() []panelQuery {
	var out []panelQuery
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			out = append(out, panelQuery{Panel: p.Title, RefID: tg.RefID, Expr: tg.Expr})
		}
	}
	return out
}

// labelValuesRE matches a query variable's label_values(selector, label).
var labelValuesRE = regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// grafanaExpand substitutes what Grafana substitutes before a query reaches
// Prometheus: its interval variables, and each template variable with the value
// "All" sends (its allValue). Anything left that looks like a variable is an error.
func (d dashboard) grafanaExpand(expr string) (string, error) {
	vals := map[string]string{"__rate_interval": "1m", "__interval": "15s", "__range": "1h"}
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			vals[v.Name] = v.AllValue
		}
	}
	names := make([]string, 0, len(vals))
	for n := range vals {
		names = append(names, n)
	}
	// Longest first, so that $__rate_interval is not read as $__r... of a shorter name.
	sort.Slice(names, func(i, j int) bool { return len(names[i]) > len(names[j]) })
	var pairs []string
	for _, n := range names {
		pairs = append(pairs, "${"+n+"}", vals[n], "[["+n+"]]", vals[n], "$"+n, vals[n])
	}
	out := strings.NewReplacer(pairs...).Replace(expr)
	if strings.Contains(out, "$") || strings.Contains(out, "[[") {
		return "", fmt.Errorf("%q: unknown variable left after substitution: %q", expr, out)
	}
	return out, nil
}

// TestDashboard checks the dashboard's structure: layout, data source, variables,
// and that it covers what the brief of the dashboard asks for.
func TestDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard needs a uid and a title")
	}
	vars := map[string]templateVar{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v
	}
	if vars["datasource"].Type != "datasource" {
		t.Error("no datasource variable: the dashboard would be tied to one Prometheus")
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		if v.IncludeAll && v.AllValue != ".*" {
			t.Errorf("variable %s: allValue %q, want \".*\" (an All of no values would match nothing)", v.Name, v.AllValue)
		}
		if !labelValuesRE.MatchString(v.queryString()) {
			t.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, v.queryString())
		}
		if v.Datasource == nil || v.Datasource.UID != "${datasource}" {
			t.Errorf("variable %s does not use the datasource variable", v.Name)
		}
	}

	ids := map[int]bool{}
	for _, p := range d.allPanels() {
		if ids[p.ID] {
			t.Errorf("panel id %d is used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W < 1 || p.GridPos.X < 0 || p.GridPos.X+p.GridPos.W > 24 || p.GridPos.H < 1 {
			t.Errorf("panel %q: gridPos %+v is off the 24-column grid", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if tg.Expr == "" || tg.RefID == "" || refs[tg.RefID] {
				t.Errorf("panel %q: query %q with refId %q", p.Title, tg.Expr, tg.RefID)
			}
			refs[tg.RefID] = true
			if _, err := d.grafanaExpand(tg.Expr); err != nil {
				t.Errorf("panel %q: %v", p.Title, err)
			}
		}
	}

	all := ""
	for _, q := range d.queries() {
		all += q.Expr + "\n"
	}
	for _, want := range []string{
		"sum by (outcome) (rate(presignd_presign_requests_total",
		"sum by (client, outcome) (rate(presignd_presign_requests_total",
		"histogram_quantile(0.99, sum by (le) (rate(presignd_presign_duration_seconds_bucket",
		"histogram_quantile(0.99, sum by (le, route) (rate(presignd_http_request_duration_seconds_bucket",
		"sum by (cause) (rate(presignd_ttl_capped_total",
		"presignd_credentials_expiry_timestamp_seconds",
		"sum by (reason) (rate(presignd_auth_failures_total",
		`outcome="rate_limited"`,
		"presignd_build_info",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no dashboard query contains %q", want)
		}
	}

	// Recording rules the dashboard reads must exist.
	recorded := map[string]bool{}
	for _, r := range readRules(t) {
		if r.Record != "" {
			recorded[r.Record] = true
		}
	}
	for _, name := range regexp.MustCompile(`presignd:[a-z0-9_:]+`).FindAllString(all, -1) {
		if !recorded[name] {
			t.Errorf("the dashboard reads %s, which no recording rule records", name)
		}
	}
}
