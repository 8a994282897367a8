// Package server wires moosed together: configuration, the database (embedded
// or external), the domain services, the gRPC API with health and reflection,
// and the REST gateway with the OpenAPI document. cmd/moosed is a thin main
// over it, and servertest starts the same thing in-process for tests.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/moosehq/moose/migrations"
	mooseproto "github.com/moosehq/moose/proto"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/dataset"
	"github.com/moosehq/moose/server/internal/experiment"
	"github.com/moosehq/moose/server/internal/gitcmd"
	"github.com/moosehq/moose/server/internal/metrics"
	"github.com/moosehq/moose/server/internal/node"
	"github.com/moosehq/moose/server/internal/pgembed"
	"github.com/moosehq/moose/server/internal/pipeline"
	"github.com/moosehq/moose/server/internal/pluginhost"
	"github.com/moosehq/moose/server/internal/publish"
	"github.com/moosehq/moose/server/internal/repourl"
	"github.com/moosehq/moose/server/internal/routing"
	"github.com/moosehq/moose/server/internal/token"
	"github.com/moosehq/moose/server/internal/variant"
	"github.com/moosehq/moose/server/internal/workorder"
	"github.com/moosehq/moose/server/internal/workspace"
)

// Server is a configured moosed, listening but not yet serving until Run.
type Server struct {
	cfg  Config
	log  *slog.Logger
	pool *pgxpool.Pool

	// The embedded cluster, replaced by superviseDatabase when it restarts it.
	dbMu        sync.Mutex
	cluster     *pgembed.Cluster
	clusterOpts pgembed.Options
	restarting  atomic.Bool
	restarts    atomic.Int64
	// superviseStop ends superviseDatabase; superviseDone closes when it has.
	superviseStop context.CancelFunc
	superviseDone chan struct{}

	metrics *metrics.Metrics

	// node is this executing node's membership (nil on an API-only node);
	// nodeStop ends its heartbeat, nodeDone closes when it has.
	node     *node.Node
	nodeStop context.CancelFunc
	nodeDone chan struct{}

	grpcLis, httpLis net.Listener
	innerLis         *bufconn.Listener
	grpcSrv          *grpc.Server
	httpSrv          *http.Server
	health           *health.Server

	workorders  *workorder.Service
	hub         *workorder.Hub
	plugins     *pluginhost.Host
	variants    *variant.Service
	router      *routing.Router
	workspaces  *workspace.Manager
	engine      *pipeline.Engine
	experiments *experiment.Service
	publisher   *publish.Router
	tokens      *token.Service

	closeOnce sync.Once
}

// New starts the database (the embedded cluster when no URL is configured),
// applies migrations, builds the services and opens both listeners. On any
// failure it stops whatever it had started (listeners, the cluster, plugin
// processes) and returns one line naming the cause and, where there is one,
// the fix.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	cfg.setDefaults()
	s := &Server{cfg: cfg, log: slog.New(requestIDHandler{cfg.Logger.Handler()})}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// open does New's work; New undoes it on error.
func (s *Server) open(ctx context.Context) (err error) {
	cfg := s.cfg
	// TLS material and listeners first: a bad certificate or a port in use
	// is the cheapest failure to find, and then nothing else was started.
	tlsCfg, err := cfg.tlsConfig()
	if err != nil {
		return err
	}
	if s.grpcLis, err = listen("grpc-addr", cfg.GRPCAddr); err != nil {
		return err
	}
	if s.httpLis, err = listen("http-addr", cfg.HTTPAddr); err != nil {
		return err
	}
	s.grpcLis = wrapGRPCListener(s.grpcLis, tlsCfg)
	s.httpLis = wrapHTTPListener(s.httpLis, tlsCfg)
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return err
	}
	if cfg.GitConfig != "" {
		if err := gitcmd.SetOperatorConfig(cfg.GitConfig); err != nil {
			return err
		}
	}

	dsn := cfg.DatabaseURL
	if dsn == "" {
		if dsn, err = s.startEmbedded(ctx); err != nil {
			return err
		}
	}
	pcfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	pcfg.MaxConns = cfg.MaxDBConns
	s.pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("connect to database: %w", err)
	}
	db := stdlib.OpenDBFromPool(s.pool)
	err = migrations.Up(ctx, db)
	db.Close()
	if err != nil {
		return err
	}

	s.tokens = token.NewService(s.pool)
	if err := s.bootstrapToken(ctx); err != nil {
		return err
	}
	s.workorders = workorder.NewService(s.pool, s.log)
	s.workorders.SetRepoCheck(repourl.Policy{Roots: cfg.RepoRoots}.Check)
	s.hub = workorder.NewHub(s.pool)
	if err := s.startExecution(ctx); err != nil {
		return err
	}

	s.innerLis = newInnerListener()
	auth := &authenticator{tokens: s.tokens, log: s.log, maxStreams: cfg.MaxStreamsPerToken}
	s.grpcSrv = grpc.NewServer(grpc.MaxRecvMsgSize(16<<20), grpc.NumStreamWorkers(uint32(goruntime.NumCPU())),
		grpc.MaxConcurrentStreams(uint32(cfg.MaxStreamsPerConn)),
		grpc.ForceServerCodecV2(newLenientCodec()),
		grpc.ChainUnaryInterceptor(callUnary(s.log), recoverUnary(s.log), inputUnary(), auth.unary()),
		grpc.ChainStreamInterceptor(callStream(s.log), recoverStream(s.log), inputStream(), auth.stream()))
	moosev1.RegisterProjectServiceServer(s.grpcSrv, api.NewProjectHandler(s.workorders, s.log))
	woh := api.NewWorkOrderHandler(s.workorders, s.hub, s.resolveVariant, s.log)
	woh.SlowReader = cfg.WatchSlowReader
	moosev1.RegisterWorkOrderServiceServer(s.grpcSrv, woh)
	moosev1.RegisterPluginServiceServer(s.grpcSrv, api.NewPluginHandler(s.plugins, s.log))
	moosev1.RegisterVariantServiceServer(s.grpcSrv, api.NewVariantHandler(s.variants, s.log))
	moosev1.RegisterRoutingServiceServer(s.grpcSrv, api.NewRoutingHandler(s.router, s.log))
	moosev1.RegisterExperimentServiceServer(s.grpcSrv, api.NewExperimentHandler(s.experiments, s.log))
	moosev1.RegisterSpecServiceServer(s.grpcSrv, api.NewSpecHandler(s.plugins, s.workorders, s.log))
	moosev1.RegisterDatasetServiceServer(s.grpcSrv, api.NewDatasetHandler(dataset.NewService(s.pool, s.log), s.log))
	moosev1.RegisterTokenServiceServer(s.grpcSrv, api.NewTokenHandler(s.tokens, s.log))
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpcSrv, s.health)
	reflection.Register(s.grpcSrv)

	handler, err := s.gateway(ctx)
	if err != nil {
		return err
	}
	s.httpSrv = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	return nil
}

// listen opens a TCP listener, saying which flag to change when the address
// is taken or unusable.
func listen(flag, addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("listen on %s (--%s): address already in use; stop the process holding it or choose another --%s", addr, flag, flag)
	}
	if err != nil {
		return nil, fmt.Errorf("listen on %s (--%s): %w; choose another --%s", addr, flag, err, flag)
	}
	return l, nil
}

// prepareDataDir creates the data directory and checks that moosed can write
// in it, naming the directory and the fix when not.
func prepareDataDir(dir string) error {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return fmt.Errorf("data dir %s is a file, not a directory; remove it or choose another --data-dir", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) && errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("data dir %s: %s is not a directory; choose another --data-dir", dir, pe.Path)
		}
		return fmt.Errorf("create data dir %s: %w; choose another --data-dir or fix its parent's permissions", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".moosed-write-check-")
	if err != nil {
		return fmt.Errorf("data dir %s is not writable by uid %d: %w; run chown or chmod u+w on it, or choose another --data-dir", dir, os.Geteuid(), errors.Unwrap(err))
	}
	probe.Close()
	_ = os.Remove(probe.Name())
	return nil
}

// gateway builds the REST handler: grpc-gateway over a real gRPC connection to
// ourselves (the in-process transport cannot stream), plus the OpenAPI document.
func (s *Server) gateway(ctx context.Context) (http.Handler, error) {
	mux := runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.JSONPb{
			MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true},
			UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
		}),
		runtime.WithIncomingHeaderMatcher(restIncomingHeader),
		runtime.WithOutgoingHeaderMatcher(restOutgoingHeader),
		runtime.WithErrorHandler(restErrorHandler),
		runtime.WithRoutingErrorHandler(restRoutingErrorHandler),
	)
	conn, err := dialInner(s.innerLis)
	if err != nil {
		return nil, fmt.Errorf("dial self for gateway: %w", err)
	}
	for _, reg := range []func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error{
		moosev1.RegisterProjectServiceHandler,
		moosev1.RegisterWorkOrderServiceHandler,
		moosev1.RegisterPluginServiceHandler,
		moosev1.RegisterVariantServiceHandler,
		moosev1.RegisterRoutingServiceHandler,
		moosev1.RegisterExperimentServiceHandler,
		moosev1.RegisterSpecServiceHandler,
		moosev1.RegisterDatasetServiceHandler,
		moosev1.RegisterTokenServiceHandler,
	} {
		if err := reg(ctx, mux, conn); err != nil {
			return nil, fmt.Errorf("register gateway handler: %w", err)
		}
	}
	root := http.NewServeMux()
	root.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(mooseproto.OpenAPI)
	})
	root.HandleFunc("GET /readyz", s.readyz)
	root.Handle("GET /metrics", s.metricsHandler())
	root.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.pool.Ping(r.Context()); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	for _, path := range []string{"/openapi.json", "/healthz", "/metrics"} {
		root.HandleFunc(path, methodNotAllowed(http.MethodGet))
	}
	root.Handle("/", mux)
	return &httpGuard{next: root, origins: s.cfg.CORSOrigins}, nil
}

// GRPCAddr is the address gRPC listens on (resolved, when port 0 was asked).
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// HTTPAddr is the address REST listens on.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// Pool is the server's database pool.
func (s *Server) Pool() *pgxpool.Pool { return s.pool }

// Run serves until ctx is cancelled, then shuts down gracefully: in-flight
// requests finish (bounded by ShutdownTimeout), streams are closed.
func (s *Server) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 4)
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); errc <- s.grpcSrv.Serve(s.grpcLis) }()
	go func() { defer wg.Done(); _ = s.grpcSrv.Serve(s.innerLis) }()
	go func() {
		defer wg.Done()
		if err := s.httpSrv.Serve(s.httpLis); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	go func() { defer wg.Done(); _ = s.hub.Run(ctx) }()
	if s.cluster != nil {
		sctx, scancel := context.WithCancel(context.Background())
		s.superviseStop, s.superviseDone = scancel, make(chan struct{})
		go func() { defer close(s.superviseDone); s.superviseDatabase(sctx) }()
	}
	// The job client outlives the signal: a shutdown drains it (Stop below)
	// instead of cancelling running executions the moment the signal lands.
	if err := s.engine.Start(context.WithoutCancel(ctx)); err != nil {
		cancel()
		s.grpcSrv.Stop()
		_ = s.httpSrv.Close()
		wg.Wait()
		s.Close()
		return err
	}
	if s.node != nil {
		go s.watchLease(ctx)
	}
	go s.watchHealth(ctx, 2*time.Second)
	s.log.Info("moosed serving", "grpc", s.GRPCAddr(), "http", s.HTTPAddr())

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("moosed shutting down")
	s.health.Shutdown()
	sctx, scancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer scancel()
	_ = s.httpSrv.Shutdown(sctx)
	stopped := make(chan struct{})
	go func() { s.grpcSrv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-sctx.Done():
		s.grpcSrv.Stop()
	}
	// Running executions get the drain timeout to finish; what remains is
	// cancelled, re-queued without spending an attempt, and resumes from its
	// stored cycles on the next start (or on another node).
	ectx, ecancel := context.WithTimeout(context.Background(), s.cfg.DrainTimeout)
	if err := s.engine.Stop(ectx); err != nil {
		s.log.Warn("stop executions", "err", err)
	}
	ecancel()
	cancel() // ends watchLease before the heartbeat stops
	if s.node != nil {
		// Drained: leave the cluster, so nobody takes over work this node no
		// longer has.
		s.nodeStop()
		<-s.nodeDone
		lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.node.Leave(lctx); err != nil {
			s.log.Warn("leave the cluster", "err", err)
		}
		lcancel()
	}
	wg.Wait()
	s.Close()
	return runErr
}

// watchLease stops this node for good when another node has taken its work
// over: nothing it still runs may be recorded, and a clean shutdown would
// finish jobs that are no longer its own.
func (s *Server) watchLease(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-s.node.Lost():
	}
	reason := s.node.LostReason()
	s.log.Error("this node lost its lease; stopping at once", "node", s.node.ID(), "reason", reason)
	if s.cfg.OnLeaseLost != nil {
		s.cfg.OnLeaseLost(reason)
		return
	}
	os.Exit(75)
}

// Close releases the database and stops the embedded cluster. Run calls it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.grpcLis != nil {
			s.grpcLis.Close()
		}
		if s.httpLis != nil {
			s.httpLis.Close()
		}
		if s.innerLis != nil {
			s.innerLis.Close()
		}
		if s.plugins != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			_ = s.plugins.Close(ctx)
			cancel()
		}
		if s.workspaces != nil {
			_ = s.workspaces.Close()
		}
		if s.nodeStop != nil {
			s.nodeStop()
			<-s.nodeDone
		}
		if s.pool != nil {
			s.pool.Close()
		}
		// The supervisor goes first, or it would restart the cluster we stop.
		if s.superviseStop != nil {
			s.superviseStop()
			<-s.superviseDone
		}
		s.dbMu.Lock()
		c := s.cluster
		s.dbMu.Unlock()
		if c != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := c.Stop(ctx); err != nil {
				s.log.Warn("stop embedded postgres", "err", err)
			}
		}
	})
}

// resolveVariant turns a variant id or name into its id, for pinned work orders.
func (s *Server) resolveVariant(ctx context.Context, idOrName string) (uuid.UUID, error) {
	v, err := s.variants.Get(ctx, idOrName)
	if err != nil {
		return uuid.Nil, err
	}
	return uuid.Parse(v.ID)
}
