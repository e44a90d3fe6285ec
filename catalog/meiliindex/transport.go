package meiliindex

import (
	"context"
	"net"
	"net/http"
	"time"
)

// newTransport returns the HTTP transport for Meilisearch: the default one, except that on
// Linux every connection acknowledges received data at once (see quickAckConn).
//
// Why: Meilisearch writes a response's headers and body in two sends without TCP_NODELAY, so
// Nagle's algorithm holds the body until the client acknowledges the headers, and Linux delays
// that acknowledgement by 40 ms on a kept-alive connection. Every search with a few hits took
// 40 ms instead of under one. Turning keep-alive off also avoids it, at the price of a
// connection (and a TLS handshake) per request.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return quickAck(c), nil
	}
	return t
}

// NewTransport is the same transport for other clients of Meilisearch, such as the search
// benchmark's direct baseline, so that both sides of a comparison avoid the stall.
func NewTransport() *http.Transport { return newTransport() }
