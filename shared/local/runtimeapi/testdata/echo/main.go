// Command echo is the Lambda function the runtimeapi tests run. It echoes its
// event, unless the event asks it to fail, sleep, crash or describe itself, so
// the tests can drive every path of the host with one real aws-lambda-go binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type request struct {
	Error    string   `json:"error"`
	Panic    string   `json:"panic"`
	Exit     int      `json:"exit"`
	SleepMS  int      `json:"sleep_ms"`
	Barrier  string   `json:"barrier"`
	BigBytes int      `json:"big_bytes"`
	Describe []string `json:"describe"`
}

type description struct {
	PID              int               `json:"pid"`
	RequestID        string            `json:"request_id"`
	FunctionARN      string            `json:"function_arn"`
	DeadlineInFuture bool              `json:"deadline_in_future"`
	Env              map[string]string `json:"env"`
}

func handle(ctx context.Context, event json.RawMessage) (any, error) {
	var req request
	_ = json.Unmarshal(event, &req)
	switch {
	case req.Error != "":
		return nil, errors.New(req.Error)
	case req.Panic != "":
		panic(req.Panic)
	case req.Exit != 0:
		os.Exit(req.Exit)
	case req.SleepMS > 0:
		time.Sleep(time.Duration(req.SleepMS) * time.Millisecond)
		return map[string]int{"slept_ms": req.SleepMS}, nil
	case req.Barrier != "":
		// Blocks until the test has seen as many arrivals as it waits for.
		resp, err := http.Get(req.Barrier)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("barrier: status %d", resp.StatusCode)
		}
		return map[string]int{"pid": os.Getpid()}, nil
	case req.BigBytes > 0:
		return strings.Repeat("x", req.BigBytes), nil
	case req.Describe != nil:
		lc, _ := lambdacontext.FromContext(ctx)
		deadline, _ := ctx.Deadline()
		d := description{PID: os.Getpid(), DeadlineInFuture: deadline.After(time.Now()), Env: map[string]string{}}
		if lc != nil {
			d.RequestID, d.FunctionARN = lc.AwsRequestID, lc.InvokedFunctionArn
		}
		for _, name := range req.Describe {
			d.Env[name] = os.Getenv(name)
		}
		return d, nil
	}
	return event, nil
}

func main() {
	lambda.StartWithOptions(handle, lambda.WithEnableSIGTERM(func() {
		fmt.Println("echo: SIGTERM")
		if os.Getenv("ECHO_IGNORE_SIGTERM") == "" {
			os.Exit(0)
		}
	}))
}
