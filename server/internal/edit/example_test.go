package edit_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/moosehq/moose/server/internal/edit"
)

func Example() {
	root, _ := os.MkdirTemp("", "edit-example")
	defer os.RemoveAll(root)
	_ = os.WriteFile(filepath.Join(root, "greet.go"), []byte("package greet\n\nconst Greeting = \"hi\"\n"), 0o644)

	response := "Sure, here is the change.\n\ngreet.go\n```go\n<<<<<<< SEARCH\nconst Greeting = \"hello\"\n=======\nconst Greeting = \"hello, world\"\n>>>>>>> REPLACE\n```\n"
	edits, findings := edit.Parse(response)
	res, more, err := edit.Apply(root, edits)
	if err != nil {
		fmt.Println(err)
		return
	}
	findings = append(findings, more...)
	fmt.Println("changed:", res.Changed)
	fmt.Println(edit.Feedback(findings))
	// Output:
	// changed: []
	// [search_not_found] SEARCH/REPLACE block 1 (greet.go): the SEARCH text (1 line(s), starting "const Greeting = \"hello\"") does not match greet.go, even ignoring whitespace.
	// The closest lines in greet.go (line 3, 84% similar) are:
	// 3| const Greeting = "hi"
	// The SEARCH section must copy existing lines of the current file exactly, including indentation and comments.
}
