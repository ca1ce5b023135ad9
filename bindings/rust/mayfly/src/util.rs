//! Conversions at the C boundary: text and bytes in and out, times, and the
//! plumbing of callbacks (boxed closures as user_data).

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::ptr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mayfly_sys as sys;

use crate::error::{check, Error, Result};

/// `s` as a C string; InvalidArgument if it holds a NUL.
pub(crate) fn cstr(what: &str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
}

pub(crate) fn opt_cstr(what: &str, s: Option<&str>) -> Result<Option<CString>> {
    s.map(|s| cstr(what, s)).transpose()
}

pub(crate) fn opt_ptr(s: &Option<CString>) -> *const c_char {
    s.as_ref().map_or(ptr::null(), |s| s.as_ptr())
}

pub(crate) fn path_cstr(what: &str, p: &Path) -> Result<CString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        CString::new(p.as_os_str().as_bytes())
            .map_err(|_| Error::invalid(format!("{what} contains a NUL byte")))
    }
    #[cfg(not(unix))]
    {
        let s = p.to_str().ok_or_else(|| Error::invalid(format!("{what} is not UTF-8")))?;
        cstr(what, s)
    }
}

/// The bytes of `(ptr, len)` as a slice; (NULL, 0) is allowed by c.h but a
/// Rust slice never has a NULL pointer, so an empty slice is passed as it is.
pub(crate) fn bytes_arg(b: &[u8]) -> (*const u8, usize) {
    (b.as_ptr(), b.len())
}

/// Copies and frees a text buffer mayfly returned.
pub(crate) unsafe fn take_text(p: *mut c_char, len: usize) -> String {
    if p.is_null() {
        return String::new();
    }
    let bytes = std::slice::from_raw_parts(p as *const u8, len);
    let s = String::from_utf8_lossy(bytes).into_owned();
    sys::mayfly_free(p as *mut c_void);
    s
}

/// Copies and frees a binary buffer mayfly returned.
pub(crate) unsafe fn take_bytes(p: *mut u8, len: usize) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    let v = std::slice::from_raw_parts(p, len).to_vec();
    sys::mayfly_free(p as *mut c_void);
    v
}

/// Runs a call with a text output (char** out, size_t* out_len, err).
pub(crate) fn call_text(
    f: impl FnOnce(*mut *mut c_char, *mut usize, *mut *mut sys::mayfly_error_t) -> c_int,
) -> Result<String> {
    let mut out: *mut c_char = ptr::null_mut();
    let mut len = 0usize;
    check(|err| f(&mut out, &mut len, err))?;
    Ok(unsafe { take_text(out, len) })
}

/// Runs a call with a binary output (uint8_t** out, size_t* out_len, err).
pub(crate) fn call_bytes(
    f: impl FnOnce(*mut *mut u8, *mut usize, *mut *mut sys::mayfly_error_t) -> c_int,
) -> Result<Vec<u8>> {
    let mut out: *mut u8 = ptr::null_mut();
    let mut len = 0usize;
    check(|err| f(&mut out, &mut len, err))?;
    Ok(unsafe { take_bytes(out, len) })
}

/// Runs a call that makes an object (T** out, err).
pub(crate) fn call_new<T>(
    f: impl FnOnce(*mut *mut T, *mut *mut sys::mayfly_error_t) -> c_int,
) -> Result<ptr::NonNull<T>> {
    let mut out: *mut T = ptr::null_mut();
    check(|err| f(&mut out, err))?;
    ptr::NonNull::new(out)
        .ok_or_else(|| Error::new(crate::Code::Internal, "mayfly returned success but no object"))
}

/// Milliseconds since the epoch (c.h's times) as a SystemTime.
pub(crate) fn time_from_ms(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// A SystemTime as milliseconds since the epoch, saturating.
pub(crate) fn time_to_ms(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis()).map_or(i64::MIN, |v| -v),
    }
}

/// A duration in c.h's milliseconds. InvalidArgument for one that rounds to
/// 0 ms (0 means "default" or "inherit" to mayfly, never "immediately").
pub(crate) fn duration_ms(what: &str, d: Duration) -> Result<i64> {
    let ms = d.as_millis();
    if ms == 0 {
        return Err(Error::invalid(format!("{what} must be at least 1 ms")));
    }
    i64::try_from(ms).map_err(|_| Error::invalid(format!("{what} is too long")))
}

pub(crate) fn c_bool(b: bool) -> c_int {
    c_int::from(b)
}

// ---- Callbacks ---------------------------------------------------------
//
// A closure is boxed and leaked into user_data; mayfly calls the destroy
// trampoline exactly once (when the object holding the callback is freed, or
// at once when registering it fails), which drops the box. Trampolines catch
// panics: unwinding into C is undefined behaviour.

thread_local! {
    static IN_CALLBACK: Cell<usize> = const { Cell::new(0) };
}

/// Marks the current thread as running a mayfly callback for its lifetime.
pub(crate) struct CallbackScope(());

impl CallbackScope {
    pub(crate) fn enter() -> CallbackScope {
        IN_CALLBACK.with(|c| c.set(c.get() + 1));
        CallbackScope(())
    }
}

impl Drop for CallbackScope {
    fn drop(&mut self) {
        IN_CALLBACK.with(|c| c.set(c.get() - 1));
    }
}

/// Whether this thread is inside a mayfly callback (so freeing the object
/// that runs it would deadlock or worse).
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.with(|c| c.get() > 0)
}

/// Runs a host closure from a trampoline: panics are caught and reported on
/// standard error, and `on_panic` is returned instead.
pub(crate) fn guard<R>(what: &str, on_panic: R, f: impl FnOnce() -> R) -> R {
    let _scope = CallbackScope::enter();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            eprintln!("mayfly: a {what} callback panicked; the panic was caught");
            on_panic
        }
    }
}

pub(crate) fn into_user_data<T: Send + Sync + 'static>(v: T) -> *mut c_void {
    Box::into_raw(Box::new(v)) as *mut c_void
}

/// The destroy trampoline for a user_data made by `into_user_data::<T>`.
pub(crate) unsafe extern "C" fn destroy_box<T>(user_data: *mut c_void) {
    if user_data.is_null() {
        return;
    }
    let boxed = Box::from_raw(user_data as *mut T);
    guard("destroy", (), move || drop(boxed));
}

pub(crate) fn destroy_fn<T>() -> sys::mayfly_destroy_fn {
    Some(destroy_box::<T> as unsafe extern "C" fn(*mut c_void))
}

/// A borrowed (ptr, len) text from a callback.
pub(crate) unsafe fn borrowed_text<'a>(p: *const c_char, len: usize) -> std::borrow::Cow<'a, str> {
    if p.is_null() {
        return std::borrow::Cow::Borrowed("");
    }
    String::from_utf8_lossy(std::slice::from_raw_parts(p as *const u8, len))
}

/// Frees a C options object when the call that built it returns.
pub(crate) struct OptionsGuard<T> {
    pub(crate) ptr: *mut T,
    free: unsafe extern "C" fn(*mut T),
}

impl<T> OptionsGuard<T> {
    /// Wraps the result of a mayfly_*_options_new call (NULL only when out
    /// of memory).
    pub(crate) fn new(ptr: *mut T, free: unsafe extern "C" fn(*mut T)) -> Result<OptionsGuard<T>> {
        if ptr.is_null() {
            return Err(Error::new(crate::Code::ResourceExhausted, "out of memory"));
        }
        Ok(OptionsGuard { ptr, free })
    }
}

impl<T> Drop for OptionsGuard<T> {
    fn drop(&mut self) {
        unsafe { (self.free)(self.ptr) }
    }
}
