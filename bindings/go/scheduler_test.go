package mayfly_test

import (
	"bytes"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

// eventLog collects a scheduler's events.
type eventLog struct {
	mu     sync.Mutex
	events []mayfly.Event
}

func (l *eventLog) add(e mayfly.Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
}

func (l *eventLog) all() []mayfly.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]mayfly.Event(nil), l.events...)
}

func (l *eventLog) count(typ mayfly.EventType) int {
	n := 0
	for _, e := range l.all() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func TestCredentials(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "")
	s := pki.signer(t)
	creds := must(mayfly.NewCredentials())
	defer creds.Close()
	_, _, _, err := creds.Current()
	wantCode(t, err, mayfly.CodeFailedPrecondition)
	if g := must(creds.Generation()); g != 0 {
		t.Fatalf("Generation() before Set = %d", g)
	}
	if _, err := creds.Certificate(); err == nil {
		t.Fatal("Certificate() before Set succeeded")
	}

	var mu sync.Mutex
	var seen []uint64
	if err := creds.OnChange(func(g uint64) {
		mu.Lock()
		seen = append(seen, g)
		mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if err := creds.OnChange(nil); err == nil {
		t.Fatal("OnChange(nil) succeeded")
	}

	chain, key := issue(t, pki, s, "one.internal")
	other, otherKey := issue(t, pki, s, "two.internal")
	wantCode(t, creds.Set(chain, otherKey), mayfly.CodeInvalidArgument)
	if err := creds.Set(chain, key); err != nil {
		t.Fatal(err)
	}
	chainPEM, keyPEM, gen, err := creds.Current()
	if err != nil || gen != 1 || !bytes.Equal(chainPEM, must(chain.PEM())) ||
		!bytes.Equal(keyPEM, must(key.PEM(""))) {
		t.Fatalf("Current() = gen %d, err %v", gen, err)
	}
	c1 := must(creds.Certificate())
	if c1.Leaf.Subject.CommonName != "one.internal" || len(c1.Certificate) != 2 {
		t.Fatalf("Certificate() leaf %q, %d certs", c1.Leaf.Subject.CommonName, len(c1.Certificate))
	}
	if c1again := must(creds.Certificate()); c1again != c1 {
		t.Fatal("Certificate() parsed the same generation twice")
	}
	if err := creds.Set(other, otherKey); err != nil {
		t.Fatal(err)
	}
	if c2 := must(creds.Certificate()); c2.Leaf.Subject.CommonName != "two.internal" {
		t.Fatalf("after Set, Certificate() serves %q", c2.Leaf.Subject.CommonName)
	}
	mu.Lock()
	if len(seen) != 2 || seen[0] != 1 || seen[1] != 2 {
		t.Fatalf("OnChange saw %v", seen)
	}
	mu.Unlock()

	// TLS configs.
	roots := must(pki.ca.Roots())
	srvCfg := must(creds.ServerTLSConfig(roots))
	if srvCfg.ClientCAs == nil || srvCfg.MinVersion < 0x0303 || srvCfg.GetCertificate == nil {
		t.Fatal("ServerTLSConfig is not an mTLS config")
	}
	if _, err := creds.ClientTLSConfig(nil, "x"); err == nil {
		t.Fatal("ClientTLSConfig without roots succeeded")
	}
	cliCfg := must(creds.ClientTLSConfig(roots, "two.internal"))
	got, err := cliCfg.GetClientCertificate(nil)
	if err != nil || got.Leaf.Subject.CommonName != "two.internal" {
		t.Fatalf("GetClientCertificate: %v", err)
	}

	creds.Close()
	if err := creds.Set(chain, key); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("Set after Close: %v", err)
	}
	if _, err := cliCfg.GetClientCertificate(nil); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("GetClientCertificate after Close: %v", err)
	}
}

// TestSchedulerHostLoop drives a scheduler with RunDue: every sink gets the
// renewal, and a revoked certificate is dropped.
func TestSchedulerHostLoop(t *testing.T) {
	defer guard(t)
	base := mayfly.LiveCallbacks()
	pki := newPKI(t, "")
	s := pki.signer(t)
	var events eventLog
	sched := must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA: pki.ca, OnEvent: events.add, RetryFirst: 100 * time.Millisecond, RetryMax: time.Second,
	}))
	defer sched.Close()
	if _, ok := sched.NextDeadline(); ok {
		t.Fatal("an empty scheduler has a deadline")
	}
	if n := sched.RunDue(time.Now()); n != 0 {
		t.Fatalf("RunDue on an empty scheduler ran %d", n)
	}

	chain, key := issue(t, pki, s, "loop.internal")
	creds := must(mayfly.NewCredentials())
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	execOut := filepath.Join(dir, "exec.out")
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1)
	defer signal.Stop(sigs)
	var delivered [][]byte
	var dmu sync.Mutex
	id, err := sched.Add(chain, key, &mayfly.EntryOptions{
		Credentials: []*mayfly.Credentials{creds},
		Files:       []mayfly.FileSink{{CertPath: certPath, KeyPath: keyPath}},
		Exec:        [][]string{{"sh", "-c", "echo renewed >> " + execOut}},
		Signals:     []mayfly.SignalSink{{PID: os.Getpid(), Signal: syscall.SIGUSR1}},
		OnRenew: func(chainPEM, keyPEM []byte) error {
			dmu.Lock()
			delivered = append(delivered, chainPEM)
			dmu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sched.Size() != 1 {
		t.Fatalf("Size() = %d", sched.Size())
	}
	// The credentials get the current pair at once.
	if g := must(creds.Generation()); g != 1 {
		t.Fatalf("credentials generation after Add = %d", g)
	}
	info := must(sched.EntryInfo(id))
	if info.Attempts != 0 || leafSerial(t, info.Chain) != leafSerial(t, chain) {
		t.Fatalf("EntryInfo = %+v", info)
	}
	nb, na, _ := must(chain.Leaf()).Validity()
	if !info.NextAttempt.After(nb) || !info.NextAttempt.Before(na) {
		t.Fatalf("next attempt %v is outside %v..%v", info.NextAttempt, nb, na)
	}
	deadline, ok := sched.NextDeadline()
	if !ok || !deadline.Equal(info.NextAttempt) {
		t.Fatalf("NextDeadline() = %v %v, entry says %v", deadline, ok, info.NextAttempt)
	}
	if n := sched.RunDue(deadline.Add(-time.Second)); n != 0 {
		t.Fatalf("RunDue before the deadline ran %d", n)
	}

	// Renew by running the loop at the deadline.
	if n := sched.RunDue(deadline); n != 1 {
		t.Fatalf("RunDue(deadline) ran %d", n)
	}
	evs := events.all()
	if len(evs) != 1 || evs[0].Type != mayfly.EventRenewed || evs[0].Entry != id ||
		evs[0].Chain == nil || evs[0].Err() != nil {
		t.Fatalf("events after renewal: %+v", evs)
	}
	newSerial := leafSerial(t, evs[0].Chain)
	if newSerial == leafSerial(t, chain) {
		t.Fatal("the renewed chain has the old serial")
	}
	if g := must(creds.Generation()); g != 2 {
		t.Fatalf("credentials generation after renewal = %d", g)
	}
	if c := must(creds.Certificate()); c.Leaf.SerialNumber.String() != newSerial {
		t.Fatal("Certificate() does not serve the renewed certificate")
	}
	onDisk := must(os.ReadFile(certPath))
	if !bytes.Equal(onDisk, must(evs[0].Chain.PEM())) {
		t.Fatal("the file sink did not write the renewed chain")
	}
	if st := must(os.Stat(keyPath)); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	dmu.Lock()
	if len(delivered) != 1 || !bytes.Equal(delivered[0], onDisk) {
		t.Fatalf("OnRenew got %d deliveries", len(delivered))
	}
	dmu.Unlock()
	select {
	case <-sigs:
	case <-time.After(10 * time.Second):
		t.Fatal("no SIGUSR1 after the renewal")
	}
	waitFor(t, "the exec sink", func() bool {
		b, err := os.ReadFile(execOut)
		return err == nil && bytes.Equal(b, []byte("renewed\n"))
	})
	info = must(sched.EntryInfo(id))
	if leafSerial(t, info.Chain) != newSerial {
		t.Fatal("EntryInfo does not hold the renewed chain")
	}

	// Update replaces the pair; a wrong key is refused.
	upd, updKey := issue(t, pki, s, "loop.internal")
	wantCode(t, sched.Update(id, upd, key), mayfly.CodeInvalidArgument)
	if err := sched.Update(id, upd, updKey); err != nil {
		t.Fatal(err)
	}
	if leafSerial(t, must(sched.EntryInfo(id)).Chain) != leafSerial(t, upd) {
		t.Fatal("Update did not replace the chain")
	}

	// Revoke the entry's certificate: the next run reports REVOKED and
	// drops the entry.
	revokeTok := must(s.Sign(mayfly.TokenOptions{Subject: leafSerial(t, upd), CAURL: "https://127.0.0.1", Purpose: mayfly.TokenRevoke}))
	if err := pki.ca.Revoke(mayfly.RevokeRequest{Serial: leafSerial(t, upd), Token: revokeTok}); err != nil {
		t.Fatal(err)
	}
	deadline, _ = sched.NextDeadline()
	if n := sched.RunDue(deadline); n != 1 {
		t.Fatalf("RunDue ran %d", n)
	}
	last := events.all()[len(events.all())-1]
	if last.Type != mayfly.EventRevoked || !errors.Is(last.Err(), mayfly.ErrUnauthenticated) {
		t.Fatalf("after revocation: %+v", last)
	}
	if sched.Size() != 0 {
		t.Fatalf("Size() after revocation = %d", sched.Size())
	}
	_, err = sched.EntryInfo(id)
	wantCode(t, err, mayfly.CodeNotFound)
	wantCode(t, sched.Remove(id), mayfly.CodeNotFound)

	// A failing delivery is an event, and Remove ends an entry.
	c3, k3 := issue(t, pki, s, "sink.internal")
	id3 := must(sched.Add(c3, k3, &mayfly.EntryOptions{OnRenew: func([]byte, []byte) error {
		return errors.New("disk full")
	}}))
	deadline, _ = sched.NextDeadline()
	sched.RunDue(deadline)
	if events.count(mayfly.EventSinkFailed) != 1 {
		t.Fatalf("no SINK_FAILED event: %+v", events.all())
	}
	if err := sched.Remove(id3); err != nil {
		t.Fatal(err)
	}
	if sched.Size() != 0 {
		t.Fatal("Remove left the entry")
	}

	// Bad arguments.
	_, err = sched.Add(nil, k3, nil)
	wantCode(t, err, mayfly.CodeInvalidArgument)
	_, err = sched.Add(c3, key, nil) // not the leaf's key
	wantCode(t, err, mayfly.CodeInvalidArgument)
	if _, err := mayfly.NewScheduler(mayfly.SchedulerOptions{}); err == nil {
		t.Fatal("a scheduler with neither client nor CA")
	}

	sched.Close()
	if sched.Size() != 0 || sched.RunDue(time.Now()) != 0 {
		t.Fatal("a closed scheduler still counts")
	}
	if _, err := sched.Add(c3, k3, nil); !errors.Is(err, mayfly.ErrClosed) {
		t.Fatalf("Add after Close: %v", err)
	}
	creds.Close()
	gcUntil(t, "callback handles", func() bool { return mayfly.LiveCallbacks() <= base })
}

// TestSchedulerThreadWithClient runs the scheduler's own thread against the
// CA server, renewing over mTLS.
func TestSchedulerThreadWithClient(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "1s")
	_, url, _ := startServer(t, pki)
	client := must(mayfly.BootstrapClient(url, must(pki.ca.RootFingerprint())))
	short := pki.shortProvisioner(t, "short", 3*time.Second, mayfly.ProvisionerOptions{})
	renewed := make(chan mayfly.Event, 16)
	sched := must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		Client: client, RetryFirst: 200 * time.Millisecond, RetryMax: time.Second,
		OnEvent: func(e mayfly.Event) {
			if e.Type == mayfly.EventRenewed {
				renewed <- e
			} else {
				t.Errorf("event %v: %v", e.Type, e.Err())
			}
		},
	}))
	defer sched.Close()
	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	chain := must(client.Sign(key, token(t, short, url, "thread.internal")))
	must(sched.Add(chain, key, nil))
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}
	// The client is closed while the scheduler uses it: it stays open for
	// the scheduler.
	client.Close()
	select {
	case e := <-renewed:
		if leafSerial(t, e.Chain) == leafSerial(t, chain) {
			t.Fatal("renewed with the same serial")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no renewal within 20 s of a 3 s certificate")
	}
	sched.Stop()
	sched.Stop()
	if err := sched.Start(); err != nil {
		t.Fatalf("restart after Stop: %v", err)
	}
	sched.Close()
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRenewAfterExpiry lets a certificate expire, then renews it with a
// token signed by its key: through the client, and through a scheduler
// allowed to; a scheduler that is not reports EXPIRED.
func TestRenewAfterExpiry(t *testing.T) {
	defer guard(t)
	pki := newPKI(t, "1s")
	_, url, _ := startServer(t, pki)
	client := must(mayfly.BootstrapClient(url, must(pki.ca.RootFingerprint())))
	defer client.Close()
	short := pki.shortProvisioner(t, "expiring", time.Second,
		mayfly.ProvisionerOptions{AllowRenewalAfterExpiry: true})
	key := must(mayfly.GenerateKey(mayfly.KeyP256))
	chain := must(client.Sign(key, token(t, short, url, "late.internal")))
	_, notAfter, _ := must(chain.Leaf()).Validity()
	time.Sleep(time.Until(notAfter) + 200*time.Millisecond)

	byToken := must(client.RenewWithToken(chain, key))
	if _, na, _ := must(byToken.Leaf()).Validity(); !na.After(time.Now()) {
		t.Fatalf("the renewed certificate expires at %v", na)
	}

	for _, after := range []bool{false, true} {
		var events eventLog
		sched := must(mayfly.NewScheduler(mayfly.SchedulerOptions{
			Client: client, RenewAfterExpiry: after, OnEvent: events.add,
		}))
		id := must(sched.Add(chain, key, nil))
		sched.RunDue(time.Now().Add(time.Minute))
		evs := events.all()
		want := mayfly.EventExpired
		if after {
			want = mayfly.EventRenewed
		}
		if len(evs) != 1 || evs[0].Type != want || evs[0].Entry != id {
			t.Fatalf("RenewAfterExpiry=%v: events %+v, want one %v", after, evs, want)
		}
		sched.Close()
	}
}
