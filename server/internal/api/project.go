package api

import (
	"context"
	"log/slog"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/fault"
	"github.com/moosehq/moose/server/internal/workorder"
)

// ProjectHandler serves moose.v1.ProjectService.
type ProjectHandler struct {
	moosev1.UnimplementedProjectServiceServer
	svc *workorder.Service
	log *slog.Logger
}

// NewProjectHandler returns a ProjectHandler over svc.
func NewProjectHandler(svc *workorder.Service, log *slog.Logger) *ProjectHandler {
	return &ProjectHandler{svc: svc, log: log}
}

func (h *ProjectHandler) CreateProject(ctx context.Context, req *moosev1.CreateProjectRequest) (*moosev1.CreateProjectResponse, error) {
	v := &fault.ValidationError{}
	build := durationField(v, "build_timeout", req.GetBuildTimeout())
	test := durationField(v, "test_timeout", req.GetTestTimeout())
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	p, err := h.svc.CreateProject(ctx, workorder.Project{
		BuildTimeout:     build,
		TestTimeout:      test,
		Name:             req.GetName(),
		RepoURL:          req.GetRepoUrl(),
		DefaultBranch:    req.GetDefaultBranch(),
		Language:         req.GetLanguage(),
		Preset:           req.GetPreset(),
		BuildCommand:     req.GetBuildCommand(),
		TestCommand:      req.GetTestCommand(),
		TypecheckCommand: req.GetTypecheckCommand(),
		MinMutationScore: req.MinMutationScore,
	})
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.CreateProjectResponse{Project: projectToProto(p)}, nil
}

func (h *ProjectHandler) ListProjects(ctx context.Context, req *moosev1.ListProjectsRequest) (*moosev1.ListProjectsResponse, error) {
	ps, next, err := h.svc.ListProjects(ctx, int(req.GetPageSize()), req.GetPageToken())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	out := &moosev1.ListProjectsResponse{NextPageToken: next}
	for _, p := range ps {
		out.Projects = append(out.Projects, projectToProto(p))
	}
	return out, nil
}

func (h *ProjectHandler) GetProject(ctx context.Context, req *moosev1.GetProjectRequest) (*moosev1.GetProjectResponse, error) {
	id, err := workorder.ParseID("id", req.GetId())
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	p, err := h.svc.GetProject(ctx, id)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	return &moosev1.GetProjectResponse{Project: projectToProto(p)}, nil
}
