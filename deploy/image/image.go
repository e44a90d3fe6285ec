// Package image builds Paved's container image without a container engine: the static paved
// binary, CA certificates and a non-root user on an empty base, written as an OCI image layout
// and as a tarball that `docker load` and `podman load` read.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Fixed facts of the image, which the Dockerfile, the Compose file and the Helm chart repeat.
const (
	// UID and GID run the server: not root, and numeric so that Kubernetes' runAsNonRoot can
	// check it without reading /etc/passwd.
	UID = 65532
	GID = 65532
	// Binary is where the paved binary lives in the image.
	Binary = "/paved"
	// DataDir is the volume for SQLite and the embedded search index.
	DataDir = "/data"
	// Port is the HTTP port the server listens on inside the container.
	Port = 8080
	// CAFile is where the CA certificates go, the path Go's crypto/x509 looks at first.
	CAFile = "/etc/ssl/certs/ca-certificates.crt"
)

// Options say what goes into the image and how it is labelled.
type Options struct {
	Binary   string // a statically linked paved binary for linux (see BuildBinary)
	CAFile   string // the CA bundle to copy in, usually the build machine's
	Version  string // org.opencontainers.image.version
	Revision string // the git commit, org.opencontainers.image.revision
	Source   string // the repository URL, org.opencontainers.image.source
	License  string // an SPDX expression, org.opencontainers.image.licenses
	Created  time.Time
	Arch     string // GOARCH the binary was built for
}

// BuildBinary compiles ./cmd/paved of the module at root into out: static (cgo off, so it needs
// no C library in the image), without local paths, with version stamped in.
func BuildBinary(ctx context.Context, root, out, version, goarch string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, "./cmd/paved")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, b)
	}
	return nil
}

// Build assembles the image.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("read the paved binary: %w", err)
	}
	ca, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificates: %w", err)
	}
	if !bytes.Contains(ca, []byte("BEGIN CERTIFICATE")) {
		return nil, fmt.Errorf("%s holds no PEM certificate", o.CAFile)
	}
	fsTar, err := rootFS(bin, ca, o.Created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(fsTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, fmt.Errorf("make the layer: %w", err)
	}
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	img, err := mutate.Append(base, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History:   v1.History{Created: v1.Time{Time: o.Created}, CreatedBy: "paved mkimage", Comment: "paved binary, CA certificates, user " + strconv.Itoa(UID)},
	})
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", o.Arch
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:%d", UID, GID),
		Entrypoint: []string{Binary},
		Cmd:        []string{"serve"},
		WorkingDir: DataDir,
		Env: []string{
			"PATH=/",
			"SSL_CERT_FILE=" + CAFile,
			"PAVED_DATA_DIR=" + DataDir,
			// Inside a container the server must answer on every interface, not loopback.
			fmt.Sprintf("PAVED_LISTEN=0.0.0.0:%d", Port),
		},
		ExposedPorts: map[string]struct{}{fmt.Sprintf("%d/tcp", Port): {}},
		Volumes:      map[string]struct{}{DataDir: {}},
		StopSignal:   "SIGTERM",
		Labels:       Labels(o),
	}
	return mutate.ConfigFile(img, cf)
}

// Labels returns the OCI annotations the image carries as labels.
func Labels(o Options) map[string]string {
	return map[string]string{
		"org.opencontainers.image.title":       "Paved",
		"org.opencontainers.image.description": "Self-hosted portal for approved SaaS apps, committee votes and shadow-IT discovery",
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.revision":    o.Revision,
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.licenses":    o.License,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
}

// Write stores img under dir as an OCI image layout (dir/oci) and a tarball (dir/paved.tar)
// tagged ref, replacing what an earlier run wrote there. It returns the image digest.
func Write(img v1.Image, dir, ref string) (v1.Hash, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	ociDir := filepath.Join(dir, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return v1.Hash{}, err
	}
	p, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": tag.TagStr(),
		"io.containerd.image.name":          tag.Name(),
	})); err != nil {
		return v1.Hash{}, fmt.Errorf("write the OCI layout: %w", err)
	}
	if err := tarball.WriteToFile(filepath.Join(dir, "paved.tar"), tag, img); err != nil {
		return v1.Hash{}, fmt.Errorf("write the tarball: %w", err)
	}
	return img.Digest()
}

// Open reads the one image of the OCI layout under dir (as Write left it).
func Open(dir string) (v1.Image, error) {
	ii, err := layout.ImageIndexFromPath(filepath.Join(dir, "oci"))
	if err != nil {
		return nil, err
	}
	m, err := ii.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(m.Manifests) != 1 {
		return nil, fmt.Errorf("the layout holds %d manifests; want 1", len(m.Manifests))
	}
	return ii.Image(m.Manifests[0].Digest)
}

// rootFS returns the layer's tar: the binary, the CA bundle, passwd and group files naming the
// user, and the data and temp folders. Times are fixed so the same inputs give the same layer.
func rootFS(bin, ca []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dir := func(name string, mode int64, uid, gid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: gid, ModTime: mtime, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	passwd := fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\npaved:x:%d:%d:paved:%s:/sbin/nologin\n", UID, GID, DataDir)
	group := fmt.Sprintf("root:x:0:\npaved:x:%d:\n", GID)
	steps := []func() error{
		func() error { return dir("etc", 0o755, 0, 0) },
		func() error { return file("etc/passwd", 0o644, []byte(passwd)) },
		func() error { return file("etc/group", 0o644, []byte(group)) },
		func() error { return dir("etc/ssl", 0o755, 0, 0) },
		func() error { return dir("etc/ssl/certs", 0o755, 0, 0) },
		func() error { return file(strings.TrimPrefix(CAFile, "/"), 0o644, ca) },
		func() error { return file(strings.TrimPrefix(Binary, "/"), 0o755, bin) },
		// The server writes only here (and to /tmp), so the root filesystem can be read-only.
		func() error { return dir(strings.TrimPrefix(DataDir, "/"), 0o750, UID, GID) },
		func() error { return dir("tmp", 0o1777, 0, 0) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
