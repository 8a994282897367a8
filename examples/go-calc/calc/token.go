package calc

import (
	"fmt"
	"strconv"
	"unicode"
)

type kind int

const (
	kindNumber kind = iota
	kindOp
	kindLParen
	kindRParen
)

type token struct {
	kind   kind
	text   string
	value  float64
	offset int
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(':
			out = append(out, token{kind: kindLParen, text: "(", offset: i})
			i++
		case c == ')':
			out = append(out, token{kind: kindRParen, text: ")", offset: i})
			i++
		case c == '+' || c == '-' || c == '*' || c == '/':
			out = append(out, token{kind: kindOp, text: string(c), offset: i})
			i++
		case unicode.IsDigit(c) || c == '.':
			j := i
			for j < len(s) && (unicode.IsDigit(rune(s[j])) || s[j] == '.') {
				j++
			}
			v, err := strconv.ParseFloat(s[i:j], 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %q at offset %d", s[i:j], i)
			}
			out = append(out, token{kind: kindNumber, text: s[i:j], value: v, offset: i})
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return out, nil
}
