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


def test_a_throttle_pauses_new_calls_without_real_sleeping():
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, clock=clock, sleep=clock.sleep)
    limiter.on_throttled(2.5)
    with limiter.slot():
        pass
    assert clock.slept == [2.5]


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
        while limiter._tickets < n + 2 and time.monotonic() < deadline:
            time.sleep(0.005)
    limiter.release()
    for thread in threads:
        thread.join(5)
    assert order == list(range(6))


def test_a_pause_is_never_longer_than_the_cap_whatever_it_is_asked():
    clock = FakeClock()
    limiter = AdaptiveLimiter(4, clock=clock, sleep=clock.sleep, max_pause=30)
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

