//! The CA server: step-ca's HTTPS API, in-process.

use std::ffi::{c_char, c_void};
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::Duration;

use mayfly_sys as sys;

use crate::ca::Ca;
use crate::error::{check_setter, Result};
use crate::util::{
    borrowed_text, c_bool, call_new, cstr, destroy_fn, guard, into_user_data, OptionsGuard,
};

type LogFn = dyn Fn(&str) + Send + Sync;

/// How to serve. Defaults: the CA config's address, workers by core count,
/// text logs to standard error.
#[derive(Clone, Default)]
pub struct ServerOptions {
    /// "127.0.0.1:0" picks a free port (see `Server::port`).
    pub address: Option<String>,
    pub worker_threads: Option<i32>,
    /// JSON log lines instead of text.
    pub json_logs: bool,
    /// Receives each log line (without newline) instead of standard error;
    /// called from server threads.
    pub log: Option<Arc<LogFn>>,
}

impl ServerOptions {
    pub fn with_address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }

    pub fn with_log(mut self, log: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.log = Some(Arc::new(log));
        self
    }
}

impl fmt::Debug for ServerOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerOptions")
            .field("address", &self.address)
            .field("worker_threads", &self.worker_threads)
            .field("json_logs", &self.json_logs)
            .field("log", &self.log.is_some())
            .finish()
    }
}

unsafe extern "C" fn log_trampoline(user_data: *mut c_void, line: *const c_char, len: usize) {
    let f = &*(user_data as *const Arc<LogFn>);
    let line = borrowed_text(line, len);
    guard("log", (), || f(&line));
}

/// A running CA server. It keeps its `Ca` alive (c.h: the CA must outlive
/// the server) and stops and frees itself on drop, letting requests in
/// flight finish for up to 10 seconds.
///
/// `Send` (it may be stopped or dropped on any thread) but not `Sync`: c.h
/// does not promise that server calls are thread-safe.
pub struct Server {
    ptr: NonNull<sys::mayfly_server_t>,
    // Dropped after the server is freed (fields drop after Drop::drop).
    ca: Ca,
    _not_sync: std::marker::PhantomData<std::cell::Cell<()>>,
}

// SAFETY: nothing in a server is tied to the thread that started it.
unsafe impl Send for Server {}

impl Server {
    /// Serves `ca` over HTTPS until `stop` or drop.
    pub fn start(ca: &Ca, options: &ServerOptions) -> Result<Server> {
        let opts = OptionsGuard::new(
            unsafe { sys::mayfly_server_options_new() },
            sys::mayfly_server_options_free,
        )?;
        let o = opts.ptr;
        unsafe {
            if let Some(a) = &options.address {
                let a = cstr("address", a)?;
                check_setter("address", sys::mayfly_server_options_set_address(o, a.as_ptr()))?;
            }
            if let Some(n) = options.worker_threads {
                check_setter(
                    "worker_threads",
                    sys::mayfly_server_options_set_worker_threads(o, n),
                )?;
            }
            check_setter(
                "json_logs",
                sys::mayfly_server_options_set_json_logs(o, c_bool(options.json_logs)),
            )?;
            if let Some(log) = &options.log {
                // The box is reclaimed by destroy_box, which mayfly calls
                // when the last of the options and the server lets go of it.
                let ud = into_user_data::<Arc<LogFn>>(log.clone());
                check_setter(
                    "log callback",
                    sys::mayfly_server_options_set_log_callback(
                        o,
                        Some(log_trampoline),
                        ud,
                        destroy_fn::<Arc<LogFn>>(),
                    ),
                )?;
            }
        }
        let ptr =
            call_new(|out, err| unsafe { sys::mayfly_server_start(ca.as_ptr(), o, out, err) })?;
        Ok(Server { ptr, ca: ca.clone(), _not_sync: std::marker::PhantomData })
    }

    /// The bound TCP port.
    pub fn port(&self) -> u16 {
        let p = unsafe { sys::mayfly_server_port(self.ptr.as_ptr()) };
        u16::try_from(p).unwrap_or(0)
    }

    /// Stops accepting, lets requests in flight finish for up to `grace`,
    /// then closes. Idempotent.
    pub fn stop(&self, grace: Duration) {
        let ms = i64::try_from(grace.as_millis()).unwrap_or(i64::MAX);
        unsafe { sys::mayfly_server_stop(self.ptr.as_ptr(), ms) }
    }

    /// The CA this server serves.
    pub fn ca(&self) -> &Ca {
        &self.ca
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        unsafe { sys::mayfly_server_free(self.ptr.as_ptr()) }
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("port", &self.port()).finish()
    }
}
