"""Worked example applications (OpenAPI page, web page, tests, benchmarks)."""

from __future__ import annotations

from typing import Any

MACHINERY_WORKSHOP: dict[str, Any] = {
    "industry": "machinery",
    "climate_zone": "hot_summer_cold_winter",
    "floor_area_m2": 4200,
    "employees": 85,
    "shifts": 2,
    "equipment": [
        {"name": "数控车床 CK6140", "rated_kw": 7.5, "quantity": 12},
        {"category": "machine_tool", "name": "立式加工中心", "rated_kw": 15, "quantity": 6},
        {"name": "螺杆空压机 37kW", "rated_kw": 37, "quantity": 2},
        {"name": "螺杆空压机 37kW（备用）", "rated_kw": 37, "quantity": 1, "standby": True},
        {"name": "10t 行车", "rated_kw": 22, "quantity": 2},
        {"category": "arc_welder", "name": "二保焊机", "rated_kw": 18, "quantity": 4},
        {"category": "lighting", "name": "LED照明", "rated_kw": 1, "quantity": 40},
        {"category": "split_ac", "name": "办公空调", "rated_kw": 3.5, "quantity": 10},
        {"category": "fire_pump", "name": "消防泵", "rated_kw": 45, "quantity": 2, "standby": True},
    ],
}

OFFICE_BUILDING: dict[str, Any] = {
    "industry": "office",
    "climate_zone": "cold",
    "floor_area_m2": 18000,
    "employees": 900,
    "shifts": 1,
    "equipment": [
        {"category": "chiller", "name": "螺杆冷水机组", "rated_kw": 140, "quantity": 2},
        {"category": "pump", "name": "冷冻水泵", "rated_kw": 30, "quantity": 4},
        {"category": "elevator", "name": "客梯", "rated_kw": 15, "quantity": 6},
        {"category": "lighting", "name": "照明", "rated_kw": 180, "quantity": 1},
        {"category": "office_sockets", "name": "办公插座", "rated_kw": 260, "quantity": 1},
        {"category": "fan", "name": "新风机组", "rated_kw": 11, "quantity": 6},
    ],
}

AREA_ONLY_RETAIL: dict[str, Any] = {
    "industry": "retail",
    "climate_zone": "hot_summer_warm_winter",
    "floor_area_m2": 6500,
    "equipment": [],
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "machinery_workshop": MACHINERY_WORKSHOP,
    "office_building": OFFICE_BUILDING,
    "area_only_retail": AREA_ONLY_RETAIL,
}
