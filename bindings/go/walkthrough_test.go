package mayfly_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

// startServer serves pki's CA on 127.0.0.1 and returns its URL and the log
// lines it writes.
func startServer(t *testing.T, pki *testPKI) (*mayfly.Server, string, func() []string) {
	t.Helper()
	var mu sync.Mutex
	var lines []string
	srv, err := mayfly.StartServer(pki.ca, &mayfly.ServerOptions{
		Address:       "127.0.0.1:0",
		WorkerThreads: 2,
		JSONLogs:      true,
		Log: func(line string) {
			mu.Lock()
			lines = append(lines, line)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatalf("StartServer: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	if srv.Port() <= 0 {
		t.Fatalf("Port() = %d", srv.Port())
	}
	logs := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
	return srv, fmt.Sprintf("https://127.0.0.1:%d", srv.Port()), logs
}

// TestSeedWalkthrough is a certificate's whole life in one process: a CA
// and its server, a client bootstrapped by the root fingerprint, a token,
// a certificate, its renewal, its passive revocation, and the CA refusing
// the next renewal.
func TestSeedWalkthrough(t *testing.T) {
	defer guard(t)
	base := mayfly.LiveCallbacks()
	pki := newPKI(t, "")
	srv, url, logs := startServer(t, pki)

	fp := must(pki.ca.RootFingerprint())
	if _, err := mayfly.BootstrapClient(url, strings.Repeat("0", 64)); err == nil {
		t.Fatal("bootstrap with a wrong fingerprint succeeded")
	}
	client := must(mayfly.BootstrapClient(url, fp))
	defer client.Close()
	if err := client.Health(); err != nil {
		t.Fatal(err)
	}
	roots := must(client.Roots())
	if r := must(roots.At(0)); must(r.Fingerprint()) != fp {
		t.Fatal("client.Roots() is not the pinned root")
	}
	var provs struct {
		Provisioners []struct{ Name string } `json:"provisioners"`
	}
	if err := json.Unmarshal(must(client.Provisioners()), &provs); err != nil ||
		len(provs.Provisioners) != 1 || provs.Provisioners[0].Name != "admin" {
		t.Fatalf("Provisioners: %v %+v", err, provs)
	}
	// A client made from roots works as well as a bootstrapped one.
	pinned := must(mayfly.NewClient(url, roots))
	defer pinned.Close()
	if err := pinned.Health(); err != nil {
		t.Fatal(err)
	}

	signer := pki.signer(t)
	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	tok := must(signer.Sign(mayfly.TokenOptions{
		Subject: "svc.internal", CAURL: url, SANs: []string{"svc.internal", "10.1.2.3"},
		RootFingerprint: fp,
	}))
	chain := must(client.Sign(key, tok))
	x := must(chain.X509())
	if x[0].Subject.CommonName != "svc.internal" || len(x[0].IPAddresses) != 1 {
		t.Fatalf("signed leaf: CN %q, IPs %v", x[0].Subject.CommonName, x[0].IPAddresses)
	}
	_, err := client.Sign(key, tok) // one-time token
	wantCode(t, err, mayfly.CodeUnauthenticated)

	// SignCSR, for a CSR made elsewhere.
	csrKey := must(mayfly.GenerateKey(mayfly.KeyP384))
	csr := must(mayfly.NewCSR(csrKey, "csr.internal", "csr.internal"))
	csrChain := must(client.SignCSR(csr, must(signer.Sign(mayfly.TokenOptions{Subject: "csr.internal", CAURL: url}))))

	renewed := must(client.Renew(chain, key))
	if leafSerial(t, renewed) == leafSerial(t, chain) {
		t.Fatal("renewal kept the serial")
	}
	byToken := must(client.RenewWithToken(renewed, key))
	newKey := must(mayfly.GenerateKey(mayfly.KeyP256))
	rekeyed := must(client.Rekey(byToken, key, newKey))
	if !pubEqual(must(rekeyed.X509())[0].PublicKey, must(newKey.Signer()).Public()) {
		t.Fatal("Rekey did not certify the new key")
	}
	_, err = client.Renew(chain, newKey) // a key that is not the leaf's
	if err == nil {
		t.Fatal("renewal with the wrong key succeeded")
	}

	// Passive revocation of the first certificate, by token.
	serial := leafSerial(t, chain)
	revokeTok := must(signer.Sign(mayfly.TokenOptions{Subject: serial, CAURL: url, Purpose: mayfly.TokenRevoke}))
	if err := client.Revoke(mayfly.RevokeRequest{Serial: serial, ReasonCode: 0, Reason: "retired", Token: revokeTok}); err != nil {
		t.Fatal(err)
	}
	// Revoking the CSR-made one over mTLS, with its own certificate.
	if err := client.Revoke(mayfly.RevokeRequest{Serial: leafSerial(t, csrChain), Chain: csrChain, Key: csrKey}); err != nil {
		t.Fatal(err)
	}

	// Renewal is refused for the revoked certificate and its descendants.
	for name, c := range map[string]*mayfly.Chain{"revoked": chain, "renewed": renewed, "rekeyed": rekeyed} {
		k := key
		if c == rekeyed {
			k = newKey
		}
		_, err := client.Renew(c, k)
		if !errors.Is(err, mayfly.ErrUnauthenticated) && !errors.Is(err, mayfly.ErrPermissionDenied) {
			t.Fatalf("renewing the %s certificate: %v, want UNAUTHENTICATED or PERMISSION_DENIED", name, err)
		}
	}
	_, err = client.Renew(csrChain, csrKey)
	wantCode(t, err, mayfly.CodeUnauthenticated, mayfly.CodePermissionDenied)

	// The server logged the requests through the callback.
	found := false
	for _, l := range logs() {
		if strings.Contains(l, "/renew") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no /renew request in the server log: %q", logs())
	}

	// Stopping the server makes the CA unavailable to the client.
	srv.Stop(time.Second)
	err = client.Health()
	wantCode(t, err, mayfly.CodeUnavailable)
	srv.Close()
	srv.Close()
	if srv.Port() != -1 {
		t.Fatal("Port() after Close is not -1")
	}
	// The log callback was released with the server.
	pki.ca.Close()
	client.Close()
	pinned.Close()
	gcUntil(t, "callback handles", func() bool { return mayfly.LiveCallbacks() <= base })
}

// TestServerOutlivesClosedCA closes the CA first: the server keeps it open
// and keeps serving until it is closed itself.
func TestServerOutlivesClosedCA(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "")
	srv, url, _ := startServer(t, pki)
	fp := must(pki.ca.RootFingerprint())
	pki.ca.Close()
	if _, err := pki.ca.RootFingerprint(); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("closed CA answered: %v", err)
	}
	if _, err := mayfly.StartServer(pki.ca, nil); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("StartServer on a closed CA: %v", err)
	}
	client := must(mayfly.BootstrapClient(url, fp))
	defer client.Close()
	if err := client.Health(); err != nil {
		t.Fatalf("the server stopped with its CA's Close: %v", err)
	}
	srv.Close()
}
