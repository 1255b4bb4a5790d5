"""The one error tree of Charter.

Every refusal Charter makes is a ``CharterError`` with a stable ``code`` (part of the public API)
and a message that names what is wrong without echoing personal data. The API maps the classes
to HTTP statuses once (``charter.api.errors``); the CLI maps them to exit codes once.

    CharterError
    ├── InvalidInput            422  the request is well-formed JSON but breaks a rule
    │   ├── UndeclaredField     422  undeclared_field: minimisation, GDPR Art. 5(1)(c)
    │   ├── PaymentCardData     422  payment_card_data: card numbers are never stored
    │   └── InvalidValue        422  invalid_value: wrong type or format
    ├── NotFound                404  unknown touchpoint, brand, subject ...
    ├── Conflict                409  the call rests on something that changed since (reload)
    ├── Unauthorized            401  missing or unknown token
    ├── Forbidden               403  token valid but its role may not do this
    ├── RateLimited             429  a public endpoint called too often from one place
    └── ManifestError           manifest cannot be loaded (file, line and key named)
"""

from __future__ import annotations


class CharterError(Exception):
    code: str = "charter_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidInput(CharterError):
    code = "invalid_input"


class UndeclaredField(InvalidInput):
    code = "undeclared_field"


class PaymentCardData(InvalidInput):
    code = "payment_card_data"


class InvalidValue(InvalidInput):
    code = "invalid_value"


class NotFound(CharterError):
    code = "not_found"


class Conflict(CharterError):
    code = "conflict"


class Unauthorized(CharterError):
    code = "unauthorized"


class Forbidden(CharterError):
    code = "forbidden"


class RateLimited(CharterError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ManifestError(CharterError):
    """The manifest cannot be loaded; ``problems`` lists every fault with file, line and key."""

    code = "manifest_invalid"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
