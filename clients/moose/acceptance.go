package moose

import moosev1 "github.com/moosehq/moose/proto/gen/moose/v1"

// AcceptanceTest is one hidden acceptance test file of a work-order or
// suite file: its path in the repository and its content.
type AcceptanceTest struct {
	Path    string `yaml:"path"`
	Content string `yaml:"content"`
}

// AcceptanceTestsProto converts files to the API's form.
func AcceptanceTestsProto(files []AcceptanceTest) []*moosev1.AcceptanceTestFile {
	var out []*moosev1.AcceptanceTestFile
	for _, f := range files {
		out = append(out, &moosev1.AcceptanceTestFile{Path: f.Path, Content: f.Content})
	}
	return out
}
