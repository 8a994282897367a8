package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/moosehq/moose/clients/moose"
	"github.com/moosehq/moose/server"
	"github.com/moosehq/moose/server/servertest"
)

// pki is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, written as PEM files.
type pki struct {
	dir                                                  string
	caFile, serverCert, serverKey, clientCert, clientKey string
	pool                                                 *x509.CertPool
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	p := pki{dir: dir}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "moose test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	p.pool = x509.NewCertPool()
	p.pool.AddCert(ca)
	p.caFile = writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER)
	leaf := func(name string, serial int64, usage x509.ExtKeyUsage) (string, string) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		require.NoError(t, err)
		kb, err := x509.MarshalECPrivateKey(key)
		require.NoError(t, err)
		return writePEM(t, dir, name+".pem", "CERTIFICATE", der), writePEM(t, dir, name+"-key.pem", "EC PRIVATE KEY", kb)
	}
	p.serverCert, p.serverKey = leaf("server", 2, x509.ExtKeyUsageServerAuth)
	p.clientCert, p.clientKey = leaf("client", 3, x509.ExtKeyUsageClientAuth)
	return p
}

func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600))
	return path
}

// TestTLSBothListeners: with a certificate, gRPC and REST speak only TLS;
// clients trusting the CA (moose.WithCAFile, moosectl --tls-ca) connect.
func TestTLSBothListeners(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) {
		c.TLSCert, c.TLSKey = p.serverCert, p.serverKey
	}))

	c, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithCAFile(p.caFile), moose.WithToken(srv.AdminToken()))
	require.NoError(t, err)
	defer c.Close()
	_, _, err = c.ListProjects(t.Context(), moose.Page{})
	require.NoError(t, err, "gRPC over TLS")

	plain, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithToken(srv.AdminToken()))
	require.NoError(t, err)
	defer plain.Close()
	_, _, err = plain.ListProjects(t.Context(), moose.Page{})
	require.Error(t, err, "plaintext gRPC is refused")

	https := "https://" + srv.Server().HTTPAddr()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}
	req, _ := http.NewRequest("GET", https+"/v1/projects", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "REST over TLS, through the gateway")
	if resp, err := http.Get(srv.HTTPURL() + "/healthz"); err == nil {
		resp.Body.Close()
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP to the TLS listener is refused")
	}
}

// TestTLSClientCertificates: with --tls-client-ca, a client without a
// certificate from that CA is refused on both listeners, even with a token.
func TestTLSClientCertificates(t *testing.T) {
	t.Parallel()
	p := newPKI(t)
	srv := servertest.Start(t, servertest.APIOnly(), servertest.WithConfig(func(c *server.Config) {
		c.TLSCert, c.TLSKey, c.TLSClientCA = p.serverCert, p.serverKey, p.caFile
	}))

	noCert, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithCAFile(p.caFile), moose.WithToken(srv.AdminToken()))
	require.NoError(t, err)
	defer noCert.Close()
	_, _, err = noCert.ListProjects(t.Context(), moose.Page{})
	require.Error(t, err, "no client certificate")

	withCert, err := moose.Dial(t.Context(), srv.GRPCAddr(), moose.WithCAFile(p.caFile),
		moose.WithClientCertificate(p.clientCert, p.clientKey), moose.WithToken(srv.AdminToken()))
	require.NoError(t, err)
	defer withCert.Close()
	_, _, err = withCert.ListProjects(t.Context(), moose.Page{})
	require.NoError(t, err)

	https := "https://" + srv.Server().HTTPAddr()
	_, err = (&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool}}}).Get(https + "/healthz")
	require.Error(t, err, "REST without a client certificate")
	cert, err := tls.LoadX509KeyPair(p.clientCert, p.clientKey)
	require.NoError(t, err)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.pool, Certificates: []tls.Certificate{cert}}}}
	req, _ := http.NewRequest("GET", https+"/v1/projects", nil)
	req.Header.Set("Authorization", "Bearer "+srv.AdminToken())
	resp, err := hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
