"""The geofence: great-circle distance between a scan and the task's place."""
from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8  # mean radius


def distance_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Haversine distance in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def fence(place_lat, place_lng, lat, lng, radius_m: int) -> int | None:
    """The distance in whole metres when both sides have coordinates, else None.

    Raises OutOfRange when the scan is farther than radius_m."""
    if None in (place_lat, place_lng, lat, lng):
        return None
    d = distance_m(place_lat, place_lng, lat, lng)
    if d > radius_m:
        from backend.attendance.errors import OutOfRange

        raise OutOfRange(details={"distance_m": round(d), "radius_m": radius_m})
    return round(d)
