//go:build tools

// Package tools pins the main packages the tests build, so `go mod tidy` keeps them.
package tools

import (
	_ "sigs.k8s.io/metrics-server/cmd/metrics-server"
)
