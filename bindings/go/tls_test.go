package mayfly_test

import (
	"crypto/tls"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

// TestTLSRotation runs a crypto/tls mTLS server and clients whose
// certificates live 3 s and are renewed by a scheduler while they
// handshake without pause: no handshake may fail, and both sides must see
// the other's certificate change.
func TestTLSRotation(t *testing.T) {
	defer guard(t)
	const (
		lifetime = 3 * time.Second
		runFor   = 6 * time.Second
		clients  = 4
	)
	pki := newPKI(t, "1s")
	short := pki.shortProvisioner(t, "short", lifetime, mayfly.ProvisionerOptions{})
	var renewals, problems atomic.Int64
	sched := must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA: pki.ca, RetryFirst: 200 * time.Millisecond, RetryMax: time.Second,
		OnEvent: func(e mayfly.Event) {
			if e.Type == mayfly.EventRenewed {
				renewals.Add(1)
			} else {
				problems.Add(1)
				t.Errorf("scheduler event %v: %v", e.Type, e.Err())
			}
		},
	}))
	defer sched.Close()

	srvChain, srvKey := issue(t, pki, short, "localhost", "localhost", "127.0.0.1")
	cliChain, cliKey := issue(t, pki, short, "client.internal")
	srvCreds := must(mayfly.NewCredentials())
	defer srvCreds.Close()
	cliCreds := must(mayfly.NewCredentials())
	defer cliCreds.Close()
	must(sched.Add(srvChain, srvKey, &mayfly.EntryOptions{Credentials: []*mayfly.Credentials{srvCreds}}))
	must(sched.Add(cliChain, cliKey, &mayfly.EntryOptions{Credentials: []*mayfly.Credentials{cliCreds}}))
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}

	roots := must(pki.ca.Roots())
	srvCfg := must(srvCreds.ServerTLSConfig(roots))
	cliCfg := must(cliCreds.ClientTLSConfig(roots, "localhost"))
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srvCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	var (
		mu             sync.Mutex
		serverSerials  = map[string]bool{} // seen by clients
		clientSerials  = map[string]bool{} // seen by the server
		handshakes     atomic.Int64
		clientFailures atomic.Int64
		serverFailures atomic.Int64
		wg             sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			wg.Add(1)
			go func(c *tls.Conn) {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.Handshake(); err != nil {
					serverFailures.Add(1)
					t.Errorf("server handshake: %v", err)
					return
				}
				peer := c.ConnectionState().PeerCertificates
				mu.Lock()
				clientSerials[peer[0].SerialNumber.String()] = true
				mu.Unlock()
				io.Copy(c, io.LimitReader(c, 1))
			}(conn.(*tls.Conn))
		}
	}()

	stop := time.Now().Add(runFor)
	var cwg sync.WaitGroup
	for i := 0; i < clients; i++ {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			for time.Now().Before(stop) {
				if err := roundTrip(ln.Addr().String(), cliCfg, &mu, serverSerials); err != nil {
					clientFailures.Add(1)
					t.Errorf("client: %v", err)
					continue
				}
				handshakes.Add(1)
			}
		}()
	}
	cwg.Wait()
	ln.Close()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d handshakes, %d renewals, %d server certificates, %d client certificates",
		handshakes.Load(), renewals.Load(), len(serverSerials), len(clientSerials))
	if clientFailures.Load() != 0 || serverFailures.Load() != 0 || problems.Load() != 0 {
		t.Fatalf("%d client and %d server handshake failures, %d scheduler problems",
			clientFailures.Load(), serverFailures.Load(), problems.Load())
	}
	if handshakes.Load() < 20 {
		t.Fatalf("only %d handshakes", handshakes.Load())
	}
	if len(serverSerials) < 2 || len(clientSerials) < 2 {
		t.Fatalf("saw %d server and %d client certificates; want at least 2 each",
			len(serverSerials), len(clientSerials))
	}
}

// roundTrip makes one mTLS connection, records the server's certificate
// and echoes one byte.
func roundTrip(addr string, cfg *tls.Config, mu *sync.Mutex, serials map[string]bool) error {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	mu.Lock()
	serials[serial] = true
	mu.Unlock()
	if _, err := conn.Write([]byte{'x'}); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(conn, b[:]); err != nil {
		return err
	}
	return nil
}
