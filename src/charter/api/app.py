"""``create_app``: the FastAPI application over one ``Charter``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from charter import __version__
from charter.api import errors
from charter.api.fast import DecisionFastPath
from charter.api.limits import BodySizeLimit
from charter.api.routes import (
    breaches,
    children,
    collection,
    consents,
    cookies,
    credentials,
    gpc,
    preferences,
    public,
    receipts,
    requests,
    unsubscribe,
)
from charter.api.routes import contests as contest_routes
from charter.api.routes import disclosures as disclosure_routes
from charter.api.routes import events as event_routes
from charter.api.routes import forums as forum_routes
from charter.api.routes import notices as notice_routes
from charter.api.routes import policy_versions as policy_version_routes
from charter.api.routes import ropa as ropa_routes
from charter.api.routes import statistics as statistics_routes
from charter.api.routes import surveys as survey_routes
from charter.api.routes import transfers as transfer_routes
from charter.config import Settings
from charter.facade import Charter
from charter.jobs.worker import Worker
from charter.web import admin, admin_breaches, admin_disclosures, banner, parents, privacy, styles
from charter.web import contests as contest_pages
from charter.web import policy_versions as policy_version_pages
from charter.web import surveys as survey_pages
from charter.web.ratelimit import IDENTITY_WINDOW_SECONDS, SlidingWindow
from charter.web.security import SecurityHeaders


def create_app(
    settings: Settings | None = None, charter: Charter | None = None, *, worker: bool | None = None
) -> FastAPI:
    """Build the app; it opens a ``Charter`` from ``settings`` unless one is given. The
    background worker (requests, outbox, reminders) runs when the app opened its own Charter,
    unless ``worker`` says otherwise (tests drive the jobs themselves)."""
    settings = settings or Settings()
    owned = charter is None
    instance = charter or Charter.open(settings)
    jobs = Worker(instance) if (owned if worker is None else worker) else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if jobs is not None:
            jobs.start()
        yield
        if jobs is not None:
            jobs.stop()
        if owned:
            instance.close()

    app = FastAPI(
        title="Charter",
        version=__version__,
        summary="The privacy policy, executable: collection, consent and rights, one manifest.",
        lifespan=lifespan,
        # No Swagger UI or ReDoc page: both load their code from a CDN, and nothing Charter
        # serves may load from another host. The OpenAPI document is at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.charter = instance
    app.state.worker = jobs
    app.state.public_rate_limit = SlidingWindow(settings.public_rate_limit, 60.0)
    app.state.cookie_rate_limit = SlidingWindow(settings.cookie_consent_rate_limit, 60.0)
    app.state.unsubscribe_rate_limit = SlidingWindow(settings.unsubscribe_rate_limit, 60.0)
    app.state.identity_rate_limit = SlidingWindow(
        settings.identity_rate_limit, IDENTITY_WINDOW_SECONDS
    )
    errors.install(app)
    admin.install(app)
    app.include_router(public.router)
    app.include_router(collection.router)
    app.include_router(notice_routes.router)
    app.include_router(credentials.router)
    app.include_router(consents.router)
    app.include_router(cookies.router)
    app.include_router(receipts.router)
    app.include_router(preferences.router)
    app.include_router(unsubscribe.router)
    app.include_router(gpc.router)
    app.include_router(requests.router)
    app.include_router(children.router)
    app.include_router(breaches.router)
    app.include_router(disclosure_routes.router)
    app.include_router(event_routes.router)
    app.include_router(transfer_routes.router)
    app.include_router(policy_version_routes.router)
    app.include_router(ropa_routes.router)
    app.include_router(statistics_routes.router)
    app.include_router(forum_routes.router)
    app.include_router(contest_routes.router)
    app.include_router(survey_routes.router)
    app.include_router(privacy.router)
    app.include_router(parents.router)
    app.include_router(policy_version_pages.router)
    app.include_router(contest_pages.router)
    app.include_router(survey_pages.router)
    app.include_router(admin.router)
    app.include_router(admin_breaches.router)
    app.include_router(admin_disclosures.router)
    app.include_router(banner.router)
    app.include_router(styles.router)
    # Added first, so innermost: the body limit, security headers and CORS still wrap it.
    app.add_middleware(DecisionFastPath)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders)
    # The banner script runs on the brands' own sites and calls Charter from there: those
    # origins may read the answers. No credentials: the public calls need none, and staff and
    # service calls carry a bearer token that a brand's page never holds.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=sorted(
            f"https://{domain}"
            for brand in instance.manifest.brands.values()
            for domain in brand.domains
        ),
        allow_methods=["GET", "POST"],
        allow_headers=["Content-Type"],
        max_age=600,
    )
    return app
