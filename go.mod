module github.com/beamsync/beamsync

go 1.26.0
