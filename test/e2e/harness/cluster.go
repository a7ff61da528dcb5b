package harness

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

const (
	adminToken = "e2e-admin-token"
	kcmToken   = "e2e-kube-controller-manager-token"
	// FluxNamespace is where the Flux controllers "run" (RUNTIME_NAMESPACE).
	FluxNamespace = "flux-system"
)

// Scheme knows the built-in types, CRDs and the Flux and apiextensions types.
var Scheme = runtime.NewScheme()

func init() {
	// The harness's clients log nothing; what they do is in harness.log.
	ctrllog.SetLogger(logr.Discard())
	utilruntime.Must(clientgoscheme.AddToScheme(Scheme))
	utilruntime.Must(apiextensionsv1.AddToScheme(Scheme))
	utilruntime.Must(kustomizev1.AddToScheme(Scheme))
	utilruntime.Must(sourcev1.AddToScheme(Scheme))
	utilruntime.Must(helmv2.AddToScheme(Scheme))
}

// Options configure one simulated cluster.
type Options struct {
	// Name labels the cluster in logs (e.g. "staging").
	Name string
	// Repo is the local git repository that the source-controller stand-in
	// serves for every GitRepository URL (see SourceStandIn.MapURL).
	Repo string
	// RequeueDependency is kustomize-controller's --requeue-dependency (default 2s).
	RequeueDependency time.Duration
	// Workloads is the initial policy of the workload stand-in.
	Workloads WorkloadPolicy
	// SourcePoll is how often the source stand-in looks at the git branches (default 1s).
	SourcePoll time.Duration
	// HelmNoCrossNamespaceRefs makes the helm-controller stand-in refuse
	// HelmRelease sourceRefs in another namespace, as helm-controller does
	// with --no-cross-namespace-refs=true (which d1-fleet's bootstrap sets).
	HelmNoCrossNamespaceRefs bool
	// HelmDefaultServiceAccount makes the helm-controller stand-in check,
	// with a SubjectAccessReview, that the account a HelmRelease names
	// (or, naming none, this one in its namespace) may install a chart, as
	// helm-controller impersonates it with --default-service-account
	// (which d1-fleet's bootstrap sets). Empty: a HelmRelease that names no
	// account runs as helm-controller itself.
	HelmDefaultServiceAccount string
}

// Cluster is a running etcd + kube-apiserver + kube-controller-manager +
// kustomize-controller with the stand-ins.
type Cluster struct {
	Name       string
	Dir        string
	LogDir     string
	Kubeconfig string // admin kubeconfig (system:masters)
	Config     *rest.Config
	Client     client.Client

	Source    *SourceStandIn
	Helm      *HelmStandIn
	Workloads *WorkloadStandIn

	t       testing.TB
	bins    *Binaries
	pki     *pki
	procs   []*process
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	stopped bool
	mu      sync.Mutex
	events  *eventLog
}

// Logf writes to the test log and to <logs>/harness.log.
func (c *Cluster) Logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	c.events.add("harness", msg)
	c.t.Helper()
	c.t.Logf("[%s %s] %s", c.Name, time.Now().Format("15:04:05.000"), msg)
}

// Start brings up a cluster and registers its teardown with t.Cleanup.
// On test failure the directory with all logs is kept and printed.
func Start(t testing.TB, bins *Binaries, opts Options) *Cluster {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "cluster"
	}
	if opts.RequeueDependency == 0 {
		opts.RequeueDependency = 2 * time.Second
	}
	if opts.SourcePoll == 0 {
		opts.SourcePoll = time.Second
	}
	dir, err := os.MkdirTemp("", "fleiogen-e2e-"+opts.Name+"-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Name: opts.Name, Dir: dir, LogDir: filepath.Join(dir, "logs"), t: t, bins: bins}
	if err := os.MkdirAll(c.LogDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.events = newEventLog(filepath.Join(c.LogDir, "harness.log"))
	t.Cleanup(c.stop)
	start := time.Now()
	if err := c.start(opts); err != nil {
		t.Fatalf("starting cluster %q: %v\n%s", opts.Name, err, c.processTails())
	}
	c.Logf("cluster up in %s (logs in %s)", time.Since(start).Round(100*time.Millisecond), c.LogDir)
	return c
}

func (c *Cluster) start(opts Options) error {
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	var err error
	if c.pki, err = newPKI(filepath.Join(c.Dir, "pki")); err != nil {
		return err
	}
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kcHealth, kcMetrics := ports[0], ports[1], ports[2], ports[3], ports[4]

	// etcd
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	p, err := startProcess(c.LogDir, "etcd", nil, c.bins.Etcd,
		"--name=e2e", "--data-dir="+filepath.Join(c.Dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=e2e="+peerURL, "--initial-cluster-state=new",
		"--logger=zap", "--log-outputs=stderr", "--quota-backend-bytes=2147483648")
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	if err := c.waitHTTP(ctx, p, etcdURL+"/health", nil, 30*time.Second); err != nil {
		return err
	}

	// kube-apiserver
	tokens := filepath.Join(c.Dir, "pki", "tokens.csv")
	if err := os.WriteFile(tokens, []byte(
		adminToken+",admin,admin-uid,system:masters\n"+
			kcmToken+",system:kube-controller-manager,kcm-uid\n"), 0o600); err != nil {
		return err
	}
	apiURL := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	p, err = startProcess(c.LogDir, "kube-apiserver", nil, c.bins.KubeAPIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", apiPort),
		"--cert-dir="+filepath.Join(c.Dir, "pki"),
		"--tls-cert-file="+c.pki.ServingCert, "--tls-private-key-file="+c.pki.ServingKey,
		"--service-account-key-file="+c.pki.SAPublic,
		"--service-account-signing-key-file="+c.pki.SAPrivate,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--token-auth-file="+tokens,
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1",
	)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	if err := c.waitHTTP(ctx, p, apiURL+"/readyz", map[string]string{"Authorization": "Bearer " + adminToken}, 90*time.Second); err != nil {
		return err
	}
	c.Config = &rest.Config{
		Host:            apiURL,
		BearerToken:     adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: c.pki.caPEM},
		QPS:             100, Burst: 200,
	}
	c.Kubeconfig = filepath.Join(c.Dir, "admin.kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, apiURL, c.pki.CACert, adminToken); err != nil {
		return err
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: Scheme}); err != nil {
		return err
	}

	// CRDs
	if err := c.installCRDs(ctx); err != nil {
		return err
	}

	// kube-controller-manager, as system:kube-controller-manager with one
	// service account per controller, like kubeadm runs it.
	kcmKubeconfig := filepath.Join(c.Dir, "kcm.kubeconfig")
	if err := writeKubeconfig(kcmKubeconfig, apiURL, c.pki.CACert, kcmToken); err != nil {
		return err
	}
	p, err = startProcess(c.LogDir, "kube-controller-manager", nil, c.bins.KubeControllerManager,
		"--kubeconfig="+kcmKubeconfig,
		"--authentication-kubeconfig="+kcmKubeconfig,
		"--authorization-kubeconfig="+kcmKubeconfig,
		"--bind-address=127.0.0.1", "--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+c.pki.SAPrivate,
		"--root-ca-file="+c.pki.CACert,
		"--controllers="+strings.Join(KCMControllers, ","),
		"--v=1",
	)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)

	// flux-system namespace and kustomize-controller's identity, as the
	// Flux install manifests create them: ServiceAccount kustomize-controller
	// bound to cluster-admin (ClusterRoleBinding cluster-reconciler-flux-system).
	kcToken, err := c.fluxIdentity(ctx)
	if err != nil {
		return err
	}

	// Stand-ins (in this process).
	c.Source, err = newSourceStandIn(c, opts.Repo, opts.SourcePoll)
	if err != nil {
		return err
	}
	c.Helm = newHelmStandIn(c, opts.HelmNoCrossNamespaceRefs, opts.HelmDefaultServiceAccount)
	c.Workloads = newWorkloadStandIn(c, opts.Workloads)
	for _, run := range []func(context.Context){c.Source.run, c.Helm.run, c.Workloads.run} {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); run(ctx) }()
	}

	// kustomize-controller
	kcKubeconfig := filepath.Join(c.Dir, "kustomize-controller.kubeconfig")
	if err := writeKubeconfig(kcKubeconfig, apiURL, c.pki.CACert, kcToken); err != nil {
		return err
	}
	kcTmp := filepath.Join(c.Dir, "kustomize-controller-tmp")
	if err := os.MkdirAll(kcTmp, 0o755); err != nil {
		return err
	}
	p, err = startProcess(c.LogDir, "kustomize-controller",
		[]string{"RUNTIME_NAMESPACE=" + FluxNamespace, "TMPDIR=" + kcTmp, "KUBECONFIG=" + kcKubeconfig},
		c.bins.KustomizeController,
		"--enable-leader-election=false",
		fmt.Sprintf("--health-addr=127.0.0.1:%d", kcHealth),
		fmt.Sprintf("--metrics-addr=127.0.0.1:%d", kcMetrics),
		"--watch-all-namespaces=true",
		"--requeue-dependency="+opts.RequeueDependency.String(),
		"--concurrent=4",
		// The multi-tenancy lockdown flags d1-fleet's bootstrap patches in.
		// With --default-service-account, a Kustomization that names no
		// account impersonates one with no permissions, in flux-system too;
		// the lockdown patch gives flux-system's own Kustomization
		// serviceAccountName: kustomize-controller (GotkSync).
		"--no-cross-namespace-refs=true",
		"--no-remote-bases=true",
		"--default-service-account=default",
		"--log-level=debug",
		"--log-encoding=console",
	)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	if err := c.waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/readyz", kcHealth), nil, 60*time.Second); err != nil {
		return err
	}
	return nil
}

// KCMControllers are the kube-controller-manager controllers that run
// (1.35 names). The job, deployment, replicaset and PV controllers are left
// out on purpose: the workload stand-in decides when Jobs complete,
// Deployments become available and PVCs bind.
var KCMControllers = []string{
	"namespace-controller",
	"garbage-collector-controller",
	"serviceaccount-controller",
	"serviceaccount-token-controller",
	"clusterrole-aggregation-controller",
	"root-ca-certificate-publisher-controller",
}

func writeKubeconfig(path, server, caFile, token string) error {
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: e2e
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: user
  user:
    token: %s
contexts:
- name: e2e
  context:
    cluster: e2e
    user: user
current-context: e2e
`, server, caFile, token)
	return os.WriteFile(path, []byte(kc), 0o600)
}

// waitHTTP polls url until it answers 200, failing early if p exits.
func (c *Cluster) waitHTTP(ctx context.Context, p *process, url string, headers map[string]string, timeout time.Duration) error {
	pool := x509.NewCertPool()
	if c.pki != nil {
		pool.AppendCertsFromPEM(c.pki.caPEM)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited while waiting for %s: %v\n%s", p.name, url, err, p.tail(40))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy at %s after %s (last: %s)\n%s", p.name, url, timeout, last, p.tail(40))
}

func (c *Cluster) installCRDs(ctx context.Context) error {
	var names []string
	for _, f := range c.bins.CRDFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		objs, err := DecodeYAML(b)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, o := range objs {
			if err := c.Apply(ctx, o); err != nil {
				return fmt.Errorf("apply CRD from %s: %w", f, err)
			}
			names = append(names, o.GetName())
		}
	}
	return Poll(ctx, 60*time.Second, "CRDs Established", func() (bool, string, error) {
		for _, n := range names {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: n}, crd); err != nil {
				return false, "CRD " + n + ": " + err.Error(), nil
			}
			established := false
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				return false, "CRD " + n + " not Established", nil
			}
		}
		return true, "", nil
	})
}

// fluxIdentity creates flux-system, the kustomize-controller and
// helm-controller ServiceAccounts bound to cluster-admin, and returns a
// token for kustomize-controller's (TokenRequest API).
func (c *Cluster) fluxIdentity(ctx context.Context) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: FluxNamespace}}
	if err := c.Client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	for _, name := range []string{"helm-controller", "kustomize-controller"} {
		acct := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: FluxNamespace}}
		if err := c.Client.Create(ctx, acct); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", err
		}
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "kustomize-controller", Namespace: FluxNamespace}}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster-reconciler-flux-system"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects: []rbacv1.Subject{
			{Kind: "ServiceAccount", Name: "kustomize-controller", Namespace: FluxNamespace},
			{Kind: "ServiceAccount", Name: "helm-controller", Namespace: FluxNamespace},
		},
	}
	if err := c.Client.Create(ctx, crb); err != nil && !apierrors.IsAlreadyExists(err) {
		return "", err
	}
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](48 * 3600)}}
	if err := c.Client.SubResource("token").Create(ctx, sa, tr); err != nil {
		return "", fmt.Errorf("token for kustomize-controller: %w", err)
	}
	return tr.Status.Token, nil
}

// CheckProcesses returns an error naming any child process that has exited.
func (c *Cluster) CheckProcesses() error {
	for _, p := range c.procs {
		if done, err := p.exited(); done {
			return fmt.Errorf("%s exited (%v); last log lines:\n%s", p.name, err, p.tail(30))
		}
	}
	return nil
}

func (c *Cluster) processTails() string {
	var b strings.Builder
	for _, p := range c.procs {
		fmt.Fprintf(&b, "--- %s (%s), last lines:\n%s\n", p.name, p.logPath, p.tail(8))
	}
	return b.String()
}

// Stop tears the cluster down now (it is also registered with t.Cleanup).
func (c *Cluster) Stop() { c.stop() }

func (c *Cluster) stop() {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return
	}
	c.stopped = true
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	if c.Source != nil {
		c.Source.close()
	}
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop(10 * time.Second)
	}
	c.events.close()
	if c.t.Failed() || os.Getenv("E2E_KEEP") != "" {
		c.t.Logf("cluster %q: logs and state kept in %s (kubeconfig %s)\n%s", c.Name, c.LogDir, c.Kubeconfig, c.processTails())
		return
	}
	os.RemoveAll(c.Dir)
}
