package harness

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SourceStandIn plays source-controller's part for GitRepository objects
// (source-controller itself cannot be built from this module proxy).
//
// For every GitRepository it resolves spec.ref in a local git repository,
// archives that commit's tree as a .tar.gz (what source-controller's
// artifact is; only the spec.sparseCheckout directories when given), serves it over HTTP on 127.0.0.1 and sets status.artifact
// (path, url, revision "<branch>@sha1:<commit>", digest "sha256:<hex>",
// lastUpdateTime, size) and the Ready and ArtifactInStorage conditions.
// It looks at the branches every poll period and re-archives when a branch
// moves. The URL in spec.url is not contacted: it is mapped to a local
// repository (MapURL), by default the one given to Start.
//
// HelmRepository objects are marked Ready without fetching anything (the
// helm-controller stand-in never downloads charts).
type SourceStandIn struct {
	c     *Cluster
	poll  time.Duration
	dir   string
	ln    net.Listener
	srv   *http.Server
	base  string
	mu    sync.Mutex
	repos map[string]string // spec.url -> local repository; "" is the default
}

func newSourceStandIn(c *Cluster, defaultRepo string, poll time.Duration) (*SourceStandIn, error) {
	s := &SourceStandIn{c: c, poll: poll, dir: filepath.Join(c.Dir, "artifacts"),
		repos: map[string]string{"": defaultRepo}}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.ln = ln
	s.base = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: http.FileServer(http.Dir(s.dir)), ReadHeaderTimeout: 5 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

// MapURL makes GitRepositories whose spec.url is url use the local
// repository dir. url "" sets the default for all other URLs.
func (s *SourceStandIn) MapURL(url, dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[url] = dir
}

func (s *SourceStandIn) repoFor(url string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.repos[url]; ok && d != "" {
		return d
	}
	return s.repos[""]
}

func (s *SourceStandIn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.srv.Shutdown(ctx)
}

func (s *SourceStandIn) logf(format string, args ...any) {
	s.c.events.add("source-standin", fmt.Sprintf(format, args...))
}

func (s *SourceStandIn) run(ctx context.Context) {
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		s.reconcileAll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *SourceStandIn) reconcileAll(ctx context.Context) {
	var grs sourcev1.GitRepositoryList
	if err := s.c.Client.List(ctx, &grs); err != nil {
		if ctx.Err() == nil {
			s.logf("list GitRepositories: %v", err)
		}
		return
	}
	for i := range grs.Items {
		if err := s.reconcileGit(ctx, &grs.Items[i]); err != nil && ctx.Err() == nil {
			s.logf("GitRepository %s/%s: %v", grs.Items[i].Namespace, grs.Items[i].Name, err)
		}
	}
	var hrs sourcev1.HelmRepositoryList
	if err := s.c.Client.List(ctx, &hrs); err != nil {
		return
	}
	for i := range hrs.Items {
		hr := &hrs.Items[i]
		if hr.DeletionTimestamp != nil || (apimeta.IsStatusConditionTrue(hr.Status.Conditions, meta.ReadyCondition) && hr.Status.ObservedGeneration == hr.Generation) {
			continue
		}
		hr.Status.ObservedGeneration = hr.Generation
		apimeta.SetStatusCondition(&hr.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue,
			Reason: meta.SucceededReason, ObservedGeneration: hr.Generation,
			Message: "stand-in: HelmRepository accepted without fetching an index"})
		if err := s.c.Client.Status().Update(ctx, hr); err != nil && ctx.Err() == nil {
			s.logf("HelmRepository %s/%s status: %v", hr.Namespace, hr.Name, err)
		} else {
			s.logf("HelmRepository %s/%s marked Ready", hr.Namespace, hr.Name)
		}
	}
}

// gitRef resolves spec.ref to (revision prefix, git rev) like source-controller.
func gitRef(gr *sourcev1.GitRepository) (prefix, rev string, err error) {
	ref := gr.Spec.Reference
	switch {
	case ref == nil:
		return "master", "refs/heads/master", nil
	case ref.Commit != "" && ref.Branch == "" && ref.Tag == "" && ref.Name == "":
		return "", ref.Commit, nil
	case ref.Name != "":
		return ref.Name, ref.Name, nil
	case ref.Tag != "":
		return ref.Tag, "refs/tags/" + ref.Tag, nil
	case ref.SemVer != "":
		return "", "", fmt.Errorf("semver refs are not supported by the stand-in")
	case ref.Branch != "":
		return ref.Branch, "refs/heads/" + ref.Branch, nil
	default:
		return "master", "refs/heads/master", nil
	}
}

func (s *SourceStandIn) reconcileGit(ctx context.Context, gr *sourcev1.GitRepository) error {
	if gr.DeletionTimestamp != nil {
		return nil
	}
	repo := s.repoFor(gr.Spec.URL)
	prefix, rev, err := gitRef(gr)
	var commit string
	if err == nil {
		commit, err = gitOutput(repo, "rev-parse", "--verify", "--quiet", rev+"^{commit}")
		if err != nil {
			err = fmt.Errorf("stand-in: reference %q not found in %s (mapped from %s)", rev, repo, gr.Spec.URL)
		}
	}
	if err != nil {
		if cond := apimeta.FindStatusCondition(gr.Status.Conditions, meta.ReadyCondition); cond != nil && cond.Status == metav1.ConditionFalse && cond.Message == err.Error() {
			return nil
		}
		gr.Status.ObservedGeneration = gr.Generation
		apimeta.SetStatusCondition(&gr.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionFalse,
			Reason: "GitOperationFailed", Message: err.Error(), ObservedGeneration: gr.Generation})
		s.logf("GitRepository %s/%s not Ready: %v", gr.Namespace, gr.Name, err)
		return s.c.Client.Status().Update(ctx, gr)
	}
	revision := "sha1:" + commit
	if prefix != "" {
		revision = prefix + "@" + revision
	}
	a := gr.Status.Artifact
	if a != nil && a.Revision == revision && gr.Status.ObservedGeneration == gr.Generation &&
		apimeta.IsStatusConditionTrue(gr.Status.Conditions, meta.ReadyCondition) {
		if _, err := os.Stat(filepath.Join(s.dir, a.Path)); err == nil {
			return nil
		}
	}
	relPath := path.Join("gitrepository", gr.Namespace, gr.Name, commit+".tar.gz")
	digest, size, err := s.archive(repo, commit, filepath.Join(s.dir, relPath), gr.Spec.SparseCheckout)
	if err != nil {
		return err
	}
	now := metav1.Now()
	gr.Status.Artifact = &meta.Artifact{
		Path:           relPath,
		URL:            s.base + "/" + relPath,
		Revision:       revision,
		Digest:         digest,
		LastUpdateTime: now,
		Size:           ptr.To(size),
	}
	gr.Status.ObservedGeneration = gr.Generation
	msg := fmt.Sprintf("stored artifact for revision '%s'", revision)
	apimeta.SetStatusCondition(&gr.Status.Conditions, metav1.Condition{Type: meta.ReadyCondition, Status: metav1.ConditionTrue,
		Reason: meta.SucceededReason, Message: msg, ObservedGeneration: gr.Generation})
	apimeta.SetStatusCondition(&gr.Status.Conditions, metav1.Condition{Type: sourcev1.ArtifactInStorageCondition, Status: metav1.ConditionTrue,
		Reason: meta.SucceededReason, Message: msg, ObservedGeneration: gr.Generation})
	if err := s.c.Client.Status().Update(ctx, gr); err != nil {
		return err
	}
	s.logf("GitRepository %s/%s (%s) -> artifact %s %s", gr.Namespace, gr.Name, gr.Spec.URL, revision, digest)
	return nil
}

// Files source-controller leaves out of artifacts by default (VCS, CI and
// some binary extensions); see source-controller's sourceignore defaults.
var defaultExcludes = []string{".git/", ".gitignore", ".gitmodules", ".gitattributes",
	".github/", ".circleci/", ".travis.yml", ".gitlab-ci.yml", "appveyor.yml", ".drone.yml",
	"cloudbuild.yaml", "codeship-services.yml", "codeship-steps.yml",
	".goreleaser.yml", ".sops.yaml", ".flux.yaml"}
var defaultExcludeExt = []string{".jpg", ".jpeg", ".gif", ".png", ".wmv", ".flv", ".tar.gz", ".zip"}

func excluded(name string) bool {
	base := path.Base(name)
	for _, e := range defaultExcludes {
		if strings.HasSuffix(e, "/") {
			if strings.HasPrefix(name, e) || strings.Contains(name, "/"+e) {
				return true
			}
		} else if base == e {
			return true
		}
	}
	for _, ext := range defaultExcludeExt {
		if strings.HasSuffix(base, ext) {
			return true
		}
	}
	return false
}

// inSparse reports whether an archive entry belongs to an artifact limited
// to the directories sparse (all of them when sparse is empty), as
// source-controller's spec.sparseCheckout limits it: the files under them,
// and the directories leading to them.
func inSparse(name string, isDir bool, sparse []string) bool {
	if len(sparse) == 0 {
		return true
	}
	name = strings.TrimSuffix(name, "/")
	for _, d := range sparse {
		d = strings.Trim(strings.TrimPrefix(d, "./"), "/")
		if name == d || strings.HasPrefix(name, d+"/") || (isDir && strings.HasPrefix(d, name+"/")) {
			return true
		}
	}
	return false
}

// archive writes the tree of commit (only the sparse directories, when
// given) as a gzipped tar to dest and returns its digest "sha256:<hex>"
// and size.
func (s *SourceStandIn) archive(repo, commit, dest string, sparse []string) (string, int64, error) {
	cmd := exec.Command("git", "-C", repo, "archive", "--format=tar", commit)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		return "", 0, fmt.Errorf("git archive %s: %v: %s", commit, err, stderr.String())
	}
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	tr := tar.NewReader(bytes.NewReader(raw))
	mtime := time.Unix(0, 0)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", 0, err
		}
		switch h.Typeflag {
		case tar.TypeDir, tar.TypeReg:
		default:
			continue // pax headers, symlinks, submodules
		}
		if excluded(h.Name) || !inSparse(h.Name, h.Typeflag == tar.TypeDir, sparse) {
			continue
		}
		nh := &tar.Header{Name: h.Name, Typeflag: h.Typeflag, Mode: h.Mode, Size: h.Size, ModTime: mtime, Format: tar.FormatPAX}
		if err := tw.WriteHeader(nh); err != nil {
			return "", 0, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return "", 0, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", 0, err
	}
	if err := gz.Close(); err != nil {
		return "", 0, err
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", 0, err
	}
	tmp := dest + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return "", 0, err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return "sha256:" + hex.EncodeToString(sum[:]), int64(buf.Len()), nil
}

func gitOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// ensure the client interface is used (for status updates of typed objects).
var _ client.Object = &sourcev1.GitRepository{}
