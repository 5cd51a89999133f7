package mysql

import (
	"reflect"
	"testing"

	"github.com/beamsync/beamsync/internal/testenv"
)

// TestIdentifierQuoting reads a table whose name and key columns hold
// spaces, capitals, backquotes, quotes and a question mark, in chunks.
func TestIdentifierQuoting(t *testing.T) {
	dsn := testenv.NewMySQLDB(t)
	db := dbName(t, dsn)
	testenv.ExecAllMySQL(t, dsn,
		"CREATE TABLE `Odd ``Table`` Name` (`Key ``A``` INT NOT NULL, `what? 'B'` VARCHAR(20) NOT NULL, `Value -- #1` TEXT, PRIMARY KEY (`Key ``A```, `what? 'B'`))",
		"INSERT INTO `Odd ``Table`` Name` VALUES (1, 'x?', 'one'), (1, 'y', 'two'), (2, '?', 'three'), (3, 'it''s', 'four'), (4, '`', 'five')")
	for _, name := range []string{"Odd `Table` Name", "`" + db + "`.`Odd ``Table`` Name`", db + ".Odd `Table` Name"} {
		res, tables := runSnapshot(t, dsn, Config{Tables: []string{name}, ChunkSize: 2, Parallelism: 2})
		tb := tables[0]
		if tb.Name != "Odd `Table` Name" || !reflect.DeepEqual(tb.KeyNames(), []string{"Key `A`", "what? 'B'"}) || tb.Columns[2].Name != "Value -- #1" {
			t.Fatalf("%s: described as %+v", name, tb)
		}
		got := map[string]string{}
		for _, ch := range res.rows[tb.QualifiedName()] {
			got[ch.After[1].(string)] = ch.After[2].(string)
		}
		want := map[string]string{"x?": "one", "y": "two", "?": "three", "it's": "four", "`": "five"}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: read %v", name, got)
		}
	}
}
