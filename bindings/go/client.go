package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
*/
import "C"

import (
	"runtime"
	"unsafe"
)

// Client talks to one CA (mayfly-ca or step-ca) over HTTPS, trusting only
// its pinned roots. Failures: ErrUnavailable (no answer, 5xx),
// ErrUnauthenticated or ErrPermissionDenied (the CA refused: revoked, bad
// token), ErrInvalidArgument (the CA found the request bad), with the CA's
// message. Safe for concurrent use.
type Client struct {
	life lifecycle
	p    *C.mayfly_client_t
}

func newClient(p *C.mayfly_client_t) *Client {
	c := &Client{p: p}
	c.life.init(func() { C.mayfly_client_free(p) })
	runtime.SetFinalizer(c, (*Client).Close)
	return c
}

// NewClient trusts roots for the CA at url ("https://ca.internal:9000").
func NewClient(url string, roots *Chain) (*Client, error) {
	done, err := use(roots.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	u := cstr(url)
	defer free(u)
	var out *C.mayfly_client_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_client_new(u, roots.ptr(), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newClient(out), nil
}

// BootstrapClient downloads the CA's root by its fingerprint (hex SHA-256),
// checks it, and returns a client pinned to it.
func BootstrapClient(url, fingerprint string) (*Client, error) {
	u := cstr(url)
	defer free(u)
	fp := cstr(fingerprint)
	defer free(fp)
	var out *C.mayfly_client_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_client_bootstrap(u, fp, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newClient(out), nil
}

// Close releases the client once no Scheduler uses it. It is safe to call
// more than once.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	runtime.SetFinalizer(c, nil)
	c.life.close()
	return nil
}

// Health asks the CA whether it is up (/health).
func (c *Client) Health() error {
	done, err := use(&c.life)
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	return check(C.mayfly_client_health(c.p, &cerr), cerr)
}

// Roots fetches the CA's roots (/roots).
func (c *Client) Roots() (*Chain, error) {
	done, err := use(&c.life)
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_client_roots(c.p, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// Provisioners fetches /provisioners (every page) as JSON
// ({"provisioners":[...]}).
func (c *Client) Provisioners() ([]byte, error) {
	done, err := use(&c.life)
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_client_provisioners_json(c.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// chainCall runs a client call that returns a chain.
func (c *Client) chainCall(hs []*lifecycle, f func(**C.mayfly_chain_t, **C.mayfly_error_t) C.int) (*Chain, error) {
	done, err := use(append(hs, &c.life)...)
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(f(&out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// Sign makes a CSR for key with the token's subject and SANs and has the
// CA sign it.
func (c *Client) Sign(key *Key, token string) (*Chain, error) {
	tok := cstr(token)
	defer free(tok)
	return c.chainCall([]*lifecycle{key.lc()}, func(out **C.mayfly_chain_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_client_sign(c.p, key.ptr(), tok, out, e)
	})
}

// SignCSR has the CA sign csr, authorised by token.
func (c *Client) SignCSR(csr *CSR, token string) (*Chain, error) {
	tok := cstr(token)
	defer free(tok)
	return c.chainCall([]*lifecycle{csr.lc()}, func(out **C.mayfly_chain_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_client_sign_csr(c.p, csr.ptr(), tok, out, e)
	})
}

// Renew renews chain's leaf over mTLS with chain and its key.
func (c *Client) Renew(chain *Chain, key *Key) (*Chain, error) {
	return c.chainCall([]*lifecycle{chain.lc(), key.lc()}, func(out **C.mayfly_chain_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_client_renew(c.p, chain.ptr(), key.ptr(), out, e)
	})
}

// RenewWithToken renews an expired certificate with a token signed by its
// key, when the CA allows renewal after expiry.
func (c *Client) RenewWithToken(chain *Chain, key *Key) (*Chain, error) {
	return c.chainCall([]*lifecycle{chain.lc(), key.lc()}, func(out **C.mayfly_chain_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_client_renew_with_token(c.p, chain.ptr(), key.ptr(), out, e)
	})
}

// Rekey renews chain's leaf over mTLS (with chain and key) for newKey.
func (c *Client) Rekey(chain *Chain, key, newKey *Key) (*Chain, error) {
	return c.chainCall([]*lifecycle{chain.lc(), key.lc(), newKey.lc()}, func(out **C.mayfly_chain_t, e **C.mayfly_error_t) C.int {
		return C.mayfly_client_rekey(c.p, chain.ptr(), key.ptr(), newKey.ptr(), out, e)
	})
}

// Revoke revokes r.Serial with a revoke token (r.Token), or over mTLS with
// r.Chain and r.Key.
func (c *Client) Revoke(r RevokeRequest) error {
	done, err := use(&c.life, r.Chain.lc(), r.Key.lc())
	if err != nil {
		return err
	}
	defer done()
	serial := cstr(r.Serial)
	defer free(serial)
	reason := cstrOrNil(r.Reason)
	defer free(reason)
	tok := cstrOrNil(r.Token)
	defer free(tok)
	var cerr *C.mayfly_error_t
	rc := C.mayfly_client_revoke(c.p, serial, C.int(r.ReasonCode), reason, tok,
		r.Chain.ptr(), r.Key.ptr(), &cerr)
	return check(rc, cerr)
}
