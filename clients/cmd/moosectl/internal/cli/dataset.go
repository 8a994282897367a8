package cli

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/moosehq/moose/clients/cmd/moosectl/internal/output"
	"github.com/moosehq/moose/clients/moose"
	moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"
)

// maxDatasetBytes lets one export response exceed gRPC's 4 MiB default: its
// records carry whole proposals.
const maxDatasetBytes = 512 << 20

func init() { register(newDatasetCommand) }

func newDatasetCommand(a *App) *cobra.Command {
	cmd := groupCommand("dataset", "Export training data for fine-tuning models")
	cmd.AddCommand(newDatasetExportCommand(a))
	return cmd
}

// datasetExportFlags are the export command's flags, checked before dialing.
type datasetExportFlags struct {
	kind, project, variant, out string
	minScore, val               float64
	limit                       int32
}

func (f datasetExportFlags) validate() error {
	var problems []string
	if f.kind != "sft" && f.kind != "dpo" {
		problems = append(problems, fmt.Sprintf(`--kind: must be "sft" or "dpo", got %q`, f.kind))
	}
	if f.out == "" {
		problems = append(problems, "--out: required (the directory receiving train.jsonl and validation.jsonl)")
	}
	if math.IsNaN(f.minScore) || f.minScore < 0 || f.minScore > 10 {
		problems = append(problems, fmt.Sprintf("--min-score: must be between 0 and 10, got %v", f.minScore))
	}
	if math.IsNaN(f.val) || f.val < 0 || f.val >= 1 {
		problems = append(problems, fmt.Sprintf("--val: must be at least 0 and below 1, got %v", f.val))
	}
	if f.limit < 0 {
		problems = append(problems, fmt.Sprintf("--limit: must not be negative, got %d", f.limit))
	}
	if len(problems) > 0 {
		return usageErrorf("%s", strings.Join(problems, "; "))
	}
	return nil
}

func newDatasetExportCommand(a *App) *cobra.Command {
	f := datasetExportFlags{}
	cmd := &cobra.Command{
		Use:   "export --kind sft|dpo --out DIR [--project ID] [--variant ID|NAME] [--min-score N] [--val F]",
		Short: "Write accepted attempts as SFT or DPO JSONL files",
		Long: `Export training data to DIR/train.jsonl and DIR/validation.jsonl (created or
replaced; DIR is created if needed).

--kind sft writes one chat conversation per accepted work order (completed,
final attempt passed with an overall score of at least --min-score, shadow
runs excluded): {"messages":[system, user, assistant], "metadata":{...}}.

--kind dpo writes one preference pair per failed earlier cycle of the same
execution: {"prompt":[system, user], "chosen":[assistant], "rejected":[assistant],
"metadata":{...}}.

A work order's split is fixed by a hash of its id: every export puts it in the
same file, and all its records land together. --val is the share of work
orders in validation.`,
		Example: `  moosectl dataset export --kind sft --out data/sft
  moosectl dataset export --kind dpo --variant qwen-coder-v3 --min-score 8 --val 0.05 --out data/dpo`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			return a.Call(cmd, func(ctx context.Context, c *moose.Client) error {
				variantID, err := resolveVariantID(ctx, c, "--variant", f.variant)
				if err != nil {
					return err
				}
				req := &moosev1.ExportDatasetRequest{
					Kind:               f.kind,
					ProjectId:          f.project,
					VariantId:          variantID,
					MinScore:           &f.minScore,
					ValidationFraction: &f.val,
					Limit:              f.limit,
				}
				resp, err := moosev1.NewDatasetServiceClient(c.Conn()).ExportDataset(ctx, req, grpc.MaxCallRecvMsgSize(maxDatasetBytes))
				if err != nil {
					return fmt.Errorf("export dataset: %w", err)
				}
				paths, err := writeDataset(f.out, resp.GetRecords())
				if err != nil {
					return err
				}
				if a.format == output.JSON {
					// The records are in the files; the summary is the rest.
					resp.Records = nil
					return output.WriteJSON(a.stdout, resp)
				}
				_, err = fmt.Fprintf(a.stdout, "%s\t%d records\n%s\t%d records\nwork orders\t%d\n",
					paths[0], resp.GetTrainCount(), paths[1], resp.GetValidationCount(), resp.GetWorkOrderCount())
				return err
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "kind", "", `"sft" (chat conversations) or "dpo" (preference pairs)`)
	fl.StringVar(&f.out, "out", "", "directory to write train.jsonl and validation.jsonl into")
	fl.StringVar(&f.project, "project", "", "only work orders of this project id")
	fl.StringVar(&f.variant, "variant", "", "only work orders accepted from this variant (id or name)")
	fl.Float64Var(&f.minScore, "min-score", 7, "lowest overall score (0 to 10) of the accepted attempt")
	fl.Float64Var(&f.val, "val", 0.1, "share of work orders in the validation split (0 to below 1)")
	fl.Int32Var(&f.limit, "limit", 0, "at most this many work orders, oldest first (0: the server's default)")
	return cmd
}

// writeDataset writes the records into dir/train.jsonl and
// dir/validation.jsonl, each through a temporary file renamed into place, so
// an interrupted export never leaves a truncated file where a trainer would
// read it.
func writeDataset(dir string, recs []*moosev1.DatasetRecord) ([2]string, error) {
	paths := [2]string{filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "validation.jsonl")}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return paths, fmt.Errorf("create output directory: %w", err)
	}
	var train, val strings.Builder
	for _, r := range recs {
		b := &train
		if r.GetSplit() == "validation" {
			b = &val
		}
		b.WriteString(r.GetJsonl())
		b.WriteByte('\n')
	}
	for i, content := range []string{train.String(), val.String()} {
		if err := writeFileAtomic(paths[i], content); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

func writeFileAtomic(path, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	// CreateTemp makes the file private; a data set is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
