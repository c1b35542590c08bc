"""Exceptions raised by the package."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:  # pragma: no cover
    from ._decision import Decision


class FaultlineError(Exception):
    """An engine call failed.  `status` is the C status code (negative
    FL_E* value), `status_name` its name from fl_strerror."""

    def __init__(self, message: str, status: int = 0, status_name: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.status_name = status_name


class PolicyError(FaultlineError):
    """A policy could not be loaded, checked or rolled back.  `file`, `line`
    and `column` locate the fault when a policy file is at fault (empty / 0
    otherwise); `detail` is the engine's message without the location."""

    def __init__(self, message: str, status: int = 0, status_name: str = "", file: str = "",
                 line: int = 0, column: int = 0, detail: str = "") -> None:
        super().__init__(message, status, status_name)
        self.file = file
        self.line = line
        self.column = column
        self.detail = detail


class Failure(Exception):
    """A guarded call failed for good: the policy decided `fail` (or a retry
    was refused).  Raised chained to the last exception of the call
    (`__cause__`).  `message` is the user-facing text, `problem` the RFC 9457
    problem dict, `decision` the whole Decision."""

    def __init__(self, decision: "Decision") -> None:
        self.decision = decision
        self.message: str = decision.message or ""
        self.problem: dict[str, Any] = decision.problem
        self.category: str = decision.category
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.category}: {self.message}"


class Refused(Exception):
    """Admission refused a guarded attempt before it ran (an open breaker, an
    empty rate limiter, a full bulkhead).  The guard hands it to the policy
    like any other error; it is what a Failure is chained to when the policy
    then gives up.  `reason` is "breaker_open:NAME", "rate_limited:NAME" or
    "bulkhead_full:NAME"; `retry_after` the earliest sensible retry in
    seconds (None when unknown)."""

    def __init__(self, reason: str, retry_after: Optional[float]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
