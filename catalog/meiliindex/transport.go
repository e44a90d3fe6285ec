package meiliindex

import (
	"context"
	"net"
	"net/http"
	"time"
)

// newTransport returns the HTTP transport for Meilisearch: the default one, except that on
// Linux every connection acknowledges received data at once (see quickAckConn), idle
// connections are kept for as many concurrent searches as a busy portal runs, and responses are
// not compressed.
//
// Why: Meilisearch writes a response's headers and body in two sends without TCP_NODELAY, so
// Nagle's algorithm holds the body until the client acknowledges the headers, and Linux delays
// that acknowledgement by 40 ms on a kept-alive connection. Every search with a few hits took
// 40 ms instead of under one. Turning keep-alive off also avoids it, at the price of a
// connection (and a TLS handshake) per request.
//
// Why the pool: the default keeps 2 idle connections per host, so with more searches in flight
// than that, most of them dialled a new TCP connection and dropped it afterwards (a third of
// the portal's CPU per search on Meilisearch went to dialling, and the closed connections pile
// up in TIME_WAIT).
//
// Why no compression: Go asks for gzip by default, and Meilisearch then compresses every answer
// (a page of hits with facets is ~10 KB) and the portal inflates it: CPU on both sides to save
// bandwidth on what is normally a local network or the same host.
func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = maxIdleConns
	t.MaxIdleConnsPerHost = maxIdleConns
	t.DisableCompression = true
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

// maxIdleConns bounds the idle connections kept to Meilisearch. It should be at least the number
// of searches the portal runs at once; beyond that, connections are dialled per request again.
const maxIdleConns = 256

// NewTransport is the same transport for other clients of Meilisearch, such as the search
// benchmark's direct baseline, so that both sides of a comparison avoid the stall.
func NewTransport() *http.Transport { return newTransport() }
