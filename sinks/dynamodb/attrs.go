package dynamodb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/beamsync/beamsync/change"
)

// MaxItemBytes is DynamoDB's item size limit (400 KB).
const MaxItemBytes = 400 * 1024

// errUnchanged is the conversion error of a value the source did not send.
var errUnchanged = errors.New("the value was not sent by the source (unchanged); a whole-item put cannot keep the stored one")

// numberText matches the finite decimal numbers DynamoDB's N type accepts.
var numberText = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// attrValue converts a view value to a DynamoDB attribute value:
//
//	nil                          NULL
//	bool                         BOOL
//	int64, uint64, Decimal       N with every digit (no float conversion)
//	float64                      N (shortest text that round-trips)
//	NaN, ±Inf (float, Decimal)   S "NaN", "Infinity", "-Infinity" (N cannot hold them)
//	string                       S (empty allowed)
//	[]byte                       B (empty allowed)
//	time.Time                    S, RFC 3339 with nanoseconds, UTC; ±infinity S "infinity", "-infinity"
//	Date, TimeOfDay, Interval    S, their text
//	JSON                         M, L, N, S, BOOL or NULL, parsed with exact numbers
//	[]any                        L
//	*Doc, map[string]any         M
//
// Finite numbers DynamoDB cannot store (over 38 significant digits, beyond
// 1E+126 or below 1E-130) are refused by the server and dead-lettered.
func attrValue(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}, nil
	case uint64:
		return &types.AttributeValueMemberN{Value: strconv.FormatUint(x, 10)}, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return &types.AttributeValueMemberS{Value: nonFinite(x)}, nil
		}
		return &types.AttributeValueMemberN{Value: string(change.AppendJSON(nil, x))}, nil
	case change.Decimal:
		if !numberText.MatchString(string(x)) {
			return &types.AttributeValueMemberS{Value: string(x)}, nil // NaN, Infinity
		}
		return &types.AttributeValueMemberN{Value: string(x)}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case []byte:
		if x == nil {
			x = []byte{}
		}
		return &types.AttributeValueMemberB{Value: x}, nil
	case time.Time:
		if inf := change.InfinityText(x); inf != "" {
			return &types.AttributeValueMemberS{Value: inf}, nil
		}
		return &types.AttributeValueMemberS{Value: x.UTC().Format(time.RFC3339Nano)}, nil
	case change.Date:
		return &types.AttributeValueMemberS{Value: string(x)}, nil
	case change.TimeOfDay:
		return &types.AttributeValueMemberS{Value: string(x)}, nil
	case change.Interval:
		return &types.AttributeValueMemberS{Value: string(x)}, nil
	case change.JSON:
		return jsonAttr(x)
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			a, err := attrValue(e)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i, err)
			}
			l[i] = a
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case *change.Doc:
		if x == nil {
			return &types.AttributeValueMemberNULL{Value: true}, nil
		}
		m := make(map[string]types.AttributeValue, len(x.Names))
		if err := putFields(m, x, nil); err != nil {
			return nil, err
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			a, err := attrValue(e)
			if err != nil {
				return nil, fmt.Errorf("field %q: %w", k, err)
			}
			m[k] = a
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	if change.IsUnchanged(v) {
		return nil, errUnchanged
	}
	if n := change.Normalize(v); fmt.Sprintf("%T", n) != fmt.Sprintf("%T", v) {
		return attrValue(n)
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}

// putFields converts a document's fields into m, refusing the names in
// reserved (the sink's own attributes).
func putFields(m map[string]types.AttributeValue, d *change.Doc, reserved map[string]bool) error {
	for i, name := range d.Names {
		if reserved[name] {
			return fmt.Errorf("field %q collides with an attribute the sink writes", name)
		}
		var v any
		if i < len(d.Values) {
			v = d.Values[i]
		}
		a, err := attrValue(v)
		if err != nil {
			return fmt.Errorf("field %q: %w", name, err)
		}
		m[name] = a
	}
	return nil
}

func nonFinite(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case f > 0:
		return "Infinity"
	}
	return "-Infinity"
}

// jsonAttr parses a JSON document into attribute values, keeping numbers as
// their exact text. Text that is not valid JSON is kept as S.
func jsonAttr(j change.JSON) (types.AttributeValue, error) {
	if len(bytes.TrimSpace(j)) == 0 {
		return &types.AttributeValueMemberNULL{Value: true}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return &types.AttributeValueMemberS{Value: string(j)}, nil
	}
	if _, err := dec.Token(); err != io.EOF {
		return &types.AttributeValueMemberS{Value: string(j)}, nil
	}
	return jsonValueAttr(v), nil
}

func jsonValueAttr(v any) types.AttributeValue {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}
	case string:
		return &types.AttributeValueMemberS{Value: x}
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			l[i] = jsonValueAttr(e)
		}
		return &types.AttributeValueMemberL{Value: l}
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			m[k] = jsonValueAttr(e)
		}
		return &types.AttributeValueMemberM{Value: m}
	}
	return &types.AttributeValueMemberNULL{Value: true} // not reached: the decoder yields only the types above
}

// keyPart is one key attribute of a table: its name and scalar type.
type keyPart struct {
	Name string
	Type types.ScalarAttributeType
}

// keySchema is how a view key maps onto a table's key attributes.
type keySchema struct {
	// Partition and, when HasSort, Sort are the table's key attributes.
	Partition, Sort keyPart
	HasSort         bool
	// Composite is set when the view key has more than two fields: the
	// partition key is then CompositeKeyAttribute, change.KeyString(key).
	Composite bool
}

// keySchemaFor derives the key schema of a new table from a view: one key
// field is the partition key, two are partition and sort key, more become
// the composite string key "_key". Numbers map to N, bytes to B, anything
// else to S.
func keySchemaFor(view change.ViewSchema) (keySchema, error) {
	switch n := len(view.Key); {
	case n == 0:
		return keySchema{}, fmt.Errorf("dynamodb sink: view %s has no key", view.Name)
	case n > 2:
		return keySchema{Partition: keyPart{CompositeKeyAttribute, types.ScalarAttributeTypeS}, Composite: true}, nil
	}
	ks := keySchema{Partition: keyPart{view.Key[0], scalarTypeOf(view, view.Key[0])}}
	if len(view.Key) == 2 {
		ks.Sort, ks.HasSort = keyPart{view.Key[1], scalarTypeOf(view, view.Key[1])}, true
	}
	return ks, nil
}

func scalarTypeOf(view change.ViewSchema, field string) types.ScalarAttributeType {
	for _, f := range view.Fields {
		if f.Name != field {
			continue
		}
		switch f.Kind {
		case change.KindInt, change.KindFloat, change.KindDecimal:
			return types.ScalarAttributeTypeN
		case change.KindBytes:
			return types.ScalarAttributeTypeB
		}
	}
	return types.ScalarAttributeTypeS
}

// names returns the key attribute names.
func (ks *keySchema) names() []string {
	if ks.HasSort {
		return []string{ks.Partition.Name, ks.Sort.Name}
	}
	return []string{ks.Partition.Name}
}

// attrs returns the key attributes of a view key.
func (ks *keySchema) attrs(key []any) (map[string]types.AttributeValue, error) {
	m := make(map[string]types.AttributeValue, 2)
	if ks.Composite {
		m[ks.Partition.Name] = &types.AttributeValueMemberS{Value: change.KeyString(key)}
		return m, nil
	}
	want := 1
	if ks.HasSort {
		want = 2
	}
	if len(key) != want {
		return nil, fmt.Errorf("the key has %d values, the table's key has %d attributes", len(key), want)
	}
	a, err := keyScalar(key[0], ks.Partition.Type)
	if err != nil {
		return nil, fmt.Errorf("key attribute %s: %w", ks.Partition.Name, err)
	}
	m[ks.Partition.Name] = a
	if ks.HasSort {
		if a, err = keyScalar(key[1], ks.Sort.Type); err != nil {
			return nil, fmt.Errorf("key attribute %s: %w", ks.Sort.Name, err)
		}
		m[ks.Sort.Name] = a
	}
	return m, nil
}

// keyScalar converts a key value to the scalar type of its key attribute.
// Key values cannot be null or empty in DynamoDB.
func keyScalar(v any, t types.ScalarAttributeType) (types.AttributeValue, error) {
	if v == nil {
		return nil, errors.New("a key value cannot be null")
	}
	switch t {
	case types.ScalarAttributeTypeN:
		var s string
		switch x := v.(type) {
		case int64:
			s = strconv.FormatInt(x, 10)
		case uint64:
			s = strconv.FormatUint(x, 10)
		case float64:
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				s = string(change.AppendJSON(nil, x))
			}
		case change.Decimal:
			if numberText.MatchString(string(x)) {
				s = string(x)
			}
		}
		if s == "" {
			return nil, fmt.Errorf("%s cannot be a number key", change.AppendJSON(nil, v))
		}
		return &types.AttributeValueMemberN{Value: s}, nil
	case types.ScalarAttributeTypeB:
		if b, ok := v.([]byte); ok && len(b) > 0 {
			return &types.AttributeValueMemberB{Value: b}, nil
		}
		return nil, fmt.Errorf("%s cannot be a binary key (empty or not bytes)", change.AppendJSON(nil, v))
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case int64, uint64, change.Decimal, float64, bool:
		s = string(change.AppendJSON(nil, x))
	case time.Time:
		s = x.UTC().Format(time.RFC3339Nano)
		if inf := change.InfinityText(x); inf != "" {
			s = inf
		}
	case change.Date:
		s = string(x)
	case change.TimeOfDay:
		s = string(x)
	case change.Interval:
		s = string(x)
	default:
		return nil, fmt.Errorf("a %T value cannot be a string key", v)
	}
	if s == "" {
		return nil, errors.New("an empty string cannot be a key")
	}
	return &types.AttributeValueMemberS{Value: s}, nil
}

// itemSize is an item's size as DynamoDB counts it against the 400 KB
// limit: attribute names plus values (numbers about one byte per two
// digits plus one, collections three bytes plus one per element).
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + attrSize(v)
	}
	return n
}

func attrSize(v types.AttributeValue) int {
	switch x := v.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return (len(x.Value)+1)/2 + 1
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + attrSize(e)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + attrSize(e)
		}
		return n
	}
	return 1 // BOOL, NULL
}
