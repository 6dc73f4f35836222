// One Go process of the multi-language store test (tests/store/run.py): see worker.py, which
// this mirrors. Prints FNV-1a fingerprints of tokens, never a token.
package main

import (
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"time"

	cctoken "github.com/cctoken/cctoken/bindings/go"
)

func main() {
	c, err := cctoken.New(cctoken.Config{
		TokenURL:     os.Getenv("CCTOKEN_TOKEN_URL"),
		ClientID:     os.Getenv("CCTOKEN_CLIENT_ID"),
		ClientSecret: os.Getenv("CCTOKEN_CLIENT_SECRET"),
		CacheDir:     os.Getenv("CCTOKEN_CACHE_DIR"),
		Refresh:      &cctoken.RefreshPolicy{Ratio: 0.1, MinWindow: 300 * time.Millisecond, Jitter: 0.25},
	})
	if err != nil {
		fmt.Println("error config:", err)
		os.Exit(1)
	}
	defer c.Close()
	duration, _ := strconv.ParseFloat(os.Getenv("CCTOKEN_DURATION_S"), 64)
	fmt.Println("ready")
	for {
		if _, err := os.Stat(os.Getenv("CCTOKEN_GO_FILE")); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	end := time.Now().Add(time.Duration(duration * float64(time.Second)))
	var first, last uint64
	distinct, calls := 0, 0
	for {
		tok, err := c.Token()
		if err != nil {
			fmt.Println("error token:", err)
			os.Exit(1)
		}
		if tok.ExpiresIn() <= 0 {
			fmt.Println("error: an expired token was served")
			os.Exit(1)
		}
		h := fnv.New64a()
		h.Write([]byte(tok.AccessToken))
		fp := h.Sum64()
		if calls == 0 {
			first = fp
		}
		if fp != last {
			distinct, last = distinct+1, fp
		}
		calls++
		time.Sleep(50 * time.Millisecond)
		if !time.Now().Before(end) {
			break
		}
	}
	fmt.Printf("ok first=%016x distinct=%d calls=%d store_errors=%d\n", first, distinct, calls, c.Metrics().StoreErrors)
}
