package verify_test

import (
	"fmt"

	"github.com/beamsync/beamsync/verify"
)

func ExampleCompare() {
	row := func(doc string, version uint64) verify.Row {
		r, err := verify.SinkRow([]byte(doc), []string{"id"}, []string{"_version"}, version, true)
		if err != nil {
			panic(err)
		}
		return r
	}
	source := []verify.Row{
		row(`{"id":1,"total":49.00}`, 100),
		row(`{"id":2,"total":5}`, 100),
		row(`{"id":3,"total":7}`, 100),
	}
	sink := []verify.Row{
		row(`{"id":1,"total":49,"_version":90}`, 90), // equal: 49 is 49.00
		row(`{"id":3,"total":8,"_version":90}`, 90),  // changed
		row(`{"id":10,"total":1,"_version":90}`, 90), // extra
	}
	verify.SortRows(source)
	verify.SortRows(sink)
	r := verify.Compare(source, sink, verify.Options{SourcePosition: 100, SinkKeepsVersions: true})
	for _, d := range r.Diffs {
		fmt.Println(d.Kind, d.Key)
	}
	// Output:
	// missing [2]
	// changed [3]
	// extra [10]
}
