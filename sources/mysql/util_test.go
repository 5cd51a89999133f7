package mysql

import (
	"database/sql"
	"errors"
)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func openDBErr(dsn string) (*sql.DB, error) { return sql.Open("mysql", dsn) }
