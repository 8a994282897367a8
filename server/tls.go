package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// tlsConfig is the server side of TLS for both listeners, or nil when no
// certificate is configured. With a client CA, every client must present a
// certificate it signed (in addition to a bearer token).
func (c Config) tlsConfig() (*tls.Config, error) {
	if c.TLSCert == "" && c.TLSKey == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("tls-cert/tls-key: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.TLSClientCA != "" {
		pem, err := os.ReadFile(c.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("tls-client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls-client-ca: %s holds no PEM certificate", c.TLSClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// wrapGRPCListener serves gRPC over TLS when configured. TLS is done at the
// listener rather than with grpc.Creds, which would apply to the in-memory
// listener the gateway uses too; ALPN offers h2 as gRPC clients require.
func wrapGRPCListener(l net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return l
	}
	c := cfg.Clone()
	c.NextProtos = []string{"h2"}
	return tls.NewListener(l, c)
}

// wrapHTTPListener serves REST over TLS when configured (HTTP/1.1: the
// gateway's streams are chunked responses, which need nothing more).
func wrapHTTPListener(l net.Listener, cfg *tls.Config) net.Listener {
	if cfg == nil {
		return l
	}
	c := cfg.Clone()
	c.NextProtos = []string{"http/1.1"}
	return tls.NewListener(l, c)
}

// innerListener carries the gateway's calls to the gRPC server in memory, so
// the gateway needs neither the public listener's TLS nor a client
// certificate, and its calls pass the same interceptors (the caller's
// Authorization header travels as metadata).
func newInnerListener() *bufconn.Listener { return bufconn.Listen(1 << 20) }

func dialInner(l *bufconn.Listener) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///moosed-gateway",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(256<<20)))
}
