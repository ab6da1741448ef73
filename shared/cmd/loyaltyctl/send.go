package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/loyalty-functions/loyalty/shared/local/localgateway"
	"github.com/loyalty-functions/loyalty/shared/local/localstack"
	"github.com/loyalty-functions/loyalty/shared/tools/cliflags"
	"github.com/loyalty-functions/loyalty/shared/tools/localstate"
)

// sendArgs are the arguments of `loyaltyctl send`.
type sendArgs struct {
	partner string
	sync    bool // through the partner door, which answers
	files   []string
}

func parseSend(args []string) (sendArgs, error) {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	var a sendArgs
	fs.StringVar(&a.partner, "partner", "", "the partner whose queue and key send the message (required: the ingest takes the partner from the queue, never from the body)")
	fs.BoolVar(&a.sync, "sync", false, "send through the partner door (the function URL) and print its answer: points earned, balance, rewards")
	rest, err := cliflags.Parse(fs, args)
	if err != nil {
		return a, err
	}
	if a.partner == "" {
		return a, errors.New("send: -partner ID is required (a partner of program.json; it signs with its own key)")
	}
	if len(rest) == 0 {
		return a, errors.New("send -partner ID FILE...: no message file given")
	}
	a.files = rest
	return a, nil
}

// send puts each file's contents on the partner's local queue, signed with
// that partner's own key, as the partner's till would with the AWS SDK or
// CLI. It prints one line per message sent.
func send(args []string, out io.Writer) error {
	a, err := parseSend(args)
	if err != nil {
		return err
	}
	c, err := localstack.Connect("")
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	p, ok := c.State.Partner(a.partner)
	if !ok {
		ids := make([]string, 0, len(c.State.Partners))
		for _, p := range c.State.Partners {
			ids = append(ids, p.ID)
		}
		return fmt.Errorf("send: no partner %q in the running stack (partners: %s)", a.partner, strings.Join(ids, ", "))
	}
	if a.sync {
		return sendSync(c.State.PartnerDoor, c.State.Region, p.ID, p.Credentials, a.files, out)
	}
	client := sqs.New(sqs.Options{Region: c.State.Region, BaseEndpoint: aws.String(c.State.SQS.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(p.AccessKeyID, p.SecretAccessKey, "")})
	for _, file := range a.files {
		body, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		res, err := client.SendMessage(context.Background(), &sqs.SendMessageInput{
			QueueUrl: aws.String(p.QueueURL), MessageBody: aws.String(string(body))})
		if err != nil {
			return fmt.Errorf("send %s: %w", file, err)
		}
		fmt.Fprintf(out, "sent %s to %s as %s: message %s\n", file, p.QueueURL, p.ID, aws.ToString(res.MessageId))
	}
	return nil
}

// doorLine is the banner's door address.
func doorLine(url string) string {
	if url == "" {
		return "(none in the template)"
	}
	return url
}

// sendSync posts each file to the partner door, signed with the partner's
// key for service lambda as an AWS SDK signs a function URL call, and
// prints the door's status and answer.
func sendSync(door, region, partner string, creds localstate.Credentials, files []string, out io.Writer) error {
	if door == "" {
		return errors.New("send -sync: the running stack has no partner door")
	}
	for _, file := range files {
		body, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("send: %w", err)
		}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, door, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if err := localgateway.SignRequestFor(req, body, creds.AccessKeyID, creds.SecretAccessKey, region, localgateway.DoorService, time.Now()); err != nil {
			return fmt.Errorf("send %s: %w", file, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("send %s: %w", file, err)
		}
		answer, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("send %s: %w", file, err)
		}
		fmt.Fprintf(out, "sent %s to the partner door as %s: %d %s\n", file, partner, resp.StatusCode, bytes.TrimSpace(answer))
	}
	return nil
}
