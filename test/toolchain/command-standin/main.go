// A stand-in for Pulumi's command provider (pulumi-resource-command), for tests only: the
// real one (github.com/pulumi/pulumi-command/provider) is not served by the Go module proxy
// this project can reach. It serves command:remote:Command with the real schema's inputs and
// outputs through the same framework (pulumi-go-provider's infer), so the engine diffs,
// replaces (triggers) and deletes it as it would the real provider. Written here, not copied.
package main

import (
	"context"
	"fmt"
	"os"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"drydock.test/toolchain/command-standin/remote"
)

// Version is the @pulumi/command release this stands in for.
const Version = "1.2.1"

func main() {
	provider, err := infer.NewProviderBuilder().
		WithResources(infer.Resource(&remote.Command{})).
		WithDisplayName("command (drydock test stand-in)").
		Build()
	if err == nil {
		err = p.RunProvider(context.Background(), "command", Version, provider)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
