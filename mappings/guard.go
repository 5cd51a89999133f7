package mappings

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm/runtime"

	"github.com/beamsync/beamsync/change"
)

// The guard gives expr's operators the meaning rows need. It runs on the
// type-checked tree of each expression, before its final check, and:
//
//   - makes operators null-safe, as in SQL: arithmetic on null is null, an
//     ordering comparison with null is false, null in && || ?: counts as false;
//   - compares decimals exactly with numbers and dates with text (expr would
//     compare their Go types and fail or, for ==, silently say false);
//   - refuses arithmetic on decimals, dates and intervals, which expr would
//     take for string concatenation;
//   - checks string-literal arguments of helpers (regexps, zones, units);
//   - works out which expressions can be null, for the output schema.
//
// Rewritten operators become calls of hidden functions ("$gt", "$add:int")
// whose validators return the type the checker had found, so the final check
// still type-checks every operand.
type guard struct {
	c       *compiler
	cfg     *conf.Config
	notNull map[ast.Node]bool
	err     *file.Error
	root    ast.Node // the last node visited: the root
}

func newGuard(c *compiler) *guard { return &guard{c: c, notNull: map[ast.Node]bool{}} }

// option installs the guard (and the renamer that lets helpers be called
// when a column has the same name).
func (g *guard) option() expr.Option {
	return func(cfg *conf.Config) {
		g.cfg = cfg
		if g.c.joins != nil {
			cfg.Visitors = append(cfg.Visitors, optionalMembers{g.c})
		}
		cfg.Visitors = append(cfg.Visitors, renamer{g}, g, retype{})
	}
}

// retype clears the types of calls so that the final check checks them
// again. expr's checker skips a call that an earlier pass typed, and the
// errors of the passes run before patches are dropped: without this, an
// unknown column inside a call's arguments would go unreported. It is a
// "repeatable" visitor so that it runs after expr's last checking pass.
type retype struct{}

func (retype) Reset()             {}
func (retype) ShouldRepeat() bool { return false }

func (retype) Visit(np *ast.Node) {
	if call, ok := (*np).(*ast.CallNode); ok {
		call.SetNature(nature.Nature{})
	}
}

// renamer points calls of a helper whose name is also a column ("day(x)"
// with a column "day") at the helper, under the alias "$fn:day".
type renamer struct{ g *guard }

func (r renamer) Visit(np *ast.Node) {
	call, ok := (*np).(*ast.CallNode)
	if !ok {
		return
	}
	id, ok := call.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	h := helpers[id.Value]
	if h == nil {
		return
	}
	if _, shadowed := r.g.c.envNames[id.Value]; !shadowed {
		return
	}
	alias := "$fn:" + id.Value
	if _, ok := r.g.cfg.Functions[alias]; !ok {
		r.g.cfg.Functions[alias] = h.function()
	}
	id.Value = alias
}

func (g *guard) fail(n ast.Node, format string, args ...any) {
	if g.err == nil {
		g.err = &file.Error{Location: n.Location(), Message: fmt.Sprintf(format, args...)}
	}
}

// Static families of the types expr cannot compare by itself.
const (
	sNone = iota
	sDecimal
	sText // Date, TimeOfDay: text in a fixed format
	sInterval
)

func staticFamily(t reflect.Type) int {
	switch t {
	case decimalType:
		return sDecimal
	case dateType, timeOfDay:
		return sText
	case intervalType:
		return sInterval
	}
	return sNone
}

var familyNames = [...]string{"", "decimal", "date/time", "interval"}

func describeType(t reflect.Type) string {
	if isUnknown(t) {
		return "any"
	}
	return kindOfType(t).String()
}

func (g *guard) Visit(np *ast.Node) {
	defer func() { g.root = *np }()
	switch n := (*np).(type) {
	case *ast.IntegerNode, *ast.FloatNode, *ast.StringNode, *ast.BoolNode, *ast.ArrayNode, *ast.MapNode:
		g.notNull[n] = true
	case *ast.ConstantNode:
		g.notNull[n] = n.Value != nil
	case *ast.IdentifierNode:
		g.notNull[n] = g.c.identNotNull(n.Value)
	case *ast.UnaryNode:
		g.unary(np, n)
	case *ast.BinaryNode:
		g.binary(np, n)
	case *ast.ConditionalNode:
		if !g.notNull[n.Cond] && boolish(n.Cond.Type()) {
			g.wrap(&n.Cond, "$truthy")
		}
		g.notNull[n] = g.notNull[n.Exp1] && g.notNull[n.Exp2]
	case *ast.CallNode:
		g.call(n)
	case *ast.BuiltinNode:
		g.notNull[n] = !nullableBuiltins[n.Name]
	case *ast.SequenceNode:
		if len(n.Nodes) > 0 {
			g.notNull[n] = g.notNull[n.Nodes[len(n.Nodes)-1]]
		}
	case *ast.VariableDeclaratorNode:
		g.notNull[n] = g.notNull[n.Expr]
	}
}

// Builtins of expr that can return nil; the others return a value or fail.
var nullableBuiltins = map[string]bool{"first": true, "last": true, "find": true, "findLast": true,
	"get": true, "fromJSON": true, "min": true, "max": true, "reduce": true}

func boolish(t reflect.Type) bool { return t == boolType || isUnknown(t) }

// replace turns the node into a call of hidden function fn with args; the
// call's type is result (its operands are checked again by the final check).
func (g *guard) replace(np *ast.Node, fn string, result reflect.Type, args ...ast.Node) {
	if result == nil {
		result = anyType
	}
	name := fn
	if result != boolType {
		name = fn + ":" + result.String()
	}
	if _, ok := g.cfg.Functions[name]; !ok {
		res := result
		g.cfg.Functions[name] = &builtin.Function{
			Name:     name,
			Func:     hiddenFuncs[fn],
			Validate: func([]reflect.Type) (reflect.Type, error) { return res, nil },
		}
	}
	callee := &ast.IdentifierNode{Value: name}
	callee.SetLocation((*np).Location())
	ast.Patch(np, &ast.CallNode{Callee: callee, Arguments: args})
}

// wrap replaces an operand by a call of fn (a bool-valued hidden function).
func (g *guard) wrap(np *ast.Node, fn string) {
	g.replace(np, fn, boolType, *np)
	g.notNull[*np] = true
}

// accepted reports whether the checker typed the node without error: its
// type is known, or one of its operands' is not (so it could not judge).
func accepted(n ast.Node, operands ...ast.Node) bool {
	if !isUnknown(n.Type()) {
		return true
	}
	for _, o := range operands {
		if isUnknown(o.Type()) {
			return true
		}
	}
	return false
}

func (g *guard) unary(np *ast.Node, n *ast.UnaryNode) {
	inner := g.notNull[n.Node]
	switch n.Operator {
	case "!", "not":
		if !inner && boolish(n.Node.Type()) {
			g.replace(np, "$not", boolType, n.Node)
		}
	case "-":
		if f := staticFamily(n.Node.Type()); f != sNone {
			g.fail(n, "%s values do not support -: convert with float() for arithmetic", familyNames[f])
			return
		}
		if !inner && accepted(n, n.Node) {
			g.replace(np, "$neg", n.Type(), n.Node)
		}
	}
	g.notNull[*np] = inner
}

var opFuncs = map[string]string{
	"==": "$eq", "!=": "$ne", "<": "$lt", "<=": "$le", ">": "$gt", ">=": "$ge",
	"+": "$add", "-": "$sub", "*": "$mul", "/": "$div", "%": "$mod", "**": "$pow", "^": "$pow",
	"contains": "$contains", "startsWith": "$startsWith", "endsWith": "$endsWith", "matches": "$matches", "in": "$in",
}

func (g *guard) binary(np *ast.Node, n *ast.BinaryNode) {
	lt, rt := n.Left.Type(), n.Right.Type()
	ls, rs := staticFamily(lt), staticFamily(rt)
	special := ls != sNone || rs != sNone
	// An operand of unknown type may hold a decimal or a date at run time.
	dynamic := isUnknown(lt) || isUnknown(rt)
	nullable := !g.notNull[n.Left] || !g.notNull[n.Right]
	op := n.Operator
	notNull := true
	switch op {
	case "==", "!=", "<", "<=", ">", ">=":
		ordered := op != "==" && op != "!="
		switch {
		case special:
			if !g.comparable(n, lt, rt, ordered) {
				return
			}
			g.replace(np, opFuncs[op], boolType, n.Left, n.Right)
		case (ordered && nullable || dynamic) && n.Type() == boolType:
			g.replace(np, opFuncs[op], boolType, n.Left, n.Right)
		}
	case "+", "-", "*", "/", "%", "**", "^":
		if special {
			f := max(ls, rs)
			g.fail(n, "%s values do not support %s: compare them, or convert with float() (approximate) or string()", familyNames[f], op)
			return
		}
		if nullable && accepted(n, n.Left, n.Right) {
			g.replace(np, opFuncs[op], n.Type(), n.Left, n.Right)
		}
		notNull = !nullable
	case "contains", "startsWith", "endsWith", "matches":
		if ls == sDecimal || rs == sDecimal {
			g.fail(n, "decimal values are not text: convert with string() first")
			return
		}
		if special || (nullable || dynamic) && n.Type() == boolType {
			g.replace(np, opFuncs[op], boolType, n.Left, n.Right)
		}
	case "in":
		if (ls != sNone || isUnknown(lt)) && n.Type() == boolType {
			g.replace(np, opFuncs[op], boolType, n.Left, n.Right)
		}
	case "and", "&&", "or", "||":
		if !g.notNull[n.Left] && boolish(lt) {
			g.wrap(&n.Left, "$truthy")
		}
		if !g.notNull[n.Right] && boolish(rt) {
			g.wrap(&n.Right, "$truthy")
		}
	case "??":
		notNull = g.notNull[n.Left] || g.notNull[n.Right]
	}
	g.notNull[*np] = notNull
}

// comparable checks the operands of a comparison involving a decimal, a
// date/time or an interval.
func (g *guard) comparable(n *ast.BinaryNode, lt, rt reflect.Type, ordered bool) bool {
	ok := func(a, b reflect.Type) bool {
		if isUnknown(b) || a == b {
			return true
		}
		switch staticFamily(a) {
		case sDecimal:
			k := kindOfType(b)
			return k == change.KindInt || k == change.KindFloat
		case sText, sInterval:
			return b == stringType
		}
		return true
	}
	if !ok(lt, rt) || !ok(rt, lt) {
		g.fail(n, "cannot compare %s with %s", describeType(lt), describeType(rt))
		return false
	}
	if ordered && (staticFamily(lt) == sInterval || staticFamily(rt) == sInterval) {
		g.fail(n, "intervals cannot be ordered: compare them with == or !=")
		return false
	}
	return true
}

func (g *guard) call(n *ast.CallNode) {
	id, ok := n.Callee.(*ast.IdentifierNode)
	if !ok {
		return
	}
	h := helpers[strings.TrimPrefix(id.Value, "$fn:")]
	if h == nil {
		return
	}
	for i, check := range h.consts {
		if i >= len(n.Arguments) {
			continue
		}
		if s, ok := n.Arguments[i].(*ast.StringNode); ok {
			if err := check(s.Value); err != nil {
				g.fail(s, "%s: %v", h.name, err)
			}
		}
	}
	all, any := true, false
	for _, a := range n.Arguments {
		all = all && g.notNull[a]
		any = any || g.notNull[a]
	}
	switch h.null {
	case nullNever:
		g.notNull[n] = true
	case nullPropagate:
		g.notNull[n] = all
	case nullCoalesce:
		g.notNull[n] = any
	}
}

// The hidden functions operators are rewritten to.
var hiddenFuncs = map[string]func(args ...any) (any, error){
	"$eq": func(a ...any) (any, error) { return equalValues(a[0], a[1]) },
	"$ne": func(a ...any) (any, error) {
		eq, err := equalValues(a[0], a[1])
		return !eq, err
	},
	"$lt":         orderFunc(func(c int) bool { return c < 0 }),
	"$le":         orderFunc(func(c int) bool { return c <= 0 }),
	"$gt":         orderFunc(func(c int) bool { return c > 0 }),
	"$ge":         orderFunc(func(c int) bool { return c >= 0 }),
	"$add":        arith(runtime.Add),
	"$sub":        arith(runtime.Subtract),
	"$mul":        arith(runtime.Multiply),
	"$div":        arith(func(a, b any) any { return runtime.Divide(a, b) }),
	"$mod":        arith(func(a, b any) any { return runtime.Modulo(a, b) }),
	"$pow":        arith(func(a, b any) any { return runtime.Exponent(a, b) }),
	"$neg":        unaryFunc(runtime.Negate),
	"$not":        notFunc,
	"$truthy":     truthy,
	"$contains":   textOp(strings.Contains),
	"$startsWith": textOp(strings.HasPrefix),
	"$endsWith":   textOp(strings.HasSuffix),
	"$matches":    matches,
	"$in":         inFunc,
}

// safely runs one of expr's runtime operations, which panic on bad operands.
func safely(f func() any) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return f(), nil
}

// equalValues is == for rows: null equals only null; numbers (decimals
// included) compare by value, text-like values by text.
func equalValues(a, b any) (bool, error) {
	if a == nil || b == nil {
		return a == nil && b == nil, nil
	}
	fa, fb := family(a), family(b)
	if fa != famOther && fb != famOther {
		if fa != fb {
			return false, nil
		}
		c, err := compareValues(a, b)
		return err == nil && c == 0, nil
	}
	v, err := safely(func() any { return runtime.Equal(a, b) })
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

func orderFunc(test func(int) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		a, b := args[0], args[1]
		if a == nil || b == nil {
			return false, nil
		}
		if family(a) != famOther && family(b) != famOther {
			c, err := compareValues(a, b)
			if err != nil {
				return nil, err
			}
			return test(c), nil
		}
		// Durations and other types expr knows how to order.
		v, err := safely(func() any {
			switch {
			case runtime.Less(a, b):
				return test(-1)
			case runtime.More(a, b):
				return test(1)
			}
			return test(0)
		})
		return v, err
	}
}

func arith(op func(a, b any) any) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil || args[1] == nil {
			return nil, nil
		}
		return safely(func() any { return op(args[0], args[1]) })
	}
}

func unaryFunc(op func(any) any) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil {
			return nil, nil
		}
		return safely(func() any { return op(args[0]) })
	}
}

func notFunc(args ...any) (any, error) {
	switch x := args[0].(type) {
	case nil:
		return nil, nil
	case bool:
		return !x, nil
	}
	return nil, fmt.Errorf("cannot negate %s: not a bool", typeName(args[0]))
}

func truthy(args ...any) (any, error) {
	switch x := args[0].(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	}
	return nil, fmt.Errorf("expected a bool, got %s", typeName(args[0]))
}

func textOp(op func(s, sub string) bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		if args[0] == nil || args[1] == nil {
			return false, nil
		}
		a, ok1 := text(args[0])
		b, ok2 := text(args[1])
		if !ok1 || !ok2 {
			return nil, fmt.Errorf("expected text, got %s and %s", typeName(args[0]), typeName(args[1]))
		}
		return op(a, b), nil
	}
}

func matches(args ...any) (any, error) {
	if args[0] == nil || args[1] == nil {
		return false, nil
	}
	s, ok1 := text(args[0])
	p, ok2 := text(args[1])
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("matches expects text, got %s and %s", typeName(args[0]), typeName(args[1]))
	}
	re, err := compileRegex(p)
	if err != nil {
		return nil, err
	}
	return re.MatchString(s), nil
}

func inFunc(args ...any) (any, error) {
	needle, hay := args[0], args[1]
	switch h := hay.(type) {
	case nil:
		return false, nil
	case []any:
		for _, e := range h {
			if eq, err := equalValues(needle, e); err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	case map[string]any:
		s, ok := text(needle)
		if !ok {
			return false, nil
		}
		_, found := h[s]
		return found, nil
	}
	rv := reflect.ValueOf(hay)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		for i := 0; i < rv.Len(); i++ {
			if eq, err := equalValues(needle, rv.Index(i).Interface()); err != nil || eq {
				return eq, err
			}
		}
		return false, nil
	}
	return nil, fmt.Errorf("cannot look for a value in %s", typeName(hay))
}
