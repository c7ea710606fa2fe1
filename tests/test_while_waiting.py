"""Work done while the first call waits: queued, run in order in one thread, after the send."""

import threading
import time

from xl_fastmoss.while_waiting import SEND_FIRST, WhileWaiting


def test_queued_work_runs_in_order_in_one_thread_after_the_send_and_a_failure_stops_nothing():
    background = WhileWaiting()
    done = threading.Event()
    ran: list[tuple[str, str, float]] = []
    queued_at = time.monotonic()

    def work(name):
        def run():
            ran.append((name, threading.current_thread().name, time.monotonic() - queued_at))
            if name == "fails":
                raise RuntimeError("a failure is told where the work's result is needed")
            if name == "last":
                done.set()
        return run
    for name in ("first", "fails", "last"):
        background.after_send(work(name))
    assert done.wait(10)
    assert [name for name, _, _ in ran] == ["first", "fails", "last"]
    assert {thread for _, thread, _ in ran} == {"fastmoss-while-waiting"}
    assert ran[0][2] >= SEND_FIRST
