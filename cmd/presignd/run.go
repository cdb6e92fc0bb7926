package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/presignd/presignd/internal/config"
)

// Set at build time with -ldflags "-X main.version=… -X main.revision=…".
var (
	version  = ""
	revision = ""
)

const usage = `presignd hands out S3 pre-signed URLs to authenticated callers.

Usage:
  presignd serve --config FILE [--listen ADDR] [--pprof]
                                                 run the service (PRESIGND_CONFIG is the env form)
  presignd serve --dev [--listen ADDR]           run on the embedded development config
  presignd check-config --config FILE            validate a config file
  presignd hash-token                            read a token on stdin, print its SHA-256
  presignd gen-token                             print a new random token and its SHA-256
  presignd presign s3://BUCKET/KEY [flags]       ask a running presignd for a URL (token in PRESIGND_TOKEN,
                                                 or in the file PRESIGND_TOKEN_FILE names)
  presignd explain --config FILE --client NAME s3://BUCKET/KEY [flags]
                                                 policy dry run: the grant that allows it and the TTL, or why not
                                                 (--subject and --claim fill a caller's placeholders)
  presignd version                               print version, revision and Go version

Run "presignd COMMAND --help" for a command's flags.
`

// errUsage marks a command line that could not be parsed; flag already said why.
var errUsage = errors.New("usage")

// run is presignd's whole command line. It reads the environment only through getenv.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[1], args[2:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, rest, getenv, stderr)
	case "check-config":
		err = checkConfig(rest, getenv, stdout, stderr)
	case "hash-token":
		err = hashToken(rest, stdin, stdout, stderr)
	case "gen-token":
		err = genToken(rest, stdout, stderr)
	case "presign":
		err = presignCommand(ctx, rest, getenv, stdout, stderr)
	case "explain":
		err = explainCommand(rest, getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintf(stdout, "presignd %s (revision %s, %s)\n", buildVersion(), buildRevision(), runtime.Version())
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "presignd: unknown command %q; run presignd help for the list.\n", cmd)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintf(stderr, "presignd %s: %s\n", cmd, sentence(err.Error()))
		return 1
	}
}

// errReported means the command already printed what went wrong.
var errReported = errors.New("reported")

// sentence ends a message with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, ":") || strings.Contains(s, "\n") {
		return s
	}
	return s + "."
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("presignd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}

func checkConfig(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("check-config", stderr)
	path := fs.String("config", getenv("PRESIGND_CONFIG"), "config `file` to check (env PRESIGND_CONFIG)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" {
		return errors.New("no config file given; pass --config FILE")
	}
	cfg, err := config.Load(*path)
	var probs *config.Problems
	if errors.As(err, &probs) {
		for _, p := range probs.List {
			fmt.Fprintf(stderr, "%s: %s\n", *path, p)
		}
		fmt.Fprintf(stderr, "presignd check-config: %s has %d problem(s).\n", *path, len(probs.List))
		return errReported
	}
	if err != nil {
		return err
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(stderr, "%s: warning: %s\n", *path, w)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

func hashToken(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("hash-token", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("cannot read the token from standard input: %w", err)
	}
	token := strings.TrimRight(line, "\r\n")
	if strings.TrimSpace(token) == "" {
		return errors.New("no token on standard input; pipe one in, e.g. echo -n TOKEN | presignd hash-token")
	}
	if token != strings.TrimSpace(token) || strings.ContainsAny(token, " \t") {
		return errors.New("the token contains white space, which a bearer token cannot carry")
	}
	fmt.Fprintln(stdout, config.HashToken(token))
	return nil
}

func genToken(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("gen-token", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	fmt.Fprintf(stdout, "token: %s\ntoken_sha256: %s\n", token, config.HashToken(token))
	return nil
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func buildRevision() string {
	if revision != "" {
		return revision
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
