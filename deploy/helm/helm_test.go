// Package helm holds Paved's Helm chart (paved/) and the test that lints and renders it with
// Helm's own Go packages, pinned in go.mod, as `helm lint` and `helm template` would.
package helm

import (
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
)

const chartDir = "paved"

// base is the least a user must set: the PostgreSQL URL.
func base() map[string]any {
	return map[string]any{"secret": map[string]any{"databaseUrl": "postgres://paved:pw@db:5432/paved", "searchKey": "k", "oidcClientSecret": "s"}}
}

// render runs `helm template` on the chart with vals over the chart's defaults and returns
// the rendered manifests by kind and name.
func render(t *testing.T, vals map[string]any) (map[string]string, error) {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	rv, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "paved", Namespace: "portal", IsInstall: true}, chartutil.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(ch, rv)
	if err != nil {
		return nil, err
	}
	objs := map[string]string{}
	for name, body := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			continue
		}
		for _, doc := range strings.Split(body, "\n---") {
			var meta struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name string `json:"name"`
				} `json:"metadata"`
			}
			if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
				t.Fatalf("%s does not render to YAML: %v\n%s", name, err, doc)
			}
			if meta.Kind == "" {
				continue
			}
			objs[meta.Kind+"/"+meta.Metadata.Name] = doc
		}
	}
	return objs, nil
}

func decode[T any](t *testing.T, objs map[string]string, key string) *T {
	t.Helper()
	doc, ok := objs[key]
	if !ok {
		t.Fatalf("no %s among %v", key, slices.Sorted(maps.Keys(objs)))
	}
	var v T
	if err := yaml.UnmarshalStrict([]byte(doc), &v); err != nil {
		t.Fatalf("%s: %v\n%s", key, err, doc)
	}
	return &v
}

func TestChartLints(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
	}{
		{"defaults", base()},
		{"everything on", everythingOn()},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := lint.All(chartDir, c.vals, "portal", false)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("helm lint: %s", m)
				}
			}
		})
	}
}

func TestChartRendersTwoHardenedReplicas(t *testing.T) {
	objs, err := render(t, base())
	if err != nil {
		t.Fatal(err)
	}
	dep := decode[appsv1.Deployment](t, objs, "Deployment/paved")
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v; want 2", dep.Spec.Replicas)
	}
	if ru := dep.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 0 {
		t.Errorf("rolling update %+v; want no replica down during an upgrade", ru)
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "registry.example.com/paved:dev" {
		t.Errorf("image %s; want the chart's appVersion as tag", c.Image)
	}
	probe := func(name string, p *corev1.Probe, path string) {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
			t.Errorf("%s probe %+v; want GET %s on the http port", name, p, path)
		}
	}
	probe("readiness", c.ReadinessProbe, "/readyz")
	probe("liveness", c.LivenessProbe, "/healthz")
	probe("startup", c.StartupProbe, "/healthz")
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080 || c.Ports[0].Name != "http" {
		t.Errorf("ports %+v; want http 8080", c.Ports)
	}
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser != 65532 {
		t.Errorf("pod security context %+v; want non-root user 65532", psc)
	}
	sc := c.SecurityContext
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot ||
		sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container security context %+v; want read-only root, no privilege escalation, non-root, all capabilities dropped", sc)
	}
	mounts := map[string]bool{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = true
	}
	if !mounts["/data"] || !mounts["/tmp"] {
		t.Errorf("mounts %v; a read-only root needs writable /data and /tmp", mounts)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v; want requests and a memory limit", c.Resources)
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	if e := env["PAVED_DATABASE_URL"]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "paved" {
		t.Errorf("PAVED_DATABASE_URL %+v; want it from the chart's Secret", e)
	}
	if env["PAVED_LISTEN"].Value != "0.0.0.0:8080" || env["PAVED_BASE_URL"].Value != "https://paved.example.com" {
		t.Errorf("PAVED_LISTEN %q PAVED_BASE_URL %q", env["PAVED_LISTEN"].Value, env["PAVED_BASE_URL"].Value)
	}
	if env["PAVED_SHUTDOWN_TIMEOUT"].Value != "25s" {
		t.Errorf("PAVED_SHUTDOWN_TIMEOUT %q; want 25s, inside the 30 s grace period", env["PAVED_SHUTDOWN_TIMEOUT"].Value)
	}
	// By default the pods migrate under the advisory lock: no Job, and no --no-migrate.
	if _, ok := env["PAVED_NO_MIGRATE"]; ok {
		t.Error("PAVED_NO_MIGRATE set without the migration Job")
	}
	if dep.Spec.Template.Annotations["prometheus.io/scrape"] != "true" || dep.Spec.Template.Annotations["prometheus.io/path"] != "/metrics" {
		t.Errorf("pod annotations %v; want prometheus.io scrape annotations", dep.Spec.Template.Annotations)
	}

	svc := decode[corev1.Service](t, objs, "Service/paved")
	if !maps.Equal(svc.Spec.Selector, dep.Spec.Selector.MatchLabels) || svc.Spec.Ports[0].TargetPort.String() != "http" {
		t.Errorf("service selector %v port %+v; want the deployment's pods on http", svc.Spec.Selector, svc.Spec.Ports)
	}
	pdb := decode[policyv1.PodDisruptionBudget](t, objs, "PodDisruptionBudget/paved")
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || !maps.Equal(pdb.Spec.Selector.MatchLabels, dep.Spec.Selector.MatchLabels) {
		t.Errorf("PDB %+v; want at least 1 of the deployment's pods available", pdb.Spec)
	}
	secret := decode[corev1.Secret](t, objs, "Secret/paved")
	if secret.StringData["database-url"] != "postgres://paved:pw@db:5432/paved" {
		t.Errorf("secret %v", secret.StringData)
	}
	for _, absent := range []string{"HorizontalPodAutoscaler/paved", "Job/paved-migrate", "Ingress/paved"} {
		if _, ok := objs[absent]; ok {
			t.Errorf("%s rendered though not enabled", absent)
		}
	}
}

func everythingOn() map[string]any {
	return map[string]any{
		"secret":      map[string]any{"existingSecret": "paved-secrets"},
		"autoscaling": map[string]any{"enabled": true, "minReplicas": 3, "maxReplicas": 8},
		"ingress": map[string]any{"enabled": true, "className": "nginx",
			"hosts": []any{map[string]any{"host": "paved.corp.example", "paths": []any{map[string]any{"path": "/", "pathType": "Prefix"}}}},
			"tls":   []any{map[string]any{"secretName": "paved-tls", "hosts": []any{"paved.corp.example"}}}},
		"migrations": map[string]any{"job": map[string]any{"enabled": true}},
		"metrics":    map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
	}
}

func TestChartRendersOptionalParts(t *testing.T) {
	objs, err := render(t, everythingOn())
	if err != nil {
		t.Fatal(err)
	}
	dep := decode[appsv1.Deployment](t, objs, "Deployment/paved")
	if dep.Spec.Replicas != nil {
		t.Errorf("replicas %d set; the autoscaler owns the count", *dep.Spec.Replicas)
	}
	hpa := decode[autoscalingv2.HorizontalPodAutoscaler](t, objs, "HorizontalPodAutoscaler/paved")
	if hpa.Spec.ScaleTargetRef.Name != "paved" || *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 8 {
		t.Errorf("HPA %+v", hpa.Spec)
	}
	ing := decode[networkingv1.Ingress](t, objs, "Ingress/paved")
	if ing.Spec.Rules[0].Host != "paved.corp.example" || ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Name != "paved" || ing.Spec.TLS[0].SecretName != "paved-tls" {
		t.Errorf("ingress %+v", ing.Spec)
	}
	if _, ok := objs["Secret/paved"]; ok {
		t.Error("the chart made a Secret though an existing one is named")
	}
	// Migrations: a hook Job before install and upgrade; the pods then skip migrating.
	job := decode[batchv1.Job](t, objs, "Job/paved-migrate")
	if job.Annotations["helm.sh/hook"] != "pre-install,pre-upgrade" {
		t.Errorf("job hook %q", job.Annotations["helm.sh/hook"])
	}
	jc := job.Spec.Template.Spec.Containers[0]
	if !slices.Equal(jc.Args, []string{"migrate", "up"}) || jc.SecurityContext == nil || !*jc.SecurityContext.ReadOnlyRootFilesystem {
		t.Errorf("job container args %v security %+v", jc.Args, jc.SecurityContext)
	}
	if job.Spec.Template.Labels["app.kubernetes.io/name"] == dep.Spec.Selector.MatchLabels["app.kubernetes.io/name"] {
		t.Error("the migration pod carries the server's selector labels: the Service would send it requests")
	}
	noMigrate := false
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "PAVED_NO_MIGRATE" && e.Value == "true" {
			noMigrate = true
		}
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name != "paved-secrets" {
			t.Errorf("%s from secret %s; want paved-secrets", e.Name, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	if !noMigrate {
		t.Error("with the migration Job the pods still migrate")
	}
	if _, ok := objs["ServiceMonitor/paved"]; !ok {
		t.Error("no ServiceMonitor")
	}
}

func TestChartRefusesIncompleteValues(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"no database", map[string]any{}, "secret.databaseUrl"},
		{"job without existing secret", map[string]any{
			"secret":     base()["secret"],
			"migrations": map[string]any{"job": map[string]any{"enabled": true}},
		}, "secret.existingSecret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := render(t, c.vals)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("render: %v; want an error naming %s", err, c.want)
			}
		})
	}
}
