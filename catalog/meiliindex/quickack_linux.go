package meiliindex

import (
	"net"
	"syscall"
)

// quickAckConn sets TCP_QUICKACK before every read. Linux clears the option on its own as a
// connection settles into request-response turns, so setting it once is not enough.
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{TCPConn: tc, raw: raw}
}

func (c *quickAckConn) Read(p []byte) (int, error) {
	// Best effort: without the option the read works, only slower.
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.TCPConn.Read(p)
}
