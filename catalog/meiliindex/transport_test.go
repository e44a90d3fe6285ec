package meiliindex

import "testing"

// TestTransportKeepsConnections guards the pool size and compression settings of the
// transport: with the default 2 idle connections per host, concurrent searches dial a new
// connection each (see newTransport).
func TestTransportKeepsConnections(t *testing.T) {
	tr := newTransport()
	if tr.MaxIdleConnsPerHost < 64 || tr.MaxIdleConns < tr.MaxIdleConnsPerHost {
		t.Errorf("MaxIdleConnsPerHost = %d, MaxIdleConns = %d; want at least 64 of each", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
	if !tr.DisableCompression {
		t.Error("the transport asks for compressed answers")
	}
}
