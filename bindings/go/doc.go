// Package cctoken gets OAuth 2.0 client-credentials access tokens (RFC 6749 §4.4), caches
// them and keeps them fresh, through cctoken's Rust core (linked statically by default, or
// the shared library with -tags cctoken_shared).
//
//	c, err := cctoken.New(cctoken.Config{
//		TokenURL:     "https://as.example.com/oauth/token",
//		ClientID:     "svc-a",
//		ClientSecret: os.Getenv("CCTOKEN_CLIENT_SECRET"),
//		Scopes:       []string{"read"},
//	})
//	if err != nil { ... }
//	defer c.Close()
//	httpClient := &http.Client{Transport: c.Transport(nil)} // Bearer header, 401 → one retry
//
// One request is in flight per client however many goroutines ask; tokens are refreshed
// ahead of expiry while callers keep the valid one. A cache hit does not cross into C: the
// binding keeps the current token until the core's refresh point for it, and the core alone
// decides when to fetch.
//
// Secrets: errors, Token and Config never print the client secret, private keys or access
// tokens. Go strings cannot be wiped, so the secret's Go copy lives until it is collected;
// the copies handed to the library are wiped.
package cctoken
