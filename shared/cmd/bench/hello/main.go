// Command hello is the smallest aws-lambda-go function: the bench builds it
// with the same flags as the real functions and compares their init times
// with its own, measured in the same run.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, map[string]any) (string, error) { return "hello", nil })
}
