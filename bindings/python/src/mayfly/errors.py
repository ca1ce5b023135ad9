"""Exceptions raised by mayfly, one class per status code.

Every failed C call returns an absl::StatusCode number and a message; the
binding raises the subclass of :class:`MayflyError` for that number, so a
caller can write ``except mayfly.Unauthenticated:`` for "the CA refused".
"""

from __future__ import annotations

import enum
from typing import Dict, Type


class StatusCode(enum.IntEnum):
    """The status codes of c.h (the numbers of absl::StatusCode)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class MayflyError(Exception):
    """A failed mayfly call: ``code`` is the status, ``message`` the reason."""

    code: StatusCode = StatusCode.UNKNOWN

    def __init__(self, message: str, code: "StatusCode | int | None" = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            try:
                self.code = StatusCode(code)
            except ValueError:
                self.code = StatusCode.UNKNOWN

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class Cancelled(MayflyError):
    code = StatusCode.CANCELLED


class Unknown(MayflyError):
    code = StatusCode.UNKNOWN


class InvalidArgument(MayflyError, ValueError):
    code = StatusCode.INVALID_ARGUMENT


class DeadlineExceeded(MayflyError):
    code = StatusCode.DEADLINE_EXCEEDED


class NotFound(MayflyError):
    code = StatusCode.NOT_FOUND


class AlreadyExists(MayflyError):
    code = StatusCode.ALREADY_EXISTS


class PermissionDenied(MayflyError):
    code = StatusCode.PERMISSION_DENIED


class ResourceExhausted(MayflyError):
    code = StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(MayflyError):
    code = StatusCode.FAILED_PRECONDITION


class Aborted(MayflyError):
    code = StatusCode.ABORTED


class OutOfRange(MayflyError):
    code = StatusCode.OUT_OF_RANGE


class Unimplemented(MayflyError):
    code = StatusCode.UNIMPLEMENTED


class Internal(MayflyError):
    code = StatusCode.INTERNAL


class Unavailable(MayflyError):
    code = StatusCode.UNAVAILABLE


class DataLoss(MayflyError):
    code = StatusCode.DATA_LOSS


class Unauthenticated(MayflyError):
    code = StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[int, Type[MayflyError]] = {
    cls.code: cls
    for cls in (
        Cancelled,
        Unknown,
        InvalidArgument,
        DeadlineExceeded,
        NotFound,
        AlreadyExists,
        PermissionDenied,
        ResourceExhausted,
        FailedPrecondition,
        Aborted,
        OutOfRange,
        Unimplemented,
        Internal,
        Unavailable,
        DataLoss,
        Unauthenticated,
    )
}


def error_for(code: int, message: str) -> MayflyError:
    """Returns the exception for a status ``code`` (MayflyError if unknown)."""
    cls = _BY_CODE.get(code, MayflyError)
    return cls(message, code)


__all__ = [
    "StatusCode",
    "MayflyError",
    "error_for",
] + [cls.__name__ for cls in _BY_CODE.values()]
