package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/presignd/presignd/internal/api"
	"github.com/presignd/presignd/internal/config"
	"github.com/presignd/presignd/internal/policy"
)

// explainCommand is a policy dry run: which grant allows a request and for how long,
// or exactly why it is denied. Nothing is signed and no credentials are read, so the
// credentials cap is not applied. It exits 0 when allowed and 1 when denied.
func explainCommand(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("explain", stderr)
	path := fs.String("config", getenv("PRESIGND_CONFIG"), "config `file` (env PRESIGND_CONFIG)")
	client := fs.String("client", "", "client `name` to explain for")
	method := fs.String("http-method", "GET", "HTTP `method`: GET, PUT, HEAD or DELETE")
	expires := fs.Int64("expires-in", api.DefaultExpiresIn, "requested lifetime in `seconds`")
	strict := fs.Bool("strict-ttl", false, "refuse instead of capping the lifetime")
	contentType := fs.String("content-type", "", "declared content `type` of an upload")
	contentLength := fs.Int64("content-length", -1, "declared size of an upload in `bytes`")
	asJSON := fs.Bool("json", false, "print the decision as JSON")
	subject := fs.String("subject", "", "the caller's `subject` for {subject} in prefixes (a JWT sub, certificate SAN or proxy user)")
	claims := claimFlags{}
	fs.Var(claims, "claim", "a string claim of the caller's JWT for {claims.NAME} in prefixes, as `NAME=VALUE` (repeatable)")
	bucket, key, err := parseS3Target(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *path == "":
		return errors.New("no config file given; pass --config FILE")
	case *client == "":
		return errors.New("no client given; pass --client NAME")
	}
	in := api.ExplainRequest{
		Bucket: bucket, Key: key, Method: *method, ExpiresIn: *expires, StrictTTL: *strict, ContentType: *contentType,
	}
	if *contentLength != -1 {
		in.ContentLength = contentLength
	}
	req, err := in.PolicyRequest()
	if err != nil {
		// The API's words, with the command line's names for its fields.
		return errors.New(flagNames.Replace(api.ErrorDetail(err)))
	}
	cfg, err := config.Load(*path)
	if err != nil {
		return err
	}
	pol, err := cfg.Policy()
	if err != nil {
		return err
	}
	index := slices.IndexFunc(cfg.Clients, func(c config.Client) bool { return c.Name == *client })
	if index < 0 {
		return fmt.Errorf("%s has no client named %q", *path, *client)
	}
	var caller policy.Attributes
	if *subject != "" || len(claims) > 0 {
		caller = policy.Attributes{}
		if *subject != "" {
			caller[policy.AttrSubject] = *subject
		}
		for name, v := range claims {
			caller[policy.AttrClaimPrefix+name] = v
		}
	}
	ex := api.Explain(pol, *client, req, policy.Env{Now: time.Now(), Caller: caller})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(ex); err != nil {
			return err
		}
	} else {
		printExplanation(stdout, ex, req, index)
	}
	if !ex.Allowed {
		return errReported
	}
	return nil
}

// claimFlags collects --claim NAME=VALUE.
type claimFlags map[string]string

func (c claimFlags) String() string { return "" }

func (c claimFlags) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" || !policy.CallerAttribute(policy.AttrClaimPrefix+name) {
		return fmt.Errorf("%q is not NAME=VALUE with a claim name of letters, digits, '_' and '-'", v)
	}
	c[name] = value
	return nil
}

// flagNames turns the API's field names in an error into the explain flags.
var flagNames = strings.NewReplacer(
	"field content_type", "--content-type",
	"field content_length", "--content-length",
	"expires_in", "--expires-in",
	"field method", "--http-method",
)

// printExplanation writes the explanation for people; client is the client's index
// in the config, for the grant's path.
func printExplanation(w io.Writer, ex api.Explanation, req policy.Request, client int) {
	target := fmt.Sprintf("%s s3://%s/%s for client %s", req.Method, req.Bucket, req.Key, ex.Client)
	if ex.Grant != nil {
		g := ex.Grant
		defer fmt.Fprintf(w, "grant:      clients[%d].grants[%d] (bucket %s, prefix %q, methods %s, max_ttl %ds)\n",
			client, g.Index, g.Bucket, g.Prefix, strings.Join(g.Methods, ", "), g.MaxTTL)
	}
	if !ex.Allowed {
		why := ex.Code
		if ex.Reason != "" {
			why = ex.Reason
		}
		fmt.Fprintf(w, "denied:     %s\nreason:     %s\ndetail:     %s\n", target, why, ex.Detail)
		return
	}
	fmt.Fprintf(w, "allowed:    %s\nexpires_in: %ds (requested %ds)\n", target, ex.ExpiresIn, req.TTL)
	if ex.CappedBy != "" {
		fmt.Fprintf(w, "capped_by:  %s\n", ex.CappedBy)
	}
}

// parseS3Target parses flags around one s3://BUCKET/KEY argument, which may come
// before, between or after the flags, as in aws s3 presign.
func parseS3Target(fs *flag.FlagSet, args []string) (bucket, key string, err error) {
	var targets []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return "", "", err
		}
		if fs.NArg() == 0 {
			break
		}
		targets = append(targets, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(targets) != 1 {
		return "", "", errors.New("give exactly one s3://BUCKET/KEY")
	}
	target := targets[0]
	bucket, key, ok := strings.Cut(strings.TrimPrefix(target, "s3://"), "/")
	if !strings.HasPrefix(target, "s3://") || !ok || bucket == "" || key == "" {
		return "", "", fmt.Errorf("%q is not of the form s3://BUCKET/KEY", target)
	}
	return bucket, key, nil
}
