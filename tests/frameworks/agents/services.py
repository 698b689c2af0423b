"""The world the framework test agents act on: a weather service with latencies and an
outage, and the model scenarios the fake model server plays (chosen by model name)."""

from __future__ import annotations

import time

HEALTHY = "weather-healthy"  # one tool call, then an answer
BROKEN = "weather-broken"  # asks about a city whose forecast service is down
LOOP = "weather-loop"  # asks for the same forecast forever
PARALLEL = "weather-parallel"  # three tool calls in one turn, then an answer
STORM = "weather-storm"  # two tool calls in one turn, both failing

QUESTION = "What is the weather in Oslo?"
# Long enough that one turn's three calls overlap even on a loaded machine.
LATENCY = {"Oslo": 0.2, "Rome": 0.06, "EU": 0.12, "Atlantis": 0.08}
FORECASTS = {"Oslo": "rain, 7C", "Rome": "sun, 21C"}


class WeatherUnavailable(RuntimeError):
    """The forecast service is down for this city."""


def fetch_forecast(city: str) -> str:
    """The live forecast service (slow, and down for Atlantis)."""
    time.sleep(LATENCY.get(city, 0.0))
    if city not in FORECASTS:
        raise WeatherUnavailable(f"forecast service is down for {city}")
    return FORECASTS[city]


class AlertsUnavailable(RuntimeError):
    """The alerts service does not cover this region."""


def fetch_alerts(region: str) -> str:
    time.sleep(LATENCY.get(region, 0.0))
    if region == "Atlantis":
        raise AlertsUnavailable(f"no alerts service for {region}")
    return f"no alerts in {region}"


FALLBACK = "The forecast service is down right now; please try again later."
