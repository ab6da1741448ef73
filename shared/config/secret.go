package config

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/loyalty-functions/loyalty/shared/loyalty"
)

// The code secret seals the rotating codes members show at the till
// (loyalty.CodeSealer). A function that issues or reads codes gets it from
// one of:
//
//	CODE_SECRET_FILE  a file holding it (the local stack generates one per data folder)
//	CODE_SECRET_ARN   a Secrets Manager secret (the stateful stack makes one), read once at start
//
// CODE_SECRET_FILE wins, so the local stack can run the template's
// environment unchanged.
const (
	CodeSecretFileEnv = "CODE_SECRET_FILE"
	CodeSecretARNEnv  = "CODE_SECRET_ARN"
	// SecretsManagerEndpointEnv points the secret's read elsewhere (tests).
	SecretsManagerEndpointEnv = "SECRETSMANAGER_ENDPOINT"
)

// CodeSealer returns the sealer of rotating codes from the function's code
// secret, or an error naming what is missing.
func (f Function) CodeSealer(ctx context.Context) (*loyalty.CodeSealer, error) {
	secret, err := CodeSecret(ctx, f.AWS, os.Getenv)
	if err != nil {
		return nil, err
	}
	return loyalty.NewCodeSealer(secret)
}

// CodeSecret reads the code secret as the environment (getenv) says.
func CodeSecret(ctx context.Context, cfg aws.Config, getenv func(string) string) ([]byte, error) {
	if path := getenv(CodeSecretFileEnv); path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: the code secret of %s: %w", CodeSecretFileEnv, err)
		}
		return bytes.TrimSpace(b), nil
	}
	arn := getenv(CodeSecretARNEnv)
	if arn == "" {
		return nil, fmt.Errorf("config: %s or %s must name the code secret", CodeSecretARNEnv, CodeSecretFileEnv)
	}
	endpoint := getenv(SecretsManagerEndpointEnv)
	if endpoint == "" {
		endpoint = "https://secretsmanager." + cfg.Region + ".amazonaws.com"
	}
	s, err := getSecretValue(ctx, cfg, http.DefaultClient, endpoint, arn)
	if err != nil {
		return nil, fmt.Errorf("config: read the code secret %s: %w", arn, err)
	}
	return []byte(s), nil
}

// getSecretValue is Secrets Manager's GetSecretValue as one SigV4-signed
// JSON call: the one call a function makes to it, without linking the
// service's client into every binary that reads codes.
func getSecretValue(ctx context.Context, cfg aws.Config, client *http.Client, endpoint, secretID string) (string, error) {
	body, err := json.Marshal(map[string]string{"SecretId": secretID})
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	if cfg.Credentials == nil {
		return "", errors.New("no AWS credentials")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "secretsmanager", cfg.Region, time.Now()); err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	var out struct {
		SecretString string `json:"SecretString"`
		Type         string `json:"__type"`
		Message      string `json:"message"`
	}
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("secrets manager answered %d %s %s", resp.StatusCode, out.Type, out.Message)
	}
	if out.SecretString == "" {
		return "", errors.New("the secret has no SecretString")
	}
	return out.SecretString, nil
}
