"""AllotError: the one exception the client raises for a failed call, and
its subclasses for the two refusals of an authenticated server."""

import grpc

__all__ = ["AllotError", "UnauthenticatedError", "PermissionDeniedError", "StatusCode"]

StatusCode = grpc.StatusCode


class AllotError(Exception):
    """A call failed. code is a grpc.StatusCode (also exported as
    allot_client.StatusCode), message the server's text, which names the
    offending field ("plan.rules[1].allowance: must be > 0").

    Arguments the client cannot even send (a malformed date) raise it too,
    with INVALID_ARGUMENT, before anything is sent.

    Two codes raise a subclass (still an AllotError, with the same code):
    UNAUTHENTICATED -> UnauthenticatedError, PERMISSION_DENIED ->
    PermissionDeniedError. AllotError.from_code and from_rpc pick it."""

    def __init__(self, code, message):
        super().__init__(code, message)
        self.code = code
        self.message = message or ""

    @property
    def name(self):
        """The status name: 'NOT_FOUND', 'UNAVAILABLE', ..."""
        return self.code.name

    def __str__(self):
        return "%s: %s" % (self.code.name, self.message) if self.message else self.code.name

    def __repr__(self):
        return "%s(%s, %r)" % (type(self).__name__, self.code, self.message)

    @classmethod
    def from_code(cls, code, message=""):
        """AllotError(code, message), or the subclass for code."""
        return _BY_CODE.get(code, AllotError)(code, message)

    @classmethod
    def from_rpc(cls, err):
        """From a grpc.RpcError (a grpc.Call)."""
        code = err.code() if hasattr(err, "code") else None
        details = err.details() if hasattr(err, "details") else None
        if not isinstance(code, grpc.StatusCode):
            code = grpc.StatusCode.UNKNOWN
        return cls.from_code(code, details or "")


class UnauthenticatedError(AllotError):
    """UNAUTHENTICATED: no credential, or one the server does not accept
    (an unknown token, a JWT that does not verify or has expired). The
    message says which, never echoing the credential."""


class PermissionDeniedError(AllotError):
    """PERMISSION_DENIED: a valid credential whose role may not call the
    method ("role reader may not call PriceInvoice"), or a portal JWT asking
    for another member."""


_BY_CODE = {
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
}
