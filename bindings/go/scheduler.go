package mayfly

/*
#include <stdint.h>
#include <stdlib.h>
#include "mayfly/c.h"
#include "shim.h"
*/
import "C"

import (
	"math"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// EventType says what happened to a scheduler entry.
type EventType int

// The event types.
const (
	EventRenewed    EventType = C.MAYFLY_EVENT_RENEWED
	EventFailed     EventType = C.MAYFLY_EVENT_FAILED  // will retry at NextAttempt
	EventRevoked    EventType = C.MAYFLY_EVENT_REVOKED // refused by the CA; no more attempts
	EventExpired    EventType = C.MAYFLY_EVENT_EXPIRED // expired before it could be renewed
	EventSinkFailed EventType = C.MAYFLY_EVENT_SINK_FAILED
)

func (t EventType) String() string {
	switch t {
	case EventRenewed:
		return "renewed"
	case EventFailed:
		return "failed"
	case EventRevoked:
		return "revoked"
	case EventExpired:
		return "expired"
	case EventSinkFailed:
		return "sink failed"
	}
	return "EventType(?)"
}

// Event is what a Scheduler reports about one entry.
type Event struct {
	Type    EventType
	Entry   uint64 // the id Add returned
	Time    time.Time
	Code    Code   // CodeOK for EventRenewed
	Message string // the CA's or the sink's message
	// EventFailed: failures in a row, and when the next attempt is due.
	Attempts    int
	NextAttempt time.Time
	// EventRenewed: the new chain, the event's own copy.
	Chain *Chain
}

// Err returns the event's status as an error, nil for CodeOK.
func (e *Event) Err() error {
	if e.Code == CodeOK {
		return nil
	}
	return &Error{Code: e.Code, Message: e.Message}
}

func eventFromC(ev *C.mayfly_event_t) Event {
	e := Event{
		Type:        EventType(C.mayfly_event_type(ev)),
		Entry:       uint64(C.mayfly_event_entry(ev)),
		Time:        fromMillis(C.mayfly_event_time_ms(ev)),
		Code:        Code(C.mayfly_event_code(ev)),
		Message:     C.GoString(C.mayfly_event_message(ev)),
		Attempts:    int(C.mayfly_event_attempts(ev)),
		NextAttempt: fromMillis(C.mayfly_event_next_attempt_ms(ev)),
	}
	if p := C.mayfly_event_chain(ev); p != nil {
		// The event lends its chain for the call only.
		if chain, err := chainFromC(p); err == nil {
			e.Chain = chain
		}
	}
	return e
}

// SchedulerOptions configure a Scheduler: it renews through Client or CA
// (exactly one).
type SchedulerOptions struct {
	// Client renews over mTLS; with RenewAfterExpiry, an expired
	// certificate is renewed with a token when the CA allows it.
	Client           *Client
	RenewAfterExpiry bool
	// CA renews in-process.
	CA *CA
	// OnEvent receives every event, on the scheduler's thread (or the
	// goroutine calling RunDue). It must not hold the Scheduler, or the
	// Scheduler is never finalized (Close still releases it).
	OnEvent func(Event)
	// Backoff while the CA fails, from RetryFirst (default 1 s) up to
	// RetryMax (default 5 min).
	RetryFirst time.Duration
	RetryMax   time.Duration
}

// Scheduler renews certificates at about 2/3 of their lifetime (minus
// jitter), with backoff while the CA is unavailable, and stops renewing a
// certificate the CA refuses (revoked). It runs its own thread (Start) or
// the host's loop (NextDeadline, RunDue). Safe for concurrent use.
type Scheduler struct {
	life lifecycle
	p    *C.mayfly_scheduler_t
	held *schedHeld
}

// schedHeld is what a scheduler uses and releases after it is freed. It is
// apart from the Scheduler because the release function holds it: a
// Scheduler reachable from its own release function would never be
// finalized.
type schedHeld struct {
	p   *C.mayfly_scheduler_t
	via *lifecycle // the Client's or CA's
	// viaRef and keep hold the Go values too, so that their finalizers
	// run after the scheduler's.
	viaRef  any
	mu      sync.Mutex
	entries map[uint64][]*lifecycle   // each entry's Credentials
	keep    map[uint64][]*Credentials // ... as values
}

// NewScheduler makes a scheduler; it renews nothing until Start or RunDue.
func NewScheduler(o SchedulerOptions) (*Scheduler, error) {
	if (o.Client == nil) == (o.CA == nil) {
		return nil, invalid("SchedulerOptions need exactly one of Client and CA")
	}
	var via *lifecycle
	var viaRef any
	if o.Client != nil {
		via, viaRef = &o.Client.life, o.Client
	} else {
		via, viaRef = &o.CA.life, o.CA
	}
	// The scheduler holds its Client or CA until it is freed: c.h requires
	// them to outlive it.
	if err := via.enter(); err != nil {
		return nil, err
	}
	s, err := newScheduler(o)
	if err != nil {
		via.exit()
		return nil, err
	}
	held := &schedHeld{
		p:       s,
		via:     via,
		viaRef:  viaRef,
		entries: map[uint64][]*lifecycle{},
		keep:    map[uint64][]*Credentials{},
	}
	sched := &Scheduler{p: s, held: held}
	sched.life.init(held.release)
	runtime.SetFinalizer(sched, (*Scheduler).Close)
	return sched, nil
}

func newScheduler(o SchedulerOptions) (*C.mayfly_scheduler_t, error) {
	opts := C.mayfly_scheduler_options_new()
	if opts == nil {
		return nil, &Error{Code: CodeResourceExhausted, Message: "out of memory"}
	}
	defer C.mayfly_scheduler_options_free(opts)
	if o.Client != nil {
		rc := C.mayfly_scheduler_options_set_client(opts, o.Client.p, cbool(o.RenewAfterExpiry))
		if err := checkSetter(rc, "client"); err != nil {
			return nil, err
		}
	} else {
		if err := checkSetter(C.mayfly_scheduler_options_set_ca(opts, o.CA.p), "CA"); err != nil {
			return nil, err
		}
	}
	if o.OnEvent != nil {
		rc := C.mayfly_go_scheduler_options_set_event_callback(opts, newCallback(o.OnEvent))
		if err := checkSetter(rc, "event callback"); err != nil {
			return nil, err
		}
	}
	if o.RetryFirst != 0 || o.RetryMax != 0 {
		first, max := o.RetryFirst, o.RetryMax
		if first == 0 {
			first = time.Second
		}
		if max == 0 {
			max = 5 * time.Minute
		}
		if err := checkSetter(C.mayfly_scheduler_options_set_retry(opts, millis(first), millis(max)), "retry"); err != nil {
			return nil, err
		}
	}
	var out *C.mayfly_scheduler_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_scheduler_new(opts, &out, &cerr), cerr); err != nil {
		return nil, err
	}
	return out, nil
}

// release frees the scheduler (stopping its thread, waiting for a renewal
// under way), then lets go of what it used.
func (h *schedHeld) release() {
	C.mayfly_scheduler_free(h.p)
	h.mu.Lock()
	entries := h.entries
	h.entries, h.keep, h.viaRef = nil, nil, nil
	h.mu.Unlock()
	for _, creds := range entries {
		for _, l := range creds {
			l.exit()
		}
	}
	h.via.exit()
}

// Close stops and releases the scheduler. Called from one of its own
// callbacks, it returns at once and the release follows when the callback
// returns. It is safe to call more than once.
func (s *Scheduler) Close() error {
	if s == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	s.life.close()
	return nil
}

// Start runs the scheduler on its own thread.
func (s *Scheduler) Start() error {
	done, err := use(&s.life)
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	return check(C.mayfly_scheduler_start(s.p, &cerr), cerr)
}

// Stop stops the scheduler's thread; Start may run it again.
func (s *Scheduler) Stop() {
	done, err := use(&s.life)
	if err != nil {
		return
	}
	defer done()
	C.mayfly_scheduler_stop(s.p)
}

// NextDeadline returns when the next entry is due; false if there is none.
func (s *Scheduler) NextDeadline() (time.Time, bool) {
	done, err := use(&s.life)
	if err != nil {
		return time.Time{}, false
	}
	defer done()
	ms := C.mayfly_scheduler_next_deadline_ms(s.p)
	if ms == math.MaxInt64 {
		return time.Time{}, false
	}
	return fromMillis(ms), true
}

// RunDue runs every entry due at now (host-loop mode), on this goroutine,
// and returns how many ran.
func (s *Scheduler) RunDue(now time.Time) int {
	done, err := use(&s.life)
	if err != nil {
		return 0
	}
	defer done()
	return int(C.mayfly_scheduler_run_due(s.p, C.int64_t(now.UnixMilli())))
}

// Size returns the number of entries.
func (s *Scheduler) Size() int {
	done, err := use(&s.life)
	if err != nil {
		return 0
	}
	defer done()
	return int(C.mayfly_scheduler_size(s.p))
}

// FileSink writes each renewed pair atomically (temp file, fsync, rename);
// either path may be empty.
type FileSink struct {
	CertPath string
	KeyPath  string // written with mode 0600
}

// SignalSink sends Signal to PID after each renewal.
type SignalSink struct {
	PID    int
	Signal syscall.Signal
}

// EntryOptions say where an entry's renewed credentials go: any
// combination.
type EntryOptions struct {
	// Credentials are set at Add with the current pair, then after each
	// renewal.
	Credentials []*Credentials
	Files       []FileSink
	// Exec runs each command (argv[0] looked up in PATH) after each renewal.
	Exec    [][]string
	Signals []SignalSink
	// OnRenew receives the new chain and key as PEM; an error is reported
	// as an EventSinkFailed event.
	OnRenew func(chainPEM, keyPEM []byte) error
}

// Add manages chain (leaf first) and its key; opts may be nil. The id
// identifies the entry in events.
func (s *Scheduler) Add(chain *Chain, key *Key, opts *EntryOptions) (uint64, error) {
	var creds []*Credentials
	if opts != nil {
		creds = opts.Credentials
	}
	// The entry holds its Credentials (their C objects and the Go values)
	// until it is removed or the scheduler released.
	held := make([]*lifecycle, 0, len(creds))
	for _, c := range creds {
		if c == nil {
			continue
		}
		if err := c.life.enter(); err != nil {
			for _, l := range held {
				l.exit()
			}
			return 0, err
		}
		held = append(held, &c.life)
	}
	id, err := s.add(chain, key, opts)
	if err != nil {
		for _, l := range held {
			l.exit()
		}
		return 0, err
	}
	s.held.mu.Lock()
	if s.held.entries == nil {
		// Closed since: the scheduler and its entry are gone already.
		s.held.mu.Unlock()
		for _, l := range held {
			l.exit()
		}
		return id, nil
	}
	s.held.entries[id] = held
	s.held.keep[id] = creds
	s.held.mu.Unlock()
	return id, nil
}

func (s *Scheduler) add(chain *Chain, key *Key, o *EntryOptions) (uint64, error) {
	done, err := use(&s.life, chain.lc(), key.lc())
	if err != nil {
		return 0, err
	}
	defer done()
	var copts *C.mayfly_entry_options_t
	if o != nil {
		copts = C.mayfly_entry_options_new()
		if copts == nil {
			return 0, &Error{Code: CodeResourceExhausted, Message: "out of memory"}
		}
		defer C.mayfly_entry_options_free(copts)
		if err := fillEntryOptions(copts, o); err != nil {
			return 0, err
		}
	}
	var id C.uint64_t
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_scheduler_add(s.p, chain.ptr(), key.ptr(), copts, &id, &cerr), cerr); err != nil {
		return 0, err
	}
	return uint64(id), nil
}

func fillEntryOptions(copts *C.mayfly_entry_options_t, o *EntryOptions) error {
	for _, c := range o.Credentials {
		if c == nil {
			continue
		}
		if err := checkSetter(C.mayfly_entry_options_add_credentials(copts, c.p), "credentials"); err != nil {
			return err
		}
	}
	for _, f := range o.Files {
		cert, key := cstrOrNil(f.CertPath), cstrOrNil(f.KeyPath)
		rc := C.mayfly_entry_options_add_files(copts, cert, key)
		free(cert)
		free(key)
		if err := checkSetter(rc, "files"); err != nil {
			return err
		}
	}
	for _, argv := range o.Exec {
		arr, n := cstrArray(argv)
		rc := C.mayfly_entry_options_add_exec(copts, arr, n)
		freeArray(arr, n)
		if err := checkSetter(rc, "exec"); err != nil {
			return err
		}
	}
	for _, sig := range o.Signals {
		rc := C.mayfly_entry_options_add_signal(copts, C.int(sig.PID), C.int(sig.Signal))
		if err := checkSetter(rc, "signal"); err != nil {
			return err
		}
	}
	if o.OnRenew != nil {
		rc := C.mayfly_go_entry_options_add_callback(copts, newCallback(o.OnRenew))
		if err := checkSetter(rc, "callback"); err != nil {
			return err
		}
	}
	return nil
}

// Remove stops managing entry id. ErrNotFound for an unknown id.
func (s *Scheduler) Remove(id uint64) error {
	done, err := use(&s.life)
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	if err := check(C.mayfly_scheduler_remove(s.p, C.uint64_t(id), &cerr), cerr); err != nil {
		return err
	}
	s.held.mu.Lock()
	held := s.held.entries[id]
	delete(s.held.entries, id)
	delete(s.held.keep, id)
	s.held.mu.Unlock()
	for _, l := range held {
		l.exit()
	}
	return nil
}

// Update replaces entry id's pair, after a renewal made elsewhere.
func (s *Scheduler) Update(id uint64, chain *Chain, key *Key) error {
	done, err := use(&s.life, chain.lc(), key.lc())
	if err != nil {
		return err
	}
	defer done()
	var cerr *C.mayfly_error_t
	return check(C.mayfly_scheduler_update(s.p, C.uint64_t(id), chain.ptr(), key.ptr(), &cerr), cerr)
}

// EntryInfo describes one entry.
type EntryInfo struct {
	Chain       *Chain    // the current chain
	NextAttempt time.Time // when it is due
	Attempts    int       // failures in a row
}

// EntryInfo returns entry id's state. ErrNotFound for an unknown id.
func (s *Scheduler) EntryInfo(id uint64) (EntryInfo, error) {
	done, err := use(&s.life)
	if err != nil {
		return EntryInfo{}, err
	}
	defer done()
	var chain *C.mayfly_chain_t
	var next C.int64_t
	var attempts C.int
	var cerr *C.mayfly_error_t
	rc := C.mayfly_scheduler_entry_info(s.p, C.uint64_t(id), &chain, &next, &attempts, &cerr)
	if err := check(rc, cerr); err != nil {
		return EntryInfo{}, err
	}
	return EntryInfo{
		Chain:       newChain(chain),
		NextAttempt: fromMillis(next),
		Attempts:    int(attempts),
	}, nil
}
