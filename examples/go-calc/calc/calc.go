// Package calc evaluates arithmetic expressions over float64.
package calc

import (
	"errors"
	"fmt"
)

// ErrDivisionByZero is returned when an expression divides by zero.
var ErrDivisionByZero = errors.New("division by zero")

// Eval parses and evaluates expr, for example "2 * (3 + 4)".
func Eval(expr string) (float64, error) {
	tokens, err := tokenize(expr)
	if err != nil {
		return 0, err
	}
	p := &parser{tokens: tokens}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if p.pos < len(p.tokens) {
		return 0, fmt.Errorf("unexpected %q at offset %d", p.tokens[p.pos].text, p.tokens[p.pos].offset)
	}
	return v, nil
}

type parser struct {
	tokens []token
	pos    int
}

func (p *parser) peek() (token, bool) {
	if p.pos >= len(p.tokens) {
		return token{}, false
	}
	return p.tokens[p.pos], true
}

// expr := term (('+' | '-') term)*
func (p *parser) expr() (float64, error) {
	left, err := p.term()
	if err != nil {
		return 0, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != kindOp || (t.text != "+" && t.text != "-") {
			return left, nil
		}
		p.pos++
		right, err := p.term()
		if err != nil {
			return 0, err
		}
		if t.text == "+" {
			left += right
		} else {
			left -= right
		}
	}
}

// term := factor (('*' | '/') factor)*
func (p *parser) term() (float64, error) {
	left, err := p.factor()
	if err != nil {
		return 0, err
	}
	for {
		t, ok := p.peek()
		if !ok || t.kind != kindOp || (t.text != "*" && t.text != "/") {
			return left, nil
		}
		p.pos++
		right, err := p.factor()
		if err != nil {
			return 0, err
		}
		if t.text == "*" {
			left *= right
			continue
		}
		if right == 0 {
			return 0, ErrDivisionByZero
		}
		left /= right
	}
}

// factor := number | '(' expr ')' | '-' factor
func (p *parser) factor() (float64, error) {
	t, ok := p.peek()
	if !ok {
		return 0, errors.New("unexpected end of expression")
	}
	p.pos++
	switch {
	case t.kind == kindNumber:
		return t.value, nil
	case t.kind == kindOp && t.text == "-":
		v, err := p.factor()
		return -v, err
	case t.kind == kindLParen:
		v, err := p.expr()
		if err != nil {
			return 0, err
		}
		if c, ok := p.peek(); !ok || c.kind != kindRParen {
			return 0, fmt.Errorf("missing ')' for '(' at offset %d", t.offset)
		}
		p.pos++
		return v, nil
	}
	return 0, fmt.Errorf("unexpected %q at offset %d", t.text, t.offset)
}
