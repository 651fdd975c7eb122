"""passgate.cooperative: synchronous code whose waits are the event loop's."""

from __future__ import annotations

import asyncio
import contextvars
import select
import socket
import threading
from collections.abc import Callable
from typing import Any

import ldap3
import pytest
import uvloop

from passgate import cooperative
from passgate.directory.strategy import cooperating

REQUEST = contextvars.ContextVar("REQUEST", default="none")


def test_outside_the_bridge_everything_is_plain_blocking_code() -> None:
    assert not cooperative.bridged()
    assert cooperative.off_loop(threading.get_ident) == threading.get_ident()
    cooperative.sleep(0)
    a, b = socket.socketpair()
    try:
        cooperative.SocketWatch().wait_readable(a, 0.01)  # nothing to do: the read would wait
    finally:
        a.close()
        b.close()
    with pytest.raises(RuntimeError):
        cooperative.wait_for(asyncio.sleep(0))


def test_a_wait_lets_other_work_run_on_the_loop_meanwhile() -> None:
    a, b = socket.socketpair()
    watch = cooperative.SocketWatch()
    order: list[str] = []

    def read_when_ready() -> bytes:
        assert cooperative.bridged()
        order.append("waiting")
        watch.wait_readable(a, 5)
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
        cooperative.SocketWatch().wait_readable(a, 0.05)

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


# -- a pooled socket's watch: one reader from one wait to the next ---------------------


LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


class CountingWatch(cooperative.SocketWatch):
    """Counts the loop's calls of its reader (uvloop says nothing of its readers)."""

    def __init__(self) -> None:
        super().__init__()
        self.fired = 0

    def _readable(self) -> None:
        self.fired += 1
        super()._readable()


def run_on(make_loop: Callable[[], asyncio.AbstractEventLoop], main: Any) -> Any:
    loop = make_loop()
    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()


def test_a_watch_keeps_its_reader_from_one_wait_to_the_next() -> None:
    a, b = socket.socketpair()
    watch = cooperative.SocketWatch()
    calls: list[str] = []

    def three_answers() -> list[bytes]:
        answers = []
        for n in range(3):
            b.send(b"answer %d" % n)
            watch.wait_readable(a, 5)
            answers.append(a.recv(16))
        return answers

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        add, remove = loop.add_reader, loop.remove_reader

        def counted_add(*args: Any) -> None:
            calls.append("add")
            add(*args)

        def counted_remove(fd: int) -> bool:
            calls.append("remove")
            return remove(fd)

        loop.add_reader, loop.remove_reader = counted_add, counted_remove  # type: ignore[method-assign]
        answers = await cooperative.run(three_answers)
        assert calls == ["add"]
        watch.forget()
        assert calls == ["add", "remove"]
        return answers

    try:
        assert run_on(asyncio.new_event_loop, main) == [b"answer 0", b"answer 1", b"answer 2"]
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_readiness_while_nobody_waits_drops_the_reader_and_the_next_wait_sees_it(
    loop_kind: str,
) -> None:
    a, b = socket.socketpair()
    watch = CountingWatch()

    async def main() -> bytes:
        b.send(b"first")
        await cooperative.run(watch.wait_readable, a, 5)
        a.recv(16)
        assert watch.fired == 1
        b.send(b"unasked")  # an EOF or a notice of disconnection, say, while idle
        await asyncio.sleep(0.05)  # many turns of the loop, the data still unread
        assert watch.fired == 2  # once: the reader was dropped, the loop is not kept busy
        await cooperative.run(watch.wait_readable, a, 5)  # there: at once
        return a.recv(16)

    try:
        assert run_on(LOOPS[loop_kind], main) == b"unasked"
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_descriptor_closed_and_reused_by_another_socket_is_watched_afresh(
    loop_kind: str,
) -> None:
    watch = cooperative.SocketWatch()

    async def main() -> bytes:
        first, peer = socket.socketpair()
        peer.send(b"one")
        await cooperative.run(watch.wait_readable, first, 5)
        watch.forget()  # as the strategy does before it closes the socket
        fd = first.fileno()
        first.close()
        peer.close()
        second, peer = socket.socketpair()
        try:
            assert fd in (second.fileno(), peer.fileno())  # the number came back
            other = second if second.fileno() == fd else peer
            asyncio.get_running_loop().call_later(
                0.02, (peer if other is second else second).send, b"two"
            )
            await cooperative.run(watch.wait_readable, other, 2)  # a stale reader would time out
            return other.recv(16)
        finally:
            watch.forget()
            second.close()
            peer.close()

    assert run_on(LOOPS[loop_kind], main) == b"two"


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_forget_from_another_thread_returns_once_the_loop_has_let_go(loop_kind: str) -> None:
    a, b = socket.socketpair()
    watch = CountingWatch()

    async def main() -> tuple[int, int]:
        b.send(b"x")
        await cooperative.run(watch.wait_readable, a, 5)
        a.recv(16)
        await asyncio.get_running_loop().run_in_executor(None, watch.forget)
        after_forget = watch.fired
        b.send(b"y")
        await asyncio.sleep(0.05)  # unread: a reader left on the socket would fire
        return after_forget, watch.fired

    try:
        after_forget, at_the_end = run_on(LOOPS[loop_kind], main)
        assert at_the_end == after_forget
    finally:
        a.close()
        b.close()


def test_a_cooperative_connection_drops_its_reader_before_its_socket_is_closed() -> None:
    a, b = socket.socketpair()
    conn = cooperating(ldap3.Connection(ldap3.Server("ldap://127.0.0.1:1")))
    conn.socket, conn.closed = a, False
    fd = a.fileno()
    open_when_removed: list[bool] = []

    async def main() -> list[bytes]:
        loop = asyncio.get_running_loop()
        remove = loop.remove_reader

        def watched_remove(descriptor: int) -> bool:
            open_when_removed.append(a.fileno() == descriptor)
            return remove(descriptor)

        loop.remove_reader = watched_remove  # type: ignore[method-assign]
        b.send(bytes.fromhex("300602010161010a"))  # a complete LDAP message (its start)
        messages: list[bytes] = await cooperative.run(conn.strategy.receiving)
        conn.strategy.close()
        assert not remove(fd)
        return messages

    try:
        assert run_on(asyncio.new_event_loop, main) == [bytes.fromhex("300602010161010a")]
    finally:
        a.close()
        b.close()
    assert open_when_removed == [True]
    assert a.fileno() == -1


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_wait_returns_only_when_there_is_data_not_on_a_readiness_already_read(
    loop_kind: str,
) -> None:
    """asyncio polls again before the woken code reads: that readiness is stale by then."""
    a, b = socket.socketpair()
    a.settimeout(1)  # a read that blocks the loop fails the test rather than hanging it
    watch = cooperative.SocketWatch()
    data_there: list[bool] = []

    def two_answers() -> list[bytes]:
        answers = []
        for _ in range(2):
            watch.wait_readable(a, 5)
            data_there.append(bool(select.select([a], [], [], 0)[0]))
            answers.append(a.recv(16))  # a blocking read: it must not wait here
        return answers

    async def main() -> list[bytes]:
        b.send(b"one")
        asyncio.get_running_loop().call_later(0.05, b.send, b"two")
        return await cooperative.run(two_answers)

    try:
        assert run_on(LOOPS[loop_kind], main) == [b"one", b"two"]
    finally:
        watch.forget()
        a.close()
        b.close()
    assert data_there == [True, True]


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_watched_socket_that_stays_silent_times_out(loop_kind: str) -> None:
    a, b = socket.socketpair()
    watch = cooperative.SocketWatch()

    async def main() -> None:
        b.send(b"one")
        await cooperative.run(watch.wait_readable, a, 5)
        a.recv(16)
        await cooperative.run(watch.wait_readable, a, 0.05)

    try:
        with pytest.raises(TimeoutError, match="timed out"):
            run_on(LOOPS[loop_kind], main)
    finally:
        watch.forget()
        a.close()
        b.close()


@pytest.mark.parametrize("loop_kind", LOOPS)
def test_a_wait_fails_at_once_when_its_socket_is_let_go_meanwhile(loop_kind: str) -> None:
    a, b = socket.socketpair()
    watch = cooperative.SocketWatch()

    async def main() -> None:
        waiting = asyncio.ensure_future(cooperative.run(watch.wait_readable, a, 30))
        await asyncio.sleep(0.01)
        await asyncio.get_running_loop().run_in_executor(None, watch.forget)
        await asyncio.wait_for(waiting, 2)  # not the 30 s of its timeout

    try:
        with pytest.raises(ConnectionAbortedError, match="socket closed"):
            run_on(LOOPS[loop_kind], main)
    finally:
        a.close()
        b.close()
