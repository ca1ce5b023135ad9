// Command mtls runs a Go mutual-TLS server and client whose certificates
// come from an embedded mayfly CA and rotate every few seconds, without a
// restart and without a failed handshake.
//
//	go run ./examples/mtls -seconds 10
//
// It prints a line per rotation and a summary, and exits 1 if a handshake
// failed or no certificate rotated.
package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"mayfly.dev/mayfly"
)

const password = "example only: keep real passwords out of code"

func main() {
	seconds := flag.Int("seconds", 10, "how long to run")
	lifetime := flag.Duration("lifetime", 3*time.Second, "certificate lifetime")
	clients := flag.Int("clients", 2, "concurrent clients")
	flag.Parse()
	log.SetFlags(0)
	if err := run(time.Duration(*seconds)*time.Second, *lifetime, *clients); err != nil {
		log.Fatalf("mtls: %v", err)
	}
}

func run(duration, lifetime time.Duration, clients int) error {
	// 1. A CA in a temporary folder, with a provisioner issuing
	//    short-lived certificates.
	dir, err := os.MkdirTemp("", "mayfly-mtls-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	pki, err := mayfly.InitPKI(mayfly.InitOptions{
		Dir: dir, Name: "mTLS Example", Password: password,
		DNSNames: []string{"localhost"},
	})
	if err != nil {
		return err
	}
	// A certificate lives its requested lifetime plus the CA's backdate
	// (1 minute by default, for clock skew); for seconds-long certificates
	// on one host, a backdate of 1 s keeps the renewal rhythm visible.
	if err := setBackdate(pki.ConfigPath, "1s"); err != nil {
		return err
	}
	ca, err := mayfly.OpenCA(pki.ConfigPath, password, "memory:")
	if err != nil {
		return err
	}
	defer ca.Close()
	provKey, err := mayfly.GenerateKey(mayfly.KeyP256)
	if err != nil {
		return err
	}
	if err := ca.AddProvisioner("rotating", provKey, password, &mayfly.ProvisionerOptions{
		MinDuration: time.Second, DefaultDuration: lifetime, MaxDuration: time.Hour,
	}); err != nil {
		return err
	}
	tokens, err := mayfly.NewTokenSigner(provKey, "", "rotating")
	if err != nil {
		return err
	}
	defer tokens.Close()

	// 2. A scheduler renewing both certificates into rotating credentials.
	var rotations atomic.Int64
	names := sync.Map{} // entry id -> "server" or "client"
	sched, err := mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA:         ca,
		RetryFirst: 200 * time.Millisecond,
		RetryMax:   time.Second,
		OnEvent: func(e mayfly.Event) {
			name, _ := names.Load(e.Entry)
			if e.Type != mayfly.EventRenewed {
				log.Printf("%v certificate: %v: %v", name, e.Type, e.Err())
				return
			}
			rotations.Add(1)
			leaf, err := e.Chain.Leaf()
			if err != nil {
				return
			}
			serial, _ := leaf.Serial()
			_, notAfter, _ := leaf.Validity()
			fmt.Printf("rotated %v certificate: serial %s, valid until %s\n",
				name, serial, notAfter.Format(time.TimeOnly))
		},
	})
	if err != nil {
		return err
	}
	defer sched.Close()
	serverCreds, err := issue(ca, tokens, sched, &names, "server", "localhost")
	if err != nil {
		return err
	}
	defer serverCreds.Close()
	clientCreds, err := issue(ca, tokens, sched, &names, "client", "client.example")
	if err != nil {
		return err
	}
	defer clientCreds.Close()
	if err := sched.Start(); err != nil {
		return err
	}

	// 3. A crypto/tls server and clients that trust only the CA's roots
	//    and always present the newest certificate.
	roots, err := ca.Roots()
	if err != nil {
		return err
	}
	serverConfig, err := serverCreds.ServerTLSConfig(roots)
	if err != nil {
		return err
	}
	clientConfig, err := clientCreds.ClientTLSConfig(roots, "localhost")
	if err != nil {
		return err
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", serverConfig)
	if err != nil {
		return err
	}
	var failures, handshakes atomic.Int64
	var serving sync.WaitGroup
	serving.Add(1)
	go func() {
		defer serving.Done()
		serve(ln, &failures)
	}()

	stop := time.Now().Add(duration)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := ping(ln.Addr().String(), clientConfig); err != nil {
					failures.Add(1)
					log.Printf("client: %v", err)
					continue
				}
				handshakes.Add(1)
			}
		}()
	}
	wg.Wait()
	ln.Close()
	serving.Wait()

	fmt.Printf("%d handshakes, %d failed, %d rotations in %v\n",
		handshakes.Load(), failures.Load(), rotations.Load(), duration)
	if failures.Load() > 0 {
		return fmt.Errorf("%d handshakes failed", failures.Load())
	}
	if duration >= lifetime && rotations.Load() == 0 {
		return errors.New("no certificate rotated")
	}
	return nil
}

// issue has the CA sign a certificate for name and hands it to the
// scheduler, which keeps the returned credentials renewed.
func issue(ca *mayfly.CA, tokens *mayfly.TokenSigner, sched *mayfly.Scheduler, names *sync.Map, role, name string) (*mayfly.Credentials, error) {
	key, err := mayfly.GenerateKey(mayfly.KeyP256)
	if err != nil {
		return nil, err
	}
	defer key.Close()
	csr, err := mayfly.NewCSR(key, name, name)
	if err != nil {
		return nil, err
	}
	defer csr.Close()
	token, err := tokens.Sign(mayfly.TokenOptions{Subject: name, CAURL: "https://localhost"})
	if err != nil {
		return nil, err
	}
	chain, err := ca.Sign(csr, token, nil)
	if err != nil {
		return nil, err
	}
	defer chain.Close()
	creds, err := mayfly.NewCredentials()
	if err != nil {
		return nil, err
	}
	id, err := sched.Add(chain, key, &mayfly.EntryOptions{Credentials: []*mayfly.Credentials{creds}})
	if err != nil {
		creds.Close()
		return nil, err
	}
	names.Store(id, role)
	return creds, nil
}

// serve echoes one byte per connection, counting failed handshakes.
func serve(ln net.Listener, failures *atomic.Int64) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		conns.Add(1)
		go func(c *tls.Conn) {
			defer conns.Done()
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if err := c.Handshake(); err != nil {
				failures.Add(1)
				log.Printf("server: %v", err)
				return
			}
			io.Copy(c, io.LimitReader(c, 1))
		}(conn.(*tls.Conn))
	}
}

// ping makes one mTLS connection and exchanges a byte.
func ping(addr string, cfg *tls.Config) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte{'!'}); err != nil {
		return err
	}
	_, err = io.ReadFull(conn, make([]byte, 1))
	return err
}

// setBackdate sets authority.backdate in ca.json.
func setBackdate(configPath, backdate string) error {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	authority, ok := cfg["authority"].(map[string]any)
	if !ok {
		return fmt.Errorf("%s has no authority section", filepath.Base(configPath))
	}
	authority["backdate"] = backdate
	raw, err = json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(configPath, raw, 0o600)
}
