//! Errors: every fallible call returns `Result<T, Error>`, where the error
//! carries mayfly's status code (absl::StatusCode's numbers) and message.

use std::ffi::{c_int, CStr};
use std::fmt;

use mayfly_sys as sys;

/// The status code of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    Cancelled,
    /// Also used for a code this crate does not know.
    Unknown,
    /// Bad input: a malformed PEM, a NULL or empty required value, a
    /// validity the provisioner does not allow.
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    /// The CA refused: names the token does not cover.
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    /// The CA did not answer, or answered 5xx.
    Unavailable,
    DataLoss,
    /// The CA refused: a bad, expired or used token; a revoked certificate.
    Unauthenticated,
}

impl Code {
    /// The code for a raw MAYFLY_* number (not MAYFLY_OK).
    pub fn from_raw(code: c_int) -> Code {
        match code {
            sys::MAYFLY_CANCELLED => Code::Cancelled,
            sys::MAYFLY_INVALID_ARGUMENT => Code::InvalidArgument,
            sys::MAYFLY_DEADLINE_EXCEEDED => Code::DeadlineExceeded,
            sys::MAYFLY_NOT_FOUND => Code::NotFound,
            sys::MAYFLY_ALREADY_EXISTS => Code::AlreadyExists,
            sys::MAYFLY_PERMISSION_DENIED => Code::PermissionDenied,
            sys::MAYFLY_RESOURCE_EXHAUSTED => Code::ResourceExhausted,
            sys::MAYFLY_FAILED_PRECONDITION => Code::FailedPrecondition,
            sys::MAYFLY_ABORTED => Code::Aborted,
            sys::MAYFLY_OUT_OF_RANGE => Code::OutOfRange,
            sys::MAYFLY_UNIMPLEMENTED => Code::Unimplemented,
            sys::MAYFLY_INTERNAL => Code::Internal,
            sys::MAYFLY_UNAVAILABLE => Code::Unavailable,
            sys::MAYFLY_DATA_LOSS => Code::DataLoss,
            sys::MAYFLY_UNAUTHENTICATED => Code::Unauthenticated,
            _ => Code::Unknown,
        }
    }

    /// The MAYFLY_* number of this code.
    pub fn raw(self) -> c_int {
        match self {
            Code::Cancelled => sys::MAYFLY_CANCELLED,
            Code::Unknown => sys::MAYFLY_UNKNOWN,
            Code::InvalidArgument => sys::MAYFLY_INVALID_ARGUMENT,
            Code::DeadlineExceeded => sys::MAYFLY_DEADLINE_EXCEEDED,
            Code::NotFound => sys::MAYFLY_NOT_FOUND,
            Code::AlreadyExists => sys::MAYFLY_ALREADY_EXISTS,
            Code::PermissionDenied => sys::MAYFLY_PERMISSION_DENIED,
            Code::ResourceExhausted => sys::MAYFLY_RESOURCE_EXHAUSTED,
            Code::FailedPrecondition => sys::MAYFLY_FAILED_PRECONDITION,
            Code::Aborted => sys::MAYFLY_ABORTED,
            Code::OutOfRange => sys::MAYFLY_OUT_OF_RANGE,
            Code::Unimplemented => sys::MAYFLY_UNIMPLEMENTED,
            Code::Internal => sys::MAYFLY_INTERNAL,
            Code::Unavailable => sys::MAYFLY_UNAVAILABLE,
            Code::DataLoss => sys::MAYFLY_DATA_LOSS,
            Code::Unauthenticated => sys::MAYFLY_UNAUTHENTICATED,
        }
    }

    /// The name absl uses ("INVALID_ARGUMENT").
    pub fn name(self) -> &'static str {
        match self {
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed call: its status code and mayfly's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
}

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    pub fn code(&self) -> Code {
        self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(Code::InvalidArgument, message)
    }

    /// Takes the result of a C call: `rc` and the error object it may have
    /// written (freed here).
    pub(crate) unsafe fn from_call(rc: c_int, err: *mut sys::mayfly_error_t) -> Error {
        if err.is_null() {
            return Error::new(Code::from_raw(rc), format!("mayfly call failed with status {rc}"));
        }
        let code = Code::from_raw(sys::mayfly_error_code(err));
        let message = CStr::from_ptr(sys::mayfly_error_message(err)).to_string_lossy().into_owned();
        sys::mayfly_error_free(err);
        Error { code, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Runs a fallible C call with an error out-parameter.
pub(crate) fn check(f: impl FnOnce(*mut *mut sys::mayfly_error_t) -> c_int) -> Result<()> {
    let mut err: *mut sys::mayfly_error_t = std::ptr::null_mut();
    let rc = f(&mut err);
    if rc == sys::MAYFLY_OK {
        // c.h writes *err only on failure; free one anyway rather than leak.
        unsafe { sys::mayfly_error_free(err) };
        Ok(())
    } else {
        Err(unsafe { Error::from_call(rc, err) })
    }
}

/// Runs a C setter that returns a code but has no error object.
pub(crate) fn check_setter(what: &str, rc: c_int) -> Result<()> {
    if rc == sys::MAYFLY_OK {
        Ok(())
    } else {
        Err(Error::new(Code::from_raw(rc), format!("mayfly rejected {what}")))
    }
}
