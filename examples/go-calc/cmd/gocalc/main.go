// Command gocalc evaluates the arithmetic expression given as its arguments.
package main

import (
	"fmt"
	"os"
	"strings"

	"example.com/gocalc/calc"
)

func main() {
	v, err := calc.Eval(strings.Join(os.Args[1:], " "))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gocalc:", err)
		os.Exit(1)
	}
	fmt.Println(v)
}
