package server

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	reflectionv1alpha "google.golang.org/grpc/reflection/grpc_reflection_v1alpha"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/api"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/token"
)

// publicMethods need no token: health checks (load balancers, /healthz's gRPC
// twin) and reflection, which describes the API's schema and nothing else —
// the same schema /openapi.json publishes.
var publicMethods = map[string]bool{
	healthpb.Health_Check_FullMethodName:                                   true,
	healthpb.Health_Watch_FullMethodName:                                   true,
	healthpb.Health_List_FullMethodName:                                    true,
	reflectionv1.ServerReflection_ServerReflectionInfo_FullMethodName:      true,
	reflectionv1alpha.ServerReflection_ServerReflectionInfo_FullMethodName: true,
}

// methodScopes is the one table of what each RPC needs. Queries need read;
// changes to projects, work orders, specs and datasets need write; changes to
// plugins, variants (trying one spends provider money), routing and
// experiments, and everything about tokens, need admin. A method missing here
// is refused, so a new RPC cannot ship unprotected
// (TestEveryMethodHasAScope checks the table against the registered services).
var methodScopes = map[string]token.Scope{
	moosev1.ProjectService_CreateProject_FullMethodName: token.Write,
	moosev1.ProjectService_ListProjects_FullMethodName:  token.Read,
	moosev1.ProjectService_GetProject_FullMethodName:    token.Read,

	moosev1.WorkOrderService_CreateWorkOrder_FullMethodName:       token.Write,
	moosev1.WorkOrderService_ListWorkOrders_FullMethodName:        token.Read,
	moosev1.WorkOrderService_GetWorkOrder_FullMethodName:          token.Read,
	moosev1.WorkOrderService_ListWorkOrderEvents_FullMethodName:   token.Read,
	moosev1.WorkOrderService_ListWorkOrderAttempts_FullMethodName: token.Read,
	moosev1.WorkOrderService_ApproveWorkOrder_FullMethodName:      token.Write,
	moosev1.WorkOrderService_CancelWorkOrder_FullMethodName:       token.Write,
	moosev1.WorkOrderService_RetryWorkOrder_FullMethodName:        token.Write,
	moosev1.WorkOrderService_WatchWorkOrder_FullMethodName:        token.Read,

	moosev1.SpecService_DecomposeSpec_FullMethodName:    token.Write,
	moosev1.DatasetService_ExportDataset_FullMethodName: token.Write,

	moosev1.PluginService_RegisterPlugin_FullMethodName:   token.Admin,
	moosev1.PluginService_ListPlugins_FullMethodName:      token.Read,
	moosev1.PluginService_GetPlugin_FullMethodName:        token.Read,
	moosev1.PluginService_ReloadPlugin_FullMethodName:     token.Admin,
	moosev1.PluginService_UnregisterPlugin_FullMethodName: token.Admin,

	moosev1.VariantService_CreateVariant_FullMethodName: token.Admin,
	moosev1.VariantService_ListVariants_FullMethodName:  token.Read,
	moosev1.VariantService_GetVariant_FullMethodName:    token.Read,
	moosev1.VariantService_RetireVariant_FullMethodName: token.Admin,
	moosev1.VariantService_TryVariant_FullMethodName:    token.Admin,

	moosev1.RoutingService_ListTiers_FullMethodName: token.Read,
	moosev1.RoutingService_SetTier_FullMethodName:   token.Admin,

	moosev1.ExperimentService_StartExperiment_FullMethodName:    token.Admin,
	moosev1.ExperimentService_ListExperiments_FullMethodName:    token.Read,
	moosev1.ExperimentService_GetExperiment_FullMethodName:      token.Read,
	moosev1.ExperimentService_StopExperiment_FullMethodName:     token.Admin,
	moosev1.ExperimentService_PromoteExperiment_FullMethodName:  token.Admin,
	moosev1.ExperimentService_RollbackExperiment_FullMethodName: token.Admin,

	moosev1.TokenService_CreateToken_FullMethodName: token.Admin,
	moosev1.TokenService_ListTokens_FullMethodName:  token.Admin,
	moosev1.TokenService_RevokeToken_FullMethodName: token.Admin,
}

// authenticator checks the bearer token of every call against methodScopes.
type authenticator struct {
	tokens *token.Service
	log    *slog.Logger

	// maxStreams caps the streams one token holds open at once (0: no cap).
	maxStreams int
	streamsMu  sync.Mutex
	streams    map[string]int // token id → open streams
}

// authorize returns ctx carrying the caller's token, or the error to answer
// with: Unauthenticated without a valid token, PermissionDenied without the
// scope. Both messages name the scope the call needs.
func (a *authenticator) authorize(ctx context.Context, method string) (context.Context, error) {
	if publicMethods[method] {
		return ctx, nil
	}
	need, ok := methodScopes[method]
	if !ok {
		return nil, fmt.Errorf("%s is not part of the API: %w", method, fault.ErrPermissionDenied)
	}
	short := method[strings.LastIndex(method, "/")+1:]
	secret := bearer(ctx)
	if secret == "" {
		return nil, fmt.Errorf("%s needs a token with the %s scope: send \"Authorization: Bearer <token>\" (moosectl: MOOSE_TOKEN, --token, or admin.token in the data dir): %w",
			short, need, fault.ErrUnauthenticated)
	}
	t, err := a.tokens.Authenticate(ctx, secret)
	if err != nil {
		return nil, fmt.Errorf("%s needs a token with the %s scope: %w", short, need, err)
	}
	if !t.Allows(need) {
		return nil, fmt.Errorf("%s needs the %s scope; token %q has %s: %w", short, need, t.Name, scopeList(t.Scopes), fault.ErrPermissionDenied)
	}
	if ci := callInfoFrom(ctx); ci != nil {
		ci.setToken(t.Name)
	}
	return token.NewContext(ctx, t), nil
}

func scopeList(s []token.Scope) string {
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = string(x)
	}
	return strings.Join(parts, ", ")
}

// bearer is the secret of the request's "authorization: Bearer ..." metadata
// (the REST gateway passes the HTTP header through under the same name).
func bearer(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if secret := bearerSecret(v); secret != "" {
			return secret
		}
	}
	return ""
}

// bearerSecret is the token of an "Authorization: Bearer <token>" value, or "".
func bearerSecret(v string) string {
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

func (a *authenticator) unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		actx, err := a.authorize(ctx, info.FullMethod)
		if err != nil {
			return nil, api.StatusFromError(ctx, a.log, err)
		}
		return handler(actx, req)
	}
}

func (a *authenticator) stream() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		actx, err := a.authorize(ss.Context(), info.FullMethod)
		if err != nil {
			return api.StatusFromError(ss.Context(), a.log, err)
		}
		if t, ok := token.FromContext(actx); ok && a.maxStreams > 0 {
			release, err := a.acquireStream(t)
			if err != nil {
				return api.StatusFromError(ss.Context(), a.log, err)
			}
			defer release()
		}
		return handler(srv, &authedStream{ServerStream: ss, ctx: actx})
	}
}

// acquireStream counts an open stream against token t, refusing one over
// maxStreams; release gives it back.
func (a *authenticator) acquireStream(t token.Token) (release func(), err error) {
	a.streamsMu.Lock()
	defer a.streamsMu.Unlock()
	if a.streams == nil {
		a.streams = map[string]int{}
	}
	if a.streams[t.ID] >= a.maxStreams {
		return nil, fmt.Errorf("token %q already holds %d open streams, the most one token may: %w", t.Name, a.maxStreams, fault.ErrResourceExhausted)
	}
	a.streams[t.ID]++
	return func() {
		a.streamsMu.Lock()
		defer a.streamsMu.Unlock()
		if a.streams[t.ID]--; a.streams[t.ID] <= 0 {
			delete(a.streams, t.ID)
		}
	}, nil
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authedStream) Context() context.Context { return s.ctx }

// MintToken creates a token directly, without a call: for tests and programs
// embedding moosed that need credentials for their own clients.
func (s *Server) MintToken(ctx context.Context, name string, scopes ...string) (string, error) {
	_, secret, err := s.tokens.Create(ctx, name, scopes, 0)
	return secret, err
}

// AdminTokenFile is where the first admin token was written (if this server
// minted it; see Config.AdminTokenFile).
func (s *Server) AdminTokenFile() string { return s.cfg.AdminTokenFile }

// bootstrapToken mints the first admin token when the database has none, so a
// fresh installation works with no manual step: moosectl finds the file.
func (s *Server) bootstrapToken(ctx context.Context) error {
	minted, err := s.tokens.Bootstrap(ctx, s.cfg.AdminTokenFile)
	if err != nil {
		return err
	}
	if minted {
		s.log.Info("admin token written", "path", s.cfg.AdminTokenFile)
	}
	return nil
}
