// Command mkimage builds Paved's container image without a container engine (see package
// image) and writes it under -out as an OCI layout and a tarball for `docker load`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/pavedhq/paved/deploy/image"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mkimage:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		root     = flag.String("root", "..", "the paved repository to build")
		out      = flag.String("out", "../dist/image", "folder for the OCI layout (oci/) and the tarball (paved.tar)")
		version  = flag.String("version", "", "version label and `paved version` (default: git describe)")
		revision = flag.String("revision", "", "commit label (default: git rev-parse HEAD)")
		source   = flag.String("source", "https://github.com/pavedhq/paved", "source repository label")
		license  = flag.String("license", "NOASSERTION", "SPDX licence expression label")
		caFile   = flag.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to put in the image")
		arch     = flag.String("arch", runtime.GOARCH, "GOARCH to build for")
		tag      = flag.String("tag", "", "tag of the tarball (default: paved:VERSION)")
	)
	flag.Parse()
	ctx := context.Background()
	if *version == "" {
		*version = git(*root, "describe", "--tags", "--always", "--dirty")
	}
	if *version == "" {
		*version = "dev"
	}
	if *revision == "" {
		*revision = git(*root, "rev-parse", "HEAD")
	}
	if *tag == "" {
		*tag = "paved:" + strings.ReplaceAll(*version, "+", "_")
	}
	// The commit's time, not the clock's, so that building a commit twice gives the same image.
	created := time.Unix(0, 0).UTC()
	if s := git(*root, "log", "-1", "--format=%ct"); s != "" {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			created = time.Unix(n, 0).UTC()
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	bin, err := filepath.Abs(filepath.Join(*out, "paved-linux-"+*arch))
	if err != nil {
		return err
	}
	if err := image.BuildBinary(ctx, *root, bin, *version, *arch); err != nil {
		return err
	}
	img, err := image.Build(image.Options{
		Binary: bin, CAFile: *caFile, Version: *version, Revision: *revision,
		Source: *source, License: *license, Created: created, Arch: *arch,
	})
	if err != nil {
		return err
	}
	digest, err := image.Write(img, *out, *tag)
	if err != nil {
		return err
	}
	fmt.Printf("built %s (%s) in %s: oci/ and paved.tar\n", *tag, digest, *out)
	return nil
}

// git returns the trimmed output of a git command in dir, or "" when it fails (no git, or not
// a clone).
func git(dir string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
