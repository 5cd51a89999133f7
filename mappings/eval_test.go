package mappings

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

const ordersView = `view: customer_orders
source: public.orders
key: [order_id]
where: status != "draft"
fields:
  order_id: id
  customer: upper(customer_name)
  total: decimal(amount)
  address:
    city: city
    zip: coalesce(zip, "")
`

func apply(t *testing.T, e *Evaluator, c *change.Change) []string {
	t.Helper()
	recs, err := e.Apply(c, nil)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return recStrings(recs)
}

func expect(t *testing.T, got []string, want ...string) {
	t.Helper()
	if len(want) == 0 {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("records:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestApplyOps(t *testing.T) {
	e := mustCompile(t, ordersView).NewEvaluator()
	paid := orderRow(1, nil)
	draft := orderRow(1, map[string]any{"status": "draft"})
	const doc1 = `{"order_id":1,"customer":"ADA","total":12.50,"address":{"city":"London","zip":"N1"}}`

	t.Run("read and create", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpRead, After: paid}), `UPS [1] `+doc1)
		expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: paid}), `UPS [1] `+doc1)
	})
	t.Run("create not matching where", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: draft}))
	})
	t.Run("update matching", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: draft, After: paid}), `UPS [1] `+doc1)
	})
	t.Run("update that stops matching", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: paid, After: draft}), `DEL [1]`)
	})
	t.Run("update without before image", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, After: paid}), `UPS [1] `+doc1)
	})
	t.Run("update changing the key", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: orderRow(7, nil), After: paid}),
			`DEL [7]`, `UPS [1] `+doc1)
	})
	t.Run("update changing the key and leaving the view", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: orderRow(7, nil), After: draft}),
			`DEL [7]`, `DEL [1]`)
	})
	t.Run("update with a partial before image", func(t *testing.T) {
		before := partial(orderRow(7, nil), 0)
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: before, After: paid}), `DEL [7]`, `UPS [1] `+doc1)
		before[0] = change.Unchanged
		expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: before, After: paid}), `UPS [1] `+doc1)
	})
	t.Run("delete with the primary key only", func(t *testing.T) {
		// where is not evaluated: status is Unchanged here.
		expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Before: partial(orderRow(1, nil), 0)}), `DEL [1]`)
	})
	t.Run("delete with only the change's key", func(t *testing.T) {
		expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Key: []any{int64(4)}}), `DEL [4]`)
	})
	t.Run("record metadata", func(t *testing.T) {
		c := &change.Change{Op: change.OpCreate, After: paid, Position: 99, SourcePos: "0/16B3748"}
		recs, err := e.Apply(c, make([]change.Record, 1, 4))
		if err != nil || len(recs) != 2 {
			t.Fatal(err, len(recs))
		}
		r := recs[1]
		if r.Position != 99 || r.SourcePos != "0/16B3748" || r.Delete || r.Doc == nil {
			t.Errorf("record %+v", r)
		}
	})
}

// partial returns a copy of row holding only the given columns; the others
// are Unchanged, as in a before image without REPLICA IDENTITY FULL.
func partial(row []any, keep ...int) []any {
	out := make([]any, len(row))
	for i := range out {
		out[i] = change.Unchanged
	}
	for _, k := range keep {
		out[k] = row[k]
	}
	return out
}

func TestApplyComputedKey(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
key: [ref]
fields:
  name: customer_name
  ref: concat("o-", id)
`).NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(5, nil)}), `UPS ["o-5"] {"name":"Ada","ref":"o-5"}`)
	// A key computed from key columns works with a before image holding only them.
	expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Before: partial(orderRow(5, nil), 0)}), `DEL ["o-5"]`)
	expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, Before: partial(orderRow(4, nil), 0), After: orderRow(5, nil)}),
		`DEL ["o-4"]`, `UPS ["o-5"] {"name":"Ada","ref":"o-5"}`)
}

func TestApplyCompositeKey(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
key: [city, id]
fields:
  id: id
  n: qty
  city: city
`).NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(5, nil)}), `UPS ["London",5] {"id":5,"n":3,"city":"London"}`)
	_, err := e.Apply(&change.Change{Op: change.OpCreate, After: orderRow(5, map[string]any{"city": nil})}, nil)
	var re *RowError
	if !errors.As(err, &re) || re.Field != "city" || !strings.Contains(err.Error(), "the key field is null") {
		t.Errorf("null key: %v", err)
	}
}

func TestApplyDeletes(t *testing.T) {
	const head = "view: v\nsource: public.orders\nfields:\n  id: id\n  s: status\n"
	before := orderRow(3, nil)
	t.Run("ignore", func(t *testing.T) {
		e := mustCompile(t, head+"deletes: ignore\n").NewEvaluator()
		expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Before: before}))
	})
	t.Run("soft", func(t *testing.T) {
		e := mustCompile(t, head+"deletes: soft\nwhere: status == \"paid\"\n").NewEvaluator()
		expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Before: before}), `UPS [3] {"id":3,"s":"paid","_deleted":true}`)
		expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: before}), `UPS [3] {"id":3,"s":"paid","_deleted":false}`)
		_, err := e.Apply(&change.Change{Op: change.OpDelete, Before: partial(before, 0)}, nil)
		if !errors.Is(err, ErrNoValue) {
			t.Errorf("soft delete of a partial image: %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		e := mustCompile(t, head).NewEvaluator()
		expect(t, apply(t, e, &change.Change{Op: change.OpDelete, Before: before}), `DEL [3]`)
	})
}

func TestApplyAllColumns(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
all_columns: true
exclude: [payload, extra, created_at]
fields:
  status: upper(status)
  double: qty * 2
`).NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(1, nil)}),
		`UPS [1] {"id":1,"customer_name":"Ada","amount":12.50,"qty":3,"status":"PAID","city":"London","zip":"N1","day":"2024-05-01","double":6}`)

	id := mustCompile(t, "view: v\nsource: public.orders\nall_columns: true\n").NewEvaluator()
	row := orderRow(1, nil)
	recs, err := id.Apply(&change.Change{Op: change.OpCreate, After: row}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := recs[0].Doc
	if !reflect.DeepEqual(d.Values, row) || d.Names[0] != "id" || len(d.Names) != len(row) {
		t.Errorf("identity doc %v", d)
	}
	if v, _ := d.Get("created_at"); v != t0 {
		t.Errorf("created_at = %v", v)
	}
	// Unchanged never becomes null.
	_, err = id.Apply(&change.Change{Op: change.OpUpdate, After: orderRow(1, map[string]any{"payload": change.Unchanged})}, nil)
	var re *RowError
	if !errors.As(err, &re) || !errors.Is(err, ErrNoValue) || re.Field != "payload" || re.View != "v" {
		t.Errorf("unchanged payload: %v", err)
	}
	if !strings.Contains(err.Error(), "view v: field payload: column payload: the source sent no value") || !strings.Contains(err.Error(), "REPLICA IDENTITY FULL") {
		t.Errorf("message: %v", err)
	}
}

func TestApplyUnchanged(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
fields:
  id: id
  p: json_get(payload, "a.b[1]")
  s: status
`).NewEvaluator()
	toasted := orderRow(1, map[string]any{"payload": change.Unchanged})
	_, err := e.Apply(&change.Change{Op: change.OpUpdate, After: toasted}, nil)
	var re *RowError
	if !errors.As(err, &re) || re.Field != "p" || !errors.Is(err, ErrNoValue) {
		t.Fatalf("err = %v", err)
	}
	// A column no field reads may be Unchanged.
	other := orderRow(1, map[string]any{"customer_name": change.Unchanged, "city": change.Unchanged})
	expect(t, apply(t, e, &change.Change{Op: change.OpUpdate, After: other}), `UPS [1] {"id":1,"p":2.5,"s":"paid"}`)
	// Where reading an Unchanged column fails too.
	w := mustCompile(t, "view: v\nsource: public.orders\nwhere: city != \"Paris\"\nfields: {id: id}\n").NewEvaluator()
	_, err = w.Apply(&change.Change{Op: change.OpUpdate, After: other}, nil)
	if !errors.As(err, &re) || re.Field != "where" || !errors.Is(err, ErrNoValue) {
		t.Errorf("where: %v", err)
	}
}

func TestApplyRuntimeErrors(t *testing.T) {
	m := mustCompile(t, `view: v
source: public.orders
fields:
  id: id
  n: int(zip)
  t: to_tz(created_at, city)
`)
	e := m.NewEvaluator()
	rows := []map[string]any{
		{"zip": "12", "city": "Europe/London"},
		{"zip": "x", "city": "UTC"},
		{"zip": "13", "city": "Mars/Olympus"},
		{"zip": nil, "city": "+09:00"},
	}
	var got []string
	for i, over := range rows {
		recs, err := e.Apply(&change.Change{Op: change.OpCreate, After: orderRow(int64(i), over)}, nil)
		if err != nil {
			var re *RowError
			if !errors.As(err, &re) {
				t.Fatalf("not a RowError: %T %v", err, err)
			}
			if len(recs) != 0 {
				t.Errorf("records with an error: %v", recs)
			}
			got = append(got, err.Error())
			continue
		}
		got = append(got, recStrings(recs)...)
	}
	want := []string{
		`UPS [0] {"id":0,"n":12,"t":"2024-05-01T21:30:00+01:00"}`,
		`view v: field n: cannot convert "x" to int`,
		`view v: field t: to_tz: unknown time zone "Mars/Olympus"`,
		`UPS [3] {"id":3,"n":null,"t":"2024-05-02T05:30:00+09:00"}`,
	}
	expect(t, got, want...)

	// Bad changes.
	for _, c := range []*change.Change{
		{Op: change.OpCreate},
		{Op: change.OpCreate, After: []any{int64(1)}},
		{Op: 'x', After: orderRow(1, nil)},
	} {
		if _, err := e.Apply(c, nil); err == nil {
			t.Errorf("no error for %+v", c)
		}
	}
}

func TestApplyNulls(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
where: qty > 1 || city == nil
fields:
  id: id
  double: qty * 2
  neg: -qty
  name: upper(customer_name)
  big: amount > 10
  label: concat(customer_name, "/", qty)
  has_name: customer_name != nil
  either: customer_name ?? "anon"
  starts: customer_name startsWith "A"
  maybe: 'qty > 2 ? "many" : "few"'
  not_big: "!(amount > 10)"
`).NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(1, nil)}),
		`UPS [1] {"id":1,"double":6,"neg":-3,"name":"ADA","big":true,"label":"Ada/3","has_name":true,"either":"Ada","starts":true,"maybe":"many","not_big":false}`)
	nulls := orderRow(2, map[string]any{"qty": nil, "customer_name": nil, "amount": nil, "city": nil})
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: nulls}),
		`UPS [2] {"id":2,"double":null,"neg":null,"name":null,"big":false,"label":"/","has_name":false,"either":"anon","starts":false,"maybe":"few","not_big":true}`)
	// qty null and city set: where is false.
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(3, map[string]any{"qty": nil})}))
}

func TestApplyDecimalsAndDates(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
fields:
  id: id
  gt: amount > 12.4
  eq: amount == 12.5
  eqd: amount == decimal("12.500")
  lt: amount < 100
  within: amount in [1, 12.5]
  recent: day >= "2024-01-01"
  same: day == "2024-05-01"
  f: float(amount) * 2
  s: string(amount)
  jeq: json_get(payload, "a.b[1]") == 2.5
  jin: json_get(payload, "a.b[1]") in [2.5]
`).NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(1, nil)}),
		`UPS [1] {"id":1,"gt":true,"eq":true,"eqd":true,"lt":true,"within":true,"recent":true,"same":true,"f":25,"s":"12.50","jeq":true,"jin":true}`)
	// 38-digit decimals compare exactly.
	big := change.Decimal("12345678901234567890123456789012345678")
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(2, map[string]any{"amount": big})}),
		`UPS [2] {"id":2,"gt":true,"eq":false,"eqd":false,"lt":false,"within":false,"recent":true,"same":true,"f":2.4691357802469135e+37,"s":"12345678901234567890123456789012345678","jeq":true,"jin":true}`)
}

func TestApplySpecials(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
fields:
  id: id
  op: _op
  pos: _position
  at: _commit_time
  tbl: _table
  lag: _commit_time - created_at
`).NewEvaluator()
	c := &change.Change{Op: change.OpUpdate, After: orderRow(1, nil), Position: 77, CommitTime: t0.Add(90 * time.Second)}
	expect(t, apply(t, e, c), `UPS [1] {"id":1,"op":"u","pos":77,"at":"2024-05-01T20:31:30Z","tbl":"public.orders","lag":"PT1M30S"}`)
}

func TestApplyShadowedHelper(t *testing.T) {
	// The table has a column named "day": the helper day() stays callable.
	e := mustCompile(t, "view: v\nsource: public.orders\nfields:\n  id: id\n  d: day\n  dd: day(created_at)\n  dy: day(day)\n").NewEvaluator()
	expect(t, apply(t, e, &change.Change{Op: change.OpCreate, After: orderRow(1, nil)}), `UPS [1] {"id":1,"d":"2024-05-01","dd":1,"dy":1}`)
}

func TestApplyValues(t *testing.T) {
	e := mustCompile(t, `view: v
source: public.orders
fields:
  id: id
  json: payload
  sub: json_get(payload, "a")
  ts: created_at
  arr: split("a,b", ",")
  m: '{"k": qty}'
  nothing: nil
  dur: duration("90m")
`).NewEvaluator()
	recs, err := e.Apply(&change.Change{Op: change.OpCreate, After: orderRow(1, nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := recs[0].Doc
	checks := map[string]any{
		"json":    change.JSON(`{"a":{"b":[1,2.5,"x"]}}`),
		"sub":     change.JSON(`{"b":[1,2.5,"x"]}`),
		"ts":      t0,
		"arr":     []any{"a", "b"},
		"m":       map[string]any{"k": int64(3)},
		"nothing": nil,
		"dur":     change.Interval("PT1H30M"),
	}
	for name, want := range checks {
		got, _ := d.Get(name)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v (%T), want %#v", name, got, got, want)
		}
	}
}

func TestEvaluatorsConcurrently(t *testing.T) {
	m := mustCompile(t, ordersView)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := m.NewEvaluator()
			var dst []change.Record
			for i := range 200 {
				id := int64(g*1000 + i)
				recs, err := e.Apply(&change.Change{Op: change.OpCreate, After: orderRow(id, nil)}, dst[:0])
				if err != nil {
					errs <- err
					return
				}
				if len(recs) != 1 || recs[0].Key[0] != id {
					errs <- fmt.Errorf("goroutine %d row %d: %v", g, i, recStrings(recs))
					return
				}
				dst = recs
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRecordsStayValid(t *testing.T) {
	// Docs and keys come from slabs: later rows must not overwrite earlier records.
	e := mustCompile(t, ordersView).NewEvaluator()
	var all []change.Record
	for i := range 100 {
		recs, err := e.Apply(&change.Change{Op: change.OpCreate, After: orderRow(int64(i), map[string]any{"city": fmt.Sprint("c", i)})}, nil)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	for i, r := range all {
		addr, _ := r.Doc.Get("address")
		city, _ := addr.(*change.Doc).Get("city")
		if r.Key[0] != int64(i) || city != fmt.Sprint("c", i) {
			t.Fatalf("record %d: %s", i, recString(r))
		}
	}
}
