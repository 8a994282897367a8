package api

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/uuid"

	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
	"github.com/moosehq/moose/server/internal/dataset"
	"github.com/moosehq/moose/server/internal/fault"
)

// DatasetHandler serves moose.v1.DatasetService over the dataset exporter.
type DatasetHandler struct {
	moosev1.UnimplementedDatasetServiceServer
	svc *dataset.Service
	log *slog.Logger
}

// NewDatasetHandler returns a DatasetHandler over svc.
func NewDatasetHandler(svc *dataset.Service, log *slog.Logger) *DatasetHandler {
	return &DatasetHandler{svc: svc, log: log}
}

func (h *DatasetHandler) ExportDataset(ctx context.Context, req *moosev1.ExportDatasetRequest) (*moosev1.ExportDatasetResponse, error) {
	v := &fault.ValidationError{}
	f := dataset.Filter{
		Kind:               dataset.Kind(req.GetKind()),
		ProjectID:          parseIDField(v, "project_id", "a project id", req.GetProjectId()),
		VariantID:          parseIDField(v, "variant_id", "a variant id", req.GetVariantId()),
		MinScore:           dataset.DefaultMinScore,
		ValidationFraction: dataset.DefaultValidationFraction,
		Limit:              int(req.GetLimit()),
	}
	// Presence, not zero, decides: 0 is a meaningful min_score and fraction.
	if req.MinScore != nil {
		f.MinScore = req.GetMinScore()
	}
	if req.ValidationFraction != nil {
		f.ValidationFraction = req.GetValidationFraction()
	}
	// Report malformed ids together with the filter's own violations.
	if ferr := f.Validate(); ferr != nil {
		var fv *fault.ValidationError
		if errors.As(ferr, &fv) {
			v.Violations = append(v.Violations, fv.Violations...)
		}
	}
	if err := v.Err(); err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	recs, err := h.svc.Export(ctx, f)
	if err != nil {
		return nil, StatusFromError(ctx, h.log, err)
	}
	resp := &moosev1.ExportDatasetResponse{Records: make([]*moosev1.DatasetRecord, 0, len(recs))}
	seen := map[uuid.UUID]bool{}
	for _, r := range recs {
		resp.Records = append(resp.Records, &moosev1.DatasetRecord{
			Split:       string(r.Split),
			WorkOrderId: r.WorkOrderID.String(),
			Jsonl:       string(r.JSON),
		})
		if r.Split == dataset.SplitValidation {
			resp.ValidationCount++
		} else {
			resp.TrainCount++
		}
		if !seen[r.WorkOrderID] {
			seen[r.WorkOrderID] = true
			resp.WorkOrderCount++
		}
	}
	return resp, nil
}

// parseIDField parses an optional UUID filter; empty means any.
func parseIDField(v *fault.ValidationError, field, what, s string) uuid.UUID {
	if s == "" {
		return uuid.Nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		v.Add(field, "must be %s (UUID), got %q", what, s)
		return uuid.Nil
	}
	return id
}
