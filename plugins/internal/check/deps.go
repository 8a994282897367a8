package check

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/moosehq/moose/plugins/depinstall"
)

// Languages understood by InstallDeps and the presets.
const (
	LangGo   = depinstall.Go
	LangNode = depinstall.Node
)

// ErrUnknownLanguage is returned for a language no preset handles.
var ErrUnknownLanguage = errors.New("unknown language")

// NormalizeLang maps aliases ("typescript", "js", "npm", "golang") to LangGo or LangNode.
func NormalizeLang(lang string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "go", "golang":
		return LangGo, nil
	case "node", "npm", "javascript", "typescript", "js", "ts":
		return LangNode, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownLanguage, lang)
}

// InstallDeps downloads a project's dependencies so that builds and tests can
// later run in the sandbox without network (see package depinstall, which
// moosed's workspace pool uses too).
func InstallDeps(ctx context.Context, dir, lang string) error {
	l, err := NormalizeLang(lang)
	if err != nil {
		return err
	}
	return depinstall.Install(ctx, dir, l)
}
