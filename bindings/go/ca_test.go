package mayfly_test

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

func TestInitPKI(t *testing.T) {
	defer guard(t)
	dir := t.TempDir()
	opts := mayfly.InitOptions{
		Dir:           dir,
		Name:          "Init Test",
		Provisioner:   "ops",
		Password:      testPassword,
		KeyType:       mayfly.KeyP384,
		KDFIterations: testKDF,
	}
	res := must(mayfly.InitPKI(opts))
	if filepath.Base(res.ConfigPath) != "ca.json" || res.ProvisionerKID == "" {
		t.Fatalf("InitPKI = %+v", res)
	}
	rootPEM := must(os.ReadFile(res.RootPath))
	der, _ := pemDecode(t, rootPEM)
	sum := sha256.Sum256(der)
	if res.RootFingerprint != hex.EncodeToString(sum[:]) {
		t.Fatalf("RootFingerprint %s is not the root file's", res.RootFingerprint)
	}
	root := must(x509.ParseCertificate(der))
	if root.Subject.CommonName != "Init Test Root CA" {
		t.Fatalf("root CN %q", root.Subject.CommonName)
	}

	// A second init is refused, and leaves the PKI as it was.
	_, err := mayfly.InitPKI(opts)
	wantCode(t, err, mayfly.CodeAlreadyExists)
	if !bytes.Equal(must(os.ReadFile(res.RootPath)), rootPEM) {
		t.Fatal("a refused init changed the root")
	}
	opts.Overwrite = true
	res2 := must(mayfly.InitPKI(opts))
	if res2.RootFingerprint == res.RootFingerprint {
		t.Fatal("overwrite kept the old root")
	}

	// Bad options.
	_, err = mayfly.InitPKI(mayfly.InitOptions{Dir: t.TempDir()})
	wantCode(t, err, mayfly.CodeInvalidArgument) // no password
	_, err = mayfly.InitPKI(mayfly.InitOptions{Dir: t.TempDir(), Password: "x", KeyType: 17})
	wantCode(t, err, mayfly.CodeInvalidArgument)

	// Opening with the wrong password fails.
	_, err = mayfly.OpenCA(res2.ConfigPath, "wrong", "memory:")
	if err == nil {
		t.Fatal("OpenCA with a wrong password succeeded")
	}
	_, err = mayfly.OpenCA(filepath.Join(dir, "missing.json"), testPassword, "memory:")
	if err == nil {
		t.Fatal("OpenCA of a missing file succeeded")
	}
	ca := must(mayfly.OpenCA(res2.ConfigPath, testPassword, "memory:"))
	defer ca.Close()
	if fp := must(ca.RootFingerprint()); fp != res2.RootFingerprint {
		t.Fatalf("RootFingerprint() = %s, init said %s", fp, res2.RootFingerprint)
	}
	if _, err := ca.TokenSigner("ops", testPassword); err != nil {
		t.Fatalf("the P-384 provisioner cannot sign tokens: %v", err)
	}
}

func TestCA(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "")
	ca := pki.ca
	const url = "https://127.0.0.1"

	roots := must(ca.Roots())
	if roots.Len() != 1 {
		t.Fatalf("%d roots", roots.Len())
	}
	root := must(roots.At(0))
	if must(root.Fingerprint()) != must(ca.RootFingerprint()) {
		t.Fatal("Roots() and RootFingerprint() disagree")
	}

	// Provisioners.
	var list struct {
		Provisioners []struct {
			Name   string `json:"name"`
			Type   string `json:"type"`
			Claims struct {
				DefaultTLSCertDuration string `json:"defaultTLSCertDuration"`
			} `json:"claims"`
		} `json:"provisioners"`
	}
	provKey := must(mayfly.GenerateKey(mayfly.KeyP256))
	if err := ca.AddProvisioner("short", provKey, "pw", &mayfly.ProvisionerOptions{
		MinDuration: time.Minute, DefaultDuration: 10 * time.Minute, MaxDuration: time.Hour,
		AllowRenewalAfterExpiry: true, KDFIterations: testKDF,
	}); err != nil {
		t.Fatal(err)
	}
	err := ca.AddProvisioner("short", provKey, "pw", nil)
	wantCode(t, err, mayfly.CodeAlreadyExists)
	err = ca.AddProvisioner("bad", provKey, "pw", &mayfly.ProvisionerOptions{
		MinDuration: time.Hour, DefaultDuration: time.Minute, MaxDuration: 2 * time.Hour,
	})
	wantCode(t, err, mayfly.CodeInvalidArgument, mayfly.CodeAlreadyExists)
	raw := must(ca.ProvisionersJSON())
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("ProvisionersJSON: %v\n%s", err, raw)
	}
	names := map[string]string{}
	for _, p := range list.Provisioners {
		names[p.Name] = p.Claims.DefaultTLSCertDuration
	}
	if _, ok := names["admin"]; !ok || names["short"] != "10m0s" || len(names) != 2 {
		t.Fatalf("provisioners: %s", raw)
	}
	wantCode(t, ca.RemoveProvisioner("nobody"), mayfly.CodeNotFound)

	// Tokens.
	_, err = ca.TokenSigner("admin", "wrong password")
	wantCode(t, err, mayfly.CodeUnauthenticated)
	_, err = ca.TokenSigner("nobody", testPassword)
	wantCode(t, err, mayfly.CodeNotFound)
	short := must(mayfly.NewTokenSigner(provKey, "", "short"))
	_, err = short.Sign(mayfly.TokenOptions{CAURL: url})
	wantCode(t, err, mayfly.CodeInvalidArgument) // no subject
	_, err = short.Sign(mayfly.TokenOptions{Subject: "x"})
	wantCode(t, err, mayfly.CodeInvalidArgument) // no CA URL

	// Sign, with the token's rules.
	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	csr := must(mayfly.NewCSR(key, "app.internal", "app.internal"))
	tok := must(short.Sign(mayfly.TokenOptions{
		Subject: "app.internal", CAURL: url, RootFingerprint: must(ca.RootFingerprint()),
		Lifetime: time.Minute,
	}))
	chain := must(ca.Sign(csr, tok, &mayfly.SignOptions{NotAfter: "30m"}))
	leaf := must(chain.X509())[0]
	if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 30*time.Minute || d > 32*time.Minute {
		t.Fatalf("NotAfter 30m gave a span of %v", d)
	}
	_, err = ca.Sign(csr, tok, nil)
	wantCode(t, err, mayfly.CodeUnauthenticated) // used token
	_, err = ca.Sign(csr, "not.a.token", nil)
	wantCode(t, err, mayfly.CodeUnauthenticated)
	other := must(short.Sign(mayfly.TokenOptions{Subject: "other.internal", CAURL: url}))
	_, err = ca.Sign(csr, other, nil)
	wantCode(t, err, mayfly.CodePermissionDenied)
	tooLong := must(short.Sign(mayfly.TokenOptions{Subject: "app.internal", CAURL: url}))
	_, err = ca.Sign(csr, tooLong, &mayfly.SignOptions{NotAfter: "5h"})
	wantCode(t, err, mayfly.CodeInvalidArgument)

	// Renew, rekey, renew with a token.
	renewed := must(ca.Renew(chain))
	if leafSerial(t, renewed) == leafSerial(t, chain) {
		t.Fatal("Renew kept the serial")
	}
	newKey := must(mayfly.GenerateKey(mayfly.KeyEd25519))
	newCSR := must(mayfly.NewCSR(newKey, ""))
	rekeyed := must(ca.Rekey(renewed, newCSR))
	rekeyedLeaf := must(rekeyed.Leaf())
	gotPub := must(rekeyedLeaf.X509()).PublicKey
	wantPub := must(newKey.Signer()).Public()
	if !pubEqual(gotPub, wantPub) {
		t.Fatal("Rekey did not certify the new key")
	}
	byToken := must(ca.RenewWithToken(renewToken(t, renewed, key, url)))
	if leafSerial(t, byToken) == leafSerial(t, renewed) {
		t.Fatal("RenewWithToken kept the serial")
	}
	_, err = ca.RenewWithToken("garbage")
	wantCode(t, err, mayfly.CodeUnauthenticated)

	// Passive revocation: by token, then everything in the lineage is
	// refused.
	serial := leafSerial(t, chain)
	err = ca.Revoke(mayfly.RevokeRequest{Serial: serial, ReasonCode: 1,
		Reason: "key compromise", Token: "bad token"})
	wantCode(t, err, mayfly.CodeUnauthenticated)
	err = ca.Revoke(mayfly.RevokeRequest{Serial: serial})
	wantCode(t, err, mayfly.CodeInvalidArgument, mayfly.CodeUnauthenticated) // neither token nor chain
	revokeTok := must(short.Sign(mayfly.TokenOptions{Subject: serial, CAURL: url, Purpose: mayfly.TokenRevoke}))
	if err := ca.Revoke(mayfly.RevokeRequest{Serial: serial, ReasonCode: 4, Reason: "superseded", Token: revokeTok}); err != nil {
		t.Fatal(err)
	}
	_, err = ca.Renew(chain)
	wantCode(t, err, mayfly.CodeUnauthenticated)
	_, err = ca.Renew(renewed) // descends from the revoked one
	wantCode(t, err, mayfly.CodeUnauthenticated)
	_, err = ca.RenewWithToken(renewToken(t, byToken, key, url))
	wantCode(t, err, mayfly.CodeUnauthenticated, mayfly.CodePermissionDenied)

	// Revocation by the certificate itself (as over mTLS).
	c2, k2 := issue(t, pki, short, "self.internal")
	defer k2.Close()
	s2 := leafSerial(t, c2)
	if err := ca.Revoke(mayfly.RevokeRequest{Serial: s2, Chain: c2}); err != nil {
		t.Fatal(err)
	}

	// The CRL lists both.
	crlDER := must(ca.CRL())
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatalf("CRL does not parse: %v", err)
	}
	listed := map[string]bool{}
	for _, e := range crl.RevokedCertificateEntries {
		listed[e.SerialNumber.String()] = true
	}
	if !listed[serial] || !listed[s2] {
		t.Fatalf("CRL lists %v, want %s and %s", listed, serial, s2)
	}
	interCert := must(chain.X509())[1]
	if err := crl.CheckSignatureFrom(interCert); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if p := must(ca.CRLPEM()); !strings.HasPrefix(string(p), "-----BEGIN X509 CRL-----") {
		t.Fatalf("CRLPEM() = %.30q", p)
	}

	if err := ca.RemoveProvisioner("short"); err != nil {
		t.Fatal(err)
	}
	lateTok := must(short.Sign(mayfly.TokenOptions{Subject: "app.internal", CAURL: url}))
	_, err = ca.Sign(csr, lateTok, nil)
	wantCode(t, err, mayfly.CodeUnauthenticated)

	// Closed CA.
	ca.Close()
	if _, err := ca.Roots(); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("Roots after Close: %v", err)
	}
}

func pubEqual(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}
