"""passgate.cooperative: synchronous code whose waits are the event loop's."""

from __future__ import annotations

import asyncio
import contextvars
import socket
import threading

import pytest

from passgate import cooperative

REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_outside_the_bridge_everything_is_plain_blocking_code() -> None:
    assert not cooperative.bridged()
    assert cooperative.off_loop(threading.get_ident) == threading.get_ident()
    cooperative.sleep(0)
    a, b = socket.socketpair()
    try:
        cooperative.wait_readable(a, 0.01)  # nothing to do: the socket's own read would wait
    finally:
        a.close()
        b.close()
    with pytest.raises(RuntimeError):
        cooperative.wait_for(asyncio.sleep(0))


def test_a_wait_lets_other_work_run_on_the_loop_meanwhile() -> None:
    a, b = socket.socketpair()
    order: list[str] = []

    def read_when_ready() -> bytes:
        assert cooperative.bridged()
        order.append("waiting")
        cooperative.wait_readable(a, 5)
        order.append("readable")
        return a.recv(16)

    async def main() -> bytes:
        reader = asyncio.ensure_future(cooperative.run(read_when_ready))
        await asyncio.sleep(0.01)
        order.append("the loop went on")  # the reader is parked, not blocking
        b.send(b"answer")
        return await reader

    try:
        assert asyncio.run(main()) == b"answer"
    finally:
        a.close()
        b.close()
    assert order == ["waiting", "the loop went on", "readable"]


def test_a_silent_socket_times_out_as_a_socket_would() -> None:
    a, b = socket.socketpair()

    def read() -> None:
        cooperative.wait_readable(a, 0.05)

    try:
        with pytest.raises(TimeoutError, match="timed out"):
            asyncio.run(cooperative.run(read))
    finally:
        a.close()
        b.close()


def test_blocking_work_goes_to_a_thread_and_errors_come_back() -> None:
    loop_thread: list[int] = []

    def elsewhere() -> int:
        return threading.get_ident()

    def fails() -> None:
        raise ValueError("from the thread")

    def body() -> int:
        loop_thread.append(threading.get_ident())
        with pytest.raises(ValueError, match="from the thread"):
            cooperative.off_loop(fails)
        return cooperative.off_loop(elsewhere)

    assert asyncio.run(cooperative.run(body)) != loop_thread[0]


def test_the_request_context_is_seen_inside_and_in_its_threads() -> None:
    def body() -> tuple[str, str]:
        return REQUEST.get(), cooperative.off_loop(REQUEST.get)

    async def main() -> tuple[str, str]:
        REQUEST.set("req-1")
        return await cooperative.run(body)

    assert asyncio.run(main()) == ("req-1", "req-1")


def test_a_pause_is_the_loops_and_cancellation_reaches_the_code() -> None:
    seen: list[str] = []

    def pauses() -> None:
        try:
            cooperative.sleep(10)
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise

    async def main() -> None:
        task = asyncio.ensure_future(cooperative.run(pauses))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert seen == ["cancelled inside"]
