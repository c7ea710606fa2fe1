"""The watchdog of page deadlines: one thread runs each action at its time, unless cancelled."""

import gc
import threading
import weakref
from functools import partial

from xl_fastmoss.deadlines import Watchdog

#: Seconds a test waits for what should happen in a fraction of that: a guard, not a speed figure.
GUARD = 5.0


def test_an_action_runs_at_its_deadline_in_the_watchdogs_thread():
    watchdog, ran, where = Watchdog(), threading.Event(), []
    watchdog.after(0.05, lambda: (where.append(threading.current_thread().name), ran.set()))
    assert ran.wait(GUARD)
    assert where == ["fastmoss-deadlines"]


def test_a_sooner_deadline_registered_later_is_not_kept_waiting_behind_a_later_one():
    watchdog, late, soon = Watchdog(), threading.Event(), threading.Event()
    watchdog.after(600, late.set)
    watchdog.after(0.05, soon.set)
    assert soon.wait(GUARD) and not late.is_set()


def test_a_cancelled_deadline_never_runs_and_lets_go_of_what_it_holds():
    class Body:
        pass

    watchdog, ran, after_it = Watchdog(), [], threading.Event()
    body = Body()
    held = weakref.ref(body)
    deadline = watchdog.after(0.05, partial(ran.append, body))
    deadline.cancel()
    del body
    gc.collect()
    assert held() is None  # not kept until its deadline passes
    watchdog.after(0.1, after_it.set)  # deadlines run in order: once this one ran, the first is past
    assert after_it.wait(GUARD) and ran == []


def test_many_deadlines_share_one_thread():
    watchdog = Watchdog()
    before = threading.active_count()
    deadlines = [watchdog.after(600, lambda: None) for _ in range(50)]
    assert threading.active_count() == before + 1  # the watchdog's own, none for a deadline
    for deadline in deadlines:
        deadline.cancel()
