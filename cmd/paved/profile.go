//go:build profile

package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile of `paved serve` to PAVED_PROFILE_CPU until the server
// stops. Only binaries built with -tags profile (bench/http -profile) have it, so a production
// binary never reads the variable.
func startProfile(e env) func() {
	path := e.getenv("PAVED_PROFILE_CPU")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
