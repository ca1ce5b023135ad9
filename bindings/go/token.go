package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
*/
import "C"

import (
	"runtime"
	"time"
)

// TokenPurpose says what a token authorises.
type TokenPurpose int

// The token purposes.
const (
	TokenSign   TokenPurpose = C.MAYFLY_TOKEN_SIGN
	TokenRevoke TokenPurpose = C.MAYFLY_TOKEN_REVOKE
)

// TokenSigner makes one-time tokens for one JWK provisioner, as
// `step ca token` does. Safe for concurrent use.
type TokenSigner struct {
	life lifecycle
	p    *C.mayfly_token_signer_t
}

func newTokenSigner(p *C.mayfly_token_signer_t) *TokenSigner {
	s := &TokenSigner{p: p}
	s.life.init(func() { C.mayfly_token_signer_free(p) })
	runtime.SetFinalizer(s, (*TokenSigner).Close)
	return s
}

// NewTokenSigner signs as provisioner issuer (its name) with key; kid is
// the provisioner's key id, or empty for the key's RFC 7638 thumbprint.
func NewTokenSigner(key *Key, kid, issuer string) (*TokenSigner, error) {
	done, err := use(key.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	k := cstrOrNil(kid)
	defer free(k)
	iss := cstr(issuer)
	defer free(iss)
	var out *C.mayfly_token_signer_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_token_signer_new(key.ptr(), k, iss, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newTokenSigner(out), nil
}

// Close releases the signer. It is safe to call more than once.
func (s *TokenSigner) Close() error {
	if s == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	s.life.close()
	return nil
}

// TokenOptions describe one token.
type TokenOptions struct {
	// Subject is the certificate's common name for sign tokens, the
	// decimal serial for revoke tokens. Required.
	Subject string
	// CAURL is the CA's URL ("https://ca.internal:9000"), from which the
	// audience is made for the purpose. Required.
	CAURL   string
	Purpose TokenPurpose // TokenSign by default
	// SANs the certificate may carry; {Subject} when empty.
	SANs []string
	// RootFingerprint pins the CA's root in the token's sha claim.
	RootFingerprint string
	// Lifetime of the token; 5 minutes when zero.
	Lifetime time.Duration
}

// Sign makes a token (compact JWS).
func (s *TokenSigner) Sign(o TokenOptions) (string, error) {
	done, err := use(&s.life)
	if err != nil {
		return "", err
	}
	defer done()
	opts := C.mayfly_token_options_new()
	if opts == nil {
		return "", &Error{Code: CodeResourceExhausted, Message: "out of memory"}
	}
	defer C.mayfly_token_options_free(opts)
	text := func(v string, f func(*C.char) C.int, what string) error {
		cs := cstr(v)
		defer free(cs)
		return checkSetter(f(cs), what)
	}
	if err := text(o.Subject, func(cs *C.char) C.int {
		return C.mayfly_token_options_set_subject(opts, cs)
	}, "subject"); err != nil {
		return "", err
	}
	if err := text(o.CAURL, func(cs *C.char) C.int {
		return C.mayfly_token_options_set_ca_url(opts, cs)
	}, "CA URL"); err != nil {
		return "", err
	}
	if err := checkSetter(C.mayfly_token_options_set_purpose(opts, C.int(o.Purpose)), "purpose"); err != nil {
		return "", err
	}
	for _, san := range o.SANs {
		if err := text(san, func(cs *C.char) C.int {
			return C.mayfly_token_options_add_san(opts, cs)
		}, "SAN"); err != nil {
			return "", err
		}
	}
	if o.RootFingerprint != "" {
		if err := text(o.RootFingerprint, func(cs *C.char) C.int {
			return C.mayfly_token_options_set_root_fingerprint(opts, cs)
		}, "root fingerprint"); err != nil {
			return "", err
		}
	}
	if o.Lifetime != 0 {
		if err := checkSetter(C.mayfly_token_options_set_lifetime(opts, millis(o.Lifetime)), "lifetime"); err != nil {
			return "", err
		}
	}
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_token_sign(s.p, opts, &out, &n, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(out, n), nil
}

// checkSetter turns the status of an options setter, which has no error
// object, into an error naming the option.
func checkSetter(rc C.int, what string) error {
	if rc == C.MAYFLY_OK {
		return nil
	}
	return &Error{Code: Code(rc), Message: "invalid " + what}
}
