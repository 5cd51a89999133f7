package mappings

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Join types.
const (
	JoinLeft  = "left"  // a row without a match keeps its place: the alias is null (or an empty array)
	JoinInner = "inner" // a row without a match leaves the view (or the array it is an element of)
)

// JoinSpec is one join of a view: the rows of another table attached to
// the rows of the view's source (or of another join, its parent) where the
// parent's columns equal the joined table's columns.
//
//	joins:
//	  customer:                       # the alias expressions use
//	    table: crm.customers          # [source.]table, [source.]schema.table
//	    on: {customer_id: id}         # parent column: joined column (several for a composite key)
//	    type: left                    # left (default) | inner
//	  lines:
//	    table: shop.public.order_lines
//	    on: {id: order_id}
//	    many: true                    # one-to-many: an array of the matching rows
//	    order_by: [line_no, "amount desc"]   # default: the joined table's primary key
//	    limit: 100
//	  product:
//	    table: catalog.products
//	    parent: lines                 # joined to each line (default: the view's source)
//	    on: {product_id: id}
//
// A join without many is a lookup: the first matching row (by the joined
// table's primary key) or null.
type JoinSpec struct {
	Alias  string
	Table  string
	Parent string // an alias, or "" for the view's source
	// On pairs a parent column with a joined column, in the order written.
	On      []JoinOn
	Type    string // JoinLeft or JoinInner
	Many    bool
	OrderBy []JoinOrder
	Limit   int

	Line, Column int            // of the alias
	locs         map[string]loc // "table", "parent", "on", "on.<col>", "order_by.<i>", "limit"
}

// JoinOn is one equality of a join's condition.
type JoinOn struct {
	Parent, Joined string
}

// JoinOrder is one key of a many-join's order.
type JoinOrder struct {
	Column string
	Desc   bool
}

var joinKeys = []string{"table", "parent", "on", "type", "many", "order_by", "limit"}

// joins parses the joins setting: a mapping of aliases to join settings.
func (p *specParser) joins(k, v *yaml.Node) []JoinSpec {
	if v.Kind != yaml.MappingNode {
		p.errorf(v, "joins: want a mapping of aliases to joins, e.g. {customer: {table: customers, on: {customer_id: id}}}, got %s", describe(v))
		return nil
	}
	var out []JoinSpec
	for i := 0; i+1 < len(v.Content); i += 2 {
		ak, av := deref(v.Content[i]), deref(v.Content[i+1])
		j := JoinSpec{Alias: ak.Value, Line: ak.Line, Column: ak.Column, locs: map[string]loc{"alias": nodeLoc(ak)}}
		if av.Kind != yaml.MappingNode {
			p.errorf(av, "join %s: want a mapping (table, on, ...), got %s", ak.Value, describe(av))
			continue
		}
		seen := map[string]bool{}
		for m := 0; m+1 < len(av.Content); m += 2 {
			jk, jv := deref(av.Content[m]), deref(av.Content[m+1])
			if seen[jk.Value] {
				p.errorf(jk, "join %s: %s is set twice", j.Alias, jk.Value)
				continue
			}
			seen[jk.Value] = true
			j.locs[jk.Value] = nodeLoc(jv)
			switch jk.Value {
			case "table":
				j.Table = p.scalar(jk, jv)
			case "parent":
				j.Parent = p.scalar(jk, jv)
			case "type":
				j.Type = p.scalar(jk, jv)
			case "many":
				if jv.Kind != yaml.ScalarNode || jv.ShortTag() != "!!bool" {
					p.errorf(jv, "join %s: many: want true or false, got %s", j.Alias, describe(jv))
					continue
				}
				j.Many, _ = strconv.ParseBool(strings.ToLower(jv.Value))
			case "limit":
				n, err := strconv.Atoi(jv.Value)
				if jv.Kind != yaml.ScalarNode || err != nil || n <= 0 {
					p.errorf(jv, "join %s: limit: want a positive whole number, got %s", j.Alias, describe(jv))
					continue
				}
				j.Limit = n
			case "on":
				if jv.Kind != yaml.MappingNode || len(jv.Content) == 0 {
					p.errorf(jv, "join %s: on: want a mapping of parent columns to joined columns, e.g. {customer_id: id}, got %s", j.Alias, describe(jv))
					continue
				}
				for c := 0; c+1 < len(jv.Content); c += 2 {
					pk, pv := deref(jv.Content[c]), deref(jv.Content[c+1])
					if pv.Kind != yaml.ScalarNode || pv.Value == "" {
						p.errorf(pv, "join %s: on: %s: want the joined table's column, got %s", j.Alias, pk.Value, describe(pv))
						continue
					}
					j.On = append(j.On, JoinOn{Parent: pk.Value, Joined: pv.Value})
					j.locs["on."+pk.Value] = nodeLoc(pk)
					j.locs["on>"+pk.Value] = nodeLoc(pv)
				}
			case "order_by":
				items := []*yaml.Node{jv}
				if jv.Kind == yaml.SequenceNode {
					items = jv.Content
				}
				for n, it := range items {
					it = deref(it)
					if it.Kind != yaml.ScalarNode || strings.TrimSpace(it.Value) == "" {
						p.errorf(it, "join %s: order_by: want column names (\"col\" or \"col desc\"), got %s", j.Alias, describe(it))
						continue
					}
					f := strings.Fields(it.Value)
					o := JoinOrder{Column: f[0]}
					switch {
					case len(f) == 2 && strings.EqualFold(f[1], "desc"):
						o.Desc = true
					case len(f) == 2 && strings.EqualFold(f[1], "asc"), len(f) == 1:
					default:
						p.errorf(it, "join %s: order_by: %q: want \"column\", \"column asc\" or \"column desc\"", j.Alias, it.Value)
						continue
					}
					j.locs[fmt.Sprintf("order_by.%d", n)] = nodeLoc(it)
					j.OrderBy = append(j.OrderBy, o)
				}
			default:
				p.errorf(jk, "join %s: unknown setting %q%s; valid settings: %s", j.Alias, jk.Value, suggest(jk.Value, joinKeys), strings.Join(joinKeys, ", "))
			}
		}
		out = append(out, j)
	}
	return out
}

// validateJoins checks the joins without the tables: names, references
// between aliases, settings that need many.
func (v *validator) validateJoins() {
	s := v.s
	aliases := map[string]*JoinSpec{}
	var names []string
	for i := range s.Joins {
		names = append(names, s.Joins[i].Alias)
	}
	for i := range s.Joins {
		j := &s.Joins[i]
		at := j.locs["alias"]
		switch {
		case !fieldNameRE.MatchString(j.Alias):
			v.errLoc(at, "join %q: an alias is a letter or _ followed by letters, digits or _", j.Alias)
		case strings.HasPrefix(j.Alias, "_"):
			v.errLoc(at, "join %s: aliases starting with _ are reserved", j.Alias)
		case aliases[j.Alias] != nil:
			v.errLoc(at, "join %s is declared twice", j.Alias)
		}
		aliases[j.Alias] = j
		if j.Table == "" {
			v.errLoc(at, "join %s: table is required: the joined table (\"table\", \"schema.table\" or \"source.schema.table\")", j.Alias)
		} else if parts := strings.Split(j.Table, "."); len(parts) > 3 || slicesContainsEmpty(parts) {
			v.errLoc(j.locs["table"], "join %s: table %q: want \"table\", \"schema.table\" or \"source.schema.table\"", j.Alias, j.Table)
		}
		if len(j.On) == 0 {
			v.errLoc(at, "join %s: on is required: the parent's columns and the joined table's columns that must be equal, e.g. on: {customer_id: id}", j.Alias)
		}
		switch j.Type {
		case "", JoinLeft, JoinInner:
		default:
			v.errLoc(j.locs["type"], "join %s: type: %q is not one of left, inner%s", j.Alias, j.Type, suggest(j.Type, []string{JoinLeft, JoinInner}))
		}
		if !j.Many && (len(j.OrderBy) > 0 || j.Limit > 0) {
			l, ok := j.locs["order_by"]
			if !ok {
				l = j.locs["limit"]
			}
			v.errLoc(l, "join %s: order_by and limit apply to a many join (many: true): a lookup has at most one row", j.Alias)
		}
	}
	for i := range s.Joins {
		j := &s.Joins[i]
		if j.Parent == "" {
			continue
		}
		if aliases[j.Parent] == nil {
			v.errLoc(j.locs["parent"], "join %s: parent %q is not a join of this view%s (leave parent out to join to the view's source)", j.Alias, j.Parent, suggest(j.Parent, names))
			continue
		}
		// Cycles: follow the parents.
		seen := map[string]bool{j.Alias: true}
		for p := aliases[j.Parent]; p != nil; p = aliases[p.Parent] {
			if seen[p.Alias] {
				v.errLoc(j.locs["parent"], "join %s: its parents form a cycle (%s)", j.Alias, p.Alias)
				break
			}
			seen[p.Alias] = true
			if p.Parent == "" {
				break
			}
		}
	}
}

// JoinType returns the join's type with its default.
func (j *JoinSpec) JoinType() string {
	if j.Type == "" {
		return JoinLeft
	}
	return j.Type
}

// child returns the value node of key in a YAML mapping, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return deref(n.Content[i+1])
		}
	}
	return nil
}
