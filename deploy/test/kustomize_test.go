package deploytest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/presignd/presignd/deploy/test/internal/strict"
)

// The kustomizations under deploy/, as paths relative to it.
var (
	appKustomizations = []string{"base", "overlays/dev", "overlays/prod"}
	// callerKustomization is an example workload that calls presignd with a projected
	// service-account token.
	callerKustomization = "examples/caller"
	allKustomizations   = append(append([]string{}, appKustomizations...), "monitoring", callerKustomization, ssoKustomization)
)

// manifest is one rendered resource.
type manifest struct {
	GVK       schema.GroupVersionKind
	Name      string
	Namespace string
	YAML      []byte
}

func (m manifest) String() string { return fmt.Sprintf("%s %s/%s", m.GVK.Kind, m.Namespace, m.Name) }

// kustomize runs kustomize build, in process, on dir of fsys.
func kustomize(fsys filesys.FileSystem, dir string) ([]manifest, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	rm, err := k.Run(fsys, dir)
	if err != nil {
		return nil, err
	}
	var out []manifest
	for _, r := range rm.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, err
		}
		g := r.GetGvk()
		out = append(out, manifest{
			GVK:       schema.GroupVersionKind{Group: g.Group, Version: g.Version, Kind: g.Kind},
			Name:      r.GetName(),
			Namespace: r.GetNamespace(),
			YAML:      y,
		})
	}
	return out, nil
}

// scheme knows the Go type of every kind the manifests may hold.
var scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, policyv1.AddToScheme, autoscalingv2.AddToScheme,
		networkingv1.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// decodeStrict decodes a manifest into its Kubernetes or Prometheus Operator Go type.
// An unknown or misspelt field (case included), a duplicate key or a wrongly typed
// value is an error.
func decodeStrict(m manifest) (runtime.Object, error) {
	obj, err := scheme.New(m.GVK)
	if err != nil {
		return nil, fmt.Errorf("%s: no Go type for %s: %w", m, m.GVK, err)
	}
	if err := strict.Unmarshal(m.YAML, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", m, err)
	}
	return obj, nil
}

// decodeAll renders a kustomization and decodes every resource strictly.
func decodeAll(fsys filesys.FileSystem, dir string) ([]runtime.Object, error) {
	ms, err := kustomize(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var objs []runtime.Object
	for _, m := range ms {
		obj, err := decodeStrict(m)
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// rendered is an app kustomization's output, by kind.
type rendered struct {
	Namespaces      []*corev1.Namespace
	ServiceAccount  *corev1.ServiceAccount
	ConfigMaps      []*corev1.ConfigMap
	Deployment      *appsv1.Deployment
	Service         *corev1.Service
	PDB             *policyv1.PodDisruptionBudget
	HPA             *autoscalingv2.HorizontalPodAutoscaler
	NetworkPolicy   *networkingv1.NetworkPolicy
	ServiceMonitor  *monitoringv1.ServiceMonitor
	PrometheusRule  *monitoringv1.PrometheusRule
	ConfigMapByName map[string]*corev1.ConfigMap
}

// render builds deploy/<dir> from disk, decodes it strictly and sorts it by kind.
// Each kind but Namespace and ConfigMap must appear exactly once.
func render(t *testing.T, dir string) *rendered {
	t.Helper()
	return renderFS(t, filesys.MakeFsOnDisk(), deployPath(t, dir))
}

// renderFS is render of the kustomization at dir of fsys.
func renderFS(t *testing.T, fsys filesys.FileSystem, dir string) *rendered {
	t.Helper()
	objs, err := decodeAll(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	r := &rendered{ConfigMapByName: map[string]*corev1.ConfigMap{}}
	seen := map[string]int{}
	for _, o := range objs {
		switch v := o.(type) {
		case *corev1.Namespace:
			r.Namespaces = append(r.Namespaces, v)
		case *corev1.ConfigMap:
			r.ConfigMaps = append(r.ConfigMaps, v)
			r.ConfigMapByName[v.Name] = v
		case *corev1.ServiceAccount:
			r.ServiceAccount = v
			seen["ServiceAccount"]++
		case *appsv1.Deployment:
			r.Deployment = v
			seen["Deployment"]++
		case *corev1.Service:
			r.Service = v
			seen["Service"]++
		case *policyv1.PodDisruptionBudget:
			r.PDB = v
			seen["PodDisruptionBudget"]++
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.HPA = v
			seen["HorizontalPodAutoscaler"]++
		case *networkingv1.NetworkPolicy:
			r.NetworkPolicy = v
			seen["NetworkPolicy"]++
		case *monitoringv1.ServiceMonitor:
			r.ServiceMonitor = v
			seen["ServiceMonitor"]++
		case *monitoringv1.PrometheusRule:
			r.PrometheusRule = v
			seen["PrometheusRule"]++
		default:
			t.Fatalf("%s renders an unexpected %T", dir, o)
		}
	}
	for _, kind := range []string{"ServiceAccount", "Deployment", "Service", "PodDisruptionBudget",
		"HorizontalPodAutoscaler", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"} {
		if seen[kind] != 1 {
			t.Errorf("%s renders %d %s, want 1", dir, seen[kind], kind)
		}
	}
	if len(r.ConfigMaps) != 1 {
		t.Errorf("%s renders %d ConfigMaps, want 1 (the config)", dir, len(r.ConfigMaps))
	}
	if t.Failed() {
		t.FailNow()
	}
	return r
}

// TestKustomizeBuild renders every kustomization and decodes each resource strictly
// into its Go type.
func TestKustomizeBuild(t *testing.T) {
	for _, dir := range allKustomizations {
		t.Run(dir, func(t *testing.T) {
			objs, err := decodeAll(filesys.MakeFsOnDisk(), deployPath(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			if len(objs) == 0 {
				t.Fatalf("kustomize build %s rendered nothing", dir)
			}
		})
	}
}

// copyDeployTree copies deploy/ (without the test module) into an in-memory file
// system at /deploy.
func copyDeployTree(t *testing.T) filesys.FileSystem {
	t.Helper()
	fsys := filesys.MakeFsInMemory()
	src := deployPath(t)
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			if rel == "test" {
				return filepath.SkipDir
			}
			return fsys.MkdirAll(filepath.Join("/deploy", rel))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return fsys.WriteFile(filepath.Join("/deploy", rel), b)
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

// TestMisspeltFieldIsCaught proves the strict decoding fails on a misspelt field,
// through the whole path: file on disk, kustomize build of an overlay, decoding.
func TestMisspeltFieldIsCaught(t *testing.T) {
	cases := []struct {
		name, file, from, to string
	}{
		{"Deployment security context", "base/deployment.yaml", "readOnlyRootFilesystem:", "readOnlyRootFileSystem:"},
		{"Deployment probe", "base/deployment.yaml", "readinessProbe:", "readynessProbe:"},
		{"NetworkPolicy", "base/networkpolicy.yaml", "namespaceSelector:", "namespaceSelecter:"},
		{"ServiceMonitor", "base/servicemonitor.yaml", "scrapeTimeout:", "scrapeTimout:"},
		{"PrometheusRule", "base/prometheusrule.yaml", "annotations:", "anotations:"},
		{"HorizontalPodAutoscaler", "base/horizontalpodautoscaler.yaml", "averageUtilization:", "averageUtilisation:"},
		{"PodDisruptionBudget", "base/poddisruptionbudget.yaml", "maxUnavailable:", "maxUnavailible:"},
	}
	// The unchanged copy decodes: the failures below come from the misspellings alone.
	if _, err := decodeAll(copyDeployTree(t), "/deploy/overlays/prod"); err != nil {
		t.Fatalf("the unchanged copy of deploy/ does not decode: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := copyDeployTree(t)
			path := filepath.Join("/deploy", c.file)
			b, err := fsys.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), c.from) {
				t.Fatalf("%s has no %q to misspell", c.file, c.from)
			}
			if err := fsys.WriteFile(path, []byte(strings.Replace(string(b), c.from, c.to, 1))); err != nil {
				t.Fatal(err)
			}
			_, err = decodeAll(fsys, "/deploy/overlays/prod")
			field := strings.TrimSuffix(c.to, ":")
			if err == nil {
				t.Fatalf("a manifest with %q decoded without error", field)
			}
			if !strings.Contains(err.Error(), field) {
				t.Errorf("the error does not name the misspelt field %q: %v", field, err)
			}
		})
	}
}
