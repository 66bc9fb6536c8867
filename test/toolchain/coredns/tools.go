//go:build tools

// Package tools pins the main packages the tests build, so `go mod tidy` keeps them.
package tools

import (
	_ "github.com/coredns/coredns"
)
