package mayfly

/*
#include "mayfly/c.h"
*/
import "C"

import (
	"errors"
	"strconv"
)

// Code is a mayfly status code: the numbers of absl::StatusCode, as the
// MAYFLY_* constants of c.h define them.
type Code int

// The status codes.
const (
	CodeOK                 Code = C.MAYFLY_OK
	CodeCancelled          Code = C.MAYFLY_CANCELLED
	CodeUnknown            Code = C.MAYFLY_UNKNOWN
	CodeInvalidArgument    Code = C.MAYFLY_INVALID_ARGUMENT
	CodeDeadlineExceeded   Code = C.MAYFLY_DEADLINE_EXCEEDED
	CodeNotFound           Code = C.MAYFLY_NOT_FOUND
	CodeAlreadyExists      Code = C.MAYFLY_ALREADY_EXISTS
	CodePermissionDenied   Code = C.MAYFLY_PERMISSION_DENIED
	CodeResourceExhausted  Code = C.MAYFLY_RESOURCE_EXHAUSTED
	CodeFailedPrecondition Code = C.MAYFLY_FAILED_PRECONDITION
	CodeAborted            Code = C.MAYFLY_ABORTED
	CodeOutOfRange         Code = C.MAYFLY_OUT_OF_RANGE
	CodeUnimplemented      Code = C.MAYFLY_UNIMPLEMENTED
	CodeInternal           Code = C.MAYFLY_INTERNAL
	CodeUnavailable        Code = C.MAYFLY_UNAVAILABLE
	CodeDataLoss           Code = C.MAYFLY_DATA_LOSS
	CodeUnauthenticated    Code = C.MAYFLY_UNAUTHENTICATED
)

var codeNames = [...]string{
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
}

// String returns the code's name as absl spells it ("UNAUTHENTICATED").
func (c Code) String() string {
	if c >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "CODE(" + strconv.Itoa(int(c)) + ")"
}

// Error is a failed mayfly call: its status code and message.
type Error struct {
	Code    Code
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "mayfly: " + e.Code.String()
	}
	return "mayfly: " + e.Code.String() + ": " + e.Message
}

// Is reports whether target is an *Error with the same code and either no
// message (the sentinels below) or the same message, so that
// errors.Is(err, mayfly.ErrUnauthenticated) tests the code alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
}

// Sentinels for errors.Is, one per code.
var (
	ErrCancelled          = &Error{Code: CodeCancelled}
	ErrUnknown            = &Error{Code: CodeUnknown}
	ErrInvalidArgument    = &Error{Code: CodeInvalidArgument}
	ErrDeadlineExceeded   = &Error{Code: CodeDeadlineExceeded}
	ErrNotFound           = &Error{Code: CodeNotFound}
	ErrAlreadyExists      = &Error{Code: CodeAlreadyExists}
	ErrPermissionDenied   = &Error{Code: CodePermissionDenied}
	ErrResourceExhausted  = &Error{Code: CodeResourceExhausted}
	ErrFailedPrecondition = &Error{Code: CodeFailedPrecondition}
	ErrAborted            = &Error{Code: CodeAborted}
	ErrOutOfRange         = &Error{Code: CodeOutOfRange}
	ErrUnimplemented      = &Error{Code: CodeUnimplemented}
	ErrInternal           = &Error{Code: CodeInternal}
	ErrUnavailable        = &Error{Code: CodeUnavailable}
	ErrDataLoss           = &Error{Code: CodeDataLoss}
	ErrUnauthenticated    = &Error{Code: CodeUnauthenticated}
)

// ErrClosed is returned by a method of a handle after its Close.
var ErrClosed = errors.New("mayfly: use of a closed handle")

// check turns a C status and error object into a Go error, releasing the
// error object.
func check(rc C.int, cerr *C.mayfly_error_t) error {
	if rc == C.MAYFLY_OK {
		C.mayfly_error_free(cerr)
		return nil
	}
	e := &Error{Code: Code(rc)}
	if cerr != nil {
		e.Message = C.GoString(C.mayfly_error_message(cerr))
		C.mayfly_error_free(cerr)
	}
	return e
}

// invalid is an INVALID_ARGUMENT error raised by the binding itself.
func invalid(msg string) error {
	return &Error{Code: CodeInvalidArgument, Message: msg}
}
