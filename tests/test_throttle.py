import threading

from xl_fastmoss.throttle import AdaptiveLimiter


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_throttling_halves_the_calls_in_flight_and_successes_restore_them():
    limiter = AdaptiveLimiter(8)
    limiter.on_throttled(0)
    assert limiter.limit == 4
    limiter.on_throttled(0)
    limiter.on_throttled(0)
    limiter.on_throttled(0)
    assert limiter.limit == 1
    for _ in range(200):
        limiter.on_success()
    assert limiter.limit == 8


def test_a_pages_first_throttle_changes_nothing_for_the_others():
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, clock=clock, sleep=clock.sleep)
    for _ in range(10):
        with limiter.slot() as window:
            limiter.on_throttled(0.5, window=window, repeated=False)
    assert limiter.limit == 4 and limiter.pause_left == 0 and limiter.window == 0
    assert clock.slept == []


def test_throttles_of_calls_in_flight_when_the_limit_was_cut_do_not_cut_it_again():
    limiter = AdaptiveLimiter(8)
    windows = [limiter.acquire() for _ in range(8)]
    for window in windows:  # eight calls of one window all throttled again: one cut
        limiter.on_throttled(0.5, window=window, repeated=True)
    assert limiter.limit == 4 and limiter.window == 1
    for _ in range(8):
        limiter.release()
    later = [limiter.acquire() for _ in range(4)]
    assert later == [1] * 4
    limiter.on_throttled(0.5, window=later[0], repeated=True)  # a call sent after the cut: cut again
    limiter.on_throttled(0.5, window=later[1], repeated=True)
    limiter.on_throttled(0.5, window=windows[0], repeated=True)
    assert limiter.limit == 2 and limiter.window == 2


def test_successes_raise_the_limit_by_one_per_window_of_successes():
    limiter = AdaptiveLimiter(8)
    limiter.on_throttled(0)
    limiter.on_throttled(0)
    assert limiter.limit == 2
    limiter.on_success()
    limiter.on_success()
    assert limiter.limit == 3  # 2 + 1/2 + 1/2
    for _ in range(3):
        limiter.on_success()
    assert limiter.limit == 4


def test_at_one_call_in_flight_a_persisting_throttle_pauses_every_caller_without_real_sleeping():
    clock = FakeClock()
    limiter = AdaptiveLimiter(1, clock=clock, sleep=clock.sleep)
    limiter.on_throttled(2.5)
    with limiter.slot():
        pass
    assert clock.slept == [2.5]


def test_a_sustained_throttle_doubles_the_pause_up_to_the_cap_until_a_success():
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, clock=clock, sleep=clock.sleep, max_pause=10)
    for _ in range(8):  # the vendor throttles every call, every page again on its retry
        with limiter.slot() as window:
            limiter.on_throttled(0.5, window=window, repeated=True)
    assert limiter.limit == 1
    assert clock.slept == [0.5, 1.0, 2.0, 4.0, 8.0]  # two halvings (4 -> 2 -> 1), then pauses
    assert limiter.pause_left == 10  # the sixth pause, at the cap
    limiter.on_success()
    assert limiter.limit == 2
    for _ in range(2):  # halved again, then paused: a success ended the doubling
        with limiter.slot() as window:
            limiter.on_throttled(0.5, window=window, repeated=True)
    assert limiter.limit == 1 and limiter.pause_left == 0.5


def test_a_pause_is_not_taken_again_by_throttles_of_calls_sent_before_it():
    clock = FakeClock()
    limiter = AdaptiveLimiter(1, clock=clock, sleep=clock.sleep)
    window = limiter.acquire()
    limiter.on_throttled(1.0, window=window, repeated=True)
    limiter.on_throttled(1.0, window=window, repeated=True)
    assert limiter.pause_left == 1.0 and limiter.window == 1


def test_never_more_calls_in_flight_than_the_limit():
    import time

    limiter = AdaptiveLimiter(3)
    peak, lock, release = [0], threading.Lock(), threading.Event()

    def work():
        with limiter.slot():
            with lock:
                peak[0] = max(peak[0], limiter.in_flight)
            release.wait(5)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 5
    while limiter.in_flight < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    assert limiter.in_flight == 3
    release.set()
    for t in threads:
        t.join()
    assert peak[0] == 3


def test_slots_go_out_in_the_order_they_were_asked_for():
    import time

    limiter = AdaptiveLimiter(1)
    order, threads = [], []
    limiter.acquire()
    for n in range(6):
        thread = threading.Thread(target=lambda n=n: (limiter.acquire(), order.append(n), limiter.release()))
        thread.start()
        threads.append(thread)
        deadline = time.monotonic() + 5
        while limiter._first_asks.tickets < n + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
    limiter.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(6))


def test_a_pause_is_never_longer_than_the_cap_whatever_it_is_asked():
    clock = FakeClock()
    limiter = AdaptiveLimiter(1, clock=clock, sleep=clock.sleep, max_pause=30)
    for asked in (1e12, float("inf"), float("nan"), -5, 2.5e11):
        limiter.on_throttled(asked)
        assert limiter.pause_left <= 30
    limiter.on_throttled(float("nan"))
    assert limiter.pause_left == 30  # what is not a number of seconds counts as the cap
    with limiter.slot():
        pass
    assert sum(clock.slept) == 30


def test_a_failure_while_waiting_gives_the_turn_up_and_leaves_no_slot_taken():
    clock = FakeClock()
    failures = [OverflowError("sleep length is too large")]

    def sleep(seconds):
        if failures:
            raise failures.pop()
        clock.sleep(seconds)

    limiter = AdaptiveLimiter(1, clock=clock, sleep=sleep)
    limiter.on_throttled(5)
    try:
        limiter.acquire()
    except OverflowError:
        pass
    assert limiter.in_flight == 0
    done = threading.Event()
    thread = threading.Thread(target=lambda: (limiter.acquire(), limiter.release(), done.set()), daemon=True)
    thread.start()
    assert done.wait(10), "the next caller waits for a turn nobody will take"



def test_a_page_asked_again_goes_before_the_pages_not_asked_yet():
    import time

    limiter = AdaptiveLimiter(1)
    order, threads = [], []
    limiter.acquire()

    def wait_for(count):
        deadline = time.monotonic() + 5
        while limiter._first_asks.tickets + limiter._asked_again.tickets < count and time.monotonic() < deadline:
            time.sleep(0.005)

    for name, again in (("first 1", False), ("first 2", False), ("again", True), ("first 3", False)):
        thread = threading.Thread(target=lambda n=name, a=again: (
            limiter.acquire(again=a), order.append(n), limiter.release()))
        thread.start()
        threads.append(thread)
        wait_for(len(threads) + 1)
    limiter.release()
    for thread in threads:
        thread.join(5)
    assert order == ["again", "first 1", "first 2", "first 3"]


def test_a_page_asked_again_that_gives_up_leaves_no_one_waiting_behind_it():
    clock = FakeClock()
    failures = [KeyboardInterrupt()]

    def sleep(seconds):
        if failures:
            raise failures.pop()
        clock.sleep(seconds)

    limiter = AdaptiveLimiter(1, clock=clock, sleep=sleep)
    limiter.on_throttled(5)
    try:
        limiter.acquire(again=True)
    except KeyboardInterrupt:
        pass
    done = threading.Event()
    thread = threading.Thread(target=lambda: (limiter.acquire(), limiter.release(), done.set()), daemon=True)
    thread.start()
    assert done.wait(10), "a first ask waits behind a page asked again that gave up"
    assert limiter.in_flight == 0


def test_a_place_in_line_is_given_near_the_front_and_a_place_left_moves_the_line_up():
    limiter = AdaptiveLimiter(2)
    first, second = limiter.turn(), limiter.turn()  # the next two to be served: given at once
    given = threading.Event()
    third: list = []

    def wait_for_a_place():
        third.append(limiter.turn())
        given.set()

    waiter = threading.Thread(target=wait_for_a_place)
    waiter.start()
    assert not given.wait(0.2)  # two ahead of it, none served yet
    second.leave()  # a caller that found its page in the cache: no slot taken
    assert not given.wait(0.2)  # places left still count until the line passes them
    assert first.go() == 0 and limiter.in_flight == 1
    assert given.wait(5)
    waiter.join(5)
    assert third[0].go() == 0 and limiter.in_flight == 2
    limiter.release()
    limiter.release()
    assert limiter.in_flight == 0


def test_every_caller_is_woken_in_turn_whatever_mix_of_leaving_asking_again_and_throttles():
    """A change wakes only the callers near the front of a line; none may be left waiting."""
    import random
    import time

    limiter = AdaptiveLimiter(4, sleep=lambda _s: None)
    finished, peak, lock = [], [0], threading.Lock()

    def caller(n: int) -> None:
        pick = random.Random(n)
        for _ in range(20):
            turn = limiter.turn(again=pick.random() < 0.2)
            if pick.random() < 0.3:  # found its page in the cache meanwhile
                turn.leave()
                continue
            window = turn.go()
            with lock:
                peak[0] = max(peak[0], limiter.in_flight)
            time.sleep(0.002)  # the call: the others queue up meanwhile
            limiter.release()
            if pick.random() < 0.2:
                limiter.on_throttled(0.0, window=window, repeated=True)
            else:
                limiter.on_success()
        finished.append(n)

    threads = [threading.Thread(target=caller, args=(n,), daemon=True) for n in range(24)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert sorted(finished) == list(range(24)) and limiter.in_flight == 0
    assert peak[0] <= 4


def test_a_slot_given_back_to_a_waiting_caller_lets_the_interpreter_go_and_to_no_one_does_not(monkeypatch):
    """The woken caller needs the interpreter to send its call: the thread giving the slot back
    pauses a moment, and only when someone was waiting (the figures: BENCHMARKS.md, 4c)."""
    import xl_fastmoss.throttle as throttle

    paused = []
    real_sleep = throttle.time.sleep
    monkeypatch.setattr(throttle.time, "sleep", lambda seconds: (paused.append(seconds), real_sleep(seconds)))
    limiter = AdaptiveLimiter(1)
    limiter.acquire()
    limiter.release()
    assert paused == []  # no one waiting

    limiter.acquire()
    went = threading.Event()
    waiting = threading.Thread(target=lambda: (limiter.acquire(), went.set()))
    waiting.start()
    while not limiter._first_asks.waiters:  # the other caller waits for the slot
        real_sleep(0.001)
    limiter.release()
    assert went.wait(5) and paused == [throttle.HAND_OFF]
    waiting.join(5)
    assert limiter.in_flight == 1
