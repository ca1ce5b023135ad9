package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
#include "shim.h"
*/
import "C"

import (
	"crypto/tls"
	"crypto/x509"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Credentials hold the newest certificate chain and its key; readers always
// see a matching pair. A Scheduler entry keeps them renewed, and TLSConfig
// serves them to crypto/tls. Safe for concurrent use.
type Credentials struct {
	life  lifecycle
	p     *C.mayfly_credentials_t
	cache *tlsCache
}

func (c *Credentials) lc() *lifecycle {
	if c == nil {
		return nil
	}
	return &c.life
}

// NewCredentials makes empty credentials; Set or a Scheduler entry fills
// them.
func NewCredentials() (*Credentials, error) {
	var out *C.mayfly_credentials_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_credentials_new(&out, &cerr), cerr); err != nil {
		return nil, err
	}
	// The cache, not the Credentials, is what the change callback holds:
	// the handle table is a GC root, and a handle reaching the Credentials
	// would keep them from ever being finalized.
	cache := &tlsCache{p: out}
	if err := check(C.mayfly_go_credentials_on_change(out, newCallback(cache), &cerr), cerr); err != nil {
		C.mayfly_credentials_free(out)
		return nil, err
	}
	c := &Credentials{p: out, cache: cache}
	c.life.init(func() { C.mayfly_credentials_free(out) })
	runtime.SetFinalizer(c, (*Credentials).Close)
	return c, nil
}

// Close releases the credentials once nothing (a Scheduler entry) feeds
// them any more. It is safe to call more than once.
func (c *Credentials) Close() error {
	if c == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	c.life.close()
	return nil
}

// Set replaces the pair. ErrInvalidArgument if key is not the leaf's key.
// Change callbacks run before it returns.
func (c *Credentials) Set(chain *Chain, key *Key) error {
	done, err := use(c.lc(), chain.lc(), key.lc())
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	return check(C.mayfly_credentials_set(c.p, chain.ptr(), key.ptr(), &cerr), cerr)
}

// Current returns the current chain (PEM, leaf first), key (PKCS#8 PEM) and
// generation (1 for the first Set, +1 per Set). ErrFailedPrecondition
// before the first Set.
func (c *Credentials) Current() (chainPEM, keyPEM []byte, generation uint64, err error) {
	done, err := use(c.lc())
	if err != nil {
		return nil, nil, 0, err
	}
	defer done()
	return credentialsCurrent(c.p, true)
}

// Generation returns the number of the current pair (0 before the first
// Set).
func (c *Credentials) Generation() (uint64, error) {
	done, err := use(c.lc())
	if err != nil {
		return 0, err
	}
	defer done()
	_, _, gen, err := credentialsCurrent(c.p, false)
	if err != nil {
		if e, ok := err.(*Error); ok && e.Code == CodeFailedPrecondition {
			return 0, nil
		}
		return 0, err
	}
	return gen, nil
}

func credentialsCurrent(p *C.mayfly_credentials_t, pems bool) ([]byte, []byte, uint64, error) {
	var chain, key *C.char
	var chainLen, keyLen C.size_t
	var gen C.uint64_t
	var cerr *C.mayfly_error_t
	var rc C.int
	if pems {
		rc = C.mayfly_credentials_current(p, &chain, &chainLen, &key, &keyLen, &gen, &cerr)
	} else {
		rc = C.mayfly_credentials_current(p, nil, nil, nil, nil, &gen, &cerr)
	}
	if err := check(rc, cerr); err != nil {
		return nil, nil, 0, err
	}
	return takeBytes(unsafe.Pointer(chain), chainLen),
		takeBytes(unsafe.Pointer(key), keyLen), uint64(gen), nil
}

// OnChange registers fn, called with the new generation after each Set, on
// the setting goroutine or mayfly thread (a Scheduler's, for an entry).
// Several may be registered; they live as long as the credentials. fn must
// not hold the Credentials itself, or they are never finalized (Close still
// releases them).
func (c *Credentials) OnChange(fn func(generation uint64)) error {
	if fn == nil {
		return invalid("OnChange needs a function")
	}
	done, err := use(c.lc())
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	return check(C.mayfly_go_credentials_on_change(c.p, newCallback(fn), &cerr), cerr)
}

// ---- crypto/tls ----------------------------------------------------------

// tlsCache keeps the current pair parsed for crypto/tls, so a handshake
// costs an atomic load, not a parse: the change callback parses each new
// generation once.
type tlsCache struct {
	// p is used only by the change callback, which mayfly runs while the
	// credentials are alive.
	p   *C.mayfly_credentials_t
	mu  sync.Mutex // serialises refreshes, so a generation is parsed once
	cur atomic.Pointer[tlsEntry]
}

type tlsEntry struct {
	gen  uint64
	cert *tls.Certificate
	err  error // why gen could not be parsed; cert is the one before
}

// refresh parses the credentials' current pair unless it is cached.
func (t *tlsCache) refresh() {
	chainPEM, keyPEM, gen, err := credentialsCurrent(t.p, true)
	if err != nil {
		return // not set yet: nothing to serve
	}
	t.store(gen, chainPEM, keyPEM)
}

func (t *tlsCache) store(gen uint64, chainPEM, keyPEM []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	if old != nil && old.gen >= gen {
		return // a newer pair is already cached
	}
	next := &tlsEntry{gen: gen}
	cert, err := tls.X509KeyPair(chainPEM, keyPEM)
	if err == nil && len(cert.Certificate) > 0 {
		// Go 1.22's X509KeyPair leaves Leaf empty; verifying code wants it.
		cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0])
	}
	if err != nil {
		next.err = err
		if old != nil {
			next.cert = old.cert
		}
	} else {
		next.cert = &cert
	}
	t.cur.Store(next)
}

// Certificate returns the current pair for crypto/tls, parsed once per
// generation.
func (c *Credentials) Certificate() (*tls.Certificate, error) {
	done, err := use(c.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	if e := c.cache.cur.Load(); e != nil && e.cert != nil {
		return e.cert, nil
	} else if e != nil {
		return nil, e.err
	}
	// Set before NewCredentials returned cannot happen, so an empty cache
	// means no pair yet; ask, to return mayfly's error.
	chainPEM, keyPEM, gen, err := credentialsCurrent(c.p, true)
	if err != nil {
		return nil, err
	}
	c.cache.store(gen, chainPEM, keyPEM)
	e := c.cache.cur.Load()
	if e.cert == nil {
		return nil, e.err
	}
	return e.cert, nil
}

// TLSConfig returns a copy of base (nil: an empty config) that presents the
// newest certificate: GetCertificate for servers, GetClientCertificate for
// clients, both following every renewal. MinVersion is raised to TLS 1.2.
func (c *Credentials) TLSConfig(base *tls.Config) *tls.Config {
	var cfg *tls.Config
	if base != nil {
		cfg = base.Clone()
	} else {
		cfg = &tls.Config{}
	}
	cfg.Certificates = nil
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return c.Certificate()
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return c.Certificate()
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	return cfg
}

// ServerTLSConfig is a server config presenting these credentials and,
// when roots is not nil, requiring client certificates issued under roots
// (mutual TLS).
func (c *Credentials) ServerTLSConfig(roots *Chain) (*tls.Config, error) {
	cfg := c.TLSConfig(nil)
	if roots != nil {
		pool, err := roots.CertPool()
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// ClientTLSConfig is a client config presenting these credentials and
// trusting only roots for a server named serverName (empty: the dialed
// host).
func (c *Credentials) ClientTLSConfig(roots *Chain, serverName string) (*tls.Config, error) {
	if roots == nil {
		return nil, invalid("ClientTLSConfig needs the CA roots")
	}
	pool, err := roots.CertPool()
	if err != nil {
		return nil, err
	}
	cfg := c.TLSConfig(nil)
	cfg.RootCAs = pool
	cfg.ServerName = serverName
	return cfg, nil
}
