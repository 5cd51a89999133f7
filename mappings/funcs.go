package mappings

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/conf"

	"github.com/beamsync/beamsync/change"
)

// The helper functions available in expressions. doc.go has the table users
// read; the tests check that every helper is listed there.

// nullRule says when a helper can return null, for the output schema.
type nullRule uint8

const (
	nullPropagate nullRule = iota // null when any argument is null
	nullNever                     // never null
	nullCoalesce                  // null only when every argument is null
	nullMaybe                     // may be null whatever the arguments
)

type helper struct {
	name string
	fn   func(args ...any) (any, error)
	// types are the typed signatures the checker accepts (new(func(string) string));
	// validate, when set, computes the result type instead.
	types    []any
	validate func(args []reflect.Type) (reflect.Type, error)
	null     nullRule
	// consts checks string-literal arguments at compile time (a regexp, a
	// zone name, a unit), by argument index.
	consts map[int]func(string) error
}

var (
	anyType      = reflect.TypeOf((*any)(nil)).Elem()
	boolType     = reflect.TypeOf(false)
	intType      = reflect.TypeOf(int64(0))
	floatType    = reflect.TypeOf(float64(0))
	stringType   = reflect.TypeOf("")
	bytesType    = reflect.TypeOf([]byte(nil))
	decimalType  = reflect.TypeOf(change.Decimal(""))
	dateType     = reflect.TypeOf(change.Date(""))
	timeOfDay    = reflect.TypeOf(change.TimeOfDay(""))
	intervalType = reflect.TypeOf(change.Interval(""))
	jsonType     = reflect.TypeOf(change.JSON(nil))
	timeType     = reflect.TypeOf(time.Time{})
	durationType = reflect.TypeOf(time.Duration(0))
	arrayType    = reflect.TypeOf([]any(nil))
	objectType   = reflect.TypeOf(map[string]any(nil))
)

// helpers is the registry, by name.
var helpers = map[string]*helper{}

func register(hs ...*helper) {
	for _, h := range hs {
		if _, dup := helpers[h.name]; dup {
			panic("mappings: helper registered twice: " + h.name)
		}
		helpers[h.name] = h
	}
}

// helperNames returns the helpers' names, sorted.
func helperNames() []string {
	names := make([]string, 0, len(helpers))
	for n := range helpers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// function returns the expr function of a helper.
func (h *helper) function() *builtin.Function {
	f := &builtin.Function{Name: h.name, Func: h.fn, Validate: h.validate}
	for _, t := range h.types {
		rt := reflect.TypeOf(t)
		if rt.Kind() == reflect.Ptr {
			rt = rt.Elem()
		}
		f.Types = append(f.Types, rt)
	}
	return f
}

// helperOption registers every helper, overriding expr's builtins of the
// same names (int, float, string, upper, lower, trim, split, replace, join,
// concat) with their null-aware versions.
func helperOption() expr.Option {
	return func(c *conf.Config) {
		for name, h := range helpers {
			c.Functions[name] = h.function()
		}
	}
}

// Validators for polymorphic helpers.

// kindOfType maps a static type to a change.Kind (KindAny when unknown).
func kindOfType(t reflect.Type) change.Kind {
	if t == nil {
		return change.KindAny
	}
	switch t {
	case decimalType:
		return change.KindDecimal
	case dateType:
		return change.KindDate
	case timeOfDay:
		return change.KindTime
	case durationType, intervalType:
		return change.KindInterval
	case jsonType:
		return change.KindJSON
	case timeType:
		return change.KindTimestamp
	case bytesType:
		return change.KindBytes
	}
	switch t.Kind() {
	case reflect.Bool:
		return change.KindBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return change.KindInt
	case reflect.Float32, reflect.Float64:
		return change.KindFloat
	case reflect.String:
		return change.KindString
	case reflect.Slice, reflect.Array:
		return change.KindArray
	case reflect.Map:
		return change.KindObject
	case reflect.Ptr:
		if t == reflect.TypeOf((*change.Doc)(nil)) {
			return change.KindObject
		}
	}
	return change.KindAny
}

// typeOfKind is the static type expressions see for a column of a kind.
func typeOfKind(k change.Kind) reflect.Type {
	switch k {
	case change.KindBool:
		return boolType
	case change.KindInt:
		return intType
	case change.KindFloat:
		return floatType
	case change.KindDecimal:
		return decimalType
	case change.KindString:
		return stringType
	case change.KindBytes:
		return bytesType
	case change.KindTimestamp:
		return timeType
	case change.KindDate:
		return dateType
	case change.KindTime:
		return timeOfDay
	case change.KindInterval:
		return intervalType
	case change.KindJSON:
		return jsonType
	case change.KindArray:
		return arrayType
	}
	return nil // any (objects may be *change.Doc or maps)
}

func isUnknown(t reflect.Type) bool { return t == nil || t.Kind() == reflect.Interface }

// castValidator accepts one argument of the given kinds (unknown always).
func castValidator(name string, result reflect.Type, extra int, kinds ...change.Kind) func([]reflect.Type) (reflect.Type, error) {
	return func(args []reflect.Type) (reflect.Type, error) {
		if len(args) < 1 || len(args) > 1+extra {
			return anyType, arity(name, 1, 1+extra, len(args))
		}
		if !isUnknown(args[0]) {
			k := kindOfType(args[0])
			ok := false
			for _, want := range kinds {
				ok = ok || k == want
			}
			if !ok {
				return anyType, fmt.Errorf("%s: cannot convert %s", name, kindOfType(args[0]))
			}
		}
		for _, a := range args[1:] {
			if !isUnknown(a) && kindOfType(a) != change.KindInt {
				return anyType, fmt.Errorf("%s: the scale must be an int, got %s", name, kindOfType(a))
			}
		}
		return result, nil
	}
}

func arity(name string, lo, hi, got int) error {
	switch {
	case lo == hi:
		return fmt.Errorf("%s takes %d argument(s), got %d", name, lo, got)
	case hi < 0:
		return fmt.Errorf("%s takes at least %d argument(s), got %d", name, lo, got)
	}
	return fmt.Errorf("%s takes %d to %d arguments, got %d", name, lo, hi, got)
}

// sameKind is the validator of coalesce and default: the arguments must be
// of one kind; the result is of that kind.
func sameKind(name string, lo, hi int) func([]reflect.Type) (reflect.Type, error) {
	return func(args []reflect.Type) (reflect.Type, error) {
		if len(args) < lo || hi >= 0 && len(args) > hi {
			return anyType, arity(name, lo, hi, len(args))
		}
		var result reflect.Type
		for _, a := range args {
			if isUnknown(a) {
				continue
			}
			if result == nil {
				result = a
				continue
			}
			if ka, kr := kindOfType(a), kindOfType(result); ka != kr {
				return anyType, fmt.Errorf("%s: arguments of different kinds (%s and %s): convert one with decimal(), int(), float() or string()", name, kr, ka)
			}
		}
		if result == nil {
			return anyType, nil
		}
		if kindOfType(result) == change.KindInt {
			return intType, nil
		}
		return result, nil
	}
}

func init() {
	num := []change.Kind{change.KindInt, change.KindFloat, change.KindDecimal, change.KindString}
	register(
		&helper{name: "decimal", fn: castDecimal, validate: castValidator("decimal", decimalType, 1, num...)},
		&helper{name: "int", fn: castInt, validate: castValidator("int", intType, 0, append(num, change.KindBool)...)},
		&helper{name: "float", fn: castFloat, validate: castValidator("float", floatType, 0, num...)},
		&helper{name: "bool", fn: castBool, validate: castValidator("bool", boolType, 0, append(num, change.KindBool)...)},
		&helper{name: "string", fn: castString, types: []any{new(func(any) string)}},
		&helper{name: "coalesce", fn: coalesce, validate: sameKind("coalesce", 1, -1), null: nullCoalesce},
		&helper{name: "default", fn: coalesce, validate: sameKind("default", 2, 2), null: nullCoalesce},
		&helper{name: "nullif", fn: nullif, validate: func(args []reflect.Type) (reflect.Type, error) {
			if len(args) != 2 {
				return anyType, arity("nullif", 2, 2, len(args))
			}
			if args[0] == nil {
				return anyType, nil
			}
			return args[0], nil
		}, null: nullMaybe},
		&helper{name: "is_null", fn: isNull, types: []any{new(func(any) bool)}, null: nullNever},
	)
}

// nullArg reports whether any argument is nil: most helpers return null then.
func nullArg(args []any) bool {
	for _, a := range args {
		if a == nil {
			return true
		}
	}
	return false
}

func castDecimal(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	var d change.Decimal
	switch x := args[0].(type) {
	case change.Decimal:
		if len(args) == 1 {
			return args[0], nil // already boxed: no allocation
		}
		d = x
	case float64:
		d = floatDecimal(x)
	case float32:
		d = floatDecimal(float64(x))
	case uint64:
		d = change.Decimal(strconv.FormatUint(x, 10))
	case string:
		var err error
		if d, err = parseDecimal(x); err != nil {
			return nil, err
		}
	default:
		i, ok := asInt64(x)
		if !ok {
			return nil, fmt.Errorf("cannot convert %s to decimal", typeName(x))
		}
		d = change.Decimal(strconv.FormatInt(i, 10))
	}
	if len(args) == 2 {
		scale, ok := asInt64(args[1])
		if !ok || scale < 0 || scale > maxDecimalExponent {
			return nil, fmt.Errorf("decimal: scale must be an int from 0 to %d, got %v", maxDecimalExponent, args[1])
		}
		d = roundDecimal(d, int(scale))
	}
	return d, nil
}

func castInt(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	switch x := args[0].(type) {
	case int64:
		return args[0], nil
	case bool:
		if x {
			return int64(1), nil
		}
		return int64(0), nil
	case float64:
		return floatInt(x)
	case float32:
		return floatInt(float64(x))
	case change.Decimal:
		ip, _, _ := strings.Cut(string(x), ".")
		i, err := strconv.ParseInt(ip, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot convert decimal %s to int: out of range", x)
		}
		return i, nil
	case string:
		i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot convert %q to int", x)
		}
		return i, nil
	case uint64:
		if x > math.MaxInt64 {
			return nil, fmt.Errorf("cannot convert %d to int: out of range", x)
		}
		return int64(x), nil
	}
	if i, ok := asInt64(args[0]); ok {
		return i, nil
	}
	return nil, fmt.Errorf("cannot convert %s to int", typeName(args[0]))
}

func floatInt(f float64) (any, error) {
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return nil, fmt.Errorf("cannot convert %v to int: out of range", f)
	}
	return int64(f), nil
}

func castFloat(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	switch x := args[0].(type) {
	case float64:
		return args[0], nil
	case float32:
		return float64(x), nil
	case change.Decimal:
		return strconv.ParseFloat(string(x), 64)
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return nil, fmt.Errorf("cannot convert %q to float", x)
		}
		return f, nil
	case uint64:
		return float64(x), nil
	}
	if i, ok := asInt64(args[0]); ok {
		return float64(i), nil
	}
	return nil, fmt.Errorf("cannot convert %s to float", typeName(args[0]))
}

func castBool(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	switch x := args[0].(type) {
	case bool:
		return x, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "t", "yes", "y", "on", "1":
			return true, nil
		case "false", "f", "no", "n", "off", "0":
			return false, nil
		}
		return nil, fmt.Errorf("cannot convert %q to bool", x)
	case float64:
		return x != 0, nil
	case change.Decimal:
		return strings.Trim(string(x), "-0.") != "", nil
	case uint64:
		return x != 0, nil
	}
	if i, ok := asInt64(args[0]); ok {
		return i != 0, nil
	}
	return nil, fmt.Errorf("cannot convert %s to bool", typeName(args[0]))
}

func castString(args ...any) (any, error) {
	if nullArg(args) {
		return nil, nil
	}
	if _, ok := args[0].(string); ok {
		return args[0], nil
	}
	s, err := toText(args[0])
	if err != nil {
		return nil, err
	}
	return s, nil
}

func coalesce(args ...any) (any, error) {
	for _, a := range args {
		if a != nil {
			return a, nil
		}
	}
	return nil, nil
}

func nullif(args ...any) (any, error) {
	a, b := args[0], args[1]
	if a == nil || b == nil {
		return a, nil
	}
	eq, err := equalValues(a, b)
	if err != nil {
		return nil, err
	}
	if eq {
		return nil, nil
	}
	return a, nil
}

func isNull(args ...any) (any, error) { return args[0] == nil, nil }
