// Command client is a govmomi REST client for dsvcr's interop suite: it logs in, gets
// each download session id given on the command line with govmomi's library manager
// (form A, as govc and Terraform do), prints one JSON line per id, and logs out.
//
// Exit status: 0 if every id was found, 3 if any answered 404, 1 on any other error.
//
// Build in GOPATH mode with Debian's govmomi:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o client ./tests/interop/client
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

type result struct {
	ID      string           `json:"id"`
	Found   bool             `json:"found"`
	Session *library.Session `json:"session,omitempty"`
	Error   string           `json:"error,omitempty"`
}

func main() {
	endpoint := flag.String("url", "", "vCenter (or dsvcr) URL, e.g. http://127.0.0.1:8080")
	user := flag.String("user", "", "user name")
	password := flag.String("password", "", "password")
	ca := flag.String("ca", "", "PEM file of CA certificates to trust for https")
	insecure := flag.Bool("insecure", false, "skip certificate verification")
	flag.Parse()

	u, err := url.Parse(*endpoint)
	if err != nil || u.Host == "" {
		fail("bad -url %q: %v", *endpoint, err)
	}
	u.Path = "/sdk"
	soapClient := soap.NewClient(u, *insecure)
	if *ca != "" {
		if err := soapClient.SetRootCAs(*ca); err != nil {
			fail("-ca %s: %s", *ca, err)
		}
	}
	rc := rest.NewClient(&vim25.Client{Client: soapClient})
	ctx := context.Background()
	if err := rc.Login(ctx, url.UserPassword(*user, *password)); err != nil {
		fail("login: %s", err)
	}
	manager := library.NewManager(rc)
	status := 0
	encoder := json.NewEncoder(os.Stdout)
	for _, id := range flag.Args() {
		session, err := manager.GetLibraryItemDownloadSession(ctx, id)
		switch {
		case err == nil:
			_ = encoder.Encode(result{ID: id, Found: true, Session: session})
		case strings.Contains(err.Error(), "404 Not Found"):
			_ = encoder.Encode(result{ID: id, Found: false, Error: err.Error()})
			if status == 0 {
				status = 3
			}
		default:
			_ = encoder.Encode(result{ID: id, Error: err.Error()})
			status = 1
		}
	}
	if err := rc.Logout(ctx); err != nil {
		fail("logout: %s", err)
	}
	os.Exit(status)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "client: "+format+"\n", args...)
	os.Exit(1)
}
