//! Rotating credentials and the renewal scheduler.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::ptr::{self, NonNull};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use mayfly_sys as sys;

use crate::ca::Ca;
use crate::cert::{Chain, ChainRef};
use crate::client::Client;
use crate::error::{check, check_setter, Code, Error, Result};
use crate::key::Key;
use crate::util::{
    borrowed_text, c_bool, call_new, cstr, destroy_fn, duration_ms, guard, in_callback,
    into_user_data, path_cstr, take_text, time_from_ms, time_to_ms, OptionsGuard,
};

// ---- Rotating credentials -------------------------------------------------

type ChangeFn = dyn Fn(u64) + Send + Sync;

struct CredsHandle(NonNull<sys::mayfly_credentials_t>);

// SAFETY: c.h: credentials are thread-safe.
unsafe impl Send for CredsHandle {}
unsafe impl Sync for CredsHandle {}

impl Drop for CredsHandle {
    fn drop(&mut self) {
        unsafe { sys::mayfly_credentials_free(self.0.as_ptr()) }
    }
}

/// The newest certificate chain and key; readers always see a matching
/// pair. Cloning is cheap and shares the one set of credentials; a
/// `Scheduler` delivering into them keeps them alive, so dropping every
/// handle of the host's while a renewal is delivered is safe.
#[derive(Clone)]
pub struct Credentials {
    inner: Arc<CredsHandle>,
}

/// A snapshot of `Credentials`.
#[derive(Clone, PartialEq, Eq)]
pub struct CurrentCredentials {
    /// The chain as PEM, leaf first.
    pub chain_pem: String,
    /// The key as PKCS#8 PEM.
    pub key_pem: String,
    /// 1 for the first set, +1 per set.
    pub generation: u64,
}

impl fmt::Debug for CurrentCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentCredentials")
            .field("generation", &self.generation)
            .field("chain_pem", &self.chain_pem)
            .finish_non_exhaustive()
    }
}

unsafe extern "C" fn change_trampoline(user_data: *mut c_void, generation: u64) {
    let f = &*(user_data as *const Box<ChangeFn>);
    guard("credentials change", (), || f(generation));
}

impl Credentials {
    pub fn new() -> Result<Credentials> {
        let ptr = call_new(|out, err| unsafe { sys::mayfly_credentials_new(out, err) })?;
        Ok(Credentials { inner: Arc::new(CredsHandle(ptr)) })
    }

    pub fn as_ptr(&self) -> *mut sys::mayfly_credentials_t {
        self.inner.0.as_ptr()
    }

    /// Replaces the pair. InvalidArgument if `key` is not the leaf's key.
    /// Change callbacks run before it returns.
    pub fn set(&self, chain: &ChainRef, key: &Key) -> Result<()> {
        check(|err| unsafe {
            sys::mayfly_credentials_set(self.as_ptr(), chain.as_ptr(), key.as_ptr(), err)
        })
    }

    /// The current pair and its generation. FailedPrecondition before the
    /// first set.
    pub fn current(&self) -> Result<CurrentCredentials> {
        let (mut chain, mut chain_len) = (ptr::null_mut::<c_char>(), 0usize);
        let (mut key, mut key_len) = (ptr::null_mut::<c_char>(), 0usize);
        let mut generation = 0u64;
        check(|err| unsafe {
            sys::mayfly_credentials_current(
                self.as_ptr(),
                &mut chain,
                &mut chain_len,
                &mut key,
                &mut key_len,
                &mut generation,
                err,
            )
        })?;
        unsafe {
            Ok(CurrentCredentials {
                chain_pem: take_text(chain, chain_len),
                key_pem: take_text(key, key_len),
                generation,
            })
        }
    }

    /// The current generation (0 before the first set).
    pub fn generation(&self) -> u64 {
        let mut generation = 0u64;
        let r = check(|err| unsafe {
            sys::mayfly_credentials_current(
                self.as_ptr(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null_mut(),
                &mut generation,
                err,
            )
        });
        r.map_or(0, |_| generation)
    }

    /// Calls `f` with the new generation after each set, on the setting
    /// thread (the scheduler's, for renewals). `f` may read the credentials
    /// but must not block on the setting thread.
    pub fn on_change(&self, f: impl Fn(u64) + Send + Sync + 'static) -> Result<()> {
        let boxed: Box<ChangeFn> = Box::new(f);
        let ud = into_user_data(boxed);
        check(|err| unsafe {
            sys::mayfly_credentials_on_change(
                self.as_ptr(),
                Some(change_trampoline),
                ud,
                destroy_fn::<Box<ChangeFn>>(),
                err,
            )
        })
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials").field("generation", &self.generation()).finish()
    }
}

// ---- Events -------------------------------------------------------------

/// What happened to a scheduler entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Renewed; `Event::chain` is the new chain.
    Renewed,
    /// Failed; will retry at `Event::next_attempt`.
    Failed,
    /// Refused by the CA (revoked); no more attempts.
    Revoked,
    /// Expired before it could be renewed.
    Expired,
    /// A sink (file, command, callback...) failed to take the renewal.
    SinkFailed,
    /// A type this crate does not know.
    Other(i32),
}

impl EventKind {
    fn from_raw(v: c_int) -> EventKind {
        match v {
            sys::MAYFLY_EVENT_RENEWED => EventKind::Renewed,
            sys::MAYFLY_EVENT_FAILED => EventKind::Failed,
            sys::MAYFLY_EVENT_REVOKED => EventKind::Revoked,
            sys::MAYFLY_EVENT_EXPIRED => EventKind::Expired,
            sys::MAYFLY_EVENT_SINK_FAILED => EventKind::SinkFailed,
            other => EventKind::Other(other),
        }
    }
}

/// Identifies a scheduler entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryId(pub u64);

/// A scheduler event, lent to the event callback for its call.
pub struct Event<'a> {
    ptr: NonNull<sys::mayfly_event_t>,
    _lent: PhantomData<&'a sys::mayfly_event_t>,
}

impl<'a> Event<'a> {
    pub fn kind(&self) -> EventKind {
        EventKind::from_raw(unsafe { sys::mayfly_event_type(self.ptr.as_ptr()) })
    }

    pub fn entry(&self) -> EntryId {
        EntryId(unsafe { sys::mayfly_event_entry(self.ptr.as_ptr()) })
    }

    pub fn time(&self) -> SystemTime {
        time_from_ms(unsafe { sys::mayfly_event_time_ms(self.ptr.as_ptr()) })
    }

    /// The failure (None for a renewal).
    pub fn error(&self) -> Option<Error> {
        let code = unsafe { sys::mayfly_event_code(self.ptr.as_ptr()) };
        if code == sys::MAYFLY_OK {
            return None;
        }
        let msg = unsafe { sys::mayfly_event_message(self.ptr.as_ptr()) };
        let message = if msg.is_null() {
            String::new()
        } else {
            unsafe { CStr::from_ptr(msg) }.to_string_lossy().into_owned()
        };
        Some(Error::new(Code::from_raw(code), message))
    }

    /// Failed: the failures in a row.
    pub fn attempts(&self) -> i32 {
        unsafe { sys::mayfly_event_attempts(self.ptr.as_ptr()) }
    }

    /// Failed: when the next attempt is due.
    pub fn next_attempt(&self) -> SystemTime {
        time_from_ms(unsafe { sys::mayfly_event_next_attempt_ms(self.ptr.as_ptr()) })
    }

    /// Renewed: the new chain, lent for the call (`to_owned` keeps a copy).
    pub fn chain(&self) -> Option<&ChainRef> {
        let p = unsafe { sys::mayfly_event_chain(self.ptr.as_ptr()) };
        if p.is_null() {
            None
        } else {
            Some(unsafe { ChainRef::from_ptr(p) })
        }
    }
}

impl fmt::Debug for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("kind", &self.kind())
            .field("entry", &self.entry())
            .field("error", &self.error())
            .field("attempts", &self.attempts())
            .finish()
    }
}

type EventFn = dyn Fn(&Event<'_>) + Send + Sync;
type DeliverFn = dyn Fn(&str, &str) -> bool + Send + Sync;

unsafe extern "C" fn event_trampoline(user_data: *mut c_void, ev: *const sys::mayfly_event_t) {
    let f = &*(user_data as *const Arc<EventFn>);
    let Some(ptr) = NonNull::new(ev as *mut sys::mayfly_event_t) else {
        return;
    };
    let event = Event { ptr, _lent: PhantomData };
    guard("scheduler event", (), || f(&event));
}

unsafe extern "C" fn deliver_trampoline(
    user_data: *mut c_void,
    chain_pem: *const c_char,
    chain_pem_len: usize,
    key_pem: *const c_char,
    key_pem_len: usize,
) -> c_int {
    let f = &*(user_data as *const Arc<DeliverFn>);
    let chain = borrowed_text(chain_pem, chain_pem_len);
    let key = borrowed_text(key_pem, key_pem_len);
    let ok = guard("delivery", false, || f(&chain, &key));
    if ok {
        0
    } else {
        1
    }
}

// ---- The scheduler ----------------------------------------------------------

/// What a scheduler renews through.
#[derive(Clone, Debug)]
pub enum Renewer {
    /// A CA client over mTLS; with `after_expiry`, an expired certificate is
    /// renewed with a token if the CA allows it.
    Client { client: Client, after_expiry: bool },
    /// An in-process CA.
    Ca(Ca),
}

/// How a scheduler renews and whom it tells.
#[derive(Clone)]
pub struct SchedulerOptions {
    pub renewer: Renewer,
    /// Called with each event, on the scheduler's thread (or the thread of
    /// `run_due`).
    pub on_event: Option<Arc<EventFn>>,
    /// Backoff from the first delay (default 1 s) up to the second (default
    /// 5 min) while the CA is unavailable.
    pub retry: Option<(Duration, Duration)>,
}

impl SchedulerOptions {
    /// Renew through `client` over mTLS.
    pub fn with_client(client: &Client) -> SchedulerOptions {
        SchedulerOptions {
            renewer: Renewer::Client { client: client.clone(), after_expiry: false },
            on_event: None,
            retry: None,
        }
    }

    /// Renew through an in-process CA.
    pub fn with_ca(ca: &Ca) -> SchedulerOptions {
        SchedulerOptions { renewer: Renewer::Ca(ca.clone()), on_event: None, retry: None }
    }

    /// With a client: renew expired certificates with a token.
    pub fn after_expiry(mut self, allow: bool) -> Self {
        if let Renewer::Client { after_expiry, .. } = &mut self.renewer {
            *after_expiry = allow;
        }
        self
    }

    pub fn on_event(mut self, f: impl Fn(&Event<'_>) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }

    pub fn retry(mut self, first: Duration, max: Duration) -> Self {
        self.retry = Some((first, max));
        self
    }
}

impl fmt::Debug for SchedulerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SchedulerOptions")
            .field("renewer", &self.renewer)
            .field("on_event", &self.on_event.is_some())
            .field("retry", &self.retry)
            .finish()
    }
}

/// Files a renewal is written to, atomically (temp, fsync, rename) and
/// never out of step with each other: the chain (mode 0644) and the key
/// (0600).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSink {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
}

/// Where an entry's renewed credentials go: any combination.
#[derive(Clone, Default)]
pub struct EntryOptions {
    /// Rotating credentials, set at once with the current pair too.
    pub credentials: Vec<Credentials>,
    pub files: Vec<FileSink>,
    /// Commands run after each renewal (argv[0] looked up in PATH).
    pub exec: Vec<Vec<String>>,
    /// (pid, signal) pairs: a signal sent after each renewal.
    pub signals: Vec<(i32, i32)>,
    /// Host functions given the new chain and key as PEM; returning false
    /// reports `EventKind::SinkFailed`.
    pub callbacks: Vec<Arc<DeliverFn>>,
}

impl EntryOptions {
    pub fn credentials(mut self, creds: &Credentials) -> Self {
        self.credentials.push(creds.clone());
        self
    }

    pub fn files(mut self, cert_path: impl Into<PathBuf>, key_path: impl Into<PathBuf>) -> Self {
        self.files.push(FileSink { cert_path: cert_path.into(), key_path: key_path.into() });
        self
    }

    pub fn exec<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.exec.push(argv.into_iter().map(Into::into).collect());
        self
    }

    pub fn signal(mut self, pid: i32, signal: i32) -> Self {
        self.signals.push((pid, signal));
        self
    }

    pub fn callback(mut self, f: impl Fn(&str, &str) -> bool + Send + Sync + 'static) -> Self {
        self.callbacks.push(Arc::new(f));
        self
    }
}

impl fmt::Debug for EntryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntryOptions")
            .field("credentials", &self.credentials.len())
            .field("files", &self.files)
            .field("exec", &self.exec)
            .field("signals", &self.signals)
            .field("callbacks", &self.callbacks.len())
            .finish()
    }
}

/// An entry's state.
#[derive(Debug)]
pub struct EntryInfo {
    pub chain: Chain,
    pub next_attempt: SystemTime,
    /// Failures in a row.
    pub attempts: i32,
}

struct SendPtr(NonNull<sys::mayfly_scheduler_t>);
// SAFETY: c.h: the scheduler is thread-safe.
unsafe impl Send for SendPtr {}

struct SchedHandle {
    ptr: NonNull<sys::mayfly_scheduler_t>,
    // Kept alive while the scheduler may use them: c.h requires the client
    // or CA, and the credentials an entry delivers into, to outlive it.
    renewer: Option<Renewer>,
    credentials: Arc<CredentialsMap>,
}

/// The credentials each entry delivers into, by entry id. Entries leave it
/// when removed, and when the scheduler drops them itself (revoked or
/// expired).
type CredentialsMap = Mutex<HashMap<u64, Vec<Credentials>>>;

fn lock_map(map: &CredentialsMap) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Credentials>>> {
    map.lock().unwrap_or_else(|e| e.into_inner())
}

// SAFETY: c.h: the scheduler is thread-safe; the other fields are.
unsafe impl Send for SchedHandle {}
unsafe impl Sync for SchedHandle {}

impl Drop for SchedHandle {
    fn drop(&mut self) {
        let ptr = SendPtr(self.ptr);
        let renewer = self.renewer.take();
        let creds = std::mem::take(&mut *lock_map(&self.credentials));
        let free = move || {
            let ptr = ptr;
            // Stops the thread (waiting for a renewal under way), then calls
            // every destroy; only then may what it used go.
            unsafe { sys::mayfly_scheduler_free(ptr.0.as_ptr()) };
            drop(creds);
            drop(renewer);
        };
        if in_callback() {
            // The last handle was dropped inside a mayfly callback, maybe
            // this scheduler's own, which c.h forbids freeing from (it would
            // wait for itself). Free it from another thread, which waits for
            // the callback to return.
            std::thread::spawn(free);
        } else {
            free();
        }
    }
}

/// Renews each certificate at about 2/3 of its lifetime (minus jitter), with
/// backoff while the CA is unavailable, and stops a certificate the CA
/// refuses. Thread-safe; cloning shares the one scheduler, which stops and
/// is freed when the last clone goes.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<SchedHandle>,
}

impl Scheduler {
    /// Makes a scheduler; it renews nothing until `start` (its own thread)
    /// or `run_due` (the host's loop).
    pub fn new(options: &SchedulerOptions) -> Result<Scheduler> {
        let opts = OptionsGuard::new(
            unsafe { sys::mayfly_scheduler_options_new() },
            sys::mayfly_scheduler_options_free,
        )?;
        let o = opts.ptr;
        let credentials: Arc<CredentialsMap> = Arc::new(Mutex::new(HashMap::new()));
        unsafe {
            match &options.renewer {
                Renewer::Client { client, after_expiry } => check_setter(
                    "client",
                    sys::mayfly_scheduler_options_set_client(
                        o,
                        client.as_ptr(),
                        c_bool(*after_expiry),
                    ),
                )?,
                Renewer::Ca(ca) => {
                    check_setter("CA", sys::mayfly_scheduler_options_set_ca(o, ca.as_ptr()))?
                }
            }
            if let Some((first, max)) = options.retry {
                let first = duration_ms("first retry", first)?;
                let max = duration_ms("max retry", max)?;
                check_setter("retry", sys::mayfly_scheduler_options_set_retry(o, first, max))?;
            }
            // Always installed: it also forgets the credentials of entries
            // the scheduler drops by itself, then calls the host's callback.
            let map = credentials.clone();
            let user = options.on_event.clone();
            let on_event: Arc<EventFn> = Arc::new(move |ev: &Event<'_>| {
                if let Some(f) = &user {
                    f(ev);
                }
                if matches!(ev.kind(), EventKind::Revoked | EventKind::Expired) {
                    let gone = lock_map(&map).remove(&ev.entry().0);
                    drop(gone); // outside the lock
                }
            });
            let ud = into_user_data::<Arc<EventFn>>(on_event);
            check_setter(
                "event callback",
                sys::mayfly_scheduler_options_set_event_callback(
                    o,
                    Some(event_trampoline),
                    ud,
                    destroy_fn::<Arc<EventFn>>(),
                ),
            )?;
        }
        let ptr = call_new(|out, err| unsafe { sys::mayfly_scheduler_new(o, out, err) })?;
        Ok(Scheduler {
            inner: Arc::new(SchedHandle {
                ptr,
                renewer: Some(options.renewer.clone()),
                credentials,
            }),
        })
    }

    pub fn as_ptr(&self) -> *mut sys::mayfly_scheduler_t {
        self.inner.ptr.as_ptr()
    }

    /// Runs the scheduler on its own thread.
    pub fn start(&self) -> Result<()> {
        check(|err| unsafe { sys::mayfly_scheduler_start(self.as_ptr(), err) })
    }

    /// Stops the thread (waiting for a renewal under way).
    pub fn stop(&self) {
        unsafe { sys::mayfly_scheduler_stop(self.as_ptr()) }
    }

    /// Host-loop mode: when the next entry is due (None if none).
    pub fn next_deadline(&self) -> Option<SystemTime> {
        let ms = unsafe { sys::mayfly_scheduler_next_deadline_ms(self.as_ptr()) };
        (ms != i64::MAX).then(|| time_from_ms(ms))
    }

    /// Host-loop mode: runs every entry due at `now`; returns how many ran.
    pub fn run_due(&self, now: SystemTime) -> usize {
        unsafe { sys::mayfly_scheduler_run_due(self.as_ptr(), time_to_ms(now)) }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        unsafe { sys::mayfly_scheduler_size(self.as_ptr()) }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Manages `chain` (leaf first) and its `key`, delivering renewals as
    /// `options` says.
    pub fn add(&self, chain: &ChainRef, key: &Key, options: &EntryOptions) -> Result<EntryId> {
        let opts = OptionsGuard::new(
            unsafe { sys::mayfly_entry_options_new() },
            sys::mayfly_entry_options_free,
        )?;
        let o = opts.ptr;
        unsafe {
            for c in &options.credentials {
                check_setter(
                    "credentials",
                    sys::mayfly_entry_options_add_credentials(o, c.as_ptr()),
                )?;
            }
            for f in &options.files {
                let cert = path_cstr("cert path", &f.cert_path)?;
                let key = path_cstr("key path", &f.key_path)?;
                check_setter(
                    "files",
                    sys::mayfly_entry_options_add_files(o, cert.as_ptr(), key.as_ptr()),
                )?;
            }
            for argv in &options.exec {
                let args: Vec<CString> =
                    argv.iter().map(|a| cstr("argument", a)).collect::<Result<_>>()?;
                let ptrs: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
                let argv_ptr = if ptrs.is_empty() { ptr::null() } else { ptrs.as_ptr() };
                check_setter("exec", sys::mayfly_entry_options_add_exec(o, argv_ptr, ptrs.len()))?;
            }
            for &(pid, signal) in &options.signals {
                check_setter("signal", sys::mayfly_entry_options_add_signal(o, pid, signal))?;
            }
            for f in &options.callbacks {
                let ud = into_user_data::<Arc<DeliverFn>>(f.clone());
                check_setter(
                    "callback",
                    sys::mayfly_entry_options_add_callback(
                        o,
                        Some(deliver_trampoline),
                        ud,
                        destroy_fn::<Arc<DeliverFn>>(),
                    ),
                )?;
            }
        }
        let mut id = 0u64;
        check(|err| unsafe {
            sys::mayfly_scheduler_add(self.as_ptr(), chain.as_ptr(), key.as_ptr(), o, &mut id, err)
        })?;
        if !options.credentials.is_empty() {
            self.lock_credentials().insert(id, options.credentials.clone());
            // A running scheduler may already have dropped the entry (an
            // expired certificate), before it was in the map to forget.
            let mut attempts: c_int = 0;
            let gone = check(|err| unsafe {
                sys::mayfly_scheduler_entry_info(
                    self.as_ptr(),
                    id,
                    ptr::null_mut(),
                    ptr::null_mut(),
                    &mut attempts,
                    err,
                )
            });
            if matches!(gone, Err(ref e) if e.code == Code::NotFound) {
                let gone = self.lock_credentials().remove(&id);
                drop(gone);
            }
        }
        Ok(EntryId(id))
    }

    /// Stops managing an entry. NotFound for an unknown id.
    pub fn remove(&self, id: EntryId) -> Result<()> {
        check(|err| unsafe { sys::mayfly_scheduler_remove(self.as_ptr(), id.0, err) })?;
        let gone = self.lock_credentials().remove(&id.0);
        drop(gone); // outside the lock: the last handle frees the credentials
        Ok(())
    }

    /// Replaces an entry's pair (renewed elsewhere).
    pub fn update(&self, id: EntryId, chain: &ChainRef, key: &Key) -> Result<()> {
        check(|err| unsafe {
            sys::mayfly_scheduler_update(self.as_ptr(), id.0, chain.as_ptr(), key.as_ptr(), err)
        })
    }

    /// An entry's current chain, next attempt and failures in a row.
    pub fn entry_info(&self, id: EntryId) -> Result<EntryInfo> {
        let mut chain: *mut sys::mayfly_chain_t = ptr::null_mut();
        let mut next = 0i64;
        let mut attempts: c_int = 0;
        check(|err| unsafe {
            sys::mayfly_scheduler_entry_info(
                self.as_ptr(),
                id.0,
                &mut chain,
                &mut next,
                &mut attempts,
                err,
            )
        })?;
        let chain = NonNull::new(chain)
            .map(Chain::from_nonnull)
            .ok_or_else(|| Error::new(Code::Internal, "mayfly returned no chain"))?;
        Ok(EntryInfo { chain, next_attempt: time_from_ms(next), attempts })
    }

    fn lock_credentials(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Vec<Credentials>>> {
        lock_map(&self.inner.credentials)
    }
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scheduler").field("entries", &self.len()).finish()
    }
}
