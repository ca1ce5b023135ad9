package mayfly_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"mayfly.dev/mayfly"
)

func TestVersion(t *testing.T) {
	defer guard(t)
	n := mayfly.VersionNumber()
	want := fmt.Sprintf("%d.%d.%d", n/1000000, n/1000%1000, n%1000)
	if got := mayfly.Version(); got != want {
		t.Fatalf("Version() = %q, VersionNumber() = %d (%s)", got, n, want)
	}
}

func TestErrors(t *testing.T) {
	defer guard(t)
	err := error(&mayfly.Error{Code: mayfly.CodeUnauthenticated, Message: "certificate has been revoked"})
	if !errors.Is(err, mayfly.ErrUnauthenticated) {
		t.Error("errors.Is(err, ErrUnauthenticated) = false")
	}
	if errors.Is(err, mayfly.ErrPermissionDenied) {
		t.Error("errors.Is(err, ErrPermissionDenied) = true")
	}
	if errors.Is(err, mayfly.ErrClosed) {
		t.Error("errors.Is(err, ErrClosed) = true")
	}
	wrapped := fmt.Errorf("renewing: %w", err)
	if !errors.Is(wrapped, mayfly.ErrUnauthenticated) {
		t.Error("a wrapped error lost its code")
	}
	if got, want := err.Error(), "mayfly: UNAUTHENTICATED: certificate has been revoked"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got := mayfly.Code(99).String(); got != "CODE(99)" {
		t.Errorf("Code(99).String() = %q", got)
	}
	if got := mayfly.CodeUnavailable.String(); got != "UNAVAILABLE" {
		t.Errorf("CodeUnavailable.String() = %q", got)
	}
	// A real failure from the library carries code and message.
	_, err = mayfly.ParseCertificate([]byte("not a certificate"))
	wantCode(t, err, mayfly.CodeInvalidArgument)
	if !errors.Is(err, mayfly.ErrInvalidArgument) {
		t.Errorf("errors.Is(%v, ErrInvalidArgument) = false", err)
	}
	if err.(*mayfly.Error).Message == "" {
		t.Error("the library's error has no message")
	}
}

func TestKey(t *testing.T) {
	defer guard(t)
	for _, tc := range []struct {
		typ   mayfly.KeyType
		check func(any) bool
	}{
		{mayfly.KeyP256, func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve.Params().Name == "P-256" }},
		{mayfly.KeyP384, func(k any) bool { e, ok := k.(*ecdsa.PrivateKey); return ok && e.Curve.Params().Name == "P-384" }},
		{mayfly.KeyEd25519, func(k any) bool { _, ok := k.(ed25519.PrivateKey); return ok }},
	} {
		t.Run(tc.typ.String(), func(t *testing.T) {
			defer guard(t)
			key := must(mayfly.GenerateKey(tc.typ))
			defer key.Close()
			if got := must(key.Type()); got != tc.typ {
				t.Fatalf("Type() = %v", got)
			}
			signer := must(key.Signer())
			if !tc.check(signer) {
				t.Fatalf("Signer() is a %T", signer)
			}
			plain := must(key.PEM(""))
			if !bytes.HasPrefix(plain, []byte("-----BEGIN PRIVATE KEY-----")) {
				t.Fatalf("PEM(\"\") = %.40q", plain)
			}
			pub := must(key.PublicPEM())
			if !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----")) {
				t.Fatalf("PublicPEM() = %.40q", pub)
			}
			again := must(mayfly.ParseKey(plain, ""))
			defer again.Close()
			if !bytes.Equal(must(again.PublicPEM()), pub) {
				t.Fatal("the parsed key has another public key")
			}
		})
	}

	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	enc := must(key.PEM("secret"))
	if !bytes.HasPrefix(enc, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		t.Fatalf("PEM(\"secret\") = %.50q", enc)
	}
	dec := must(mayfly.ParseKey(enc, "secret"))
	if !bytes.Equal(must(dec.PublicPEM()), must(key.PublicPEM())) {
		t.Fatal("decrypted key differs")
	}
	if _, err := mayfly.ParseKey(enc, "wrong"); err == nil {
		t.Fatal("ParseKey with a wrong password succeeded")
	}
	_, err := mayfly.ParseKey([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "")
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = mayfly.ParseKey(nil, "")
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = mayfly.GenerateKey(mayfly.KeyType(42))
	wantCode(t, err, mayfly.CodeInvalidArgument)
	// RSA keys are read (for step compatibility) but never generated.
	_, err = mayfly.GenerateKey(mayfly.KeyRSA)
	wantCode(t, err, mayfly.CodeInvalidArgument)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		t.Fatal(err)
	}
	parsedRSA := must(mayfly.ParseKey(rsaDER, ""))
	if typ := must(parsedRSA.Type()); typ != mayfly.KeyRSA {
		t.Fatalf("an RSA key parses as %v", typ)
	}
	parsedRSA.Close()

	// Close is idempotent and later use is refused, not a crash.
	key.Close()
	key.Close()
	if _, err := key.PEM(""); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("PEM after Close: %v", err)
	}
	if _, err := mayfly.NewCSR(key, "x"); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("NewCSR with a closed key: %v", err)
	}
	var nilKey *mayfly.Key
	if err := nilKey.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = mayfly.NewCSR(nil, "x")
	wantCode(t, err, mayfly.CodeInvalidArgument)
}

func TestCSR(t *testing.T) {
	defer guard(t)
	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	defer key.Close()
	csr := must(mayfly.NewCSR(key, "svc.internal", "svc.internal", "10.0.0.7", "ops@example.com", "spiffe://example/svc"))
	defer csr.Close()
	pemBytes := must(csr.PEM())
	if !bytes.HasPrefix(pemBytes, []byte("-----BEGIN CERTIFICATE REQUEST-----")) {
		t.Fatalf("PEM() = %.50q", pemBytes)
	}
	again := must(mayfly.ParseCSR(pemBytes))
	defer again.Close()
	if !bytes.Equal(must(again.PEM()), pemBytes) {
		t.Fatal("PEM round trip changed the CSR")
	}

	p, _ := pemDecode(t, pemBytes)
	req, err := x509.ParseCertificateRequest(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.CheckSignature(); err != nil {
		t.Fatal(err)
	}
	if req.Subject.CommonName != "svc.internal" || len(req.DNSNames) != 1 ||
		len(req.IPAddresses) != 1 || req.IPAddresses[0].String() != "10.0.0.7" ||
		len(req.EmailAddresses) != 1 || len(req.URIs) != 1 {
		t.Fatalf("CSR has CN %q, DNS %v, IP %v, email %v, URI %v", req.Subject.CommonName,
			req.DNSNames, req.IPAddresses, req.EmailAddresses, req.URIs)
	}

	text := must(mayfly.Inspect(pemBytes))
	if !strings.Contains(text, "svc.internal") {
		t.Fatalf("Inspect does not name the CN:\n%s", text)
	}

	// A CSR whose signature is broken is refused.
	der := append([]byte(nil), p...)
	der[len(der)-3] ^= 0xff
	_, err = mayfly.ParseCSR(der)
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = mayfly.ParseCSR([]byte("junk"))
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = mayfly.Inspect([]byte("junk"))
	wantCode(t, err, mayfly.CodeInvalidArgument)
}

func TestCertificateAndChain(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "")
	chain, key := issue(t, pki, pki.signer(t), "web.internal", "web.internal", "127.0.0.1")
	defer key.Close()

	if chain.Len() != 2 {
		t.Fatalf("issued chain has %d certificates", chain.Len())
	}
	x := must(chain.X509())
	leaf := must(chain.At(0))
	if cn := must(leaf.CommonName()); cn != "web.internal" {
		t.Fatalf("CommonName() = %q", cn)
	}
	if serial := must(leaf.Serial()); serial != x[0].SerialNumber.String() {
		t.Fatalf("Serial() = %s, x509 says %s", serial, x[0].SerialNumber)
	}
	der := must(leaf.DER())
	if !bytes.Equal(der, x[0].Raw) {
		t.Fatal("DER() differs from the chain's PEM")
	}
	sum := sha256.Sum256(der)
	if fp := must(leaf.Fingerprint()); fp != hex.EncodeToString(sum[:]) {
		t.Fatalf("Fingerprint() = %s", fp)
	}
	nb, na, err := leaf.Validity()
	if err != nil {
		t.Fatal(err)
	}
	if !nb.Equal(x[0].NotBefore) || !na.Equal(x[0].NotAfter) {
		t.Fatalf("Validity() = %v..%v, x509 says %v..%v", nb, na, x[0].NotBefore, x[0].NotAfter)
	}
	if x509Leaf := must(leaf.X509()); x509Leaf.Subject.CommonName != "web.internal" {
		t.Fatal("X509() has another subject")
	}
	if leafPEM := must(leaf.PEM()); !bytes.HasPrefix(leafPEM, []byte("-----BEGIN CERTIFICATE-----")) {
		t.Fatalf("PEM() = %.40q", leafPEM)
	}
	if _, err := chain.At(2); err == nil {
		t.Fatal("At(2) of a chain of 2 succeeded")
	}
	if _, err := chain.At(-1); err == nil {
		t.Fatal("At(-1) succeeded")
	}
	text := must(mayfly.Inspect(der))
	if !strings.Contains(text, "web.internal") {
		t.Fatalf("Inspect(DER) does not name the CN:\n%s", text)
	}

	// Round trips.
	chainPEM := must(chain.PEM())
	again := must(mayfly.ParseChain(chainPEM))
	if !bytes.Equal(must(again.PEM()), chainPEM) {
		t.Fatal("chain PEM round trip differs")
	}
	one := must(mayfly.ParseCertificate(der))
	if must(one.Fingerprint()) != must(leaf.Fingerprint()) {
		t.Fatal("certificate DER round trip differs")
	}
	certs := must(again.Certificates())
	if len(certs) != 2 {
		t.Fatalf("Certificates() = %d", len(certs))
	}
	pool := must(pki.ca.Roots())
	rootPool := must(pool.CertPool())
	inter := x509.NewCertPool()
	inter.AddCert(x[1])
	if _, err := x[0].Verify(x509.VerifyOptions{Roots: rootPool, Intermediates: inter}); err != nil {
		t.Fatalf("the issued chain does not verify with Go: %v", err)
	}

	// A certificate taken from a chain outlives the chain's Close.
	again.Close()
	if again.Len() != 0 {
		t.Fatal("Len() after Close is not 0")
	}
	if _, err := again.PEM(); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("PEM after Close: %v", err)
	}
	if cn := must(certs[1].CommonName()); !strings.Contains(cn, "Intermediate") {
		t.Fatalf("intermediate CN after the chain's Close = %q", cn)
	}
	for _, c := range certs {
		c.Close()
	}
	if _, err := certs[0].Serial(); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("Serial after Close: %v", err)
	}

	_, err = mayfly.ParseChain([]byte("no certificates here"))
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = mayfly.ParseChain(nil)
	wantCode(t, err, mayfly.CodeInvalidArgument)
}
