"""The per-request phases, the rules cache of the lockout guard, the coalescing transport."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator

import pytest

from passgate.cli import main, worker_count, workers_option
from passgate.directory.ldap_directory import RulesCache
from passgate.policy.lockout import FailureState
from passgate.server_protocol import CoalescingTransport
from passgate.timing import Phases
from tests.unit.test_directory_parts import Clock


def test_a_phase_that_runs_twice_adds_up_and_the_header_ends_with_the_total() -> None:
    phases = Phases()
    with phases.timed("lookup"):
        pass
    phases.add("bind", 0.002)
    phases.add("lookup", 0.5)
    assert list(phases.spent) == ["lookup", "bind"]
    assert phases.spent["lookup"] >= 0.5
    parts = phases.server_timing().split(", ")
    assert parts[1] == "bind;dur=2.000"
    assert parts[0].startswith("lookup;dur=500.")
    assert parts[-1].startswith("total;dur=")


def test_a_phase_is_timed_when_it_raises() -> None:
    phases = Phases()
    with pytest.raises(KeyError), phases.timed("guard"):
        raise KeyError("x")
    assert "guard" in phases.spent


def test_entering_times_the_entry_of_a_block_not_its_body() -> None:
    events: list[str] = []

    @contextlib.contextmanager
    def bound() -> Iterator[str]:
        events.append("enter")
        yield "bound"
        events.append("exit")

    phases = Phases()
    with phases.entering("bind", bound()) as value:
        assert value == "bound"
        assert "bind" in phases.spent
        first = phases.spent["bind"]
        phases.add("modify", 1.0)
    assert phases.spent["bind"] == first  # the body is not counted in bind
    assert events == ["enter", "exit"]


def test_entering_counts_a_refused_entry() -> None:
    @contextlib.contextmanager
    def refused() -> Iterator[None]:
        raise PermissionError("wrong password")
        yield

    phases = Phases()
    with pytest.raises(PermissionError), phases.entering("bind", refused()):
        pass
    assert "bind" in phases.spent


def test_rules_are_read_once_per_ttl_and_keyed_by_entry_and_attributes() -> None:
    clock, asked = Clock(), []

    def read(dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        asked.append((dn, tuple(attributes)))
        return {"pwdMaxFailure": ["5"]}

    cache = RulesCache(10.0, timer=clock)
    for _ in range(3):
        assert cache.read("cn=Default,ou=Policies", ["pwdMaxFailure"], read)
    cache.read("CN=default,ou=policies", ["pwdMaxFailure"], read)  # the same entry
    cache.read("cn=default,ou=policies", ["pwdLockout"], read)  # other attributes
    assert len(asked) == 2
    clock.now = 10.5
    cache.read("cn=default,ou=policies", ["pwdMaxFailure"], read)
    assert len(asked) == 3


def test_an_unreadable_rule_is_asked_for_again_and_ttl_zero_caches_nothing() -> None:
    asked: list[str] = []

    def unreadable(dn: str, attributes: list[str]) -> dict[str, list[str]] | None:
        asked.append(dn)
        return None

    cache = RulesCache(10.0)
    assert cache.read("cn=p", ["a"], unreadable) is None
    assert cache.read("cn=p", ["a"], unreadable) is None
    off = RulesCache(0)
    off.read("cn=p", ["a"], unreadable)
    assert len(asked) == 3


class Transport:
    """What the coalescing transport is given: records writes, knows when it is closed."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name: str) -> str:
        return f"info:{name}"


def test_a_head_and_a_body_written_in_one_turn_go_out_as_one() -> None:
    asyncio.run(head_and_body())


async def head_and_body() -> None:
    inner = Transport()
    outer = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    outer.write(b"HTTP/1.1 200 OK\r\n\r\n")
    outer.write(b"")
    outer.write(bytearray(b'{"status":true}'))
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"status":true}']
    assert outer.get_extra_info("peername") == "info:peername"  # the rest is the transport's


def test_close_sends_what_was_written_first_and_nothing_after() -> None:
    asyncio.run(written_then_closed())


async def written_then_closed() -> None:
    inner = Transport()
    outer = CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]
    outer.write(b"431 refused")
    outer.close()
    assert inner.writes == [b"431 refused"]
    assert inner.closed
    outer.write(b"late")
    await asyncio.sleep(0)
    assert inner.writes == [b"431 refused"]


def test_workers_auto_is_the_cpus_this_process_may_use() -> None:
    assert workers_option("auto") == "auto"
    assert worker_count("auto") == len(os.sched_getaffinity(0))
    assert worker_count(workers_option("3")) == 3
    with pytest.raises(SystemExit):
        main(["serve", "--workers", "0"])


def test_room_below_the_threshold() -> None:
    assert FailureState(0, 5).has_room(3)  # 0 + 3 unseen + 1 more = 4 < 5
    assert not FailureState(1, 5).has_room(3)
    assert FailureState(7, 0).has_room(3)  # a directory that never locks
    assert not FailureState(0, 50, locked=True).has_room(3)


def test_leaving_counts_the_exit_of_a_block_too() -> None:
    @contextlib.contextmanager
    def slot() -> Iterator[None]:
        yield
        time.sleep(0.01)  # recording the outcome

    phases = Phases()
    with phases.entering("limiter", slot(), leaving=True):
        pass
    assert phases.spent["limiter"] >= 0.01
