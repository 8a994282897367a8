package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/moosehq/moose/server/internal/token"
)

// metricsHandler serves Prometheus metrics to admin tokens: the numbers
// describe every project and variant, so they are not for every reader.
func (s *Server) metricsHandler() http.Handler {
	prom := promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := bearerSecret(r.Header.Get("Authorization"))
		if secret == "" {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "/metrics needs a token with the admin scope", http.StatusUnauthorized)
			return
		}
		t, err := s.tokens.Authenticate(r.Context(), secret)
		if err != nil {
			http.Error(w, "/metrics needs a token with the admin scope: the token is not valid", http.StatusUnauthorized)
			return
		}
		if !t.Allows(token.Admin) {
			http.Error(w, "/metrics needs the admin scope; token "+t.Name+" does not have it", http.StatusForbidden)
			return
		}
		prom.ServeHTTP(w, r)
	})
}
