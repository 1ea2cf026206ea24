"""Finds and imports the grpcio stubs generated from proto/ at build time.

The stubs are never committed: the CMake target allot_client_gen writes them to
<build>/clients/python/gen. They are looked up, first match wins:

  1. `allot.v1.allot_pb2` already importable (the caller put a stub directory
     on sys.path, or imported it already);
  2. $ALLOT_CLIENT_GEN;
  3. $ALLOT_PYGEN (the integration tests' stub directory; same layout);
  4. <repo>/build/clients/python/gen (the build tree scripts/run makes).

grpc/health/v1/health_pb2.py is loaded from its file: a package named `grpc`
on sys.path would shadow the grpc library.
"""

import importlib
import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_REPO = os.path.normpath(os.path.join(_HERE, "..", "..", ".."))
DEFAULT_GEN = os.path.join(_REPO, "build", "clients", "python", "gen")


class StubsNotFound(ImportError):
    pass


def _has_stubs(d):
    return bool(d) and os.path.isfile(os.path.join(d, "allot", "v1", "allot_pb2.py"))


def candidate_dirs():
    return [d for d in (os.environ.get("ALLOT_CLIENT_GEN"), os.environ.get("ALLOT_PYGEN"),
                        DEFAULT_GEN) if d]


def add_gen_dir(d):
    """Puts d (a stub directory) first on sys.path. For callers that know
    where the stubs are (portal.py --gen); call before importing allot_client.api."""
    if not _has_stubs(d):
        raise StubsNotFound("no generated stubs in %s (want allot/v1/allot_pb2.py)" % d)
    d = os.path.abspath(d)
    if d not in sys.path:
        sys.path.insert(0, d)


def _find_gen_dir():
    """The directory the allot package was imported from, for health_pb2."""
    mod = sys.modules.get("allot.v1.allot_pb2")
    if mod is not None and getattr(mod, "__file__", None):
        return os.path.normpath(os.path.join(os.path.dirname(mod.__file__), "..", ".."))
    return None


def _import_allot():
    try:
        spec = importlib.util.find_spec("allot.v1.allot_pb2")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        for d in candidate_dirs():
            if _has_stubs(d):
                add_gen_dir(d)
                break
        else:
            raise StubsNotFound(
                "allot_client: the generated grpcio stubs were not found (looked in "
                "$ALLOT_CLIENT_GEN, $ALLOT_PYGEN and %s). Build them with "
                "`cmake --build build --target allot_client_gen` and/or set "
                "ALLOT_CLIENT_GEN=<build>/clients/python/gen." % DEFAULT_GEN)
    pb = importlib.import_module("allot.v1.allot_pb2")
    pb_grpc = importlib.import_module("allot.v1.allot_pb2_grpc")
    return pb, pb_grpc


def _import_health():
    gen = _find_gen_dir()
    path = os.path.join(gen or "", "grpc", "health", "v1", "health_pb2.py")
    name = "allot_client._health_pb2"
    if name in sys.modules:
        return sys.modules[name]
    if not os.path.isfile(path):
        raise StubsNotFound("allot_client: %s is missing (rebuild allot_client_gen)" % path)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[name] = mod
    return mod


# The grpc library itself, imported before any stub directory joins sys.path.
import grpc  # noqa: E402

GRPC_VERSION = grpc.__version__

pb, pb_grpc = _import_allot()
health_pb2 = _import_health()
