package harness

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// Versions of everything the harness builds or reads. The wrapper modules
// under tools/ pin the same versions; the cache key also hashes their go.mod
// and go.sum, so editing a wrapper rebuilds.
const (
	KubernetesVersion        = "v1.35.4"
	KustomizeControllerVer   = "v1.9.5"
	SourceControllerVersion  = "v1.9.5"
	HelmControllerAPIVersion = "v1.6.4"
	ControllerToolsVersion   = "v0.19.0"
	CertManagerVersion       = "v1.21.2"
)

// Binaries are the paths of the built programs.
type Binaries struct {
	KubeAPIServer         string
	KubeControllerManager string
	KustomizeController   string
	Etcd                  string
	// CRDFiles lists every CRD manifest to install, in order.
	CRDFiles []string
}

// E2EDir is the directory of the test/e2e module.
func E2EDir() string {
	_, file, _, ok := runtime.Caller(0)
	if ok {
		d := filepath.Dir(filepath.Dir(file))
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	wd, _ := os.Getwd()
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/fleiogen/fleiogen/test/e2e\n")) {
			return d
		}
	}
	return wd
}

// RepoRoot is the root of the fleiogen repository (two levels above test/e2e).
func RepoRoot() string { return filepath.Dir(filepath.Dir(E2EDir())) }

// CacheDir is where built binaries and generated CRDs are kept between runs:
// $FLEIOGEN_E2E_CACHE, else $XDG_CACHE_HOME/fleiogen-e2e, else ~/.cache/fleiogen-e2e.
func CacheDir() string {
	if d := os.Getenv("FLEIOGEN_E2E_CACHE"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "fleiogen-e2e")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "fleiogen-e2e-cache")
	}
	return filepath.Join(home, ".cache", "fleiogen-e2e")
}

// toolKey hashes a wrapper module's go.mod and go.sum, the Go version and
// any extra strings (such as ldflags) into a short cache key.
func toolKey(toolDir string, extra ...string) (string, error) {
	h := sha256.New()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(toolDir, f))
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	h.Write([]byte(runtime.Version()))
	for _, e := range extra {
		h.Write([]byte(e))
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

type logf func(format string, args ...any)

// lockCache takes an exclusive lock on the cache so that concurrent test
// processes do not build the same thing twice.
func lockCache(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// goCmd runs the go command in dir and returns combined output on failure.
func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("go %s (in %s): %w\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out, nil
}

// buildInto builds pkgs of the wrapper module toolDir into
// <cache>/bin/<name>-<key>/ unless that directory is already complete.
func buildInto(log logf, name, toolDir string, ldflags string, pkgs ...string) (string, error) {
	key, err := toolKey(toolDir, ldflags, strings.Join(pkgs, ","))
	if err != nil {
		return "", err
	}
	dest := filepath.Join(CacheDir(), "bin", name+"-"+key)
	if _, err := os.Stat(filepath.Join(dest, ".complete")); err == nil {
		return dest, nil
	}
	tmp := dest + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	args := []string{"build", "-o", tmp + "/"}
	if ldflags != "" {
		args = append(args, "-ldflags", ldflags)
	}
	args = append(args, pkgs...)
	start := time.Now()
	log("building %s (%s) into %s; a cold build of kube-apiserver takes several minutes", name, strings.Join(pkgs, " "), dest)
	if _, err := goCmd(toolDir, args...); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(time.Now().Format(time.RFC3339)), 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dest)
	if err := os.Rename(tmp, dest); err != nil {
		return "", err
	}
	log("built %s in %s", name, time.Since(start).Round(time.Second))
	return dest, nil
}

// moduleDir returns the module cache directory of mod@version, downloading
// it through the module proxy if needed.
func moduleDir(mod, version string) (string, error) {
	out, err := goCmd(os.TempDir(), "mod", "download", "-json", mod+"@"+version)
	if err != nil {
		return "", err
	}
	var info struct {
		Dir   string
		Error string
	}
	if err := json.Unmarshal(out, &info); err != nil {
		return "", fmt.Errorf("go mod download %s@%s: %w: %s", mod, version, err, out)
	}
	if info.Error != "" || info.Dir == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", mod, version, info.Error)
	}
	return info.Dir, nil
}

func yamlFiles(dir string) ([]string, error) {
	var files []string
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() && (strings.HasSuffix(e.Name(), ".yaml") || strings.HasSuffix(e.Name(), ".yml")) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no YAML files in %s", dir)
	}
	return files, nil
}

// helmReleaseCRD generates the HelmRelease CRD with controller-gen from
// helm-controller's API module and caches the result.
func helmReleaseCRD(log logf, e2e string) (string, error) {
	toolDir := filepath.Join(e2e, "tools", "crdgen")
	binDir, err := buildInto(log, "controller-gen-"+ControllerToolsVersion, toolDir, "", "sigs.k8s.io/controller-tools/cmd/controller-gen")
	if err != nil {
		return "", err
	}
	key, err := toolKey(toolDir, "crd")
	if err != nil {
		return "", err
	}
	outDir := filepath.Join(CacheDir(), "crds", "helm-controller-api-"+HelmControllerAPIVersion+"-"+key)
	out := filepath.Join(outDir, "helm.toolkit.fluxcd.io_helmreleases.yaml")
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	tmp := outDir + ".tmp"
	os.RemoveAll(tmp)
	cmd := exec.Command(filepath.Join(binDir, "controller-gen"), "crd",
		"paths=github.com/fluxcd/helm-controller/api/...", "output:crd:dir="+tmp)
	cmd.Dir = toolDir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local", "GOFLAGS=-mod=readonly")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("controller-gen: %w\n%s", err, b)
	}
	if _, err := os.Stat(filepath.Join(tmp, "helm.toolkit.fluxcd.io_helmreleases.yaml")); err != nil {
		return "", fmt.Errorf("controller-gen did not write the HelmRelease CRD: %w", err)
	}
	os.RemoveAll(outDir)
	if err := os.Rename(tmp, outDir); err != nil {
		return "", err
	}
	log("generated HelmRelease CRD into %s", out)
	return out, nil
}

// EnsureBinaries builds (or finds in the cache) everything the harness runs
// and locates the CRD manifests. etcd comes from the system (hack/install-deps.sh).
func EnsureBinaries(log logf) (*Binaries, error) {
	unlock, err := lockCache(CacheDir())
	if err != nil {
		return nil, err
	}
	defer unlock()

	e2e := E2EDir()
	b := &Binaries{}
	if b.Etcd, err = exec.LookPath("etcd"); err != nil {
		return nil, fmt.Errorf("etcd not found in PATH; run test/e2e/hack/install-deps.sh (apt-get install etcd-server): %w", err)
	}

	minor := strings.Split(KubernetesVersion, ".")[1]
	ldflags := strings.Join([]string{
		"-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion,
		"-X k8s.io/component-base/version.gitMajor=1",
		"-X k8s.io/component-base/version.gitMinor=" + minor,
		"-X k8s.io/component-base/version.gitTreeState=clean",
		"-X k8s.io/component-base/version.buildDate=1970-01-01T00:00:00Z",
	}, " ")
	kubeDir, err := buildInto(log, "kubernetes-"+KubernetesVersion, filepath.Join(e2e, "tools", "kube"), ldflags,
		"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager")
	if err != nil {
		return nil, err
	}
	b.KubeAPIServer = filepath.Join(kubeDir, "kube-apiserver")
	b.KubeControllerManager = filepath.Join(kubeDir, "kube-controller-manager")

	kcDir, err := buildInto(log, "kustomize-controller-"+KustomizeControllerVer, filepath.Join(e2e, "tools", "kustomize-controller"), "",
		"github.com/fluxcd/kustomize-controller")
	if err != nil {
		return nil, err
	}
	b.KustomizeController = filepath.Join(kcDir, "kustomize-controller")

	for _, src := range []struct{ mod, ver, sub string }{
		{"github.com/fluxcd/source-controller", SourceControllerVersion, "config/crd/bases"},
		{"github.com/fluxcd/kustomize-controller", KustomizeControllerVer, "config/crd/bases"},
		{"github.com/cert-manager/cert-manager", CertManagerVersion, "deploy/crds"},
	} {
		dir, err := moduleDir(src.mod, src.ver)
		if err != nil {
			return nil, err
		}
		files, err := yamlFiles(filepath.Join(dir, src.sub))
		if err != nil {
			return nil, err
		}
		b.CRDFiles = append(b.CRDFiles, files...)
	}
	hr, err := helmReleaseCRD(log, e2e)
	if err != nil {
		return nil, err
	}
	b.CRDFiles = append(b.CRDFiles, hr)
	return b, nil
}
