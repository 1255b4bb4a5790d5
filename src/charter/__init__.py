"""Charter makes a company's privacy policy executable.

The public Python API: ``Charter`` (open one with ``Charter.open()``), its settings and errors.
"""

from charter.config import Settings
from charter.domain.errors import (
    CharterError,
    Forbidden,
    InvalidInput,
    InvalidValue,
    ManifestError,
    NotFound,
    PaymentCardData,
    Unauthorized,
    UndeclaredField,
)
from charter.facade import Charter

__all__ = [
    "Charter",
    "CharterError",
    "Forbidden",
    "InvalidInput",
    "InvalidValue",
    "ManifestError",
    "NotFound",
    "PaymentCardData",
    "Settings",
    "Unauthorized",
    "UndeclaredField",
]
__version__ = "0.1.0"
