package debezium

import (
	"reflect"
	"testing"
	"time"

	"github.com/beamsync/beamsync/change"
)

func TestLogicalTypes(t *testing.T) {
	cases := []struct {
		schema connectSchema
		raw    string
		want   any
		kind   change.Kind
	}{
		// MySQL TIME '-00:00:01' and TIME beyond a day.
		{connectSchema{Type: "int64", Name: dMicroTime}, `-1000000`, change.TimeOfDay("-00:00:01"), change.KindTime},
		{connectSchema{Type: "int64", Name: dMicroTime}, `-3723500000`, change.TimeOfDay("-01:02:03.5"), change.KindTime},
		{connectSchema{Type: "int64", Name: dMicroTime}, `3020399000000`, change.TimeOfDay("838:59:59"), change.KindTime},
		// A historical zone offset in seconds (Europe/Amsterdam in 1900).
		{connectSchema{Type: "string", Name: dZonedTimestamp}, `"1900-01-01T00:00:00+00:19:32"`, time.Date(1899, 12, 31, 23, 40, 28, 0, time.UTC), change.KindTimestamp},
		{connectSchema{Type: "string", Name: dZonedTimestamp}, `"2017-09-15T17:51:04.777+02:00"`, time.Date(2017, 9, 15, 15, 51, 4, 777e6, time.UTC), change.KindTimestamp},
		// BIT(10) b'1000000011' (little-endian bytes 0x03 0x02).
		{connectSchema{Type: "bytes", Name: dBits, Parameters: map[string]string{"length": "10"}}, `"AwI="`, "1000000011", change.KindString},
		{connectSchema{Type: "bytes", Name: dBits}, `"BQ=="`, "00000101", change.KindString},
		// ISO dates, times and timestamps (time_precision_mode=connect...).
		{connectSchema{Type: "string", Name: dIsoDate}, `"2017-09-15Z"`, change.Date("2017-09-15"), change.KindDate},
		{connectSchema{Type: "string", Name: dIsoDate}, `"2017-09-15+02:00"`, change.Date("2017-09-15"), change.KindDate},
		{connectSchema{Type: "string", Name: dIsoTime}, `"17:51:04.777Z"`, change.TimeOfDay("17:51:04.777+00:00"), change.KindTime},
		{connectSchema{Type: "string", Name: dIsoTimestamp}, `"2017-09-15T17:51:04.777Z"`, time.Date(2017, 9, 15, 17, 51, 4, 777e6, time.UTC), change.KindTimestamp},
	}
	for _, c := range cases {
		got, err := c.schema.convert([]byte(c.raw))
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %s: %#v %v, want %#v", c.schema.Name, c.raw, got, err, c.want)
		}
		if k := c.schema.kind(); k != c.kind {
			t.Errorf("%s: kind %s, want %s", c.schema.Name, k, c.kind)
		}
	}
	for _, bad := range []struct {
		schema connectSchema
		raw    string
	}{
		{connectSchema{Type: "string", Name: dIsoDate}, `"15/09/2017"`},
		{connectSchema{Type: "bytes", Name: dBits, Parameters: map[string]string{"length": "17"}}, `"AwI="`},
		{connectSchema{Type: "string", Name: dZonedTimestamp}, `"yesterday"`},
	} {
		if v, err := bad.schema.convert([]byte(bad.raw)); err == nil {
			t.Errorf("%s %s accepted: %#v", bad.schema.Name, bad.raw, v)
		}
	}
}
