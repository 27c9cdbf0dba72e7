//go:build tools

// Package tools pins the Pulumi CLI build to the pulumi Python SDK version in requirements.txt.
package tools

import _ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
