"""`get_weather(location, unit)`, the seed's function tool, against a real weather API.

The default API is Open-Meteo (geocoding, then forecast), which needs no key; both base URLs
are settings. When the API cannot be reached the tool raises, and `call_tool` turns that into
a clear error output for the model.
"""

from __future__ import annotations

from typing import Any

import httpx
from django.conf import settings

from assistants_proxy.seed_tools import GET_WEATHER_DESCRIPTION, GET_WEATHER_PARAMETERS
from chat.tools.registry import Tool, register

# WMO weather interpretation codes, as Open-Meteo reports them.
_CONDITIONS = {
    0: "clear sky",
    1: "mainly clear",
    2: "partly cloudy",
    3: "overcast",
    45: "fog",
    48: "fog",
    51: "light drizzle",
    53: "drizzle",
    55: "dense drizzle",
    61: "light rain",
    63: "rain",
    65: "heavy rain",
    71: "light snow",
    73: "snow",
    75: "heavy snow",
    80: "rain showers",
    81: "rain showers",
    82: "violent showers",
    95: "thunderstorm",
    96: "thunderstorm with hail",
    99: "thunderstorm with hail",
}


async def get_weather(location: str, unit: str = "c") -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as http:
        place = await _geocode(http, location)
        current = await _forecast(http, place, unit)
    return {
        "location": ", ".join(p for p in (place.get("name"), place.get("country")) if p),
        "temperature": current.get("temperature_2m"),
        "unit": unit,
        "conditions": _CONDITIONS.get(current.get("weather_code", -1), "unknown"),
        "wind_speed_kmh": current.get("wind_speed_10m"),
    }


async def _geocode(http: httpx.AsyncClient, location: str) -> dict[str, Any]:
    # "San Francisco, CA": the geocoder matches on the place name alone.
    name = location.split(",")[0].strip()
    response = await _get(http, settings.WEATHER_GEOCODING_URL, {"name": name, "count": 1})
    results = response.get("results") or []
    if not results:
        raise LookupError(f"no place called {location!r}")
    return dict(results[0])


async def _forecast(http: httpx.AsyncClient, place: dict[str, Any], unit: str) -> dict[str, Any]:
    params = {
        "latitude": place["latitude"],
        "longitude": place["longitude"],
        "current": "temperature_2m,weather_code,wind_speed_10m",
        "temperature_unit": "fahrenheit" if unit == "f" else "celsius",
    }
    return dict((await _get(http, settings.WEATHER_FORECAST_URL, params)).get("current") or {})


async def _get(http: httpx.AsyncClient, url: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        response = await http.get(url, params=params)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise ConnectionError(f"the weather service is unreachable ({exc!r})") from None
    return dict(response.json())


register(
    Tool(
        name="get_weather",
        description=GET_WEATHER_DESCRIPTION,
        parameters=GET_WEATHER_PARAMETERS,
        function=get_weather,
    )
)
