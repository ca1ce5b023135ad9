package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
*/
import "C"

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"runtime"
	"time"
	"unsafe"
)

// KeyType selects a key algorithm.
type KeyType int

// The key types; the zero value is P-256, mayfly's default.
const (
	KeyP256    KeyType = C.MAYFLY_KEY_P256
	KeyP384    KeyType = C.MAYFLY_KEY_P384
	KeyEd25519 KeyType = C.MAYFLY_KEY_ED25519
	KeyRSA     KeyType = C.MAYFLY_KEY_RSA
)

func (t KeyType) String() string {
	switch t {
	case KeyP256:
		return "P-256"
	case KeyP384:
		return "P-384"
	case KeyEd25519:
		return "Ed25519"
	case KeyRSA:
		return "RSA"
	}
	return "KeyType(?)"
}

// ---- Key -----------------------------------------------------------------

// Key is a private key with its public half. Safe for concurrent use.
type Key struct {
	life lifecycle
	p    *C.mayfly_key_t
}

func newKey(p *C.mayfly_key_t) *Key {
	k := &Key{p: p}
	k.life.init(func() { C.mayfly_key_free(p) })
	runtime.SetFinalizer(k, (*Key).Close)
	return k
}

func (k *Key) lc() *lifecycle {
	if k == nil {
		return nil
	}
	return &k.life
}

func (k *Key) ptr() *C.mayfly_key_t {
	if k == nil {
		return nil
	}
	return k.p
}

// Close releases the key. It is safe to call more than once.
func (k *Key) Close() error {
	if k == nil {
		return nil
	}
	runtime.SetFinalizer(k, nil)
	k.life.close()
	return nil
}

// GenerateKey makes a new key of type t.
func GenerateKey(t KeyType) (*Key, error) {
	var out *C.mayfly_key_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_key_generate(C.int(t), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newKey(out), nil
}

// ParseKey reads a PEM (PKCS#8, SEC1 or PKCS#1; encrypted with password) or
// PKCS#8 DER private key. password may be empty for unencrypted keys.
func ParseKey(data []byte, password string) (*Key, error) {
	pw := cstrOrNil(password)
	defer free(pw)
	p, n := bytesIn(data)
	var out *C.mayfly_key_t
	var cerr *C.mayfly_error_t
	rc := C.mayfly_key_parse(p, n, pw, &out, &cerr)
	runtime.KeepAlive(data)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newKey(out), nil
}

// PEM writes the key as PKCS#8 PEM, encrypted with password unless it is
// empty.
func (k *Key) PEM(password string) ([]byte, error) {
	done, err := use(k.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	pw := cstrOrNil(password)
	defer free(pw)
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_key_to_pem(k.p, pw, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// PublicPEM writes the public key as SubjectPublicKeyInfo PEM.
func (k *Key) PublicPEM() ([]byte, error) {
	done, err := use(k.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_key_public_pem(k.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// Type returns the key's algorithm.
func (k *Key) Type() (KeyType, error) {
	done, err := use(k.lc())
	if err != nil {
		return 0, err
	}
	defer done()
	return KeyType(C.mayfly_key_type(k.p)), nil
}

// Signer returns the key as a Go crypto.Signer (a copy: it does not follow
// the Key's Close).
func (k *Key) Signer() (crypto.Signer, error) {
	pemBytes, err := k.PEM("")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, invalid("mayfly returned a key that is not PEM")
	}
	priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := priv.(crypto.Signer)
	if !ok {
		return nil, invalid("key is not a crypto.Signer")
	}
	return s, nil
}

// ---- CSR -----------------------------------------------------------------

// CSR is a certificate signing request. Safe for concurrent use.
type CSR struct {
	life lifecycle
	p    *C.mayfly_csr_t
}

func newCSR(p *C.mayfly_csr_t) *CSR {
	c := &CSR{p: p}
	c.life.init(func() { C.mayfly_csr_free(p) })
	runtime.SetFinalizer(c, (*CSR).Close)
	return c
}

func (c *CSR) lc() *lifecycle {
	if c == nil {
		return nil
	}
	return &c.life
}

func (c *CSR) ptr() *C.mayfly_csr_t {
	if c == nil {
		return nil
	}
	return c.p
}

// Close releases the CSR. It is safe to call more than once.
func (c *CSR) Close() error {
	if c == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	c.life.close()
	return nil
}

// NewCSR makes a CSR signed by key for commonName (may be empty) with sans
// (DNS names, IP addresses, emails, URIs).
func NewCSR(key *Key, commonName string, sans ...string) (*CSR, error) {
	done, err := use(key.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	cn := cstr(commonName)
	defer free(cn)
	arr, n := cstrArray(sans)
	defer freeArray(arr, n)
	var out *C.mayfly_csr_t
	var cerr *C.mayfly_error_t
	rc := C.mayfly_csr_new(key.ptr(), cn, arr, n, &out, &cerr)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCSR(out), nil
}

// ParseCSR reads one PEM or DER CSR and checks its signature.
func ParseCSR(data []byte) (*CSR, error) {
	p, n := bytesIn(data)
	var out *C.mayfly_csr_t
	var cerr *C.mayfly_error_t
	rc := C.mayfly_csr_parse(p, n, &out, &cerr)
	runtime.KeepAlive(data)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCSR(out), nil
}

// PEM writes the CSR as PEM.
func (c *CSR) PEM() ([]byte, error) {
	done, err := use(c.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_csr_to_pem(c.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// ---- Certificate ---------------------------------------------------------

// Certificate is one X.509 certificate. Safe for concurrent use.
type Certificate struct {
	life lifecycle
	p    *C.mayfly_cert_t
}

func newCertificate(p *C.mayfly_cert_t) *Certificate {
	c := &Certificate{p: p}
	c.life.init(func() { C.mayfly_cert_free(p) })
	runtime.SetFinalizer(c, (*Certificate).Close)
	return c
}

func (c *Certificate) lc() *lifecycle {
	if c == nil {
		return nil
	}
	return &c.life
}

// Close releases the certificate. It is safe to call more than once.
func (c *Certificate) Close() error {
	if c == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	c.life.close()
	return nil
}

// ParseCertificate reads exactly one PEM or DER certificate.
func ParseCertificate(data []byte) (*Certificate, error) {
	p, n := bytesIn(data)
	var out *C.mayfly_cert_t
	var cerr *C.mayfly_error_t
	rc := C.mayfly_cert_parse(p, n, &out, &cerr)
	runtime.KeepAlive(data)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newCertificate(out), nil
}

// certText runs one of the text getters of a certificate.
func (c *Certificate) certText(f func(*C.mayfly_cert_t, **C.char, *C.size_t, **C.mayfly_error_t) C.int) (string, error) {
	done, err := use(c.lc())
	if err != nil {
		return "", err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(f(c.p, &out, &n, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(out, n), nil
}

// PEM writes the certificate as PEM.
func (c *Certificate) PEM() ([]byte, error) {
	s, err := c.certText(func(p *C.mayfly_cert_t, o **C.char, n *C.size_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_cert_to_pem(p, o, n, e)
	})
	return []byte(s), err
}

// DER returns the certificate's DER encoding.
func (c *Certificate) DER() ([]byte, error) {
	done, err := use(c.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.uint8_t
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_cert_to_der(c.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// Serial returns the serial number in decimal, as step prints it.
func (c *Certificate) Serial() (string, error) {
	return c.certText(func(p *C.mayfly_cert_t, o **C.char, n *C.size_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_cert_serial(p, o, n, e)
	})
}

// CommonName returns the subject's common name.
func (c *Certificate) CommonName() (string, error) {
	return c.certText(func(p *C.mayfly_cert_t, o **C.char, n *C.size_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_cert_common_name(p, o, n, e)
	})
}

// Fingerprint returns the SHA-256 of the DER in lowercase hex.
func (c *Certificate) Fingerprint() (string, error) {
	return c.certText(func(p *C.mayfly_cert_t, o **C.char, n *C.size_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_cert_fingerprint(p, o, n, e)
	})
}

// Validity returns NotBefore and NotAfter.
func (c *Certificate) Validity() (notBefore, notAfter time.Time, err error) {
	done, err := use(c.lc())
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	defer done()
	var nb, na C.int64_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_cert_validity(c.p, &nb, &na, &cerr), cerr); err != nil {
		return time.Time{}, time.Time{}, err
	}
	return fromMillis(nb), fromMillis(na), nil
}

// X509 parses the certificate with crypto/x509.
func (c *Certificate) X509() (*x509.Certificate, error) {
	der, err := c.DER()
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// ---- Chain ---------------------------------------------------------------

// Chain is an ordered list of certificates: an issued certificate is a
// chain with the leaf first and then the intermediate; a set of roots is a
// chain too. Safe for concurrent use.
type Chain struct {
	life lifecycle
	p    *C.mayfly_chain_t
}

func newChain(p *C.mayfly_chain_t) *Chain {
	c := &Chain{p: p}
	c.life.init(func() { C.mayfly_chain_free(p) })
	runtime.SetFinalizer(c, (*Chain).Close)
	return c
}

func (c *Chain) lc() *lifecycle {
	if c == nil {
		return nil
	}
	return &c.life
}

func (c *Chain) ptr() *C.mayfly_chain_t {
	if c == nil {
		return nil
	}
	return c.p
}

// Close releases the chain. Certificates taken from it with At stay valid:
// the chain's memory is released after the last of them is closed.
func (c *Chain) Close() error {
	if c == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	c.life.close()
	return nil
}

// ParseChain reads every CERTIFICATE block of a PEM bundle (at least one)
// or one DER certificate.
func ParseChain(data []byte) (*Chain, error) {
	p, n := bytesIn(data)
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	rc := C.mayfly_chain_parse(p, n, &out, &cerr)
	runtime.KeepAlive(data)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// Len returns the number of certificates (0 after Close).
func (c *Chain) Len() int {
	done, err := use(c.lc())
	if err != nil {
		return 0
	}
	defer done()
	return int(C.mayfly_chain_size(c.p))
}

// At returns the certificate at index i (0 is the leaf of an issued chain).
// It borrows the chain's copy, keeping the chain's memory alive until the
// certificate is closed too.
func (c *Chain) At(i int) (*Certificate, error) {
	if err := c.life.enter(); err != nil {
		return nil, err
	}
	if i < 0 {
		c.life.exit()
		return nil, &Error{Code: CodeOutOfRange, Message: "negative index"}
	}
	p := C.mayfly_chain_get(c.p, C.size_t(i))
	if p == nil {
		c.life.exit()
		return nil, &Error{Code: CodeOutOfRange, Message: "index beyond the chain"}
	}
	// The entered use stays until the certificate is released.
	cert := &Certificate{p: (*C.mayfly_cert_t)(unsafe.Pointer(p))}
	cert.life.init(c.life.exit)
	runtime.SetFinalizer(cert, (*Certificate).Close)
	return cert, nil
}

// Certificates returns every certificate, as At does.
func (c *Chain) Certificates() ([]*Certificate, error) {
	n := c.Len()
	if n == 0 && c.life.isClosed() {
		return nil, ErrClosed
	}
	out := make([]*Certificate, 0, n)
	for i := 0; i < n; i++ {
		cert, err := c.At(i)
		if err != nil {
			for _, done := range out {
				done.Close()
			}
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// Leaf returns the first certificate.
func (c *Chain) Leaf() (*Certificate, error) { return c.At(0) }

// PEM writes every certificate, in order, as PEM.
func (c *Chain) PEM() ([]byte, error) {
	done, err := use(c.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_chain_to_pem(c.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// X509 parses every certificate with crypto/x509.
func (c *Chain) X509() ([]*x509.Certificate, error) {
	pemBytes, err := c.PEM()
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for rest := pemBytes; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, cert)
	}
	return out, nil
}

// CertPool returns a pool holding every certificate: for a chain of roots,
// what tls.Config.RootCAs and ClientCAs want.
func (c *Chain) CertPool() (*x509.CertPool, error) {
	certs, err := c.X509()
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	for _, cert := range certs {
		pool.AddCert(cert)
	}
	return pool, nil
}

// chainFromC copies a borrowed C chain into a new Chain (through PEM, the
// only copy c.h offers).
func chainFromC(p *C.mayfly_chain_t) (*Chain, error) {
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_chain_to_pem(p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.mayfly_free(unsafe.Pointer(out))
	var chain *C.mayfly_chain_t
	rc := C.mayfly_chain_parse((*C.uint8_t)(unsafe.Pointer(out)), n, &chain, &cerr)
	if err := check(rc, cerr); err != nil {
		return nil, err
	}
	return newChain(chain), nil
}
