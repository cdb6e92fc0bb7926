package deploytest

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	// ssoKustomization is presignd with an oauth2-proxy sidecar for people and
	// dashboards.
	ssoKustomization = "examples/oauth2-proxy"
	// ssoContainer is the sidecar's container name, ssoPort its port name.
	ssoContainer = "oauth2-proxy"
	ssoPort      = "sso"
	// The headers oauth2-proxy sets on what it forwards upstream with
	// --pass-user-headers (its reverse-proxy mode); --set-xauthrequest's
	// X-Auth-Request-* go to the client, for nginx's auth_request, not upstream.
	proxyUserHeader   = "X-Forwarded-Email"
	proxyGroupsHeader = "X-Forwarded-Groups"
	// ingressNamespace is where the example's ingress controller runs.
	ingressNamespace = "ingress-nginx"
)

// proxyConfig is the part of presignd's config the sidecar must agree with.
type proxyConfig struct {
	Identity struct {
		TrustedProxies *struct {
			From         []string `json:"from"`
			UserHeader   string   `json:"user_header"`
			GroupsHeader string   `json:"groups_header"`
		} `json:"trusted_proxies"`
	} `json:"identity"`
	Clients []struct {
		Name  string       `json:"name"`
		Match []proxyMatch `json:"match"`
	} `json:"clients"`
}

// proxyMatch is the proxy part of a client's match entry.
type proxyMatch struct {
	ProxyUser  string `json:"proxy_user"`
	ProxyGroup string `json:"proxy_group"`
}

// ssoProblems lists what keeps the rendered oauth2-proxy example (objs) from letting
// people in through the sidecar and no one else: that presignd trusts identity headers
// from loopback only, that the sidecar is the only other thing on the pod's loopback
// and forwards there, that it sets (after stripping) the headers presignd reads, that
// its secrets come from a Secret, and that only the ingress controller reaches its
// port.
func ssoProblems(objs []runtime.Object) []string {
	var p []string
	bad := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	var (
		deploys  []*appsv1.Deployment
		services []*corev1.Service
		policies []*networkingv1.NetworkPolicy
		ingress  []*networkingv1.Ingress
		configs  []*corev1.ConfigMap
	)
	for _, o := range objs {
		switch v := o.(type) {
		case *appsv1.Deployment:
			deploys = append(deploys, v)
		case *corev1.Service:
			services = append(services, v)
		case *networkingv1.NetworkPolicy:
			policies = append(policies, v)
		case *networkingv1.Ingress:
			ingress = append(ingress, v)
		case *corev1.ConfigMap:
			configs = append(configs, v)
		}
	}
	if len(deploys) != 1 || len(services) != 1 || len(policies) != 1 || len(ingress) != 1 || len(configs) != 1 {
		bad("the example renders %d Deployments, %d Services, %d NetworkPolicies, %d Ingresses and %d ConfigMaps; want one of each",
			len(deploys), len(services), len(policies), len(ingress), len(configs))
		return p
	}
	d, svc, np, ing := deploys[0], services[0], policies[0], ingress[0]
	pod := d.Spec.Template.Spec
	if d.Namespace == "" || svc.Namespace != d.Namespace || np.Namespace != d.Namespace || ing.Namespace != d.Namespace {
		bad("the Deployment (%q), Service (%q), NetworkPolicy (%q) and Ingress (%q) are not in one namespace",
			d.Namespace, svc.Namespace, np.Namespace, ing.Namespace)
	}

	// presignd's side: identity headers from loopback only, the ones the sidecar sends,
	// and a client that people map to.
	var cfg proxyConfig
	if err := yaml.Unmarshal([]byte(configs[0].Data[configKey]), &cfg); err != nil {
		bad("presignd's config: %v", err)
		return p
	}
	tp := cfg.Identity.TrustedProxies
	if tp == nil {
		bad("presignd's config has no identity.trusted_proxies")
		return p
	}
	if len(tp.From) == 0 {
		bad("identity.trusted_proxies.from is empty")
	}
	for _, from := range tp.From {
		if !loopbackOnly(from) {
			bad("identity.trusted_proxies.from holds %q, which is not loopback: other pods could name any user", from)
		}
	}
	if !strings.EqualFold(tp.UserHeader, proxyUserHeader) || !strings.EqualFold(tp.GroupsHeader, proxyGroupsHeader) {
		bad("presignd reads %q and %q; oauth2-proxy's --pass-user-headers sends %s and %s upstream",
			tp.UserHeader, tp.GroupsHeader, proxyUserHeader, proxyGroupsHeader)
	}
	people := false
	for _, c := range cfg.Clients {
		people = people || slices.ContainsFunc(c.Match, func(m proxyMatch) bool { return m.ProxyUser != "" || m.ProxyGroup != "" })
	}
	if !people {
		bad("no client of presignd's config matches a proxy_user or a proxy_group")
	}

	// The pod: its loopback is shared by presignd and the sidecar, and by nothing else.
	if pod.HostNetwork {
		bad("the pod uses the host's network: every process on the node would share the trusted loopback")
	}
	var presignd, sidecar *corev1.Container
	for i := range pod.Containers {
		switch c := &pod.Containers[i]; c.Name {
		case "presignd":
			presignd = c
		case ssoContainer:
			sidecar = c
		default:
			bad("container %s shares the pod's loopback, from which presignd trusts identity headers", c.Name)
		}
	}
	for _, c := range pod.InitContainers {
		if c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			bad("sidecar init container %s shares the pod's loopback, from which presignd trusts identity headers", c.Name)
		}
	}
	if presignd == nil || sidecar == nil {
		bad("the pod has no presignd or no %s container", ssoContainer)
		return p
	}
	p = append(p, restrictedProblems(pod, *sidecar)...)
	apiPort := containerPort(*presignd, "http")
	sidecarPort := containerPort(*sidecar, ssoPort)
	if apiPort == 0 || sidecarPort == 0 {
		bad("presignd has no http port (%d) or %s no %s port (%d)", apiPort, ssoContainer, ssoPort, sidecarPort)
		return p
	}

	// The sidecar's flags.
	flags := map[string]string{}
	for _, a := range append(append([]string{}, sidecar.Command...), sidecar.Args...) {
		name, value, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") {
			continue
		}
		if !ok {
			value = "true"
		}
		flags[name] = value
	}
	if u, err := url.Parse(flags["upstream"]); err != nil || u.Scheme != "http" || !loopbackHost(u.Hostname()) || u.Port() != strconv.Itoa(int(apiPort)) {
		bad("%s's --upstream is %q, want presignd on loopback, http://127.0.0.1:%d/", ssoContainer, flags["upstream"], apiPort)
	}
	if _, port, err := net.SplitHostPort(flags["http-address"]); err != nil || port != strconv.Itoa(int(sidecarPort)) {
		bad("%s's --http-address is %q, want its %s port %d", ssoContainer, flags["http-address"], ssoPort, sidecarPort)
	}
	// Each is true by default; false would break what presignd relies on.
	for _, flag := range []string{
		"pass-user-headers",       // X-Forwarded-Email and -Groups go upstream
		"skip-auth-strip-headers", // after the browser's own copies are deleted
		"cookie-secure",           // the session cookie never travels over plain HTTP
	} {
		if got, set := flags[flag]; set && got != "true" {
			bad("%s: --%s=%s, want true", ssoContainer, flag, got)
		}
	}
	for _, secret := range []string{"client-secret", "cookie-secret"} {
		if _, set := flags[secret]; set {
			bad("%s: --%s is on the command line; take it from a Secret (OAUTH2_PROXY_%s)", ssoContainer, secret, envName(secret))
		}
		env := slices.IndexFunc(sidecar.Env, func(e corev1.EnvVar) bool { return e.Name == "OAUTH2_PROXY_"+envName(secret) })
		if env < 0 || sidecar.Env[env].Value != "" || sidecar.Env[env].ValueFrom == nil || sidecar.Env[env].ValueFrom.SecretKeyRef == nil {
			bad("%s: OAUTH2_PROXY_%s does not come from a Secret", ssoContainer, envName(secret))
		}
	}

	// Who reaches the sidecar: the Ingress through the Service's sso port, and on the
	// network only the ingress controller's namespace.
	svcPort := slices.IndexFunc(svc.Spec.Ports, func(sp corev1.ServicePort) bool { return sp.TargetPort.String() == ssoPort })
	if svcPort < 0 {
		bad("the Service has no port targeting %s", ssoPort)
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, path := range rule.HTTP.Paths {
			b := path.Backend.Service
			if b == nil || b.Name != svc.Name || svcPort < 0 || (b.Port.Name != svc.Spec.Ports[svcPort].Name && b.Port.Number != svc.Spec.Ports[svcPort].Port) {
				bad("Ingress path %s does not go to the Service's %s port", path.Path, ssoPort)
			}
		}
	}
	ingressNS := labels.Set{"kubernetes.io/metadata.name": ingressNamespace}
	clientNS := labels.Set{clientNamespaceLabel: "true", "kubernetes.io/metadata.name": "reports"}
	for _, c := range []struct {
		name string
		ns   labels.Set
		port string
		want bool
	}{
		{"the ingress controller to oauth2-proxy", ingressNS, ssoPort, true},
		{"the ingress controller to presignd's API", ingressNS, "http", false},
		{"the ingress controller to presignd's admin port", ingressNS, "admin", false},
		{"a client namespace to oauth2-proxy", clientNS, ssoPort, false},
		{"a client namespace to presignd's API", clientNS, "http", true},
	} {
		if got := allowedBy(np, c.ns, c.port); got != c.want {
			bad("NetworkPolicy: %s allowed = %v, want %v", c.name, got, c.want)
		}
	}
	return p
}

// loopbackOnly says whether every address of prefix (an address or a CIDR) is loopback.
func loopbackOnly(prefix string) bool {
	pf, err := netip.ParsePrefix(prefix)
	if err != nil {
		a, err := netip.ParseAddr(prefix)
		if err != nil {
			return false
		}
		pf = netip.PrefixFrom(a, a.BitLen())
	}
	if pf.Addr().Is4() {
		return pf.Bits() >= 8 && netip.MustParsePrefix("127.0.0.0/8").Contains(pf.Masked().Addr())
	}
	return pf.Bits() == 128 && pf.Addr().IsLoopback()
}

func loopbackHost(host string) bool {
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func containerPort(c corev1.Container, name string) int32 {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

// envName is the environment variable suffix of an oauth2-proxy flag.
func envName(flag string) string { return strings.ToUpper(strings.ReplaceAll(flag, "-", "_")) }

func renderSSO(t *testing.T, fsys filesys.FileSystem, root string) []string {
	t.Helper()
	objs, err := decodeAll(fsys, filepath.Join(root, ssoKustomization))
	if err != nil {
		t.Fatal(err)
	}
	return ssoProblems(objs)
}

// TestOAuth2ProxyExample checks the oauth2-proxy example: presignd trusts identity
// headers from its sidecar only, and the sidecar sends the ones presignd reads.
func TestOAuth2ProxyExample(t *testing.T) {
	for _, p := range renderSSO(t, filesys.MakeFsOnDisk(), deployPath(t)) {
		t.Error(p)
	}
}

// TestOAuth2ProxyChecksFail breaks one thing at a time in a copy of deploy/ and wants
// the example's check to say so.
func TestOAuth2ProxyChecksFail(t *testing.T) {
	dir := ssoKustomization
	sidecar := filepath.Join(dir, "deployment-patch.yaml")
	config := filepath.Join(dir, configKey)
	cases := []struct {
		name, file, from, to, want string
	}{
		{"trusting the pod network", config, `from: ["127.0.0.1/32"]`, `from: ["10.0.0.0/8"]`, "not loopback"},
		{"trusting loopback and more", config, `from: ["127.0.0.1/32"]`, `from: ["127.0.0.1/32", "0.0.0.0/1"]`, "not loopback"},
		{"reading nginx's headers", config, "user_header: X-Forwarded-Email", "user_header: X-Auth-Request-Email", "--pass-user-headers"},
		{"no trusted proxy", config, "  trusted_proxies:\n", "  trusted_proxiez:\n", "no identity.trusted_proxies"},
		{"upstream through the Service", sidecar, "--upstream=http://127.0.0.1:8080/", "--upstream=http://presignd:8080/", "--upstream"},
		{"browser headers kept", sidecar, "--skip-auth-strip-headers=true", "--skip-auth-strip-headers=false", "skip-auth-strip-headers"},
		{"no user headers", sidecar, "--pass-user-headers=true", "--pass-user-headers=false", "pass-user-headers"},
		{"cookie secret on the command line", sidecar, "--cookie-samesite=lax", "--cookie-samesite=lax\n            - --cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secret"},
		{"host network", sidecar, "      containers:\n", "      hostNetwork: true\n      containers:\n", "host"},
		{"a third container", sidecar, "      containers:\n", "      containers:\n        - name: debug\n          image: registry.example.com/debug:v1\n", "container debug"},
		{"ingress to the API", filepath.Join(dir, "networkpolicy-patch.yaml"), "- port: sso", "- port: http", "ingress controller"},
	}
	if p := renderSSO(t, copyDeployTree(t), "/deploy"); len(p) != 0 {
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
			p := renderSSO(t, fsys, "/deploy")
			if !slices.ContainsFunc(p, func(s string) bool { return strings.Contains(s, c.want) }) {
				t.Errorf("with %q in %s: problems %q, want one mentioning %q", c.to, c.file, p, c.want)
			}
		})
	}
}
