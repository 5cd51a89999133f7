package verify

import "testing"

func TestCanonicalEqualValuesAreEqualText(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{`{"b":1,"a":2}`, `{"a":2,"b":1}`},
		{`{"n":49}`, `{"n":49.00}`},
		{`{"n":1.5}`, `{"n":15E-1}`},
		{`{"n":-0.0}`, `{"n":0}`},
		{`{"n":12345678901234567890123456789012345678}`, `{"n":1.2345678901234567890123456789012345678e37}`},
		{`{"n":0.00000000000000000000000000000000000001}`, `{"n":1e-38}`},
		{`{"t":"2024-01-02T03:04:05.120000Z"}`, `{"t":"2024-01-02T04:04:05.12+01:00"}`},
		{`{"x":[1,{"z":null,"y":"s"}]}`, `{"x":[1.0,{"y":"s","z":null}]}`},
	} {
		ca, err := Canonical([]byte(c.a))
		if err != nil {
			t.Fatal(err)
		}
		cb, err := Canonical([]byte(c.b))
		if err != nil {
			t.Fatal(err)
		}
		if string(ca) != string(cb) {
			t.Errorf("%s -> %s, %s -> %s", c.a, ca, c.b, cb)
		}
	}
}

func TestCanonicalDifferentValuesDiffer(t *testing.T) {
	for _, c := range []struct{ a, b string }{
		{`{"n":1}`, `{"n":"1"}`},
		{`{"n":0.1}`, `{"n":0.10000000000000001}`},
		{`{"s":"a"}`, `{"s":"A"}`},
		{`{"t":"2024-01-02T03:04:05Z"}`, `{"t":"2024-01-02T03:04:05.000001Z"}`},
		{`{"x":null}`, `{}`},
	} {
		ca, _ := Canonical([]byte(c.a))
		cb, _ := Canonical([]byte(c.b))
		if string(ca) == string(cb) {
			t.Errorf("%s and %s are both %s", c.a, c.b, ca)
		}
	}
}

func TestCanonicalDropsBookkeeping(t *testing.T) {
	got, err := Canonical([]byte(`{"id":1,"_beamsync_version":7,"x":{"_beamsync_version":1}}`), "_beamsync_version")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":1,"x":{"_beamsync_version":1}}`; string(got) != want {
		t.Errorf("got %s, want %s", got, want)
	}
}
