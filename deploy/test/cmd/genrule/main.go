// Command genrule writes deploy/base/prometheusrule.yaml from
// deploy/monitoring/presignd.rules.yml. Run it from deploy/test:
//
//	go run ./cmd/genrule
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/presignd/presignd/deploy/test/internal/rulegen"
)

func main() {
	in := flag.String("rules", "../monitoring/presignd.rules.yml", "Prometheus rule `file` to read")
	out := flag.String("out", "../base/prometheusrule.yaml", "PrometheusRule `file` to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintf(os.Stderr, "genrule: %s\n", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	b, err := rulegen.Generate(src)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return os.WriteFile(out, b, 0o644)
}
