package deploytest

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	// presigndAudience is the audience of the tokens callers present to presignd.
	presigndAudience = "presignd"
	// minTokenSeconds is the shortest lifetime the API server accepts for a projected
	// token; the kubelet renews a token at 80% of its lifetime.
	minTokenSeconds = 600
	// callerServer is the app kustomization whose presignd the example caller calls.
	callerServer = "overlays/dev"
)

// identityConfig is the part of presignd's config that maps callers to clients.
type identityConfig struct {
	Identity struct {
		Issuers []struct {
			Name      string   `json:"name"`
			Issuer    string   `json:"issuer"`
			Audiences []string `json:"audiences"`
		} `json:"issuers"`
	} `json:"identity"`
	Clients []struct {
		Name  string `json:"name"`
		Match []struct {
			Issuer  string            `json:"issuer"`
			Subject string            `json:"subject"`
			Claims  map[string]string `json:"claims"`
		} `json:"match"`
	} `json:"clients"`
}

// callerProblems lists what keeps the rendered caller kustomization (objs) from
// calling the presignd of server with a projected service-account token: the token
// volume, its mount and PRESIGND_TOKEN_FILE, the pod's security context, the
// namespace the NetworkPolicy must admit, and the client server's config maps the
// service account to.
func callerProblems(objs []runtime.Object, server *rendered, config string) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	var (
		namespaces []*corev1.Namespace
		accounts   []*corev1.ServiceAccount
		deploys    []*appsv1.Deployment
	)
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Namespace:
			namespaces = append(namespaces, v)
		case *corev1.ServiceAccount:
			accounts = append(accounts, v)
		case *appsv1.Deployment:
			deploys = append(deploys, v)
		default:
			bad("the caller renders an unexpected %T", o)
		}
	}
	if len(namespaces) != 1 || len(accounts) != 1 || len(deploys) != 1 {
		bad("the caller renders %d Namespaces, %d ServiceAccounts and %d Deployments; want one of each", len(namespaces), len(accounts), len(deploys))
		return p
	}
	ns, sa, d := namespaces[0], accounts[0], deploys[0]
	pod := d.Spec.Template.Spec

	// Where it runs: a namespace presignd's NetworkPolicy admits, under the restricted
	// Pod Security Standard.
	if d.Namespace == "" || ns.Name != d.Namespace || sa.Namespace != d.Namespace {
		bad("the Namespace %q, ServiceAccount namespace %q and Deployment namespace %q differ", ns.Name, sa.Namespace, d.Namespace)
	}
	nsLabels := labels.Merge(labels.Set(ns.Labels), labels.Set{"kubernetes.io/metadata.name": ns.Name})
	if !allowedBy(server.NetworkPolicy, nsLabels, "http") {
		bad("presignd's NetworkPolicy does not let namespace %s (labels %v) reach the API; label it %s: \"true\"", ns.Name, ns.Labels, clientNamespaceLabel)
	}
	if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		bad("namespace %s enforces Pod Security %q, want restricted", ns.Name, got)
	}
	if pod.ServiceAccountName != sa.Name {
		bad("the pod runs as service account %q, the kustomization renders %q", pod.ServiceAccountName, sa.Name)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		bad("automountServiceAccountToken is not false: the caller needs its presignd token only, not one for the Kubernetes API")
	}

	// How it runs: restricted, and as one non-root user, whom the kubelet then makes
	// the owner of the token file (mode 0600).
	if len(pod.Containers) == 0 {
		bad("the pod has no container")
		return p
	}
	uids := map[int64]bool{}
	for _, c := range pod.Containers {
		p = append(p, restrictedProblems(pod, c)...)
		switch {
		case c.SecurityContext != nil && c.SecurityContext.RunAsUser != nil:
			uids[*c.SecurityContext.RunAsUser] = true
		case pod.SecurityContext != nil && pod.SecurityContext.RunAsUser != nil:
			uids[*pod.SecurityContext.RunAsUser] = true
		default:
			uids[-1] = true
		}
	}
	if len(uids) != 1 || uids[-1] || uids[0] {
		bad("the containers run as UIDs %v; with one non-root runAsUser for all, the kubelet gives that user the token file", uids)
	}

	// The token: a projected service-account token for presignd's audience, long-lived
	// enough to be valid, in a volume.
	type tokenVolume struct {
		volume string
		file   string // the token's path inside the volume
	}
	var tokens []tokenVolume
	for _, v := range pod.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			t := src.ServiceAccountToken
			if t == nil {
				continue
			}
			if t.Audience != presigndAudience {
				bad("volume %s: serviceAccountToken audience %q, want %q", v.Name, t.Audience, presigndAudience)
				continue
			}
			if t.ExpirationSeconds == nil || *t.ExpirationSeconds < minTokenSeconds {
				bad("volume %s: serviceAccountToken expirationSeconds %v, want it set and at least %d", v.Name, t.ExpirationSeconds, minTokenSeconds)
			}
			tokens = append(tokens, tokenVolume{v.Name, t.Path})
		}
	}
	if len(tokens) != 1 {
		bad("the pod has %d projected serviceAccountToken sources with audience %q, want 1", len(tokens), presigndAudience)
		return p
	}
	tok := tokens[0]

	// Where the caller reads it: a read-only mount of the whole volume, named by
	// PRESIGND_TOKEN_FILE; and the server it calls.
	callers := 0
	for _, c := range pod.Containers {
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
		}
		tf, ok := env["PRESIGND_TOKEN_FILE"]
		if !ok {
			continue
		}
		callers++
		if _, both := env["PRESIGND_TOKEN"]; both {
			bad("container %s sets both PRESIGND_TOKEN and PRESIGND_TOKEN_FILE", c.Name)
		}
		var mount *corev1.VolumeMount
		for i := range c.VolumeMounts {
			if c.VolumeMounts[i].Name == tok.volume {
				mount = &c.VolumeMounts[i]
			}
		}
		if mount == nil {
			bad("container %s does not mount the token volume %s", c.Name, tok.volume)
			continue
		}
		if !mount.ReadOnly {
			bad("container %s mounts the token volume read-write; want read-only", c.Name)
		}
		if mount.SubPath != "" || mount.SubPathExpr != "" {
			bad("container %s mounts the token volume with a subPath, which never sees the kubelet's renewed tokens", c.Name)
		}
		if want := path.Join(mount.MountPath, tok.file); tf.Value != want || tf.ValueFrom != nil {
			bad("container %s: PRESIGND_TOKEN_FILE = %q, want %q (the mounted token)", c.Name, tf.Value, want)
		}
		if srv, ok := env["PRESIGND_SERVER"]; !ok {
			bad("container %s does not set PRESIGND_SERVER", c.Name)
		} else if err := checkServerURL(srv.Value, server); err != nil {
			bad("container %s: PRESIGND_SERVER %q %v", c.Name, srv.Value, err)
		}
	}
	if callers == 0 {
		bad("no container sets PRESIGND_TOKEN_FILE")
	}

	// Who presignd takes it for: the first client matching the service account's
	// subject under an issuer that accepts the audience.
	var cfg identityConfig
	if err := yaml.Unmarshal([]byte(config), &cfg); err != nil {
		bad("presignd's config: %v", err)
		return p
	}
	subject := "system:serviceaccount:" + d.Namespace + ":" + pod.ServiceAccountName
	accepts := map[string]bool{}
	for _, is := range cfg.Identity.Issuers {
		accepts[is.Name] = slices.Contains(is.Audiences, presigndAudience)
	}
	client := ""
	for _, cl := range cfg.Clients {
		for _, m := range cl.Match {
			if client == "" && m.Issuer != "" && len(m.Claims) == 0 && (m.Subject == "" || m.Subject == subject) {
				client = cl.Name
				if m.Subject == "" {
					bad("the first client matching %s is %s, which takes every subject of issuer %s", subject, cl.Name, m.Issuer)
				}
				if !accepts[m.Issuer] {
					bad("client %s matches %s under issuer %q, which is not configured or does not accept audience %q", cl.Name, subject, m.Issuer, presigndAudience)
				}
			}
		}
	}
	if client == "" {
		bad("no client of presignd's config matches subject %q", subject)
	}
	return p
}

// checkServerURL wants the base URL of server's Service, by its cluster DNS name, on
// the API port.
func checkServerURL(raw string, server *rendered) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("is not a base URL")
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil {
		return fmt.Errorf("names no port")
	}
	svc := server.Service.Name + "." + server.Deployment.Namespace
	if host != svc && host != svc+".svc" && host != svc+".svc.cluster.local" {
		return fmt.Errorf("is not the Service %s", svc)
	}
	for _, sp := range server.Service.Spec.Ports {
		if sp.Name == "http" && strconv.Itoa(int(sp.Port)) == port {
			return nil
		}
	}
	return fmt.Errorf("is not on the Service's http port")
}

// renderCaller renders the caller kustomization and the app it calls, from fsys
// whose deploy/ tree is at root.
func renderCaller(t *testing.T, fsys filesys.FileSystem, root string) []string {
	t.Helper()
	objs, err := decodeAll(fsys, filepath.Join(root, callerKustomization))
	if err != nil {
		t.Fatal(err)
	}
	server := renderFS(t, fsys, filepath.Join(root, callerServer))
	return callerProblems(objs, server, server.config(t))
}

// TestCaller checks the example caller: a workload that calls presignd with a
// projected service-account token, and the dev config that names it.
func TestCaller(t *testing.T) {
	for _, p := range renderCaller(t, filesys.MakeFsOnDisk(), deployPath(t)) {
		t.Error(p)
	}
}

// TestCallerChecksFail breaks one thing at a time in a copy of deploy/ and wants the
// caller check to say so.
func TestCallerChecksFail(t *testing.T) {
	caller := filepath.Join(callerKustomization, "deployment.yaml")
	cases := []struct {
		name, file, from, to, want string
	}{
		{"another audience", caller, "audience: presignd", "audience: sts.amazonaws.com", "audience"},
		{"short-lived token", caller, "expirationSeconds: 3600", "expirationSeconds: 300", "expirationSeconds"},
		{"writable mount", caller, "readOnly: true", "readOnly: false", "read-only"},
		{"subPath mount", caller, "readOnly: true", "readOnly: true\n              subPath: token", "subPath"},
		{"token file elsewhere", caller, "value: /var/run/secrets/presignd/token", "value: /var/run/secrets/token", "PRESIGND_TOKEN_FILE"},
		{"privilege escalation", caller, "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true", "allowPrivilegeEscalation"},
		{"another server", caller, "presignd.presignd-dev.svc", "presignd.presignd.svc", "PRESIGND_SERVER"},
		{"API token mounted", caller, "automountServiceAccountToken: false", "automountServiceAccountToken: true", "automountServiceAccountToken"},
		{"namespace not a client", filepath.Join(callerKustomization, "namespace.yaml"), `presignd.io/client: "true"`, `presignd.io/client: "false"`, "NetworkPolicy"},
		{"no client for the subject", filepath.Join(callerServer, configKey), "system:serviceaccount:reports:report-builder", "system:serviceaccount:reports:other", "no client"},
		{"issuer for another audience", filepath.Join(callerServer, configKey), "audiences: [presignd]", "audiences: [other]", "audience"},
	}
	if p := renderCaller(t, copyDeployTree(t), "/deploy"); len(p) != 0 {
		t.Fatalf("the unchanged copy of deploy/ has problems: %v", p)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := copyDeployTree(t)
			file := filepath.Join("/deploy", c.file)
			b, err := fsys.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.from) {
				t.Fatalf("%s has no %q to change", c.file, c.from)
			}
			if err := fsys.WriteFile(file, []byte(strings.Replace(string(b), c.from, c.to, 1))); err != nil {
				t.Fatal(err)
			}
			p := renderCaller(t, fsys, "/deploy")
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
				t.Errorf("with %q in %s: problems %q, want one mentioning %q", c.to, c.file, p, c.want)
			}
		})
	}
}
