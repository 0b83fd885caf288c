// Command export performs govc's library export flow (what `govc library.export
// LIB/ITEM DIR` sends, see ../shared/spec/download-workflow.md §2) with govmomi's library
// manager, for dsvcr's interop suite. It prints every decoded answer as one JSON line,
// in a stable order, so that a run against the simulator (through `dsvcr record`) and a
// run against `dsvcr replay` can be compared line by line.
//
// The flow, in order:
//
//	login
//	[-find LIB/ITEM] library find → library get → item find → item get (as govc does)
//	download_session.create for the item (no client token, as govc sends)
//	download_session.get right after create (govc does not; other clients do)
//	downloadsession.file.list (not with -file NAME, which exports that one file, as
//	`govc library.export LIB/ITEM/FILE` does)
//	downloadsession.file.prepare for every file
//	per file: downloadsession.file.get until PREPARED, [-download DIR] GET the bytes
//	download_session.delete (not with -keep: govc lets the session expire instead)
//	logout
//
// -find (look the item up by library and item name, as govc does) and -download are
// off by default, so the same program also serves a flow that starts from an item id.
//
// Exit status: 0 when the whole flow succeeded, 1 on the first error (printed as a JSON
// line with "error", and on stderr).
//
// Build in GOPATH mode with Debian's govmomi:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o export ./tests/interop/export
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// One printed line: the call, the file it was about (file operations), and the decoded
// answer or the error.
//
// Nothing is left out for varying between a recording run and a replay run except the
// login token (each server mints its own; it is a secret too, so it is never printed).
// Every other answer is one dsvcr recorded and replays verbatim: session ids, the
// session's expiration_time (replay runs without --shift-times). download_endpoint.uri
// names dsvcr's own /__dsvcr/files/… endpoint, whose host and port differ between the
// recording and the replaying dsvcr; the test compares it by path. File lists are sorted
// by name, since the simulator lists a session's files in map order.
type line struct {
	Call   string      `json:"call"`
	File   string      `json:"file,omitempty"`
	Poll   int         `json:"poll,omitempty"`
	Answer interface{} `json:"answer,omitempty"`
	Error  string      `json:"error,omitempty"`
}

type exporter struct {
	ctx     context.Context
	rc      *rest.Client
	m       *library.Manager
	out     *json.Encoder
	poll    time.Duration
	timeout time.Duration
}

func main() {
	endpoint := flag.String("url", "", "vCenter (or dsvcr) URL, e.g. http://127.0.0.1:8080")
	user := flag.String("user", "", "user name")
	password := flag.String("password", "", "password")
	ca := flag.String("ca", "", "PEM file of CA certificates to trust for https (vCenter, dsvcr, and the byte URIs' host)")
	insecure := flag.Bool("insecure", false, "skip certificate verification")
	itemID := flag.String("item", "", "library item id to export")
	find := flag.String("find", "", "find the item by LIB/ITEM names instead of -item, as govc library.export does")
	download := flag.String("download", "", "download every file's bytes into this folder (created if missing)")
	only := flag.String("file", "", "export only this file, without listing the session's files")
	keep := flag.Bool("keep", false, "leave the session to expire instead of deleting it, as govc 0.24 does")
	poll := flag.Duration("poll", 200*time.Millisecond, "pause between file.get polls of a file that is not PREPARED yet (none before the first)")
	timeout := flag.Duration("timeout", 30*time.Second, "give up waiting for a file to be PREPARED after this long")
	flag.Parse()
	if (*itemID == "") == (*find == "") {
		fail("give exactly one of -item ID and -find LIB/ITEM")
	}

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
	e := &exporter{
		ctx:     context.Background(),
		rc:      rc,
		m:       library.NewManager(rc),
		out:     json.NewEncoder(os.Stdout),
		poll:    *poll,
		timeout: *timeout,
	}
	if err := e.run(*user, *password, *itemID, *find, *download, *only, *keep); err != nil {
		fail("%s", err)
	}
}

// run is the whole flow; it stops at the first error, which it has already printed.
func (e *exporter) run(user, password, itemID, find, download, only string, keep bool) error {
	if err := e.rc.Login(e.ctx, url.UserPassword(user, password)); err != nil {
		return e.failed("login", "", err)
	}
	e.print(line{Call: "login"})
	if find != "" {
		id, err := e.lookup(find)
		if err != nil {
			return err
		}
		itemID = id
	}

	session, err := e.m.CreateLibraryItemDownloadSession(e.ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		return e.failed("download_session.create", "", err)
	}
	e.print(line{Call: "download_session.create", Answer: session})

	info, err := e.m.GetLibraryItemDownloadSession(e.ctx, session)
	if err != nil {
		return e.failed("download_session.get", "", err)
	}
	e.print(line{Call: "download_session.get", Answer: info})

	files := []library.DownloadFile{{Name: only}}
	if only == "" {
		files, err = e.m.ListLibraryItemDownloadSessionFile(e.ctx, session)
		if err != nil {
			return e.failed("downloadsession.file.list", "", err)
		}
		sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
		e.print(line{Call: "downloadsession.file.list", Answer: files})
	}

	for _, file := range files {
		prepared, err := e.m.PrepareLibraryItemDownloadSessionFile(e.ctx, session, file.Name)
		if err != nil {
			return e.failed("downloadsession.file.prepare", file.Name, err)
		}
		e.print(line{Call: "downloadsession.file.prepare", File: file.Name, Answer: prepared})
	}

	for _, file := range files {
		ready, err := e.waitPrepared(session, file.Name)
		if err != nil {
			return err
		}
		if download != "" {
			if err := e.fetch(ready, download); err != nil {
				return err
			}
		}
	}

	if !keep {
		if err := e.m.DeleteLibraryItemDownloadSession(e.ctx, session); err != nil {
			return e.failed("download_session.delete", "", err)
		}
		e.print(line{Call: "download_session.delete"})
	}

	if err := e.rc.Logout(e.ctx); err != nil {
		return e.failed("logout", "", err)
	}
	e.print(line{Call: "logout"})
	return nil
}

// waitPrepared polls file.get until the file is PREPARED, printing every answer: the
// first poll at once, later ones e.poll apart (govc waits 1 s between polls; the
// simulator prepares at once, so only a real vCenter ever makes this wait).
// GetLibraryItemDownloadSessionFile itself turns an ERROR status into an error.
func (e *exporter) waitPrepared(session, name string) (*library.DownloadFile, error) {
	deadline := time.Now().Add(e.timeout)
	for poll := 1; ; poll++ {
		info, err := e.m.GetLibraryItemDownloadSessionFile(e.ctx, session, name)
		if err != nil {
			return nil, e.failed("downloadsession.file.get", name, err)
		}
		e.print(line{Call: "downloadsession.file.get", File: name, Poll: poll, Answer: info})
		if info.Status == "PREPARED" {
			return info, nil
		}
		if time.Now().Add(e.poll).After(deadline) {
			err := fmt.Errorf("still %s after %d polls in %s", info.Status, poll, e.timeout)
			return nil, e.failed("downloadsession.file.get", name, err)
		}
		time.Sleep(e.poll)
	}
}

// lookup finds the item by "LIB/ITEM" as govc library.export does: library find by
// name, library get, item find by library id and name, item get.
func (e *exporter) lookup(path string) (string, error) {
	libName, itemName := path, ""
	if i := strings.LastIndex(path, "/"); i >= 0 {
		libName, itemName = path[:i], path[i+1:]
	}
	if libName == "" || itemName == "" {
		return "", e.failed("library.find", "", fmt.Errorf("-find wants LIB/ITEM, not %q", path))
	}
	libs, err := e.m.FindLibrary(e.ctx, library.Find{Name: libName})
	if err != nil {
		return "", e.failed("library.find", "", err)
	}
	e.print(line{Call: "library.find", Answer: libs})
	if len(libs) != 1 {
		return "", e.failed("library.find", "", fmt.Errorf("%d libraries named %q", len(libs), libName))
	}
	lib, err := e.m.GetLibraryByID(e.ctx, libs[0])
	if err != nil {
		return "", e.failed("library.get", "", err)
	}
	e.print(line{Call: "library.get", Answer: lib})
	items, err := e.m.FindLibraryItems(e.ctx, library.FindItem{LibraryID: lib.ID, Name: itemName})
	if err != nil {
		return "", e.failed("library.item.find", "", err)
	}
	e.print(line{Call: "library.item.find", Answer: items})
	if len(items) != 1 {
		return "", e.failed("library.item.find", "", fmt.Errorf("%d items named %q in %s", len(items), itemName, libName))
	}
	item, err := e.m.GetLibraryItem(e.ctx, items[0])
	if err != nil {
		return "", e.failed("library.item.get", "", err)
	}
	e.print(line{Call: "library.item.get", Answer: item})
	return item.ID, nil
}

// fetch GETs a prepared file's bytes from its download_endpoint.uri (that URI's host,
// with the session header, as govc does) into dir, and prints their size and SHA-256.
func (e *exporter) fetch(file *library.DownloadFile, dir string) error {
	if file.DownloadEndpoint == nil {
		return e.failed("download", file.Name, fmt.Errorf("no download_endpoint"))
	}
	u, err := url.Parse(file.DownloadEndpoint.URI)
	if err != nil {
		return e.failed("download", file.Name, err)
	}
	body, _, err := e.rc.Download(e.ctx, u, &soap.DefaultDownload)
	if err != nil {
		return e.failed("download", file.Name, err)
	}
	defer body.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return e.failed("download", file.Name, err)
	}
	target, err := os.Create(filepath.Join(dir, filepath.Base(file.Name)))
	if err != nil {
		return e.failed("download", file.Name, err)
	}
	digest := sha256.New()
	n, err := io.Copy(io.MultiWriter(target, digest), body)
	if closeErr := target.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return e.failed("download", file.Name, err)
	}
	e.print(line{Call: "download", File: file.Name, Answer: map[string]interface{}{
		"bytes":  n,
		"sha256": hex.EncodeToString(digest.Sum(nil)),
	}})
	return nil
}

func (e *exporter) print(l line) {
	if err := e.out.Encode(l); err != nil {
		fail("writing stdout: %s", err)
	}
}

// failed prints the error as the call's line and returns it.
func (e *exporter) failed(call, file string, err error) error {
	e.print(line{Call: call, File: file, Error: err.Error()})
	if file != "" {
		return fmt.Errorf("%s %s: %w", call, file, err)
	}
	return fmt.Errorf("%s: %w", call, err)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "export: "+format+"\n", args...)
	os.Exit(1)
}
