package moose

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc/credentials"
)

// EnvToken names the environment variable holding a bearer token.
const EnvToken = "MOOSE_TOKEN"

// EnvDataDir names the environment variable holding moosed's data directory
// (moosed reads the same variable).
const EnvDataDir = "MOOSE_DATA_DIR"

// TokenFileName is the file in moosed's data directory holding the admin
// token moosed mints on its first start.
const TokenFileName = "admin.token"

// WithToken sends secret as the bearer token of every call. Without it (and
// without WithoutToken) Dial uses FindToken("").
func WithToken(secret string) Option {
	return func(c *dialConfig) { c.token, c.tokenSet = strings.TrimSpace(secret), true }
}

// WithoutToken sends no token, not even one FindToken would find.
func WithoutToken() Option {
	return func(c *dialConfig) { c.token, c.tokenSet = "", true }
}

// WithCAFile uses TLS, trusting the PEM certificates in path (a private CA or
// moosed's self-signed certificate) in addition to none of the system's.
func WithCAFile(path string) Option {
	return func(c *dialConfig) { c.caFile = path }
}

// WithClientCertificate presents this certificate and key (PEM files) to a
// moosed that requires client certificates (--tls-client-ca). It implies TLS.
func WithClientCertificate(certFile, keyFile string) Option {
	return func(c *dialConfig) { c.certFile, c.keyFile = certFile, keyFile }
}

// DefaultDataDir is moosed's default data directory, the same rule moosed
// applies: /var/lib/moose as root, else $XDG_DATA_HOME/moose, else
// ~/.local/share/moose.
func DefaultDataDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/moose"
	}
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "moose")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "moose")
	}
	return filepath.Join(os.TempDir(), "moose")
}

// FindToken returns the token to use when none is given: $MOOSE_TOKEN, else
// the admin token file in dataDir (empty: $MOOSE_DATA_DIR, else
// DefaultDataDir()). It returns "" when there is none or the file is not
// readable by this user; moosed then answers Unauthenticated, saying so.
func FindToken(dataDir string) string {
	if t := strings.TrimSpace(os.Getenv(EnvToken)); t != "" {
		return t
	}
	if dataDir == "" {
		dataDir = os.Getenv(EnvDataDir)
	}
	if dataDir == "" {
		dataDir = DefaultDataDir()
	}
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFileName))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// bearer is per-call credentials carrying a bearer token. Plaintext is
// allowed because Dial only uses it without TLS on loopback (or when the
// caller forces WithInsecure).
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// tlsCredentials builds the TLS credentials of WithCAFile and WithClientCertificate.
func (c *dialConfig) tlsCredentials() (credentials.TransportCredentials, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.caFile != "" {
		pem, err := os.ReadFile(c.caFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.caFile)
		}
		cfg.RootCAs = pool
	}
	if c.certFile != "" || c.keyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
		if err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return credentials.NewTLS(cfg), nil
}
