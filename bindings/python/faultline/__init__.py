"""faultline for Python: the error-policy engine in-process (docs/python.md).

    import faultline
    engine = faultline.Engine()            # the stock pack
    d = engine.decide(exc, op="payments.charge")
    d.category, d.action, d.delay_ms, d.message

    @engine.guard(op="payments.charge", key="stripe")
    async def charge(amount, *, timeout=2.0): ...
"""
from ._decision import Decision
from ._engine import Engine, Resources, Storage, StorageError, VersionInfo, stock_policy_dir
from ._errors import Failure, FaultlineError, PolicyError, Refused
from ._events import format_stack
from ._ffi import LIBRARY_PATH
from ._guard import Guard

__version__ = "0.1.0"

# Public classes are named after the package ("faultline.Refused" is also the
# event code of an admission refusal, which policies can match).
for _c in (Decision, Engine, Failure, FaultlineError, Guard, PolicyError, Refused, Resources,
           Storage, StorageError, VersionInfo):
    _c.__module__ = "faultline"
del _c

__all__ = ["Decision", "Engine", "Failure", "FaultlineError", "Guard", "PolicyError", "Refused",
           "Resources", "Storage", "StorageError", "VersionInfo", "format_stack", "library_version",
           "stock_policy_dir", "LIBRARY_PATH", "__version__"]


def library_version() -> str:
    """Version of the libfaultline actually loaded."""
    from ._ffi import ffi, lib
    return ffi.string(lib.fl_libversion()).decode()
