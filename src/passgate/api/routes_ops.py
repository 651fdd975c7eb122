"""Operators' endpoints: liveness, readiness, Prometheus metrics (not in the API schema)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException

from passgate.api.deps import AppParts

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process is alive and serving; says nothing of the directory."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz")
async def readyz(parts: AppParts) -> JSONResponse:
    """The directory answers the service account (checked at most every few seconds)."""
    ready, detail = await parts.readiness.status(parts.threads)
    if ready:
        return JSONResponse({"status": "ready", "detail": detail})
    return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)


@router.get("/metrics")
async def metrics(parts: AppParts) -> Response:
    """Here unless PASSGATE_METRICS_PORT moves them to a port of their own."""
    if parts.settings.http.metrics_port is not None:
        raise HTTPException(404)  # answered as any unknown path
    return Response(generate_latest(parts.metrics.registry), media_type=CONTENT_TYPE_LATEST)
