package config

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

var testAWS = aws.Config{Region: "eu-central-1",
	Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "token")}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// The Secrets Manager read is the call AWS expects: a SigV4-signed
// GetSecretValue for the secret's ARN, in the function's region, with the
// session token; its SecretString is the code secret.
func TestCodeSecretFromSecretsManager(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-central-1:111122223333:secret:loyalty-dev-code-AbCdEf"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		auth := r.Header.Get("Authorization")
		switch {
		case r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue",
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
			!strings.Contains(auth, "/eu-central-1/secretsmanager/aws4_request"),
			r.Header.Get("X-Amz-Security-Token") != "token", in.SecretId != arn:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ValidationException","message":"bad request"}`))
			return
		}
		_, _ = w.Write([]byte(`{"ARN":"` + arn + `","SecretString":"s3cr3t-of-the-deployment-0123456789abcdef"}`))
	}))
	defer srv.Close()
	got, err := CodeSecret(context.Background(), testAWS, env(map[string]string{CodeSecretARNEnv: arn, SecretsManagerEndpointEnv: srv.URL}))
	if err != nil || string(got) != "s3cr3t-of-the-deployment-0123456789abcdef" {
		t.Fatalf("got %q, %v, want the SecretString", got, err)
	}
	_, err = CodeSecret(context.Background(), testAWS, env(map[string]string{CodeSecretARNEnv: arn + "-other", SecretsManagerEndpointEnv: srv.URL}))
	if err == nil || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("a refused read: got %v, want the service's error", err)
	}
}

func TestCodeSecretFromFileAndMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "code-secret")
	if err := os.WriteFile(path, []byte("local-secret-0123456789abcdef0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := CodeSecret(context.Background(), testAWS, env(map[string]string{CodeSecretFileEnv: path, CodeSecretARNEnv: "arn:never-read"}))
	if err != nil || string(got) != "local-secret-0123456789abcdef0123456789" {
		t.Errorf("file: got %q, %v, want its content without the newline", got, err)
	}
	if _, err := CodeSecret(context.Background(), testAWS, env(nil)); err == nil || !strings.Contains(err.Error(), CodeSecretARNEnv) {
		t.Errorf("nothing set: got %v, want an error naming %s", err, CodeSecretARNEnv)
	}
}
