package mayfly

/*
#include <stdlib.h>
#include "mayfly/c.h"
*/
import "C"

import (
	"runtime"
	"time"
	"unsafe"
)

// ---- PKI initialisation --------------------------------------------------

// InitOptions describe a new CA folder, like `step ca init`. Zero fields
// keep mayfly's defaults: DNS name "localhost", address ":9000",
// provisioner "admin", P-256 keys, the SQLite store in the CA folder,
// 600000 PBES2 iterations.
type InitOptions struct {
	Dir                 string   // the CA folder (required)
	Name                string   // the PKI's name, in the CA certificates
	DNSNames            []string // the CA server's names
	Address             string   // the server's listen address
	Provisioner         string   // the first JWK provisioner's name
	Password            string   // encrypts the CA keys (required)
	ProvisionerPassword string   // encrypts the provisioner key; Password if empty
	KeyType             KeyType
	Store               string // "memory:", "sqlite:PATH", "postgres://..."
	Overwrite           bool   // replace a PKI already in Dir
	KDFIterations       uint32 // PBES2 iterations for the provisioner key
}

// InitResult says what InitPKI wrote.
type InitResult struct {
	ConfigPath      string // config/ca.json
	RootPath        string // the root certificate
	RootFingerprint string // its SHA-256, lowercase hex
	ProvisionerKID  string // the provisioner's key id
}

// InitPKI writes a new CA folder (root, intermediate, encrypted keys,
// config/ca.json with one JWK provisioner). ErrAlreadyExists if the folder
// holds a PKI and Overwrite is not set.
func InitPKI(o InitOptions) (*InitResult, error) {
	opts := C.mayfly_init_options_new()
	if opts == nil {
		return nil, &Error{Code: CodeResourceExhausted, Message: "out of memory"}
	}
	defer C.mayfly_init_options_free(opts)
	text := func(v, what string, f func(*C.mayfly_init_options_t, *C.char) C.int) error {
		if v == "" {
			return nil
		}
		s := cstr(v)
		defer free(s)
		return checkSetter(f(opts, s), what)
	}
	texts := []struct {
		v, what string
		f       func(*C.mayfly_init_options_t, *C.char) C.int
	}{
		{o.Dir, "dir", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_dir(o, s)
		}},
		{o.Name, "name", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_name(o, s)
		}},
		{o.Address, "address", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_address(o, s)
		}},
		{o.Provisioner, "provisioner", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_provisioner(o, s)
		}},
		{o.Password, "password", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_password(o, s)
		}},
		{o.ProvisionerPassword, "provisioner password", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_provisioner_password(o, s)
		}},
		{o.Store, "store", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_set_store(o, s)
		}},
	}
	for _, t := range texts {
		if err := text(t.v, t.what, t.f); err != nil {
			return nil, err
		}
	}
	for _, name := range o.DNSNames {
		if err := text(name, "DNS name", func(o *C.mayfly_init_options_t, s *C.char) C.int {
			return C.mayfly_init_options_add_dns_name(o, s)
		}); err != nil {
			return nil, err
		}
	}
	if err := checkSetter(C.mayfly_init_options_set_key_type(opts, C.int(o.KeyType)), "key type"); err != nil {
		return nil, err
	}
	if o.Overwrite {
		if err := checkSetter(C.mayfly_init_options_set_overwrite(opts, 1), "overwrite"); err != nil {
			return nil, err
		}
	}
	if o.KDFIterations != 0 {
		rc := C.mayfly_init_options_set_kdf_iterations(opts, C.uint32_t(o.KDFIterations))
		if err := checkSetter(rc, "KDF iterations"); err != nil {
			return nil, err
		}
	}
	var res *C.mayfly_init_result_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_pki_init(opts, &res, &cerr), cerr); err != nil {
		return nil, err
	}
	defer C.mayfly_init_result_free(res)
	return &InitResult{
		ConfigPath:      C.GoString(C.mayfly_init_result_config_path(res)),
		RootPath:        C.GoString(C.mayfly_init_result_root_path(res)),
		RootFingerprint: C.GoString(C.mayfly_init_result_root_fingerprint(res)),
		ProvisionerKID:  C.GoString(C.mayfly_init_result_provisioner_kid(res)),
	}, nil
}

// ---- The CA --------------------------------------------------------------

// CA is a certificate authority with its store and provisioners. Safe for
// concurrent use.
type CA struct {
	life lifecycle
	p    *C.mayfly_ca_t
}

func (ca *CA) lc() *lifecycle {
	if ca == nil {
		return nil
	}
	return &ca.life
}

// OpenCA loads config/ca.json at configPath, decrypts the intermediate key
// with password and opens the store: storeURL if not empty ("memory:" for a
// throw-away one), else the config's, else the SQLite store of the CA
// folder.
func OpenCA(configPath, password, storeURL string) (*CA, error) {
	cp := cstr(configPath)
	defer free(cp)
	pw := cstr(password)
	defer free(pw)
	su := cstrOrNil(storeURL)
	defer free(su)
	var out *C.mayfly_ca_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_open(cp, pw, su, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	ca := &CA{p: out}
	ca.life.init(func() { C.mayfly_ca_free(out) })
	runtime.SetFinalizer(ca, (*CA).Close)
	return ca, nil
}

// Close closes the CA. Servers and schedulers using it keep it open until
// they are closed themselves.
func (ca *CA) Close() error {
	if ca == nil {
		return nil
	}
	runtime.SetFinalizer(ca, nil)
	ca.life.close()
	return nil
}

// Roots returns the root certificates.
func (ca *CA) Roots() (*Chain, error) {
	done, err := use(ca.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_roots(ca.p, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// RootFingerprint returns the first root's SHA-256, lowercase hex: what
// clients bootstrap with.
func (ca *CA) RootFingerprint() (string, error) {
	done, err := use(ca.lc())
	if err != nil {
		return "", err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_root_fingerprint(ca.p, &out, &n, &cerr), cerr); err != nil {
		return "", err
	}
	return takeString(out, n), nil
}

// ProvisionerOptions are a provisioner's claims. Zero durations inherit the
// CA's claims, then mayfly's defaults (5m min, 24h max and default).
type ProvisionerOptions struct {
	MinDuration             time.Duration
	DefaultDuration         time.Duration
	MaxDuration             time.Duration
	DisableRenewal          bool
	AllowRenewalAfterExpiry bool
	KDFIterations           uint32 // PBES2 iterations for the stored key
}

// AddProvisioner adds a JWK provisioner name whose key is key (its public
// half verifies tokens; the private half is stored encrypted with
// password). opts may be nil. ErrAlreadyExists for a name or kid in use.
// The change is in memory only: ca.json is not rewritten.
func (ca *CA) AddProvisioner(name string, key *Key, password string, opts *ProvisionerOptions) error {
	done, err := use(ca.lc(), key.lc())
	if err != nil {
		return err
	}
	defer done()
	var copts *C.mayfly_provisioner_options_t
	if opts != nil {
		copts = C.mayfly_provisioner_options_new()
		if copts == nil {
			return &Error{Code: CodeResourceExhausted, Message: "out of memory"}
		}
		defer C.mayfly_provisioner_options_free(copts)
		if opts.MinDuration != 0 || opts.DefaultDuration != 0 || opts.MaxDuration != 0 {
			rc := C.mayfly_provisioner_options_set_durations(copts,
				millis(opts.MinDuration), millis(opts.DefaultDuration),
				millis(opts.MaxDuration))
			if err := checkSetter(rc, "durations"); err != nil {
				return err
			}
		}
		if opts.DisableRenewal {
			if err := checkSetter(C.mayfly_provisioner_options_set_disable_renewal(copts, 1), "disable renewal"); err != nil {
				return err
			}
		}
		if opts.AllowRenewalAfterExpiry {
			rc := C.mayfly_provisioner_options_set_allow_renewal_after_expiry(copts, 1)
			if err := checkSetter(rc, "allow renewal after expiry"); err != nil {
				return err
			}
		}
		if opts.KDFIterations != 0 {
			rc := C.mayfly_provisioner_options_set_kdf_iterations(copts,
				C.uint32_t(opts.KDFIterations))
			if err := checkSetter(rc, "KDF iterations"); err != nil {
				return err
			}
		}
	}
	n := cstr(name)
	defer free(n)
	pw := cstr(password)
	defer free(pw)
	var cerr *C.mayfly_error_t
	return check(C.mayfly_ca_add_provisioner(ca.p, n, key.ptr(), pw, copts, &cerr), cerr)
}

// RemoveProvisioner removes provisioner name; ErrNotFound if there is none.
func (ca *CA) RemoveProvisioner(name string) error {
	done, err := use(ca.lc())
	if err != nil {
		return err
	}
	defer done()
	n := cstr(name)
	defer free(n)
	var cerr *C.mayfly_error_t
	return check(C.mayfly_ca_remove_provisioner(ca.p, n, &cerr), cerr)
}

// ProvisionersJSON returns {"provisioners":[...]} as step-ca's
// /provisioners serves it.
func (ca *CA) ProvisionersJSON() ([]byte, error) {
	done, err := use(ca.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.char
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_provisioners_json(ca.p, &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// SignOptions bound an issued certificate's validity, in step's forms: a
// duration from now ("5m") or an RFC 3339 time. Empty means the
// provisioner's default.
type SignOptions struct {
	NotBefore string
	NotAfter  string
}

// Sign issues a certificate for csr authorised by the one-time token. opts
// may be nil. ErrUnauthenticated for a bad, expired or used token,
// ErrPermissionDenied for names the token does not cover.
func (ca *CA) Sign(csr *CSR, token string, opts *SignOptions) (*Chain, error) {
	done, err := use(ca.lc(), csr.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	tok := cstr(token)
	defer free(tok)
	var nb, na *C.char
	if opts != nil {
		nb, na = cstrOrNil(opts.NotBefore), cstrOrNil(opts.NotAfter)
		defer free(nb)
		defer free(na)
	}
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_sign(ca.p, csr.ptr(), tok, nb, na, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// Renew renews the certificate that leads peer, as if peer had been
// presented over mTLS: the caller vouches that the peer holds its key.
// ErrUnauthenticated if it or an ancestor is revoked, expired or not
// issued by this CA.
func (ca *CA) Renew(peer *Chain) (*Chain, error) {
	done, err := use(ca.lc(), peer.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_renew(ca.p, peer.ptr(), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// RenewWithToken renews an expired certificate with a renew token signed by
// its key (x5c header), when the provisioner allows renewal after expiry.
func (ca *CA) RenewWithToken(token string) (*Chain, error) {
	done, err := use(ca.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	tok := cstr(token)
	defer free(tok)
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_renew_with_token(ca.p, tok, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// Rekey renews peer's certificate for the key of csr.
func (ca *CA) Rekey(peer *Chain, csr *CSR) (*Chain, error) {
	done, err := use(ca.lc(), peer.lc(), csr.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.mayfly_chain_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_rekey(ca.p, peer.ptr(), csr.ptr(), &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newChain(out), nil
}

// RevokeRequest asks to revoke a certificate, authorised either by a revoke
// token (Token) or by the certificate itself (Chain; over a Client also its
// Key, for the mTLS handshake): exactly one of the two.
type RevokeRequest struct {
	Serial     string // decimal
	ReasonCode int    // RFC 5280 reason code, 0..10
	Reason     string // free text, may be empty
	Token      string
	Chain      *Chain
	Key        *Key // Client.Revoke only
}

// Revoke passively revokes a certificate: it is never renewed again, nor is
// any certificate renewed from it.
func (ca *CA) Revoke(r RevokeRequest) error {
	done, err := use(ca.lc(), r.Chain.lc())
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
	rc := C.mayfly_ca_revoke(ca.p, serial, C.int(r.ReasonCode), reason, tok, r.Chain.ptr(), &cerr)
	return check(rc, cerr)
}

// CRL signs the current certificate revocation list, DER encoded.
func (ca *CA) CRL() ([]byte, error) { return ca.crl(false) }

// CRLPEM signs the current certificate revocation list, PEM encoded.
func (ca *CA) CRLPEM() ([]byte, error) { return ca.crl(true) }

func (ca *CA) crl(pem bool) ([]byte, error) {
	done, err := use(ca.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	var out *C.uint8_t
	var n C.size_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_ca_crl(ca.p, cbool(pem), &out, &n, &cerr), cerr); err != nil {
		return nil, err
	}
	return takeBytes(unsafe.Pointer(out), n), nil
}

// TokenSigner decrypts the key of provisioner name with password and
// returns a signer of its tokens. ErrUnauthenticated for a wrong password.
func (ca *CA) TokenSigner(name, password string) (*TokenSigner, error) {
	done, err := use(ca.lc())
	if err != nil {
		return nil, err
	}
	defer done()
	n := cstr(name)
	defer free(n)
	pw := cstr(password)
	defer free(pw)
	var out *C.mayfly_token_signer_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_token_signer_from_ca(ca.p, n, pw, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return newTokenSigner(out), nil
}
