// Command lab runs govmomi's vCenter simulator as a lab vCenter for dsvcr's interop
// suite. It serves HTTPS with a certificate it makes (an ECDSA CA plus a leaf for
// 127.0.0.1 and localhost; the simulator's own 1024-bit certificate is refused by
// rustls), creates a content library with an item holding two files and several
// download sessions, and a second library `harness-lib` with an item `harness-item`
// holding `disk.iso` and `notes.txt` (known bytes, for govc's export flow), prints one
// JSON line describing all that, and serves until SIGINT or SIGTERM.
//
// Build in GOPATH mode with Debian's govmomi:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o lab ./tests/interop/lab
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io/ioutil"
	"log"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vapi/library"
	"github.com/vmware/govmomi/vapi/rest"
	_ "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// What the lab prints on stdout, as one JSON line, once it is ready.
type lab struct {
	URL      string   `json:"url"`
	User     string   `json:"user"`
	Password string   `json:"password"`
	CA       string   `json:"ca"`
	Library  string   `json:"library"`
	Item     string   `json:"item"`
	Sessions []string `json:"sessions"`
	Harness  harness  `json:"harness"`
}

// The library and item govc's export flow exports, with its files' bytes.
type harness struct {
	Library string            `json:"library"`
	Item    string            `json:"item"`
	Files   map[string]string `json:"files"`
}

// What harness-item holds.
var harnessFiles = map[string]string{
	"disk.iso":  "not really an iso\n",
	"notes.txt": "harness notes: two files, known bytes\n",
}

func main() {
	caPath := flag.String("ca-out", "lab-ca.pem", "write the lab's CA certificate (PEM) here")
	count := flag.Int("sessions", 3, "how many download sessions to create")
	user := flag.String("user", "interop-admin@vsphere.local", "user name to accept")
	password := flag.String("password", "Interop-Passw0rd-9c1d", "password to accept")
	flag.Parse()
	log.SetOutput(os.Stderr)

	leaf, err := makeCertificates(*caPath)
	if err != nil {
		log.Fatalf("certificates: %s", err)
	}

	model := simulator.VPX()
	defer model.Remove()
	if err := model.Create(); err != nil {
		log.Fatalf("simulator model: %s", err)
	}
	model.Service.Listen = &url.URL{Host: "127.0.0.1:0", User: url.UserPassword(*user, *password)}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{leaf}}
	model.Service.RegisterEndpoints = true
	server := model.Service.NewServer()
	defer server.Close()

	ctx := context.Background()
	described, err := populate(ctx, server.URL, *caPath, *count)
	if err != nil {
		log.Fatalf("populating the lab: %s", err)
	}
	described.URL = fmt.Sprintf("https://%s", server.URL.Host)
	described.User = *user
	described.Password = *password
	described.CA = *caPath
	line, _ := json.Marshal(described)
	fmt.Println(string(line))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	<-signals
}

// populate creates a library, an item with two files, and the download sessions.
func populate(ctx context.Context, u *url.URL, caPath string, count int) (*lab, error) {
	soapClient := soap.NewClient(u, false)
	if err := soapClient.SetRootCAs(caPath); err != nil {
		return nil, fmt.Errorf("trusting the lab CA: %w", err)
	}
	rc := rest.NewClient(&vim25.Client{Client: soapClient})
	if err := rc.Login(ctx, u.User); err != nil {
		return nil, fmt.Errorf("login: %w", err)
	}
	defer rc.Logout(ctx)
	m := library.NewManager(rc)

	libraryID, err := createLibrary(ctx, m, "interop-library")
	if err != nil {
		return nil, err
	}
	itemID, err := m.CreateLibraryItem(ctx, library.Item{Name: "photon-5", Type: "ovf", LibraryID: libraryID})
	if err != nil {
		return nil, fmt.Errorf("creating the item: %w", err)
	}
	if err := upload(ctx, rc, m, itemID, map[string]string{
		"photon-5.ovf":  "<Envelope/>\n",
		"photon-5.vmdk": "not really a disk\n",
	}); err != nil {
		return nil, err
	}
	described := &lab{Library: libraryID, Item: itemID}
	for i := 0; i < count; i++ {
		id, err := m.CreateLibraryItemDownloadSession(ctx, library.Session{LibraryItemID: itemID})
		if err != nil {
			return nil, fmt.Errorf("creating download session %d: %w", i, err)
		}
		described.Sessions = append(described.Sessions, id)
	}

	harnessLib, err := createLibrary(ctx, m, "harness-lib")
	if err != nil {
		return nil, err
	}
	harnessItem, err := m.CreateLibraryItem(ctx, library.Item{Name: "harness-item", Type: "iso", LibraryID: harnessLib})
	if err != nil {
		return nil, fmt.Errorf("creating harness-item: %w", err)
	}
	if err := upload(ctx, rc, m, harnessItem, harnessFiles); err != nil {
		return nil, err
	}
	described.Harness = harness{Library: harnessLib, Item: harnessItem, Files: harnessFiles}
	return described, nil
}

// createLibrary creates a local library on the simulator's first datastore.
func createLibrary(ctx context.Context, m *library.Manager, name string) (string, error) {
	datastore := simulator.Map.Any("Datastore")
	id, err := m.CreateLibrary(ctx, library.Library{
		Name: name,
		Type: "LOCAL",
		Storage: []library.StorageBackings{{
			DatastoreID: datastore.Reference().Value,
			Type:        "DATASTORE",
		}},
	})
	if err != nil {
		return "", fmt.Errorf("creating library %s: %w", name, err)
	}
	return id, nil
}

// upload puts files into the item through an update session, as govc library.import does.
func upload(ctx context.Context, rc *rest.Client, m *library.Manager, itemID string, files map[string]string) error {
	session, err := m.CreateLibraryItemUpdateSession(ctx, library.Session{LibraryItemID: itemID})
	if err != nil {
		return fmt.Errorf("creating the update session: %w", err)
	}
	for name, content := range files {
		info, err := m.AddLibraryItemFile(ctx, session, library.UpdateFile{
			Name:       name,
			SourceType: "PUSH",
			Size:       int64(len(content)),
		})
		if err != nil {
			return fmt.Errorf("adding %s: %w", name, err)
		}
		target, err := url.Parse(info.UploadEndpoint.URI)
		if err != nil {
			return fmt.Errorf("upload endpoint for %s: %w", name, err)
		}
		param := soap.DefaultUpload
		param.ContentLength = int64(len(content))
		if err := rc.Upload(ctx, bytes.NewBufferString(content), target, &param); err != nil {
			return fmt.Errorf("uploading %s: %w", name, err)
		}
	}
	return m.CompleteLibraryItemUpdateSession(ctx, session)
}

// makeCertificates writes a new CA to caPath and returns a leaf for 127.0.0.1 and
// localhost signed by it.
func makeCertificates(caPath string) (tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	caTemplate := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "dsvcr interop lab CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	if err := ioutil.WriteFile(caPath, caPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, nil
}
