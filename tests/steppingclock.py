"""A stand-in for time.perf_counter that moves on by a fixed step at every call: patched into a
module whose work runs in time slices (labkube.client.rest's WATCH_SLICE, the scheduler's
CYCLE_SLICE), it makes where each slice ends a function of the number of calls, not of the
machine's speed.

    monkeypatch.setattr(rest, "perf_counter", SteppingClock(2 * rest.WATCH_SLICE))
"""


class SteppingClock:
    def __init__(self, step: float):
        self.step, self.now = step, 0.0

    def __call__(self) -> float:
        self.now += self.step
        return self.now
