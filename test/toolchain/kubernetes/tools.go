//go:build tools

// Package tools pins the Kubernetes main packages the tests build, so `go mod tidy` keeps them.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kubectl"
)
