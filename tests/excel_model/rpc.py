"""COM across processes: the model's Excel objects served to a RunPython child on loopback.

Out-of-process COM is a remote call per property read, assignment and method call, with
objects handed over as references; this is the same over multiprocessing.connection
(pickle, an authkey, 127.0.0.1 only). The parent serves its COM objects by handle; the child
holds proxies whose every member access is one request. Exceptions come back as the same type
(AttributeError, the model's NotImplementedError, pywin32's com_error), so the child sees what
an unknown call would raise in process.
"""

from __future__ import annotations

import itertools
import os
import threading
from multiprocessing.connection import Client, Listener

from .windows_xlwings import com_error

_RERAISED = {"AttributeError": AttributeError, "KeyError": KeyError, "IndexError": IndexError,
             "ValueError": ValueError, "TypeError": TypeError, "com_error": com_error}


class ModelGapInChild(NotImplementedError):
    pass


def _is_com(obj) -> bool:
    from .com import ComObject
    return isinstance(obj, ComObject) or type(obj).__name__ == "_OleObject"


class RpcServer:
    """Serves COM objects to one child connection at a time, each request on the model's objects."""

    def __init__(self, root):
        self.authkey = os.urandom(16)
        self.listener = Listener(("127.0.0.1", 0), authkey=self.authkey)
        self._objects: dict[int, object] = {}
        self._ids = itertools.count(1)
        self.root_handle = self._handle(root)
        self._thread = threading.Thread(target=self._serve, name="excel-model-com", daemon=True)
        self._stopping = False
        self._thread.start()

    def serve(self, obj) -> int:
        """Serve another COM object; returns the handle a child names it by."""
        return self._handle(obj)

    @property
    def address(self) -> str:
        host, port = self.listener.address
        return f"{host}:{port}:{self.authkey.hex()}"

    def _handle(self, obj) -> int:
        handle = next(self._ids)
        self._objects[handle] = obj
        return handle

    def _encode(self, value):
        if _is_com(value):
            return ("obj", self._handle(value))
        if callable(value) and _is_com(getattr(value, "__self__", None)):
            return ("method", self._handle(value.__self__), value.__name__)
        if isinstance(value, (list, tuple)):
            return ("seq", type(value) is tuple, [self._encode(v) for v in value])
        return ("val", value)

    def _decode(self, value):
        kind = value[0]
        if kind == "obj":
            return self._objects[value[1]]
        if kind == "seq":
            items = [self._decode(v) for v in value[2]]
            return tuple(items) if value[1] else items
        return value[1]

    def _serve(self):
        while not self._stopping:
            try:
                connection = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(connection,), daemon=True).start()

    def _session(self, connection):
        with connection:
            while True:
                try:
                    request = connection.recv()
                except (EOFError, OSError):
                    return
                connection.send(self._answer(*request))

    def _answer(self, op, handle, name, args, kwargs):
        try:
            target = self._objects[handle]
            args = [self._decode(a) for a in args]
            kwargs = {k: self._decode(v) for k, v in kwargs.items()}
            if op == "get":
                result = getattr(target, name)
            elif op == "set":
                setattr(target, name, args[0])
                result = None
            elif op == "call":
                result = (getattr(target, name) if name else target)(*args, **kwargs)
            elif op == "iter":
                result = list(target)
            else:
                raise ValueError(op)
            return ("ok", self._encode(result))
        except Exception as error:  # sent back and raised in the child
            return ("error", type(error).__name__, [repr(a) if not isinstance(a, (str, int, type(None), tuple)) else a
                                                   for a in error.args], str(error))

    def close(self):
        self._stopping = True
        self.listener.close()


class RemoteCom:
    """The child's side: a connection and the proxies over it."""

    def __init__(self, address: str):
        host, port, key = address.split(":")
        self.connection = Client((host, int(port)), authkey=bytes.fromhex(key))
        self.lock = threading.Lock()

    def request(self, op, handle, name=None, args=(), kwargs=None):
        message = (op, handle, name, [self._encode(a) for a in args],
                   {k: self._encode(v) for k, v in (kwargs or {}).items()})
        with self.lock:
            self.connection.send(message)
            answer = self.connection.recv()
        if answer[0] == "error":
            _, kind, error_args, text = answer
            if kind in _RERAISED:
                raise _RERAISED[kind](*error_args)
            if kind in ("ModelGap", "NotImplementedError"):
                raise ModelGapInChild(text)
            raise RuntimeError(f"{kind} in the Excel process: {text}")
        return self._decode(answer[1])

    def _encode(self, value):
        if isinstance(value, Proxy):
            return ("obj", object.__getattribute__(value, "_handle"))
        if isinstance(value, (list, tuple)):
            return ("seq", type(value) is tuple, [self._encode(v) for v in value])
        return ("val", value)

    def _decode(self, value):
        kind = value[0]
        if kind == "obj":
            return Proxy(self, value[1])
        if kind == "method":
            return RemoteMethod(self, value[1], value[2])
        if kind == "seq":
            items = [self._decode(v) for v in value[2]]
            return tuple(items) if value[1] else items
        return value[1]


class RemoteMethod:
    def __init__(self, remote, handle, name):
        self._remote, self._handle, self._name = remote, handle, name

    def __call__(self, *args, **kwargs):
        return self._remote.request("call", self._handle, self._name, args, kwargs)


class Proxy:
    """A COM object of the Excel process."""

    def __init__(self, remote: RemoteCom, handle: int):
        object.__setattr__(self, "_remote", remote)
        object.__setattr__(self, "_handle", handle)

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self._remote.request("get", self._handle, name)

    def __setattr__(self, name, value):
        self._remote.request("set", self._handle, name, (value,))

    def __call__(self, *args, **kwargs):
        return self._remote.request("call", self._handle, None, args, kwargs)

    def __iter__(self):
        return iter(self._remote.request("iter", self._handle))

    def __repr__(self):
        return f"<COM proxy {self._handle}>"
