"""AllotError: the one exception the client raises for a failed call."""

import grpc

__all__ = ["AllotError", "StatusCode"]

StatusCode = grpc.StatusCode


class AllotError(Exception):
    """A call failed. code is a grpc.StatusCode (also exported as
    allot_client.StatusCode), message the server's text, which names the
    offending field ("plan.rules[1].allowance: must be > 0").

    Arguments the client cannot even send (a malformed date) raise it too,
    with INVALID_ARGUMENT, before anything is sent."""

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
        return "AllotError(%s, %r)" % (self.code, self.message)

    @classmethod
    def from_rpc(cls, err):
        """From a grpc.RpcError (a grpc.Call)."""
        code = err.code() if hasattr(err, "code") else None
        details = err.details() if hasattr(err, "details") else None
        if not isinstance(code, grpc.StatusCode):
            code = grpc.StatusCode.UNKNOWN
        return cls(code, details or "")
