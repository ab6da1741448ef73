// Command initfail is a Lambda function whose init fails the usual Go way: it
// finds its configuration missing and exits before it asks for an event.
package main

import (
	"log"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	table := os.Getenv("LOYALTY_TABLE")
	if table == "" {
		log.Fatal("initfail: LOYALTY_TABLE is not set")
	}
	lambda.Start(func() error { return nil })
}
