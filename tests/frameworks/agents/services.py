"""The world the framework test agents act on: a weather service with latencies and an
outage, and the model scenarios the fake model server plays (chosen by model name)."""

from __future__ import annotations

import threading
import time

HEALTHY = "weather-healthy"  # one tool call (Oslo), then an answer
BROKEN = "weather-broken"  # asks about Atlantis, whose forecast service is down
LOOP = "weather-loop"  # asks for the Oslo forecast forever
PARALLEL = "weather-parallel"  # Bergen, Rome and EU alerts in one turn, then an answer

QUESTION = "What is the weather in Oslo?"
LATENCY = {"Oslo": 0.03, "Bergen": 0.12, "Rome": 0.03, "EU": 0.08}
FORECASTS = {"Oslo": "rain, 7C", "Bergen": "rain, 9C", "Rome": "sun, 21C"}
FALLBACK = "The forecast service is down right now; please try again later."


class WeatherUnavailable(RuntimeError):
    """The forecast service is down for this city."""


class _Rendezvous:
    """The service answers the requests of one concurrent turn only once all of them
    have arrived, so their calls overlap in time however the machine schedules threads
    (a framework that ran them one by one times out here instead)."""

    def __init__(self, *members: tuple[str, str]) -> None:
        self.members = frozenset(members)
        self.barrier = threading.Barrier(len(members), timeout=10)

    def meet(self, service: str, name: str) -> None:
        if (service, name) in self.members:
            self.barrier.wait()


_PARALLEL_TURN = _Rendezvous(("forecast", "Bergen"), ("forecast", "Rome"), ("alerts", "EU"))


def _serve(service: str, name: str) -> None:
    _PARALLEL_TURN.meet(service, name)
    time.sleep(LATENCY.get(name, 0.0))


def fetch_forecast(city: str) -> str:
    """The live forecast service (slow, and down for cities it does not know)."""
    _serve("forecast", city)
    if city not in FORECASTS:
        raise WeatherUnavailable(f"forecast service is down for {city}")
    return FORECASTS[city]


def fetch_alerts(region: str) -> str:
    _serve("alerts", region)
    return f"no alerts in {region}"
