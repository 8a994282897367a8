// Command testplugin is a deliberately misbehaving plugin for the host's tests.
// Flags choose what it claims to be; the work order title chooses what one
// Propose (or Validate) call does:
//
//	echo (or anything else)  answer with the title and the size of the request
//	panic                    panic inside the handler (the SDK recovers it)
//	panic-goroutine          panic on another goroutine: the process dies
//	exit                     os.Exit(3) mid-call
//	hang                     stop the whole process (SIGSTOP) mid-call
//	sleep                    block until the call's deadline
//	env                      answer with the environment it sees, one per line
//	big                      answer with metadata["size"] bytes
//	slow                     sleep metadata["ms"] milliseconds, then echo
//	stderr                   write metadata["line"] to os.Stderr (not through sdk.Logger), then echo
package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/moosehq/moose/plugins/sdk"
)

type plugin struct {
	name, version string
}

// build labels one build of the binary (go build -ldflags "-X main.build=two"),
// so a test can tell two builds of the same version apart by their description.
var build string

func (p plugin) Info() sdk.Info {
	desc := "test plugin"
	if build != "" {
		desc += ", build " + build
	}
	return sdk.Info{Name: p.name, Version: p.version, Description: desc, EditFormats: []string{"whole"}}
}

func (p plugin) Propose(ctx context.Context, req *sdk.ProposeRequest) (*sdk.ProposeResponse, error) {
	text, err := behave(ctx, req.GetWorkOrder())
	if err != nil {
		return nil, err
	}
	if req.GetWorkOrder().GetTitle() == "env" {
		// The call's credentials follow the environment, as "credential NAME VALUE".
		for _, name := range slices.Sorted(maps.Keys(req.GetVariant().GetCredentials())) {
			text += "\ncredential " + name + " " + req.GetVariant().GetCredentials()[name]
		}
	}
	size := 0
	for _, f := range req.GetProject().GetFiles() {
		size += len(f.GetContent())
	}
	if text == "" {
		text = fmt.Sprintf("%s|%d|%d", req.GetWorkOrder().GetTitle(), size, os.Getpid())
	}
	return &sdk.ProposeResponse{Text: text, Model: "test", InputTokens: 1, OutputTokens: 2, FinishReason: "stop"}, nil
}

func (p plugin) Validate(ctx context.Context, req *sdk.ValidateRequest) (*sdk.ValidateResponse, error) {
	text, err := behave(ctx, req.GetWorkOrder())
	if err != nil {
		return nil, err
	}
	if text == "" {
		text = fmt.Sprintf("%s|%d", req.GetWorkOrder().GetTitle(), os.Getpid())
	}
	return &sdk.ValidateResponse{Logs: text, Tests: &sdk.TestCounts{Total: 1, Passed: 1}}, nil
}

func behave(ctx context.Context, wo *sdk.WorkOrder) (string, error) {
	switch wo.GetTitle() {
	case "panic":
		panic("test plugin asked to panic")
	case "panic-goroutine":
		done := make(chan struct{})
		go func() {
			defer close(done)
			panic("test plugin asked to panic on a goroutine")
		}()
		<-done
	case "exit":
		os.Exit(3)
	case "hang":
		_ = syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		<-ctx.Done()
		return "", ctx.Err()
	case "sleep":
		select {} // ignores its deadline on purpose
	case "env":
		return strings.Join(os.Environ(), "\n"), nil
	case "big":
		n, _ := strconv.Atoi(wo.GetMetadata()["size"])
		return strings.Repeat("x", n), nil
	case "slow":
		ms, _ := strconv.Atoi(wo.GetMetadata()["ms"])
		time.Sleep(time.Duration(ms) * time.Millisecond)
	case "stderr":
		fmt.Fprintln(os.Stderr, wo.GetMetadata()["line"])
	}
	return "", nil
}

func main() {
	name := flag.String("name", "testplugin", "name to report")
	version := flag.String("version", "1.0.0", "version to report")
	kind := flag.String("kind", "proposer", "proposer or validator")
	child := flag.String("child-pidfile", "", "start a long-lived child process and write its pid here")
	flag.Parse()
	if *child != "" {
		// A grandchild of the host, to prove orphans are reaped: it inherits
		// the host's marker variables but not Pdeathsig.
		cmd := exec.Command("sleep", "3600")
		if err := cmd.Start(); err != nil {
			sdk.Logger().Error("start child", "error", err)
			os.Exit(1)
		}
		if err := os.WriteFile(*child, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
			os.Exit(1)
		}
	}
	sdk.Logger().Info("test plugin starting", "name", *name, "version", *version)
	p := plugin{name: *name, version: *version}
	if *kind == "validator" {
		sdk.ServeValidator(p)
		return
	}
	sdk.ServeProposer(p)
}
