"""One asyncio event loop in one background daemon thread, started on first use.

The embedded layer's public methods are synchronous and may be called from
any thread; they hand coroutines to this loop and wait for the result with a
deadline (:meth:`LoopThread.run`), or, when nothing needs to come back, hand
it a callback and go on (:meth:`LoopThread.post`). Stopping cancels what is
left, shuts the loop down and joins the thread, so nothing outlives the layer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from wirefault.errors import FaultLayerError

__all__ = ["LoopThread"]

T = TypeVar("T")

_numbers = itertools.count(1)


class LoopThread:
    """A lazily started event loop thread.

    Args:
        name: prefix of the thread's name (``wirefault-embedded-N``).
    """

    def __init__(self, name: str = "wirefault-embedded") -> None:
        self._name = f"{name}-{next(_numbers)}"
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False

    @property
    def started(self) -> bool:
        """Whether the thread is running."""
        return self._thread is not None and self._thread.is_alive()

    def _ensure(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._stopped:
                raise FaultLayerError(
                    "this embedded fault layer is closed; open a new one to proxy again"
                )
            if self._loop is None:
                loop = asyncio.new_event_loop()
                ready = threading.Event()
                thread = threading.Thread(
                    target=self._main, args=(loop, ready), name=self._name, daemon=True
                )
                thread.start()
                if not ready.wait(10.0):
                    raise FaultLayerError("the embedded proxy's event loop did not start in 10 s")
                self._loop, self._thread = loop, thread
            return self._loop

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        try:
            loop.run_forever()
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def run(
        self,
        factory: Callable[[], Coroutine[Any, Any, T]],
        *,
        timeout: float,
        what: str,
    ) -> T:
        """Run ``factory()`` on the loop and return its result.

        Args:
            factory: makes the coroutine (called only once the loop is sure to run it).
            timeout: seconds to wait for the result.
            what: what is being done, for error messages (``"add toxic latency"``).

        Raises:
            FaultLayerError: the layer is closed, the call came from the loop's
                own thread, the deadline passed, or the coroutine raised an OSError
                (or a FaultLayerError, passed through).
        """
        loop = self._ensure()
        if threading.current_thread() is self._thread:
            raise FaultLayerError(
                f"cannot {what} from the embedded proxy's own thread; call it from another thread"
            )
        coro = factory()
        try:
            future = asyncio.run_coroutine_threadsafe(coro, loop)
        except RuntimeError as exc:  # the loop stopped between _ensure() and here
            coro.close()
            raise FaultLayerError(f"cannot {what}: the embedded proxy has stopped") from exc
        done, _ = concurrent.futures.wait([future], timeout=timeout)
        if not done:
            future.cancel()
            raise FaultLayerError(
                f"the embedded proxy did not {what} within {timeout:g} s; "
                "the upstream or a peer may be stuck — close the layer and retry"
            )
        try:
            return future.result()
        except FaultLayerError:
            raise
        except OSError as exc:
            raise FaultLayerError(f"the embedded proxy could not {what}: {exc}") from exc

    def post(self, callback: Callable[[], object], *, what: str) -> None:
        """Have the loop call ``callback()`` soon, after what was handed to it before; no waiting.

        Errors the callback raises go to the loop's exception handler (logged).

        Raises:
            FaultLayerError: the layer is closed.
        """
        loop = self._ensure()
        try:
            loop.call_soon_threadsafe(callback)
        except RuntimeError as exc:  # the loop closed between _ensure() and here
            raise FaultLayerError(f"cannot {what}: the embedded proxy has stopped") from exc

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and join the thread; idempotent.

        Raises:
            FaultLayerError: the thread did not end within ``timeout`` seconds.
        """
        with self._lock:
            self._stopped = True
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        if thread.is_alive():
            raise FaultLayerError(
                f"the embedded proxy's thread {thread.name} did not stop within {timeout:g} s"
            )
