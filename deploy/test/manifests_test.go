package deploytest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

const (
	apiPort   = 8080
	adminPort = 9090
	// configKey is the file name the ConfigMap holds and the image reads.
	configKey = "config.yaml"
	// clientNamespaceLabel marks the namespaces whose pods may call the API.
	clientNamespaceLabel = "presignd.io/client"
	monitoringNamespace  = "monitoring"
	roleARNAnnotation    = "eks.amazonaws.com/role-arn"
)

var roleARNRE = regexp.MustCompile(`^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)

// configFile is the part of presignd's config the manifests must agree with.
type configFile struct {
	Listen      string `json:"listen"`
	AdminListen string `json:"admin_listen"`
	Shutdown    struct {
		DrainDelay string `json:"drain_delay"`
		Grace      string `json:"grace"`
	} `json:"shutdown"`
}

// config is the presignd config a rendered kustomization ships, as text.
func (r *rendered) config(t *testing.T) string {
	t.Helper()
	cm := r.ConfigMaps[0]
	data, ok := cm.Data[configKey]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cm.Name, configKey)
	}
	return data
}

func port(t *testing.T, hostPort string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(hostPort)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%q: %v", hostPort, err)
	}
	return n
}

func durationOr(t *testing.T, s string, def time.Duration) time.Duration {
	t.Helper()
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("shutdown duration %q: %v", s, err)
	}
	return d
}

// TestDeployment checks, for every app kustomization, what the pods run with.
func TestDeployment(t *testing.T) {
	for _, dir := range appKustomizations {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			d := r.Deployment
			pod := d.Spec.Template.Spec
			if len(pod.Containers) != 1 {
				t.Fatalf("the pod has %d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]

			if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
				t.Errorf("replicas = %v, want at least 2", d.Spec.Replicas)
			}
			sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
				t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector, d.Spec.Template.Labels)
			}

			t.Run("security context", func(t *testing.T) {
				for _, p := range restrictedProblems(pod, c) {
					t.Error(p)
				}
				if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
					t.Error("automountServiceAccountToken is not false: presignd never calls the Kubernetes API")
				}
			})

			t.Run("resources", func(t *testing.T) {
				for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					req, okReq := c.Resources.Requests[name]
					lim, okLim := c.Resources.Limits[name]
					if !okReq || !okLim {
						t.Errorf("%s: request set %v, limit set %v; want both", name, okReq, okLim)
						continue
					}
					if req.Sign() <= 0 || req.Cmp(lim) > 0 {
						t.Errorf("%s: request %s, limit %s; want 0 < request <= limit", name, req.String(), lim.String())
					}
				}
				if lim := c.Resources.Limits[corev1.ResourceMemory]; lim.Cmp(resource.MustParse("64Mi")) < 0 {
					t.Errorf("memory limit %s is too small for a Go service", lim.String())
				}
			})

			t.Run("ports and probes", func(t *testing.T) {
				cfg := configFile{}
				if err := yaml.Unmarshal([]byte(r.config(t)), &cfg); err != nil {
					t.Fatal(err)
				}
				ports := map[string]int32{}
				for _, p := range c.Ports {
					if p.Protocol != corev1.ProtocolTCP {
						t.Errorf("port %s: protocol %s, want TCP", p.Name, p.Protocol)
					}
					ports[p.Name] = p.ContainerPort
				}
				if ports["http"] != apiPort || ports["admin"] != adminPort || len(ports) != 2 {
					t.Errorf("container ports = %v, want http %d and admin %d", ports, apiPort, adminPort)
				}
				if got := port(t, cfg.Listen); got != apiPort {
					t.Errorf("config listen %q, want port %d (the container's http port)", cfg.Listen, apiPort)
				}
				if cfg.AdminListen == "" || port(t, cfg.AdminListen) != adminPort {
					t.Errorf("config admin_listen %q, want port %d (the container's admin port)", cfg.AdminListen, adminPort)
				}
				for _, host := range []string{cfg.Listen, cfg.AdminListen} {
					if h, _, _ := net.SplitHostPort(host); h != "0.0.0.0" && h != "" && h != "::" {
						t.Errorf("config listens on %q: the kubelet and the Service cannot reach a loopback address", host)
					}
				}
				checkProbe(t, "liveness", c.LivenessProbe, "/healthz")
				checkProbe(t, "readiness", c.ReadinessProbe, "/readyz")
			})

			t.Run("termination", func(t *testing.T) {
				var cfg configFile
				if err := yaml.Unmarshal([]byte(r.config(t)), &cfg); err != nil {
					t.Fatal(err)
				}
				drain := durationOr(t, cfg.Shutdown.DrainDelay, 5*time.Second)
				grace := durationOr(t, cfg.Shutdown.Grace, 20*time.Second)
				if pod.TerminationGracePeriodSeconds == nil {
					t.Fatal("terminationGracePeriodSeconds is not set")
				}
				// The kubelet's SIGKILL must come after the drain delay and the grace,
				// with a few seconds to spare.
				tgp := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
				if tgp < drain+grace+3*time.Second {
					t.Errorf("terminationGracePeriodSeconds %s is too short for drain delay %s + grace %s", tgp, drain, grace)
				}
				if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
					t.Error("a preStop hook would delay SIGTERM and eat into the grace period; presignd drains by itself")
				}
			})

			t.Run("topology spread", func(t *testing.T) {
				keys := map[string]bool{}
				for _, tsc := range pod.TopologySpreadConstraints {
					keys[tsc.TopologyKey] = true
					s, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
					if err != nil || s.Empty() || !s.Matches(labels.Set(d.Spec.Template.Labels)) {
						t.Errorf("the spread over %s does not select presignd's pods", tsc.TopologyKey)
					}
					if tsc.MaxSkew != 1 {
						t.Errorf("the spread over %s has maxSkew %d, want 1", tsc.TopologyKey, tsc.MaxSkew)
					}
				}
				if !keys["topology.kubernetes.io/zone"] || !keys["kubernetes.io/hostname"] {
					t.Errorf("pods are spread over %v, want zones and nodes", keys)
				}
			})

			t.Run("config volume", func(t *testing.T) {
				entrypoint := dockerfileEntrypoint(t)
				want := entrypoint[len(entrypoint)-1]
				if len(c.Command) != 0 || len(c.Args) != 0 {
					t.Errorf("command %v args %v: the image's entrypoint should be used as it is", c.Command, c.Args)
				}
				var found bool
				for _, m := range c.VolumeMounts {
					if filepath.Join(m.MountPath, configKey) != want {
						continue
					}
					found = true
					if !m.ReadOnly {
						t.Errorf("the config is mounted read-write at %s", m.MountPath)
					}
					if m.SubPath != "" {
						t.Errorf("the config is mounted with subPath %q; a subPath mount never sees ConfigMap updates", m.SubPath)
					}
					var vol *corev1.Volume
					for i := range pod.Volumes {
						if pod.Volumes[i].Name == m.Name {
							vol = &pod.Volumes[i]
						}
					}
					if vol == nil || vol.ConfigMap == nil {
						t.Fatalf("volume %s is not a ConfigMap", m.Name)
					}
					if _, ok := r.ConfigMapByName[vol.ConfigMap.Name]; !ok {
						t.Errorf("the pod mounts ConfigMap %s, which the kustomization does not render", vol.ConfigMap.Name)
					}
				}
				if !found {
					t.Errorf("nothing is mounted where the image reads its config (%s)", want)
				}
			})

			t.Run("service account", func(t *testing.T) {
				sa := r.ServiceAccount
				if pod.ServiceAccountName != sa.Name {
					t.Errorf("the pod runs as service account %q, the kustomization renders %q", pod.ServiceAccountName, sa.Name)
				}
				arn := sa.Annotations[roleARNAnnotation]
				if !roleARNRE.MatchString(arn) {
					t.Errorf("%s = %q, want an IAM role ARN", roleARNAnnotation, arn)
				}
			})

			if dir != "base" {
				t.Run("overlay", func(t *testing.T) {
					checkImagePinned(t, c.Image)
					if d.Namespace == "" {
						t.Error("the overlay sets no namespace")
					}
					if len(r.Namespaces) != 1 || r.Namespaces[0].Name != d.Namespace {
						t.Fatalf("the overlay should create its namespace %q", d.Namespace)
					}
					if got := r.Namespaces[0].Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
						t.Errorf("namespace %s enforces Pod Security %q, want restricted", d.Namespace, got)
					}
					if base := render(t, "base"); r.ServiceAccount.Annotations[roleARNAnnotation] == base.ServiceAccount.Annotations[roleARNAnnotation] {
						t.Errorf("the overlay keeps the base's example IAM role")
					}
				})
			}
		})
	}
}

func checkProbe(t *testing.T, name string, p *corev1.Probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: not an HTTP GET", name)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s probe: path %q, want %q", name, p.HTTPGet.Path, path)
	}
	if p.HTTPGet.Port != intstr.FromString("admin") && p.HTTPGet.Port != intstr.FromInt32(adminPort) {
		t.Errorf("%s probe: port %s, want the admin port", name, p.HTTPGet.Port.String())
	}
	if p.TimeoutSeconds < 1 || p.PeriodSeconds < p.TimeoutSeconds {
		t.Errorf("%s probe: timeout %ds, period %ds; want 1 <= timeout <= period", name, p.TimeoutSeconds, p.PeriodSeconds)
	}
}

// restrictedProblems lists how a pod and one of its containers fall short of the
// restricted Pod Security Standard and of what presignd asks beyond it (a read-only
// root file system, a non-root UID set in the manifest).
func restrictedProblems(pod corev1.PodSpec, c corev1.Container) []string {
	var p []string
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		p = append(p, "pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		p = append(p, "pod securityContext.seccompProfile is not RuntimeDefault")
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		p = append(p, "the pod shares a host namespace")
	}
	sc := c.SecurityContext
	if sc == nil {
		return append(p, fmt.Sprintf("container %s has no securityContext", c.Name))
	}
	bad := func(format string, args ...any) {
		p = append(p, fmt.Sprintf("container %s: ", c.Name)+fmt.Sprintf(format, args...))
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		bad("runAsNonRoot is not true")
	}
	if sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		bad("runAsUser is not a non-root UID")
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		bad("readOnlyRootFilesystem is not true")
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		bad("allowPrivilegeEscalation is not false")
	}
	if sc.Privileged != nil && *sc.Privileged {
		bad("the container is privileged")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" || len(sc.Capabilities.Add) != 0 {
		bad("capabilities = %+v, want drop [ALL] and nothing added", sc.Capabilities)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		bad("seccompProfile is not RuntimeDefault")
	}
	return p
}

// checkImagePinned wants a registry, a repository and a version tag or a digest.
func checkImagePinned(t *testing.T, image string) {
	t.Helper()
	if strings.Contains(image, "@sha256:") {
		return
	}
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") || !strings.Contains(image[:i], "/") {
		t.Errorf("image %q has no registry or no tag", image)
		return
	}
	if tag := image[i+1:]; tag == "latest" || tag == "" {
		t.Errorf("image %q is not pinned to a version", image)
	}
}

// TestServiceAndPolicies checks that the Service, PodDisruptionBudget, autoscaler,
// NetworkPolicy and ServiceMonitor find the pods and each other.
func TestServiceAndPolicies(t *testing.T) {
	for _, dir := range appKustomizations {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			podLabels := labels.Set(r.Deployment.Spec.Template.Labels)
			containerPorts := map[string]int32{}
			for _, p := range r.Deployment.Spec.Template.Spec.Containers[0].Ports {
				containerPorts[p.Name] = p.ContainerPort
			}

			svc := r.Service
			if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(podLabels) {
				t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, podLabels)
			}
			svcPorts := map[string]corev1.ServicePort{}
			for _, p := range svc.Spec.Ports {
				svcPorts[p.Name] = p
				if _, ok := containerPorts[p.TargetPort.String()]; p.TargetPort.Type != intstr.String || !ok {
					t.Errorf("Service port %s targets %s, not a named container port", p.Name, p.TargetPort.String())
				}
			}
			if svcPorts["http"].Port != apiPort || svcPorts["admin"].Port != adminPort || len(svcPorts) != 2 {
				t.Errorf("Service ports = %v, want http %d and admin %d", svc.Spec.Ports, apiPort, adminPort)
			}

			pdb := r.PDB
			if s, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || s.Empty() || !s.Matches(podLabels) {
				t.Errorf("PodDisruptionBudget selector %v does not select the pods", pdb.Spec.Selector)
			}
			if pdb.Spec.MaxUnavailable == nil && pdb.Spec.MinAvailable == nil {
				t.Error("the PodDisruptionBudget sets neither maxUnavailable nor minAvailable")
			}

			hpa := r.HPA
			if ref := hpa.Spec.ScaleTargetRef; ref.Kind != "Deployment" || ref.Name != r.Deployment.Name || ref.APIVersion != "apps/v1" {
				t.Errorf("the autoscaler targets %+v, not the Deployment %s", ref, r.Deployment.Name)
			}
			if hpa.Spec.MinReplicas == nil || *hpa.Spec.MinReplicas < 2 || hpa.Spec.MaxReplicas < *hpa.Spec.MinReplicas {
				t.Errorf("autoscaler range %v..%d, want a minimum of at least 2", hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
			}
			if len(hpa.Spec.Metrics) == 0 {
				t.Error("the autoscaler has no metric")
			}
			if *r.Deployment.Spec.Replicas < *hpa.Spec.MinReplicas {
				t.Errorf("the Deployment starts with %d replicas, under the autoscaler's minimum %d", *r.Deployment.Spec.Replicas, *hpa.Spec.MinReplicas)
			}

			checkNetworkPolicy(t, r, podLabels)

			sm := r.ServiceMonitor
			if s, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector); err != nil || s.Empty() || !s.Matches(labels.Set(svc.Labels)) {
				t.Errorf("ServiceMonitor selector %v does not select the Service %v", sm.Spec.Selector, svc.Labels)
			}
			if len(sm.Spec.Endpoints) != 1 {
				t.Fatalf("ServiceMonitor has %d endpoints, want 1", len(sm.Spec.Endpoints))
			}
			if ep := sm.Spec.Endpoints[0]; ep.Port != "admin" || ep.Path != "/metrics" {
				t.Errorf("ServiceMonitor scrapes port %q path %q, want admin /metrics", ep.Port, ep.Path)
			}
			if r.PrometheusRule.Namespace != r.Deployment.Namespace || r.ServiceMonitor.Namespace != r.Deployment.Namespace {
				t.Error("the monitoring resources are not in the Deployment's namespace")
			}
		})
	}
}

// allowedBy says whether np lets a pod in a namespace with these labels reach the
// named port of presignd's pods (for http and admin, by name or number).
func allowedBy(np *networkingv1.NetworkPolicy, ns labels.Set, portName string) bool {
	number, known := map[string]int{"http": apiPort, "admin": adminPort}[portName]
	for _, rule := range np.Spec.Ingress {
		portOK := false
		for _, p := range rule.Ports {
			if p.Port != nil && (p.Port.String() == portName || known && p.Port.Type == intstr.Int && p.Port.IntValue() == number) {
				portOK = true
			}
		}
		if !portOK {
			continue
		}
		for _, peer := range rule.From {
			if peer.IPBlock != nil || peer.NamespaceSelector == nil {
				continue
			}
			s, err := metav1.LabelSelectorAsSelector(peer.NamespaceSelector)
			if err == nil && !s.Empty() && s.Matches(ns) {
				return true
			}
		}
	}
	return false
}

func checkNetworkPolicy(t *testing.T, r *rendered, podLabels labels.Set) {
	t.Helper()
	np := r.NetworkPolicy
	if s, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err != nil || s.Empty() || !s.Matches(podLabels) {
		t.Errorf("NetworkPolicy podSelector %v does not select the pods", np.Spec.PodSelector)
	}
	if len(np.Spec.PolicyTypes) != 1 || np.Spec.PolicyTypes[0] != "Ingress" {
		t.Errorf("NetworkPolicy policyTypes = %v, want [Ingress]", np.Spec.PolicyTypes)
	}
	clientNS := labels.Set{clientNamespaceLabel: "true", "kubernetes.io/metadata.name": "reports"}
	otherNS := labels.Set{"kubernetes.io/metadata.name": "reports"}
	monitoringNS := labels.Set{"kubernetes.io/metadata.name": monitoringNamespace}
	allowed := func(ns labels.Set, portName string) bool { return allowedBy(np, ns, portName) }
	for _, rule := range np.Spec.Ingress {
		if len(rule.From) == 0 || len(rule.Ports) == 0 {
			t.Errorf("NetworkPolicy rule %+v allows every source or every port", rule)
		}
		for _, peer := range rule.From {
			if peer.IPBlock != nil || (peer.NamespaceSelector != nil && len(peer.NamespaceSelector.MatchLabels) == 0 && len(peer.NamespaceSelector.MatchExpressions) == 0) {
				t.Errorf("NetworkPolicy peer %+v is broader than a labelled namespace", peer)
			}
		}
	}
	for _, c := range []struct {
		name string
		ns   labels.Set
		port string
		want bool
	}{
		{"client namespace to the API", clientNS, "http", true},
		{"client namespace to the admin port", clientNS, "admin", false},
		{"unlabelled namespace to the API", otherNS, "http", false},
		{"monitoring to the admin port", monitoringNS, "admin", true},
		{"monitoring to the API", monitoringNS, "http", false},
	} {
		if got := allowed(c.ns, c.port); got != c.want {
			t.Errorf("NetworkPolicy: %s allowed = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestConfigMapsPassCheckConfig runs presignd check-config on the config every app
// kustomization ships and on every config.yaml under deploy/, and on a broken copy to
// show the check can fail.
func TestConfigMapsPassCheckConfig(t *testing.T) {
	bin := presigndBinary(t)
	check := func(t *testing.T, config string) (stdout, stderr string, code int) {
		t.Helper()
		path := filepath.Join(t.TempDir(), configKey)
		if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "check-config", "--config", path)
		cmd.Env = cleanEnv("AWS_EC2_METADATA_DISABLED=true")
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code = cmd.ProcessState.ExitCode()
		if err != nil && code < 0 {
			t.Fatal(err)
		}
		return out.String(), errb.String(), code
	}
	for _, dir := range appKustomizations {
		t.Run(dir, func(t *testing.T) {
			r := render(t, dir)
			stdout, stderr, code := check(t, r.config(t))
			if code != 0 || stdout != "ok\n" || stderr != "" {
				t.Errorf("check-config: exit %d, stdout %q, stderr %q; want exit 0, \"ok\" and no warnings", code, stdout, stderr)
			}
		})
	}
	// Every config.yaml under deploy/, whether a kustomization ships it or not.
	var files []string
	err := filepath.WalkDir(deployPath(t), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == deployPath(t, "test") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == configKey {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < len(appKustomizations) {
		t.Errorf("found %d %s files under deploy/, want at least %d", len(files), configKey, len(appKustomizations))
	}
	for _, path := range files {
		rel, _ := filepath.Rel(deployPath(t), path)
		t.Run("file "+filepath.ToSlash(rel), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			stdout, stderr, code := check(t, string(b))
			if code != 0 || stdout != "ok\n" || stderr != "" {
				t.Errorf("check-config: exit %d, stdout %q, stderr %q; want exit 0, \"ok\" and no warnings", code, stdout, stderr)
			}
		})
	}
	t.Run("misspelt key", func(t *testing.T) {
		r := render(t, "base")
		broken := strings.Replace(r.config(t), "admin_listen:", "admin_lisen:", 1)
		_, stderr, code := check(t, broken)
		if code != 1 || !strings.Contains(stderr, "admin_lisen") {
			t.Errorf("check-config of a config with admin_lisen: exit %d, stderr %q; want exit 1 naming the key", code, stderr)
		}
	})
}

// TestImageEntrypointMatchesBinary checks that the image's entrypoint is a command
// the binary has.
func TestImageEntrypointMatchesBinary(t *testing.T) {
	bin := presigndBinary(t)
	ep := dockerfileEntrypoint(t)
	cmd := exec.Command(bin, ep[1], "--help")
	cmd.Env = cleanEnv("AWS_EC2_METADATA_DISABLED=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("presignd %s --help: %v\n%s", ep[1], err, out)
	}
	for _, flag := range ep[2:] {
		if strings.HasPrefix(flag, "--") && !strings.Contains(string(out), "-"+strings.TrimLeft(flag, "-")) {
			t.Errorf("presignd %s has no flag %s", ep[1], flag)
		}
	}
}
