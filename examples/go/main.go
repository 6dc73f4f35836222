// Command fetch_token gets an OAuth 2.0 client-credentials token with cctoken, calls an API
// with it, and shows that the following calls are answered from the cache.
//
// Run (`make demo` starts the dev server and does this for you):
//
//	CCTOKEN_TOKEN_URL=http://127.0.0.1:PORT/token CCTOKEN_CLIENT_ID=demo-client \
//	CCTOKEN_CLIENT_SECRET=demo-secret CCTOKEN_RESOURCE_URL=http://127.0.0.1:PORT/resource \
//	go run .
//
// It prints one line, "go: token fetches=N cache hits=M", and exits non-zero on any failure.
package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
	"golang.org/x/oauth2"
)

func main() {
	if err := run(); err != nil {
		// cctoken's errors never contain the secret or a token, so they are safe to print.
		fmt.Fprintln(os.Stderr, "fetch_token:", err)
		os.Exit(1)
	}
}

func run() error {
	env := map[string]string{}
	for _, name := range []string{"CCTOKEN_TOKEN_URL", "CCTOKEN_CLIENT_ID", "CCTOKEN_CLIENT_SECRET", "CCTOKEN_RESOURCE_URL"} {
		if env[name] = os.Getenv(name); env[name] == "" {
			return fmt.Errorf("set %s", name)
		}
	}

	// 1. Configure. New checks the whole configuration; its error names the option at fault.
	client, err := cctoken.New(cctoken.Config{
		TokenURL:     env["CCTOKEN_TOKEN_URL"],
		ClientID:     env["CCTOKEN_CLIENT_ID"],
		ClientSecret: env["CCTOKEN_CLIENT_SECRET"],
		Scopes:       []string{"read"},
	})
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	defer client.Close()

	// 2. Get a token (this one is fetched), then call the API through the client's transport,
	//    which adds the Authorization header and, on a 401, gets a new token and retries once.
	if _, err := client.Token(); err != nil {
		return fmt.Errorf("token: %w", err)
	}
	httpClient := &http.Client{Transport: client.Transport(nil), Timeout: 10 * time.Second}
	resp, err := httpClient.Get(env["CCTOKEN_RESOURCE_URL"])
	if err != nil {
		return fmt.Errorf("resource: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resource: %s", resp.Status)
	}

	// The same through golang.org/x/oauth2, for code that already takes an oauth2.TokenSource.
	oauthClient := oauth2.NewClient(context.Background(), client.TokenSource())
	oauthClient.Timeout = 10 * time.Second
	resp, err = oauthClient.Get(env["CCTOKEN_RESOURCE_URL"])
	if err != nil {
		return fmt.Errorf("resource via oauth2.NewClient: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resource via oauth2.NewClient: %s", resp.Status)
	}

	// 3. Ask again, as a busy service would before every request: these are cache hits.
	for range 1000 {
		if _, err := client.Token(); err != nil {
			return fmt.Errorf("token: %w", err)
		}
	}

	m := client.Metrics()
	fmt.Printf("go: token fetches=%d cache hits=%d\n", m.Fetches, m.Hits)
	return nil
}
