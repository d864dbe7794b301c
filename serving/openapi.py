"""The service's OpenAPI document, generated from the pydantic models declared once.

BentoML would describe our loosely-typed endpoints (we validate bodies ourselves so that
errors can name the offending value) as "any object"; this document shows the real
request and response schemas with worked examples instead, and the Swagger page at
``/docs`` reads it from ``/docs.json``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from features.contract import OUTCOME_COLUMNS, column_spec
from features.schemas import Application, Text
from serving.examples import EXAMPLES
from serving.schemas import CheckRequest, CheckResult, Recommendation
from serving.sheet.document import MEDIA_TYPES, ExportRequest

MAX_BATCH_APPLICATIONS = 10_000
"""Most applications of one /recommend_batch request (the service's MAX_BATCH)."""


# The bounds of an outcome are the outcome file's column specs: the API and
# ``capacity outcomes import`` accept the same values.
_GRANTED = column_spec(OUTCOME_COLUMNS, "granted_kva")
_PEAK = column_spec(OUTCOME_COLUMNS, "metered_peak_kw")


class FeedbackRequest(BaseModel):
    """An outcome for an issued recommendation (granted capacity and metered peak)."""

    model_config = ConfigDict(extra="forbid")

    recommendation_id: Text = Field(..., min_length=1, max_length=64)
    granted_kva: float = Field(
        ...,
        ge=_GRANTED.limit_min,
        le=_GRANTED.limit_max,
        allow_inf_nan=False,
        strict=True,
        description=f"Capacity granted, kVA ({_GRANTED.limit_min:g} to {_GRANTED.limit_max:g})",
    )
    metered_peak_kw: float = Field(
        ...,
        ge=_PEAK.limit_min,
        le=_PEAK.limit_max,
        allow_inf_nan=False,
        strict=True,
        description=f"Metered 12-month peak (15-min), kW ({_PEAK.limit_min:g} to {_PEAK.limit_max:g})",
    )
    note: Text | None = Field(None, max_length=1000)


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "field": {"type": "string", "example": "equipment[2].rated_kw"},
                    "value": {"example": -1},
                    "expected": {"type": "string", "example": "> 0"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}


def _json_body(ref: str, examples: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schema": {"$ref": f"#/components/schemas/{ref}"}}
    if examples:
        body["examples"] = {k: {"value": v} for k, v in examples.items()}
    return {"required": True, "content": {"application/json": body}}


def _responses(ok_ref: str | None, ok_desc: str) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": ok_desc}
    if ok_ref:
        ok["content"] = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ok_ref}"}}}
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}}
    return {
        "200": ok,
        "400": {
            "description": "Invalid input: each error names field, value and expectation",
            **err,
        },
        "413": {"description": "Body too large", **err},
        "415": {"description": "Content-Type is not application/json", **err},
        "503": {"description": "No model loaded (see /readyz for the reason)", **err},
    }


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document (built on first request, then cached)."""
    _, defs = models_json_schema(
        [
            (
                m,
                "validation"
                if m in (Application, CheckRequest, FeedbackRequest, ExportRequest)
                else "serialization",
            )
            for m in (
                Application,
                CheckRequest,
                Recommendation,
                CheckResult,
                FeedbackRequest,
                ExportRequest,
            )
        ],
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(defs.get("$defs", {}))
    schemas["Errors"] = ERROR_SCHEMA
    check_example = {"application": EXAMPLES["machinery_workshop"], "proposed_kva": 1000}
    batch_schema = {
        "type": "object",
        "properties": {
            "applications": {
                "type": "array",
                "maxItems": MAX_BATCH_APPLICATIONS,
                "items": {"$ref": "#/components/schemas/Application"},
            },
            "output": {"type": "string", "enum": ["json", "csv"], "default": "json"},
            "detail": {
                "type": "string",
                "enum": ["summary", "full"],
                "default": "summary",
                "description": "summary rows (fast) or full answers with every explanation",
            },
        },
    }
    return {
        "openapi": "3.0.2",
        "info": {
            "title": "Connection-capacity recommender (报装容量推荐)",
            "version": "1",
            "description": (
                "Recommends the standard capacity (kVA) for a new connection from the industry, "
                "scale and equipment list, with drivers, peer comparison, sanity bounds and the "
                "demand-coefficient calculation sheet. Errors are JSON bodies naming each field, "
                "value and expectation."
            ),
        },
        "paths": {
            "/recommend": {
                "post": {
                    "summary": "Recommend a capacity for one application",
                    "requestBody": _json_body("Application", EXAMPLES),
                    "responses": _responses("Recommendation", "The recommendation"),
                }
            },
            "/check": {
                "post": {
                    "summary": "Planner check of a proposed capacity",
                    "requestBody": _json_body("CheckRequest", {"proposal": check_example}),
                    "responses": _responses("CheckResult", "Verdict beside the recommendation"),
                }
            },
            "/export/sheet": {
                "post": {
                    "summary": "The calculation sheet as a PDF, Excel or Word file",
                    "requestBody": _json_body(
                        "ExportRequest",
                        {
                            "pdf": {
                                "application": EXAMPLES["machinery_workshop"],
                                "format": "pdf",
                                "lang": "zh",
                                "proposed_kva": 1000,
                                "header": {
                                    "工程名称": "某机械厂新建厂房业扩工程",
                                    "户号": "3301234567",
                                    "设计": "张工",
                                },
                            }
                        },
                    ),
                    "responses": {
                        **_responses(None, "The file (Content-Disposition: attachment)"),
                        "200": {
                            "description": "The file (Content-Disposition: attachment)",
                            "content": {
                                media: {"schema": {"type": "string", "format": "binary"}}
                                for media in MEDIA_TYPES.values()
                            },
                        },
                    },
                }
            },
            "/export/batch": {
                "post": {
                    "summary": "A /recommend_batch CSV answer as an Excel workbook",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["csv"],
                                    "properties": {
                                        "csv": {"type": "string"},
                                        "format": {"type": "string", "enum": ["xlsx", "csv"]},
                                        "lang": {"type": "string", "enum": ["codes", "zh", "en"]},
                                        # The reject report: rejected customers, their
                                        # rows of the files and reasons in `lang`.
                                        "rows": {"type": "string", "enum": ["all", "rejected"]},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        **_responses(None, "The workbook"),
                        "200": {
                            "description": "The workbook",
                            "content": {
                                MEDIA_TYPES["xlsx"]: {
                                    "schema": {"type": "string", "format": "binary"}
                                }
                            },
                        },
                    },
                }
            },
            "/recommend_batch": {
                "post": {
                    "summary": "Recommend for up to 10,000 applications (JSON list or contract CSV upload)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": batch_schema,
                                "example": {
                                    "applications": list(EXAMPLES.values()),
                                    "output": "json",
                                },
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "customers": {"type": "string", "format": "binary"},
                                        "equipment": {"type": "string", "format": "binary"},
                                        "workbook": {
                                            "type": "string",
                                            "format": "binary",
                                            "description": "instead of the CSVs: an .xlsx with "
                                            "the sheets customers and equipment",
                                        },
                                        "output": {"type": "string", "enum": ["json", "csv"]},
                                    },
                                }
                            },
                        },
                    },
                    "responses": _responses(None, "JSON results (and rejects) or a CSV file"),
                }
            },
            "/feedback": {
                "post": {
                    "summary": "Record the granted capacity and metered 12-month peak (X-API-Key header)",
                    "requestBody": _json_body("FeedbackRequest"),
                    "responses": {
                        **_responses(None, "Recorded"),
                        "401": {"description": "Missing or wrong API key"},
                    },
                }
            },
            "/api/match": {
                "get": {
                    "summary": "Name → equipment category (or industry, kind=industry)",
                    "parameters": [
                        {"name": "text", "in": "query", "schema": {"type": "string"}},
                        {"name": "rated_kw", "in": "query", "schema": {"type": "number"}},
                        {
                            "name": "kind",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["category", "industry"]},
                        },
                    ],
                    "responses": {"200": {"description": "the best match and candidates"}},
                },
                "post": {
                    "summary": "Up to 500 names matched at once",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "items": {
                                            "type": "array",
                                            "maxItems": 500,
                                            "items": {
                                                "type": "object",
                                                "properties": {
                                                    "text": {"type": "string"},
                                                    "rated_kw": {"type": "number"},
                                                },
                                            },
                                        }
                                    },
                                },
                                "example": {"items": [{"text": "空压机", "rated_kw": 37}]},
                            }
                        },
                    },
                    "responses": {"200": {"description": "one match per item"}},
                },
            },
            "/api/catalog": {
                "get": {
                    "summary": "Equipment categories, industries and limits (the page's data)",
                    "responses": {"200": {"description": "the catalog"}},
                }
            },
            "/model": {
                "get": {
                    "summary": "The served model, the last failed reload, the log's state",
                    "responses": {"200": {"description": "status"}},
                }
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness (503 with the reason without a model)",
                    "responses": {"200": {"description": "ready"}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "metrics"}},
                }
            },
        },
        "components": {"schemas": schemas},
    }
