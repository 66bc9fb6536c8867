// Package remote: command:remote:Command, run over SSH.
package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Command runs create on creation, update (else create) on an update and delete on deletion.
type Command struct{}

// CommandInputs are the real resource's inputs; a change of triggers replaces the resource.
type CommandInputs struct {
	Triggers               *[]any            `pulumi:"triggers,optional" provider:"replaceOnChanges"`
	Create                 *string           `pulumi:"create,optional"`
	Update                 *string           `pulumi:"update,optional"`
	Delete                 *string           `pulumi:"delete,optional"`
	Stdin                  *string           `pulumi:"stdin,optional"`
	Logging                *string           `pulumi:"logging,optional"`
	Connection             *Connection       `pulumi:"connection" provider:"secret"`
	Environment            map[string]string `pulumi:"environment,optional"`
	AddPreviousOutputInEnv *bool             `pulumi:"addPreviousOutputInEnv,optional"`
}

// CommandOutputs are the inputs plus what the last run printed.
type CommandOutputs struct {
	CommandInputs
	Stdout string `pulumi:"stdout"`
	Stderr string `pulumi:"stderr"`
}

func (*Command) Create(ctx context.Context, req infer.CreateRequest[CommandInputs]) (infer.CreateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs}
	id, err := resource.NewUniqueHex(req.Name, 8, 0)
	if err != nil || req.DryRun || req.Inputs.Create == nil {
		return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
	}
	err = state.run(ctx, *req.Inputs.Create)
	return infer.CreateResponse[CommandOutputs]{ID: id, Output: state}, err
}

func (*Command) Update(ctx context.Context, req infer.UpdateRequest[CommandInputs, CommandOutputs]) (infer.UpdateResponse[CommandOutputs], error) {
	state := CommandOutputs{CommandInputs: req.Inputs, Stdout: req.State.Stdout, Stderr: req.State.Stderr}
	if req.DryRun {
		return infer.UpdateResponse[CommandOutputs]{Output: state}, nil
	}
	var err error
	if req.Inputs.Update != nil {
		err = state.run(ctx, *req.Inputs.Update)
	} else if req.Inputs.Create != nil {
		err = state.run(ctx, *req.Inputs.Create)
	}
	return infer.UpdateResponse[CommandOutputs]{Output: state}, err
}

func (*Command) Delete(ctx context.Context, req infer.DeleteRequest[CommandOutputs]) (infer.DeleteResponse, error) {
	if req.State.Delete == nil {
		return infer.DeleteResponse{}, nil
	}
	return infer.DeleteResponse{}, req.State.run(ctx, *req.State.Delete)
}

func (c *CommandOutputs) logs(stream string) bool {
	mode := "stdoutAndStderr"
	if c.Logging != nil {
		mode = *c.Logging
	}
	return mode == "stdoutAndStderr" || mode == stream
}

// run executes cmd in one SSH session with stdin and the previous output in the environment.
func (c *CommandOutputs) run(ctx context.Context, cmd string) error {
	client, err := c.Connection.dial(ctx)
	if err != nil {
		return err
	}
	defer client.Close()
	session, err := client.NewSession()
	if err != nil {
		return err
	}
	defer session.Close()
	for k, v := range c.Environment {
		if err := session.Setenv(k, v); err != nil {
			return fmt.Errorf("could not set environment variable %q (the server must AcceptEnv it): %w", k, err)
		}
	}
	if c.AddPreviousOutputInEnv == nil || *c.AddPreviousOutputInEnv {
		// As the real provider: tried, and a refusal is not an error.
		if c.Stdout != "" {
			_ = session.Setenv("PULUMI_COMMAND_STDOUT", c.Stdout)
		}
		if c.Stderr != "" {
			_ = session.Setenv("PULUMI_COMMAND_STDERR", c.Stderr)
		}
	}
	if c.Stdin != nil && *c.Stdin != "" {
		session.Stdin = strings.NewReader(*c.Stdin)
	}
	var stdout, stderr, both, logged bytes.Buffer
	outWriters := []io.Writer{&stdout, &both}
	if c.logs("stdout") {
		outWriters = append(outWriters, &logged)
	}
	errWriters := []io.Writer{&stderr, &both}
	if c.logs("stderr") {
		errWriters = append(errWriters, &logged)
	}
	session.Stdout = io.MultiWriter(outWriters...)
	session.Stderr = io.MultiWriter(errWriters...)
	err = session.Run(cmd)
	if text := strings.TrimRight(logged.String(), "\n"); text != "" {
		p.GetLogger(ctx).Info(text)
	}
	if err != nil {
		return fmt.Errorf("%w: running %q:\n%s", err, cmd, both.String())
	}
	c.Stdout = strings.TrimSuffix(stdout.String(), "\n")
	c.Stderr = strings.TrimSuffix(stderr.String(), "\n")
	return nil
}
