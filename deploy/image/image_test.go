package image

import (
	"archive/tar"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// TestImage builds the image from this repository, reads it back from the OCI layout and
// checks what a container runtime would use: the non-root user, entry point, port, volume and
// labels; the files of its layer with their owners and modes; and that the binary taken out of
// the layer runs.
func TestImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the paved binary; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the image's binary is for linux and the test runs it")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "paved")
	const version = "v9.8.7-test"
	if err := BuildBinary(t.Context(), filepath.Join("..", ".."), bin, version, runtime.GOARCH); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(ca, testCA(t), 0o644); err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	opts := Options{Binary: bin, CAFile: ca, Version: version, Revision: "0123456789abcdef", Source: "https://example.com/paved", License: "Apache-2.0", Created: created, Arch: runtime.GOARCH}
	img, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "image")
	digest, err := Write(img, out, "paved:test")
	if err != nil {
		t.Fatal(err)
	}
	// The same inputs give the same image, byte for byte.
	again, err := Build(opts)
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := again.Digest(); d2 != digest {
		t.Errorf("a second build has digest %s, the first %s; want the same", d2, digest)
	}

	got, err := Open(out)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != digest {
		t.Errorf("the layout holds %s; Write reported %s", d, digest)
	}
	mt, _ := got.MediaType()
	if mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("manifest media type %s; want OCI", mt)
	}
	cf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User != "65532:65532" {
		t.Errorf("user %q; want the numeric non-root 65532:65532", c.User)
	}
	if !slices.Equal(c.Entrypoint, []string{"/paved"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("entrypoint %q cmd %q; want [/paved] [serve]", c.Entrypoint, c.Cmd)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok || len(c.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v; want 8080/tcp", c.ExposedPorts)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("volumes %v; want /data", c.Volumes)
	}
	for _, kv := range []string{"PAVED_DATA_DIR=/data", "PAVED_LISTEN=0.0.0.0:8080", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"} {
		if !slices.Contains(c.Env, kv) {
			t.Errorf("env %q lacks %s", c.Env, kv)
		}
	}
	for k, v := range map[string]string{
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.revision": "0123456789abcdef",
		"org.opencontainers.image.source":   "https://example.com/paved",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
	} {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q; want %q", k, c.Labels[k], v)
		}
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("platform %s/%s", cf.OS, cf.Architecture)
	}

	layers, err := got.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("%d layers (%v); want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	type entry struct {
		mode     int64
		uid, gid int
	}
	files := map[string]entry{}
	extracted := filepath.Join(tmp, "extracted-paved")
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimSuffix(h.Name, "/")] = entry{h.Mode, h.Uid, h.Gid}
		if h.Name == "paved" {
			f, err := os.OpenFile(extracted, os.O_CREATE|os.O_WRONLY, 0o755)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	for name, want := range map[string]entry{
		"paved":                             {0o755, 0, 0},
		"etc/ssl/certs/ca-certificates.crt": {0o644, 0, 0},
		"etc/passwd":                        {0o644, 0, 0},
		"data":                              {0o750, 65532, 65532},
		"tmp":                               {0o1777, 0, 0},
	} {
		if got, ok := files[name]; !ok || got != want {
			t.Errorf("%s in the layer: %+v (present %v); want %+v", name, got, ok, want)
		}
	}
	// The binary from the layer runs, with the version it was built with. It is static: it
	// needs nothing else from the (empty) base.
	vout, err := exec.Command(extracted, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(vout), "paved "+version) {
		t.Errorf("paved version from the image: %v %q; want paved %s", err, vout, version)
	}
	if fout, err := exec.Command("file", extracted).Output(); err == nil && !strings.Contains(string(fout), "statically linked") {
		t.Errorf("the binary is not static: %s", fout)
	}

	// The tarball holds the same image, tagged, for `docker load`.
	tag, _ := name.NewTag("paved:test")
	ti, err := tarball.ImageFromPath(filepath.Join(out, "paved.tar"), &tag)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := got.ConfigName()
	if have, err := ti.ConfigName(); err != nil || have != want {
		t.Errorf("tarball config %s (%v); the layout's is %s", have, err, want)
	}
}

// TestDockerfileMatchesImage checks that the Dockerfile, for people who build with Docker,
// makes the image mkimage makes: the same user, port, volume, paths and static build.
func TestDockerfileMatchesImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{
		"CGO_ENABLED=0",
		"USER 65532:65532",
		"EXPOSE 8080",
		`VOLUME ["/data"]`,
		`ENTRYPOINT ["/paved"]`,
		`CMD ["serve"]`,
		"PAVED_LISTEN=0.0.0.0:8080",
		"PAVED_DATA_DIR=/data",
		"/etc/ssl/certs/ca-certificates.crt",
		"org.opencontainers.image.version",
		"org.opencontainers.image.revision",
		"org.opencontainers.image.source",
		"org.opencontainers.image.licenses",
		"FROM scratch",
	} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %s", want)
		}
	}
}

// testCA returns a self-signed CA certificate in PEM.
func testCA(t *testing.T) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Paved test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}
