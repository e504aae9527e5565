"""The batch splitter: every sample exactly once, errors from any chunk raised after all chunks finished,
nested and forked use, and the thread count rules."""

from __future__ import annotations

import multiprocessing
import threading
import time

import pytest

from nnctl import workers


@pytest.fixture
def three_threads(monkeypatch):
    monkeypatch.setenv("NNCTL_THREADS", "3")
    monkeypatch.setattr(workers, "MIN_CHUNK", 1)


def test_chunks_cover_the_batch_in_order():
    assert workers.chunks(7, 7 * workers.MIN_CHUNK, 3) == [slice(0, 2), slice(2, 4), slice(4, 7)]
    assert workers.chunks(2, 10**9, 8) == [slice(0, 1), slice(1, 2)]                 # never more than n
    assert workers.chunks(100, 3 * workers.MIN_CHUNK - 1, 8) == [slice(0, 50), slice(50, 100)]
    assert workers.chunks(5, 10, 4) == [slice(0, 5)]                                  # too small to split


def test_every_sample_is_handled_once_by_three_threads(three_threads):
    seen, names = [], set()

    def work(samples: slice) -> None:
        names.add(threading.current_thread().name)
        seen.extend(range(samples.start, samples.stop))

    workers.over_batch(work, 10, 10)
    assert sorted(seen) == list(range(10))
    assert len(names) == 3 and threading.current_thread().name in names


def test_an_error_in_a_helper_chunk_is_raised_after_every_chunk_finished(three_threads):
    finished = []

    def work(samples: slice) -> None:
        if samples.start == 0:
            time.sleep(0.05)                      # the caller's chunk ends last
            finished.append(samples.start)
        elif samples.stop == 9:
            raise ZeroDivisionError("chunk 3")
        else:
            finished.append(samples.start)

    with pytest.raises(ZeroDivisionError, match="chunk 3"):
        workers.over_batch(work, 9, 9)
    assert sorted(finished) == [0, 3]
    seen = []                                     # the helpers still serve afterwards
    workers.over_batch(lambda s: seen.extend(range(s.start, s.stop)), 9, 9)
    assert sorted(seen) == list(range(9))


def test_an_error_in_the_callers_chunk_waits_for_the_helpers(three_threads):
    done = []

    def work(samples: slice) -> None:
        if samples.start == 0:
            raise KeyError("mine")
        time.sleep(0.05)
        done.append(samples.start)

    with pytest.raises(KeyError):
        workers.over_batch(work, 6, 6)
    assert sorted(done) == [2, 4]                # nothing still running when over_batch returned


def test_a_split_inside_a_split_runs_its_chunks_in_the_calling_thread(three_threads):
    inner = []

    def work(samples: slice) -> None:
        def record(part: slice) -> None:
            inner.append((samples.start, part.start, threading.current_thread().name))
        workers.over_batch(record, 4, 4)

    workers.over_batch(work, 3, 3)
    assert len(inner) == 3 * 3
    for outer_start, _, name in inner:           # each nested split stayed on its outer chunk's thread
        assert len({n for o, _, n in inner if o == outer_start}) == 1


def _child_sum(queue) -> None:
    total = []
    workers.over_batch(lambda s: total.append(sum(range(s.start, s.stop))), 12, 12)
    queue.put(sum(total))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_child_gets_helpers_of_its_own(three_threads):
    workers.over_batch(lambda s: None, 6, 6)     # the parent has helper threads now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_sum, args=(queue,))
    child.start()
    assert queue.get(timeout=20) == sum(range(12))
    child.join(timeout=20)
    assert child.exitcode == 0


def test_thread_count_follows_nnctl_threads(monkeypatch):
    monkeypatch.setenv("NNCTL_THREADS", "5")
    assert workers.thread_count() == 5
    monkeypatch.setenv("NNCTL_THREADS", "zero")
    assert 1 <= workers.thread_count() <= workers.MAX_THREADS
