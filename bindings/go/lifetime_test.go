package mayfly_test

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"mayfly.dev/mayfly"
)

// TestDropWhileCallbacksRun keeps a scheduler renewing 2 s certificates on
// its thread, with event, delivery and change callbacks into Go, while the
// test closes or merely drops credentials, keys, chains and entries and
// runs the collector; at the end it drops the running scheduler itself.
// Nothing may crash, and every callback handle must be released.
func TestDropWhileCallbacksRun(t *testing.T) {
	defer guard(t)
	base := mayfly.LiveCallbacks()
	pki := newPKI(t, "1s")
	short := pki.shortProvisioner(t, "short", 2*time.Second, mayfly.ProvisionerOptions{})
	var events, delivered, changes atomic.Int64
	sched := must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA: pki.ca, RetryFirst: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond,
		OnEvent: func(e mayfly.Event) {
			events.Add(1)
			if e.Chain != nil {
				// Use what the event lent, then drop it to the finalizer.
				if _, err := e.Chain.PEM(); err != nil {
					t.Errorf("event chain: %v", err)
				}
			}
			runtime.GC()
		},
	}))
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}

	stop := time.Now().Add(4 * time.Second)
	for i := 0; time.Now().Before(stop); i++ {
		chain, key := issue(t, pki, short, "drop.internal")
		creds := must(mayfly.NewCredentials())
		if err := creds.OnChange(func(uint64) { changes.Add(1) }); err != nil {
			t.Fatal(err)
		}
		id, err := sched.Add(chain, key, &mayfly.EntryOptions{
			Credentials: []*mayfly.Credentials{creds},
			OnRenew: func(chainPEM, keyPEM []byte) error {
				delivered.Add(1)
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := creds.Certificate(); err != nil {
			t.Fatal(err)
		}
		switch i % 4 {
		case 0: // closed while the entry still feeds them
			creds.Close()
			key.Close()
			chain.Close()
		case 1: // the entry removed, the rest left to finalizers
			if err := sched.Remove(id); err != nil {
				t.Fatal(err)
			}
		case 2: // closed after the entry is removed
			if err := sched.Remove(id); err != nil {
				t.Fatal(err)
			}
			creds.Close()
		default: // dropped while in use
		}
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	if events.Load() == 0 || delivered.Load() == 0 || changes.Load() == 0 {
		t.Fatalf("callbacks ran: %d events, %d deliveries, %d changes; want some of each",
			events.Load(), delivered.Load(), changes.Load())
	}
	// Drop the running scheduler: its finalizer stops the thread, which
	// may be in a callback at that moment, and releases every handle.
	sched = nil
	gcUntil(t, "every callback handle", func() bool { return mayfly.LiveCallbacks() <= base })
	t.Logf("%d events, %d deliveries, %d changes", events.Load(), delivered.Load(), changes.Load())
}

// TestCloseInsideCallback closes objects from their own callbacks, which
// c.h forbids for the C objects: the binding must defer the release.
func TestCloseInsideCallback(t *testing.T) {
	defer guard(t)
	base := mayfly.LiveCallbacks()
	pki := newPKI(t, "1s")
	short := pki.shortProvisioner(t, "short", 2*time.Second, mayfly.ProvisionerOptions{})

	// A scheduler closing itself from its thread.
	var sched *mayfly.Scheduler
	closed := make(chan struct{})
	var once atomic.Bool
	sched = must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA: pki.ca, RetryFirst: 100 * time.Millisecond,
		OnEvent: func(mayfly.Event) {
			sched.Close()
			if once.CompareAndSwap(false, true) {
				close(closed)
			}
		},
	}))
	chain, key := issue(t, pki, short, "self.internal")
	must(sched.Add(chain, key, nil))
	if err := sched.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("no event")
	}

	// A scheduler closing itself from RunDue's callback.
	var loop *mayfly.Scheduler
	loop = must(mayfly.NewScheduler(mayfly.SchedulerOptions{
		CA:      pki.ca,
		OnEvent: func(mayfly.Event) { loop.Close() },
	}))
	must(loop.Add(chain, key, nil))
	deadline, _ := loop.NextDeadline()
	if n := loop.RunDue(deadline); n != 1 {
		t.Fatalf("RunDue ran %d", n)
	}
	if loop.Size() != 0 {
		t.Fatal("the scheduler is not closed after its callback closed it")
	}

	// Credentials closing themselves from their change callback.
	creds := must(mayfly.NewCredentials())
	if err := creds.OnChange(func(uint64) { creds.Close() }); err != nil {
		t.Fatal(err)
	}
	if err := creds.Set(chain, key); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := creds.Current(); err == nil {
		t.Fatal("credentials work after closing themselves")
	}
	gcUntil(t, "every callback handle", func() bool { return mayfly.LiveCallbacks() <= base })
}
