package moose

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// DefaultAddr is where moosed serves gRPC unless told otherwise.
const DefaultAddr = "127.0.0.1:7400"

// ErrEmptyAddr is returned by Dial when no address is given.
var ErrEmptyAddr = errors.New("moose: empty server address")

// Client talks to one moosed. It is safe for concurrent use.
type Client struct {
	conn       *grpc.ClientConn
	projects   moosev1.ProjectServiceClient
	workOrders moosev1.WorkOrderServiceClient
}

type dialConfig struct {
	creds    credentials.TransportCredentials
	block    bool
	dialOpts []grpc.DialOption

	token    string
	tokenSet bool

	caFile, certFile, keyFile string
}

// Option configures Dial.
type Option func(*dialConfig)

// WithInsecure forces plaintext gRPC, also to non-loopback addresses.
func WithInsecure() Option {
	return func(c *dialConfig) { c.creds = insecure.NewCredentials() }
}

// WithTLS uses TLS with the given configuration (nil: system roots).
func WithTLS(cfg *tls.Config) Option {
	return func(c *dialConfig) { c.creds = credentials.NewTLS(cfg) }
}

// WithTransportCredentials uses the given credentials (mTLS, ALTS, ...).
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(c *dialConfig) { c.creds = creds }
}

// WithBlock makes Dial wait until the connection is ready, or fail when ctx
// ends first. Without it Dial returns at once and the first call connects,
// which is what gRPC recommends; blocking is for tools that want to report an
// unreachable server before doing anything else.
func WithBlock() Option {
	return func(c *dialConfig) { c.block = true }
}

// WithDialOptions appends raw gRPC dial options (interceptors, keepalive, ...).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *dialConfig) { c.dialOpts = append(c.dialOpts, opts...) }
}

// Dial creates a Client for the moosed at addr ("host:port", or
// "unix:///path"). ctx only bounds the wait of WithBlock. Every call carries
// the bearer token of WithToken, else the one FindToken finds. Plaintext is
// the default to loopback addresses, TLS with the system's roots elsewhere;
// WithCAFile and WithClientCertificate select TLS with those files.
func Dial(ctx context.Context, addr string, opts ...Option) (*Client, error) {
	if addr == "" {
		return nil, ErrEmptyAddr
	}
	var cfg dialConfig
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.creds == nil && (cfg.caFile != "" || cfg.certFile != "" || cfg.keyFile != "") {
		creds, err := cfg.tlsCredentials()
		if err != nil {
			return nil, fmt.Errorf("dial moosed at %s: %w", addr, err)
		}
		cfg.creds = creds
	}
	if cfg.creds == nil {
		if isLocal(addr) {
			cfg.creds = insecure.NewCredentials()
		} else {
			cfg.creds = credentials.NewTLS(nil)
		}
	}
	if !cfg.tokenSet {
		cfg.token = FindToken("")
	}
	dialOpts := []grpc.DialOption{grpc.WithTransportCredentials(cfg.creds)}
	if cfg.token != "" {
		dialOpts = append(dialOpts, grpc.WithPerRPCCredentials(bearer(cfg.token)))
	}
	dialOpts = append(dialOpts, cfg.dialOpts...)
	conn, err := grpc.NewClient(addr, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("dial moosed at %s: %w", addr, err)
	}
	if cfg.block {
		if err := waitReady(ctx, conn); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("dial moosed at %s: %w", addr, err)
		}
	}
	return &Client{
		conn:       conn,
		projects:   moosev1.NewProjectServiceClient(conn),
		workOrders: moosev1.NewWorkOrderServiceClient(conn),
	}, nil
}

func waitReady(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		s := conn.GetState()
		if s == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, s) {
			return fmt.Errorf("wait for connection (last state %s): %w", s, ctx.Err())
		}
	}
}

// isLocal reports whether addr names a unix socket or a loopback host, where
// plaintext is the safe and expected default.
func isLocal(addr string) bool {
	if strings.HasPrefix(addr, "unix:") || strings.HasPrefix(addr, "unix-abstract:") {
		return true
	}
	addr = strings.TrimPrefix(addr, "dns:///")
	addr = strings.TrimPrefix(addr, "passthrough:///")
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// Close releases the connection. Calls in flight fail with Canceled.
func (c *Client) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("close moose client: %w", err)
	}
	return nil
}

// Conn is the underlying connection, for the generated clients of services
// without wrappers here: moosev1.NewPluginServiceClient(c.Conn()).
func (c *Client) Conn() grpc.ClientConnInterface { return c.conn }

// Projects is the raw generated ProjectService client.
func (c *Client) Projects() moosev1.ProjectServiceClient { return c.projects }

// WorkOrders is the raw generated WorkOrderService client.
func (c *Client) WorkOrders() moosev1.WorkOrderServiceClient { return c.workOrders }
