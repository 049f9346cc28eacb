"""sources.chunk_process: a producer's chunks made by a forked child, through shared slots."""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import pytest
from child_processes import children

from minfree.sources.chunk_process import SLOT_SIZE, SLOTS, ChunkProcess, ChunkProcessDied


def _read(process: ChunkProcess) -> bytes:
    return b"".join(bytes(chunk) for chunk in process.chunks())


def test_chunks_larger_than_a_slot_and_more_than_the_slots_arrive_whole_and_in_order() -> None:
    """A chunk of 2.5 slots spans three; 60 chunks fill the ring many times over, so the child
    waits for slots the reader gives back."""
    pieces = [bytes([65 + n % 26]) * (SLOT_SIZE * 5 // 2 if n == 3 else (1 << 20) + n) for n in range(60)]
    assert sum(map(len, pieces)) > 2 * SLOTS * SLOT_SIZE
    process = ChunkProcess(lambda: iter(pieces))
    try:
        assert _read(process) == b"".join(pieces)
    finally:
        process.close()


def test_the_producers_error_comes_after_its_data() -> None:
    def produce() -> Iterator[bytes]:
        yield b"kernel: readable part\n"
        raise ValueError("corrupt zstd data (bad block)")

    process = ChunkProcess(produce)
    chunks = process.chunks()
    try:
        assert bytes(next(chunks)) == b"kernel: readable part\n"
        with pytest.raises(ValueError, match="^corrupt zstd data"):
            next(chunks)
    finally:
        process.close()


def test_an_error_that_does_not_pickle_still_arrives_as_one_line() -> None:
    class Local(Exception):   # a local class cannot be pickled
        pass

    def produce() -> Iterator[bytes]:
        raise Local("lost")
        yield b""

    process = ChunkProcess(produce)
    try:
        with pytest.raises(RuntimeError, match="^Local: lost$"):
            _read(process)
    finally:
        process.close()


def test_a_child_killed_mid_way_ends_the_chunks_with_an_error() -> None:
    def produce() -> Iterator[bytes]:
        yield b"x" * 1000
        yield b""              # flush: the parent sees the first chunk
        time.sleep(60)         # then the child hangs until killed
        yield b"never"

    process = ChunkProcess(produce)
    chunks = process.chunks()
    try:
        assert bytes(next(chunks)) == b"x" * 1000
        (child,) = children()
        os.kill(child, signal.SIGKILL)
        with pytest.raises(ChunkProcessDied):
            next(chunks)
    finally:
        chunks.close()
        process.close()
    assert not children()


def test_closing_early_stops_a_child_that_waits_for_a_slot() -> None:
    def endless() -> Iterator[bytes]:
        while True:
            yield b"y" * SLOT_SIZE

    process = ChunkProcess(endless)
    chunks = process.chunks()
    assert bytes(next(chunks))[:1] == b"y"
    time.sleep(0.2)   # the child fills every slot and waits
    started = time.monotonic()
    chunks.close()
    process.close()
    process.close()   # twice is harmless
    assert time.monotonic() - started < 5 and not children()
