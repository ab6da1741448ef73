// Command initerror is a minimal custom runtime that reports a failed init
// through POST /runtime/init/error, as the Runtime API asks runtimes to do.
package main

import (
	"net/http"
	"os"
	"strings"
)

func main() {
	body := `{"errorMessage":"config file missing","errorType":"InitConfigError"}`
	req, err := http.NewRequest(http.MethodPost, "http://"+os.Getenv("AWS_LAMBDA_RUNTIME_API")+"/2018-06-01/runtime/init/error", strings.NewReader(body))
	if err != nil {
		os.Exit(2)
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "InitConfigError")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	os.Exit(1)
}
