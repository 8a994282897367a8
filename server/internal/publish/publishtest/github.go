// Package publishtest provides a fake GitHub REST API for tests of code that
// publishes pull requests: an httptest server answering the endpoints the
// publish package uses with GitHub's status codes, headers and JSON bodies,
// backed by a real bare git repository for branch state, plus injectable
// faults (rate limits, dropped connections, any status).
package publishtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind is how an injected fault answers.
type FaultKind int

const (
	// PrimaryRateLimit answers Status (default 403) with X-RateLimit-Remaining: 0
	// and X-RateLimit-Reset ResetAfter (default 1s) from now.
	PrimaryRateLimit FaultKind = iota + 1
	// SecondaryRateLimit answers Status (default 403) with Retry-After: RetryAfter
	// seconds (default 1) and GitHub's secondary-rate-limit documentation URL.
	SecondaryRateLimit
	// ResetAfterHandling performs the request, then drops the connection
	// without answering: the client cannot know whether it took effect.
	ResetAfterHandling
	// StaleList answers a list with an empty page, as GitHub's replicas do
	// right after a write.
	StaleList
	// Status answers Status with Body (default {"message": Message}).
	Status
)

// Fault is an answer injected for Times requests (default 1) matching Method
// and Path (the path after /api/v3, e.g. /repos/acme/widgets/pulls).
type Fault struct {
	Method     string
	Path       string
	Kind       FaultKind
	Status     int
	Message    string
	Body       string
	RetryAfter int
	ResetAfter time.Duration
	Times      int
}

// PullRequest is the fake's record of a pull request.
type PullRequest struct {
	Number  int
	Title   string
	Body    string
	State   string // open or closed
	Merged  bool
	Head    string // branch name
	Base    string
	HeadSHA string // frozen while closed
	Labels  []string
}

type repo struct {
	owner, name, defaultBranch, bare string
	pulls                            []*PullRequest
}

// GitHub is the fake API. Its zero value is not usable; call New.
type GitHub struct {
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	repos    map[string]*repo
	faults   []*Fault
	requests []string
	nextID   int
	// onCreatePull runs after a new pull request is recorded, before the answer.
	onCreatePull func(PullRequest)
}

// New starts a fake that accepts only token. Close it when done.
func New(token string) *GitHub {
	g := &GitHub{token: token, repos: map[string]*repo{}, nextID: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}", g.getRepo)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/pulls", g.listPulls)
	mux.HandleFunc("POST /api/v3/repos/{owner}/{repo}/pulls", g.createPull)
	mux.HandleFunc("GET /api/v3/repos/{owner}/{repo}/pulls/{number}", g.getPull)
	mux.HandleFunc("PATCH /api/v3/repos/{owner}/{repo}/pulls/{number}", g.editPull)
	mux.HandleFunc("POST /api/v3/repos/{owner}/{repo}/issues/{number}/labels", g.addLabels)
	mux.HandleFunc("DELETE /api/v3/repos/{owner}/{repo}/issues/{number}/labels/{name}", g.removeLabel)
	g.srv = httptest.NewServer(g.middleware(mux))
	return g
}

// URL is the server's root; use it as GitHubConfig.BaseURL (the client adds /api/v3/).
func (g *GitHub) URL() string { return g.srv.URL }

// Close stops the server.
func (g *GitHub) Close() { g.srv.Close() }

// AddRepo makes owner/name exist, with branches read from the bare repository.
func (g *GitHub) AddRepo(owner, name, defaultBranch, bare string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.repos[owner+"/"+name] = &repo{owner: owner, name: name, defaultBranch: defaultBranch, bare: bare}
}

// OnCreatePull makes f run whenever the fake has recorded a newly created pull
// request and before it answers the request (nil removes it). The fake's lock
// is not held while f runs, so f may call the fake. Crash tests use it to kill
// the client in the window where the pull request exists but its creator never
// learns so.
func (g *GitHub) OnCreatePull(f func(PullRequest)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onCreatePull = f
}

// Inject queues a fault; faults match in the order injected.
func (g *GitHub) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.faults = append(g.faults, &f)
}

// PendingFaults is how many injected faults have not fired yet.
func (g *GitHub) PendingFaults() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.faults)
}

// PullRequests returns copies of owner/name's pull requests, oldest first.
func (g *GitHub) PullRequests(owner, name string) []PullRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	r := g.repos[owner+"/"+name]
	if r == nil {
		return nil
	}
	out := make([]PullRequest, 0, len(r.pulls))
	for _, p := range r.pulls {
		c := *p
		c.Labels = slices.Clone(p.Labels)
		if c.State == "open" {
			c.HeadSHA = r.sha(p.Head)
		}
		out = append(out, c)
	}
	return out
}

// Merge marks a pull request merged and closed (the branches are not touched).
func (g *GitHub) Merge(owner, name string, number int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if r := g.repos[owner+"/"+name]; r != nil {
		if p := r.pull(number); p != nil {
			p.HeadSHA, p.State, p.Merged = r.sha(p.Head), "closed", true
		}
	}
}

// Requests lists "METHOD /path status" of every request served, in order.
func (g *GitHub) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) { s.code = code; s.ResponseWriter.WriteHeader(code) }

func (g *GitHub) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := strings.TrimPrefix(r.URL.Path, "/api/v3")
		rec := &statusRecorder{ResponseWriter: w, code: 200}
		defer func() {
			g.mu.Lock()
			g.requests = append(g.requests, fmt.Sprintf("%s %s %d", r.Method, path, rec.code))
			g.mu.Unlock()
		}()
		w.Header().Set("X-GitHub-Request-Id", fmt.Sprintf("FAKE:%d", time.Now().UnixNano()))
		w.Header().Set("X-GitHub-Api-Version-Selected", "2022-11-28")
		w.Header().Set("X-RateLimit-Limit", "5000")
		w.Header().Set("X-RateLimit-Remaining", "4999")
		w.Header().Set("X-RateLimit-Used", "1")
		w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
		w.Header().Set("X-RateLimit-Resource", "core")
		if auth := r.Header.Get("Authorization"); auth != "Bearer "+g.token && auth != "token "+g.token {
			writeJSON(rec, http.StatusUnauthorized, map[string]any{
				"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401",
			})
			return
		}
		f := g.takeFault(r.Method, path)
		if f == nil {
			next.ServeHTTP(rec, r)
			return
		}
		switch f.Kind {
		case PrimaryRateLimit:
			reset := f.ResetAfter
			if reset <= 0 {
				reset = time.Second
			}
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Used", "5000")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(reset).Unix(), 10))
			writeJSON(rec, orDefault(f.Status, http.StatusForbidden), map[string]any{
				"message":           "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID FAKE.",
				"documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-rate-limit",
				"status":            strconv.Itoa(orDefault(f.Status, http.StatusForbidden)),
			})
		case SecondaryRateLimit:
			w.Header().Set("Retry-After", strconv.Itoa(orDefault(f.RetryAfter, 1)))
			writeJSON(rec, orDefault(f.Status, http.StatusForbidden), map[string]any{
				"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID FAKE.",
				"documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
				"status":            strconv.Itoa(orDefault(f.Status, http.StatusForbidden)),
			})
		case ResetAfterHandling:
			next.ServeHTTP(httptest.NewRecorder(), r)
			rec.code = 0
			hj, ok := w.(http.Hijacker)
			if !ok {
				return
			}
			conn, _, err := hj.Hijack()
			if err != nil {
				return
			}
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a real RST, not a polite FIN
			}
			_ = conn.Close()
		case StaleList:
			writeJSON(rec, http.StatusOK, []any{})
		case Status:
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			body := f.Body
			if body == "" {
				b, _ := json.Marshal(map[string]any{"message": f.Message, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(f.Status)})
				body = string(b)
			}
			rec.WriteHeader(f.Status)
			_, _ = io.WriteString(rec, body)
		}
	})
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

func (g *GitHub) takeFault(method, path string) *Fault {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, f := range g.faults {
		if f.Method == method && f.Path == path {
			f.Times--
			if f.Times <= 0 {
				g.faults = slices.Delete(g.faults, i, i+1)
			}
			c := *f
			return &c
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, doc string) {
	writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found", "documentation_url": "https://docs.github.com/rest/" + doc, "status": "404"})
}

func validationFailed(w http.ResponseWriter, doc string, errs ...map[string]any) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
		"message": "Validation Failed", "errors": errs,
		"documentation_url": "https://docs.github.com/rest/" + doc, "status": "422",
	})
}

// repo returns the request's repository, answering 404 itself when missing.
// It returns with g.mu held when found.
func (g *GitHub) repo(w http.ResponseWriter, r *http.Request, doc string) *repo {
	g.mu.Lock()
	rp := g.repos[r.PathValue("owner")+"/"+r.PathValue("repo")]
	if rp == nil {
		g.mu.Unlock()
		notFound(w, doc)
		return nil
	}
	return rp
}

func (rp *repo) sha(branch string) string {
	out, err := exec.Command("git", "--git-dir", rp.bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// ahead counts commits on head that base lacks.
func (rp *repo) ahead(base, head string) int {
	out, err := exec.Command("git", "--git-dir", rp.bare, "rev-list", "--count", "refs/heads/"+base+"..refs/heads/"+head).Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func (rp *repo) pull(n int) *PullRequest {
	for _, p := range rp.pulls {
		if p.Number == n {
			return p
		}
	}
	return nil
}

func (rp *repo) openFor(head string) *PullRequest {
	for _, p := range rp.pulls {
		if p.State == "open" && p.Head == head {
			return p
		}
	}
	return nil
}

func (g *GitHub) repoJSON(rp *repo) map[string]any {
	full := rp.owner + "/" + rp.name
	return map[string]any{
		"id": 1, "node_id": "R_fake", "name": rp.name, "full_name": full, "private": false,
		"owner":          map[string]any{"login": rp.owner, "id": 1, "type": "Organization"},
		"html_url":       g.srv.URL + "/" + full,
		"url":            g.srv.URL + "/api/v3/repos/" + full,
		"default_branch": rp.defaultBranch,
		"permissions":    map[string]any{"admin": false, "push": true, "pull": true},
	}
}

func (g *GitHub) pullJSON(rp *repo, p *PullRequest, full bool) map[string]any {
	sha := p.HeadSHA
	if p.State == "open" {
		sha = rp.sha(p.Head)
	}
	labels := []any{}
	for i, l := range p.Labels {
		labels = append(labels, map[string]any{"id": i + 1, "name": l, "color": "ededed", "default": false})
	}
	fullName := rp.owner + "/" + rp.name
	m := map[string]any{
		"id": 1000 + p.Number, "number": p.Number, "state": p.State, "title": p.Title, "body": p.Body,
		"html_url":  fmt.Sprintf("%s/%s/pull/%d", g.srv.URL, fullName, p.Number),
		"url":       fmt.Sprintf("%s/api/v3/repos/%s/pulls/%d", g.srv.URL, fullName, p.Number),
		"head":      map[string]any{"ref": p.Head, "sha": sha, "label": rp.owner + ":" + p.Head},
		"base":      map[string]any{"ref": p.Base, "sha": rp.sha(p.Base), "label": rp.owner + ":" + p.Base},
		"labels":    labels,
		"merged_at": nil,
	}
	if p.Merged {
		m["merged_at"] = time.Now().UTC().Format(time.RFC3339)
	}
	if full { // the list endpoint omits these, as GitHub's does
		m["merged"] = p.Merged
		m["mergeable_state"] = "unknown"
	}
	return m
}

func (g *GitHub) getRepo(w http.ResponseWriter, r *http.Request) {
	rp := g.repo(w, r, "repos/repos#get-a-repository")
	if rp == nil {
		return
	}
	defer g.mu.Unlock()
	writeJSON(w, http.StatusOK, g.repoJSON(rp))
}

func (g *GitHub) listPulls(w http.ResponseWriter, r *http.Request) {
	rp := g.repo(w, r, "pulls/pulls#list-pull-requests")
	if rp == nil {
		return
	}
	defer g.mu.Unlock()
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	head := q.Get("head")
	out := []any{}
	for i := len(rp.pulls) - 1; i >= 0; i-- { // newest first, as GitHub sorts by created desc
		p := rp.pulls[i]
		if state != "all" && p.State != state {
			continue
		}
		if head != "" {
			owner, branch, ok := strings.Cut(head, ":")
			if !ok || owner != rp.owner || branch != p.Head {
				continue
			}
		}
		out = append(out, g.pullJSON(rp, p, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (g *GitHub) createPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title, Head, Base string
		Body              *string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON", "status": "400"})
		return
	}
	rp := g.repo(w, r, "pulls/pulls#create-a-pull-request")
	if rp == nil {
		return
	}
	defer g.mu.Unlock()
	const doc = "pulls/pulls#create-a-pull-request"
	head := in.Head
	if owner, branch, ok := strings.Cut(head, ":"); ok {
		if owner != rp.owner {
			validationFailed(w, doc, map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
			return
		}
		head = branch
	}
	switch {
	case in.Title == "":
		validationFailed(w, doc, map[string]any{"resource": "PullRequest", "field": "title", "code": "missing_field"})
	case rp.sha(in.Base) == "":
		validationFailed(w, doc, map[string]any{"resource": "PullRequest", "field": "base", "code": "invalid"})
	case rp.sha(head) == "":
		validationFailed(w, doc, map[string]any{"resource": "PullRequest", "field": "head", "code": "invalid"})
	case rp.openFor(head) != nil:
		validationFailed(w, doc, map[string]any{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner, head)})
	case rp.ahead(in.Base, head) == 0:
		validationFailed(w, doc, map[string]any{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("No commits between %s and %s", in.Base, head)})
	default:
		p := &PullRequest{Number: g.nextID, Title: in.Title, State: "open", Head: head, Base: in.Base}
		if in.Body != nil {
			p.Body = *in.Body
		}
		g.nextID++
		rp.pulls = append(rp.pulls, p)
		if hook := g.onCreatePull; hook != nil {
			c := *p
			c.Labels = slices.Clone(p.Labels)
			c.HeadSHA = rp.sha(p.Head)
			g.mu.Unlock()
			hook(c)
			g.mu.Lock() // the deferred Unlock expects it held
		}
		writeJSON(w, http.StatusCreated, g.pullJSON(rp, p, true))
	}
}

func (g *GitHub) pullOf(w http.ResponseWriter, r *http.Request, doc string) (*repo, *PullRequest) {
	rp := g.repo(w, r, doc)
	if rp == nil {
		return nil, nil
	}
	n, _ := strconv.Atoi(r.PathValue("number"))
	p := rp.pull(n)
	if p == nil {
		g.mu.Unlock()
		notFound(w, doc)
		return nil, nil
	}
	return rp, p
}

func (g *GitHub) getPull(w http.ResponseWriter, r *http.Request) {
	rp, p := g.pullOf(w, r, "pulls/pulls#get-a-pull-request")
	if p == nil {
		return
	}
	defer g.mu.Unlock()
	writeJSON(w, http.StatusOK, g.pullJSON(rp, p, true))
}

func (g *GitHub) editPull(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Title, Body, State, Base *string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON", "status": "400"})
		return
	}
	const doc = "pulls/pulls#update-a-pull-request"
	rp, p := g.pullOf(w, r, doc)
	if p == nil {
		return
	}
	defer g.mu.Unlock()
	if in.State != nil && *in.State != p.State {
		switch *in.State {
		case "closed":
			p.HeadSHA, p.State = rp.sha(p.Head), "closed"
		case "open":
			switch {
			case p.Merged:
				validationFailed(w, doc, map[string]any{"resource": "PullRequest", "code": "custom", "field": "state", "message": "state cannot be changed. The pull request has already been merged."})
				return
			case rp.sha(p.Head) != p.HeadSHA:
				validationFailed(w, doc, map[string]any{"resource": "PullRequest", "code": "custom", "field": "state", "message": fmt.Sprintf("state cannot be changed. The %s branch has been force-pushed or recreated.", p.Head)})
				return
			case rp.openFor(p.Head) != nil:
				validationFailed(w, doc, map[string]any{"resource": "PullRequest", "code": "custom", "message": fmt.Sprintf("A pull request already exists for %s:%s.", rp.owner, p.Head)})
				return
			}
			p.State, p.HeadSHA = "open", ""
		default:
			validationFailed(w, doc, map[string]any{"resource": "PullRequest", "field": "state", "code": "invalid"})
			return
		}
	}
	if in.Title != nil {
		p.Title = *in.Title
	}
	if in.Body != nil {
		p.Body = *in.Body
	}
	if in.Base != nil {
		p.Base = *in.Base
	}
	writeJSON(w, http.StatusOK, g.pullJSON(rp, p, true))
}

func (g *GitHub) labelsJSON(p *PullRequest) []any {
	out := []any{}
	for i, l := range p.Labels {
		out = append(out, map[string]any{"id": i + 1, "name": l, "color": "ededed", "default": false})
	}
	return out
}

func (g *GitHub) addLabels(w http.ResponseWriter, r *http.Request) {
	// GitHub accepts a bare array or {"labels": [...]}; go-github sends the array.
	raw, _ := io.ReadAll(r.Body)
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		var obj struct{ Labels []string }
		if err := json.Unmarshal(raw, &obj); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON", "status": "400"})
			return
		}
		names = obj.Labels
	}
	_, p := g.pullOf(w, r, "issues/labels#add-labels-to-an-issue")
	if p == nil {
		return
	}
	defer g.mu.Unlock()
	for _, n := range names {
		if !slices.Contains(p.Labels, n) {
			p.Labels = append(p.Labels, n)
		}
	}
	writeJSON(w, http.StatusOK, g.labelsJSON(p))
}

func (g *GitHub) removeLabel(w http.ResponseWriter, r *http.Request) {
	const doc = "issues/labels#remove-a-label-from-an-issue"
	_, p := g.pullOf(w, r, doc)
	if p == nil {
		return
	}
	defer g.mu.Unlock()
	name := r.PathValue("name")
	i := slices.Index(p.Labels, name)
	if i < 0 {
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Label does not exist", "documentation_url": "https://docs.github.com/rest/" + doc, "status": "404"})
		return
	}
	p.Labels = slices.Delete(p.Labels, i, i+1)
	writeJSON(w, http.StatusOK, g.labelsJSON(p))
}
