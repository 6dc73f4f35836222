package cctoken_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	cctoken "github.com/cctoken/cctoken/bindings/go"
	"golang.org/x/oauth2"
)

// The examples run against the dev server that TestMain starts (tokenURL, resourceURL,
// clientID and clientSecret are set there).

func ExampleNew() {
	c, err := cctoken.New(cctoken.Config{
		TokenURL:     tokenURL,
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Scopes:       []string{"read"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	tok, err := c.Token() // fetched once, then cached and refreshed ahead of expiry
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType, tok.Scope)
	// Output: Bearer read
}

func ExampleClient_Transport() {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// Every request gets "Authorization: Bearer <token>"; a 401 invalidates the token and
	// the request is retried once with a new one.
	httpClient := &http.Client{Transport: c.Transport(nil)}
	resp, err := httpClient.Get(resourceURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

func ExampleClient_TokenSource() {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	httpClient := oauth2.NewClient(context.Background(), c.TokenSource())
	resp, err := httpClient.Get(resourceURL)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}

func ExampleError() {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: "not-the-secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.Token()
	fmt.Println(errors.Is(err, cctoken.ErrInvalidClient))
	var e *cctoken.Error
	if errors.As(err, &e) {
		fmt.Println(e.OAuthError, e.HTTPStatus, e.Retryable)
	}
	// Output:
	// true
	// invalid_client 401 false
}

func ExampleClient_Metrics() {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	for range 10 {
		if _, err := c.Token(); err != nil {
			log.Fatal(err)
		}
	}
	m := c.Metrics()
	fmt.Printf("fetches=%d hits=%d\n", m.Fetches, m.Hits)
	// Output: fetches=1 hits=9
}

func ExampleToken_String() {
	c, err := cctoken.New(cctoken.Config{TokenURL: tokenURL, ClientID: clientID, ClientSecret: clientSecret})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Token()
	if err != nil {
		log.Fatal(err)
	}
	// Safe to log: the access token itself is never printed.
	fmt.Println(tok) // cctoken.Token{AccessToken:[redacted], TokenType:Bearer, Expiry:…, Scope:""}
}

// The provider examples run against the dev server's stand-ins (providers_test.go): its
// Google service-account key file and its Entra ID tenant.
func providerFixtures() *providersManifest {
	m, err := startProviders()
	if err != nil {
		log.Fatal(err)
	}
	return m
}

func ExampleConfig_serviceAccountFile() {
	keyFile := providerFixtures().Google.ServiceAccountFile // e.g. the file GOOGLE_APPLICATION_CREDENTIALS names

	// The JWT bearer grant (RFC 7523) signed with the file's key, sent to its token_uri.
	c, err := cctoken.New(cctoken.Config{
		ServiceAccountFile: keyFile,
		Scopes:             []string{"https://www.googleapis.com/auth/cloud-platform"},
	})
	if err != nil {
		log.Fatal(err) // a missing field is named, the key never shown
	}
	defer c.Close()
	tok, err := c.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType)
	// Output: Bearer
}

func ExampleConfig_entraCertificate() {
	entra := providerFixtures().Entra // tenant URL https://login.microsoftonline.com/TENANT/oauth2/v2.0/token

	// The PFX Azure gave you; the assertion names its certificate with x5t#S256 and is signed PS256.
	c, err := cctoken.New(cctoken.Config{
		TokenURL:       entra.TokenURL,
		ClientID:       entra.CertClient.ClientID,
		Scopes:         []string{entra.Scope}, // "api://…/.default"
		PKCS12File:     entra.CertClient.PFX,
		PKCS12Password: entra.CertClient.PFXPassword,
		Thumbprint:     cctoken.ThumbprintX5tS256,
		SigningAlg:     cctoken.PS256,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	tok, err := c.Token()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.TokenType)
	// Output: Bearer
}
