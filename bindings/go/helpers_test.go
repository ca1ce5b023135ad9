package mayfly_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

const (
	testPassword = "correct horse battery staple"
	// Low PBES2 iterations keep the tests fast; never do this for real.
	testKDF = 1000
)

// testPKI is a CA folder in t.TempDir, opened with a memory store.
type testPKI struct {
	dir  string
	init *mayfly.InitResult
	ca   *mayfly.CA
}

// newPKI initialises a PKI answering to localhost and 127.0.0.1. backdate,
// when not empty, replaces the config's authority.backdate (1m by
// default): a certificate lives its requested span plus the backdate, so
// tests with lifetimes of seconds need a small one.
func newPKI(t testing.TB, backdate string) *testPKI {
	t.Helper()
	dir := t.TempDir()
	res, err := mayfly.InitPKI(mayfly.InitOptions{
		Dir:           dir,
		Name:          "Go Test",
		DNSNames:      []string{"localhost", "127.0.0.1"},
		Address:       "127.0.0.1:0",
		Password:      testPassword,
		KDFIterations: testKDF,
	})
	if err != nil {
		t.Fatalf("InitPKI: %v", err)
	}
	if backdate != "" {
		setBackdate(t, res.ConfigPath, backdate)
	}
	ca, err := mayfly.OpenCA(res.ConfigPath, testPassword, "memory:")
	if err != nil {
		t.Fatalf("OpenCA: %v", err)
	}
	t.Cleanup(func() { ca.Close() })
	return &testPKI{dir: dir, init: res, ca: ca}
}

func setBackdate(t testing.TB, configPath, backdate string) {
	t.Helper()
	raw, err := os.ReadFile(configPath)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	authority, ok := cfg["authority"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no authority object", configPath)
	}
	authority["backdate"] = backdate
	raw, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configPath, raw, 0o600); err != nil {
		t.Fatal(err)
	}
}

// signer returns the token signer of the PKI's admin provisioner.
func (p *testPKI) signer(t testing.TB) *mayfly.TokenSigner {
	t.Helper()
	s, err := p.ca.TokenSigner("admin", testPassword)
	if err != nil {
		t.Fatalf("TokenSigner: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// shortProvisioner adds a provisioner issuing certificates of `lifetime`
// by default and returns its token signer.
func (p *testPKI) shortProvisioner(t testing.TB, name string, lifetime time.Duration, opts mayfly.ProvisionerOptions) *mayfly.TokenSigner {
	t.Helper()
	key, err := mayfly.GenerateKey(mayfly.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	opts.MinDuration = time.Second
	opts.DefaultDuration = lifetime
	opts.MaxDuration = time.Hour
	opts.KDFIterations = testKDF
	if err := p.ca.AddProvisioner(name, key, testPassword, &opts); err != nil {
		t.Fatalf("AddProvisioner: %v", err)
	}
	s, err := mayfly.NewTokenSigner(key, "", name)
	if err != nil {
		t.Fatalf("NewTokenSigner: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// token makes a sign token for subject and sans at caURL.
func token(t testing.TB, s *mayfly.TokenSigner, caURL, subject string, sans ...string) string {
	t.Helper()
	tok, err := s.Sign(mayfly.TokenOptions{Subject: subject, CAURL: caURL, SANs: sans})
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return tok
}

// issue makes a key and has the in-process CA sign a certificate for it.
func issue(t testing.TB, p *testPKI, s *mayfly.TokenSigner, subject string, sans ...string) (*mayfly.Chain, *mayfly.Key) {
	t.Helper()
	key, err := mayfly.GenerateKey(mayfly.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	names := sans
	if len(names) == 0 {
		names = []string{subject}
	}
	csr, err := mayfly.NewCSR(key, subject, names...)
	if err != nil {
		t.Fatal(err)
	}
	defer csr.Close()
	chain, err := p.ca.Sign(csr, token(t, s, "https://127.0.0.1", subject, names...), nil)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return chain, key
}

func leafSerial(t testing.TB, chain *mayfly.Chain) string {
	t.Helper()
	leaf, err := chain.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	defer leaf.Close()
	serial, err := leaf.Serial()
	if err != nil {
		t.Fatal(err)
	}
	return serial
}

// wantCode fails unless err is a *mayfly.Error with one of codes.
func wantCode(t testing.TB, err error, codes ...mayfly.Code) {
	t.Helper()
	var me *mayfly.Error
	if !errors.As(err, &me) {
		t.Fatalf("got error %v, want a *mayfly.Error with code %v", err, codes)
	}
	for _, c := range codes {
		if me.Code == c {
			return
		}
	}
	t.Fatalf("got %v, want code %v", err, codes)
}

// renewToken makes step's x5cInsecure renew token for chain, signed by key
// (STEP-PROTOCOL.md 4.6): what `step ca renew --mtls=false` sends.
func renewToken(t testing.TB, chain *mayfly.Chain, key *mayfly.Key, caURL string) string {
	t.Helper()
	certs, err := chain.X509()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := key.Signer()
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := signer.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("renewToken handles P-256 keys only, got %T", signer)
	}
	x5c := make([]string, len(certs))
	for i, c := range certs {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	header, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "JWT", "x5cInsecure": x5c})
	now := time.Now().Unix()
	claims, _ := json.Marshal(map[string]any{
		"iss": "step-ca-client/1.0", "sub": certs[0].Subject.CommonName,
		"aud": caURL + "/renew", "nbf": now, "iat": now, "exp": now + 300,
	})
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, ec, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

// gcUntil runs the collector until cond holds, for finalizers that need
// a few cycles (an object's finalizer runs before those of what it holds).
func gcUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
}

// must returns v, or stops the test if err is not nil. Go cannot pass t
// next to a multi-value call, so must panics with the caller's line and
// guard, deferred at the top of each test, turns that into t.Fatal.
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(mustFailure{fmt.Sprintf("%s:%d: unexpected error: %v", filepath.Base(file), line, err)})
	}
	return v
}

type mustFailure struct{ msg string }

func guard(t testing.TB) {
	if r := recover(); r != nil {
		if f, ok := r.(mustFailure); ok {
			t.Fatal(f.msg)
		}
		panic(r)
	}
}

func pemDecode(t testing.TB, data []byte) ([]byte, string) {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("not PEM: %.40q", data)
	}
	return block.Bytes, block.Type
}
