package publish

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Repo names a repository on a GitHub host.
type Repo struct {
	Host  string // github.com or a GitHub Enterprise host, lower case, with its port if the URL has one
	Owner string
	Name  string
}

func (r Repo) String() string { return r.Owner + "/" + r.Name }

// Hostname is Host without its port.
func (r Repo) Hostname() string {
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		return h
	}
	return r.Host
}

// HTTPSURL is the repository's https clone URL, the one the token pushes to.
func (r Repo) HTTPSURL() string { return "https://" + r.Host + "/" + r.Owner + "/" + r.Name + ".git" }

// ParseRepo reads owner and name from a repository URL in the forms GitHub
// shows: https://host/owner/repo(.git), ssh://git@host(:port)/owner/repo.git
// and the scp-like git@host:owner/repo.git.
func ParseRepo(raw string) (Repo, error) {
	s := strings.TrimSpace(raw)
	var host, path string
	switch {
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			return Repo{}, fmt.Errorf("%q: %w", displayURL(raw), ErrInvalidRepo)
		}
		switch u.Scheme {
		case "https", "http", "ssh", "git":
		default:
			return Repo{}, fmt.Errorf("%q: scheme %s: %w", displayURL(raw), u.Scheme, ErrInvalidRepo)
		}
		host, path = u.Host, u.Path
		if u.Scheme == "ssh" || u.Scheme == "git" {
			host = u.Hostname() // an ssh port says nothing about https
		}
	case strings.Contains(s, ":") && !strings.HasPrefix(s, "/"):
		// scp-like: [user@]host:owner/repo.git
		h, p, _ := strings.Cut(s, ":")
		if i := strings.LastIndex(h, "@"); i >= 0 {
			h = h[i+1:]
		}
		host, path = h, p
	default:
		return Repo{}, fmt.Errorf("%q: %w", raw, ErrInvalidRepo)
	}
	path = strings.Trim(path, "/")
	path = strings.TrimSuffix(path, ".git")
	parts := strings.Split(path, "/")
	if host == "" || len(parts) != 2 || !validName(parts[0]) || !validName(parts[1]) {
		return Repo{}, fmt.Errorf("%q: %w", displayURL(raw), ErrInvalidRepo)
	}
	return Repo{Host: strings.ToLower(host), Owner: parts[0], Name: parts[1]}, nil
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		ok := r == '-' || r == '_' || r == '.' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}
