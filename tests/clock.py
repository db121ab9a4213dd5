"""A clock the tests move by hand: retries, reply windows and token expiry without real sleeping."""

import time


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
