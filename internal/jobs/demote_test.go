package jobs

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestDemoteInfo: routine information from River's migrator is logged at debug level, so an
// info-level log shows none of it while warnings still come through.
func TestDemoteInfo(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})
	log := slog.New(demoteInfo{base}).With("component", "jobs")
	log.Info("Applied migration", "version", 1)
	if buf.Len() != 0 {
		t.Errorf("an info line got through at info level: %q", buf.String())
	}
	log.Warn("something odd")
	if !strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("a warning was lost: %q", buf.String())
	}
	buf.Reset()
	debug := slog.New(demoteInfo{slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	debug.InfoContext(context.Background(), "Applied migration")
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("at debug level the line is %q", buf.String())
	}
}
