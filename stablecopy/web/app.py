"""The web interface's pages and forms (Starlette routes, Jinja2 templates).

Reading: search, a capture (replay, clean text, provenance, fixity, citations, timeline, diff),
runs and schedules. Changing (signed in, CSRF-checked): schedules and runs only. Nothing served
here writes a WARC file or changes a capture.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.resources import files
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from stablecopy.catalog import crawls, queries, schedules, search
from stablecopy.catalog.caplog import capture_log_status
from stablecopy.catalog.fixity import capture_history
from stablecopy.catalog.history import url_history
from stablecopy.catalog.models import Capture, Crawl, Schedule
from stablecopy.catalog.requisites import requisite_set
from stablecopy.catalog.schedules import ScheduleError, ScheduleSpec
from stablecopy.catalog.users import user_by_name
from stablecopy.export.jsonl import capture_json
from stablecopy.labels import timestamp14
from stablecopy.layout import DataLayout
from stablecopy.provenance.citation import FORMATS, render
from stablecopy.provenance.cited import citation_facts
from stablecopy.provenance.texts import TextUnavailable, archived_text
from stablecopy.schedule.cadence import Cadence, CadenceError, format_interval, parse_interval
from stablecopy.web.passwords import matches
from stablecopy.web.security import (
    USER_KEY,
    LoginLimiter,
    SecurityHeaders,
    check_form,
    csrf_token,
    require_user,
    signed_in,
)

CITATION_TYPES = {"text": ("txt", "text/plain"), "bibtex": ("bib", "application/x-bibtex"),
                  "csl-json": ("json", "application/vnd.citationstyles.csl+json"),
                  "ris": ("ris", "application/x-research-info-systems"),
                  "robust-link": ("html", "text/html")}  # fmt: skip


@dataclass(frozen=True)
class WebConfig:
    layout: DataLayout
    secret: str
    replay_url: str = "http://127.0.0.1:8080"
    collection: str = "archive"
    public_reading: bool = True
    secure_cookies: bool = False
    archive_name: str = ""


class Web:
    def __init__(self, reader: Engine, writer: Engine, config: WebConfig) -> None:
        self.reader = reader
        self.writer = writer
        self.config = config
        self.limiter = LoginLimiter()
        folder = files("stablecopy.web")
        self.templates = Jinja2Templates(directory=str(folder.joinpath("templates")))
        self.templates.env.globals["timestamp14"] = timestamp14
        self.templates.env.filters["urlencode_page"] = _page_query

    # --- helpers ---------------------------------------------------------------------------------

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> Response:
        context.update(user=signed_in(request), csrf=csrf_token(request),
                       public=self.config.public_reading)  # fmt: skip
        return self.templates.TemplateResponse(request, name, context, status_code=status)

    def reading(self, request: Request) -> None:
        if not self.config.public_reading and signed_in(request) is None:
            raise HTTPException(401, "Sign in to read this archive.")

    def replay_link(self, capture: Capture) -> str:
        base = self.config.replay_url.rstrip("/")
        return f"{base}/{self.config.collection}/{timestamp14(capture.fetched_at)}/{capture.url}"

    def _capture(self, session: Session, reference: str) -> Capture:
        capture = queries.find_capture(session, reference)
        if capture is None:
            raise HTTPException(404, f"There is no capture {reference}.")
        return capture

    # --- reading ---------------------------------------------------------------------------------

    def home(self, request: Request) -> Response:
        self.reading(request)
        args = request.query_params
        query = args.get("q", "").strip()
        hits: list[search.Hit] = []
        more = False
        page = _int(args.get("page")) or 1
        wanted = search.SearchFilter(
            query=query, site=args.get("site") or None, since=_date(args.get("since")),
            until=_date(args.get("until"), end=True), crawl_id=_int(args.get("crawl")),
            language=args.get("language") or None, changed_only=bool(args.get("changed")),
            page=page,
        )  # fmt: skip
        with Session(self.reader) as session:
            if query:
                hits, more = search.search(session, wanted)
            languages = search.languages(session)
            captures = crawls.capture_total(session)
        return self.page(request, "search.html", query=query, hits=hits, more=more, page=page,
                         args=args, languages=languages, captures=captures)  # fmt: skip

    def capture(self, request: Request) -> Response:
        self.reading(request)
        with Session(self.reader) as session:
            capture = self._capture(session, request.path_params["reference"])
            holder = capture.payload_capture
            try:
                text = archived_text(self.config.layout, capture)
            except TextUnavailable as exc:
                text = None
                text_problem = str(exc)
            else:
                text_problem = ""
            facts = citation_facts(capture, self.config.replay_url, self.config.collection,
                                   self.config.archive_name)  # fmt: skip
            citations = {fmt: render(facts, fmt) for fmt in FORMATS}
            history = [e for e in url_history(session, capture.url) if e.capture is not None]
            context: dict[str, Any] = {
                "capture": capture, "holder": holder, "fields": capture_json(capture),
                "text": text, "text_problem": text_problem, "citations": citations,
                "fixity": capture_history(session, capture.id),
                "log": capture_log_status(session, capture.id),
                "requisites": requisite_set(session, capture) if capture.requisite is None else None,
                "history": history, "replay": self.replay_link(capture),
                "extraction": holder.extraction, "types": CITATION_TYPES,
                "software": _software(session.get(Crawl, capture.crawl_id)),
            }  # fmt: skip
            return self.page(request, "capture.html", **context)

    def citation(self, request: Request) -> Response:
        self.reading(request)
        fmt = request.path_params["format"]
        if fmt not in CITATION_TYPES:
            raise HTTPException(404, f"No citation format {fmt}.")
        with Session(self.reader) as session:
            capture = self._capture(session, request.path_params["reference"])
            facts = citation_facts(capture, self.config.replay_url, self.config.collection,
                                   self.config.archive_name)  # fmt: skip
            body = render(facts, fmt)
            name = f"{capture.short_id or capture.id}.{CITATION_TYPES[fmt][0]}"
        return Response(body + "\n", media_type=CITATION_TYPES[fmt][1] + "; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip

    def diff(self, request: Request) -> Response:
        self.reading(request)
        with Session(self.reader) as session:
            older = self._capture(session, request.query_params.get("from", ""))
            newer = self._capture(session, request.query_params.get("to", ""))
            if older.fetched_at > newer.fetched_at:
                older, newer = newer, older
            try:
                old_text = archived_text(self.config.layout, older)
                new_text = archived_text(self.config.layout, newer)
            except TextUnavailable as exc:
                raise HTTPException(404, str(exc)) from exc
            lines = list(difflib.unified_diff(old_text.splitlines(), new_text.splitlines(),
                                              lineterm="", n=2))[2:]  # fmt: skip
            return self.page(request, "diff.html", older=older, newer=newer, lines=lines)

    def runs(self, request: Request) -> Response:
        self.reading(request)
        with Session(self.reader) as session:
            rows = crawls.recent_crawls(session)
            live = crawls.capture_counts(
                session, [c.id for c in rows if c.status in ("running", "starting")]
            )
            live.update({c.id: 0 for c in rows if c.status in ("running", "starting")
                         and c.id not in live})  # fmt: skip
            names = {s.id: s.name for s in schedules.list_schedules(session)}
            return self.page(request, "crawls.html", crawls=rows, live=live, names=names)

    def run(self, request: Request) -> Response:
        self.reading(request)
        with Session(self.reader) as session:
            crawl = session.get(Crawl, _int(request.path_params["crawl_id"]) or 0)
            if crawl is None:
                raise HTTPException(404, "There is no such run.")
            failures = crawls.crawl_failures(session, crawl.id)
            captured = crawls.capture_counts(session, [crawl.id]).get(crawl.id, 0)
            return self.page(request, "crawl.html", crawl=crawl, failures=failures,
                             captured=captured)  # fmt: skip

    def schedules_page(self, request: Request, error: str = "", status: int = 200) -> Response:
        self.reading(request)
        with Session(self.reader) as session:
            rows = list(schedules.list_schedules(session))
            last = {s.id: schedules.last_run(session, s.id) for s in rows}
            return self.page(request, "schedules.html", status, schedules=rows, last=last,
                             error=error, describe=_describe)  # fmt: skip

    def edit_page(self, request: Request) -> Response:
        require_user(request)
        with Session(self.reader) as session:
            schedule = self._schedule(session, request.path_params["name"])
            return self.page(request, "edit.html", schedule=schedule, describe=_describe)

    # --- changing --------------------------------------------------------------------------------

    @staticmethod
    async def changing(request: Request) -> tuple[FormData, str]:
        """A change's form, once its sender is signed in and its CSRF token checked."""
        form = await request.form()
        user = require_user(request)
        check_form(request, form)
        return form, user

    async def add_schedule(self, request: Request) -> Response:
        form, _ = await self.changing(request)
        return self._save(request, form, None)

    async def edit_schedule(self, request: Request) -> Response:
        form, _ = await self.changing(request)
        return self._save(request, form, request.path_params["name"])

    def _save(self, request: Request, form: FormData, name: str | None) -> Response:
        """Add a schedule (no `name`) or change schedule `name` as the form says."""
        try:
            spec = _spec(form)
            with Session(self.writer) as session:
                if name is None:
                    schedules.add_schedule(session, str(form.get("name", "")), spec, _now())
                else:
                    schedules.apply_spec(self._schedule(session, name), spec)
                session.commit()
        except (ScheduleError, CadenceError) as exc:
            return self.schedules_page(request, str(exc), 400)
        return RedirectResponse("/schedules", 303)

    async def schedule_action(self, request: Request) -> Response:
        _, user = await self.changing(request)
        action = request.path_params["action"]
        name = request.path_params["name"]
        with Session(self.writer) as session:
            schedule = self._schedule(session, name)
            if action == "pause":
                schedule.enabled = False
            elif action == "resume":
                schedule.enabled = True
                schedule.next_due_at = min(schedule.next_due_at, _now())
            elif action == "run":
                self._run_now(schedule.name, user)
            else:
                raise HTTPException(404, f"No action {action}.")
            session.commit()
        return RedirectResponse("/schedules" if action != "run" else "/crawls", 303)

    def _run_now(self, name: str, user: str) -> None:
        """`stablecopy schedule run NAME` as a process of its own, detached from this one (its
        lease keeps a scheduler from starting the same run)."""
        layout = self.config.layout
        layout.log_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        log = (layout.log_dir / f"web-run-{stamp}-{os.getpid()}.log").open("ab")
        with log:
            subprocess.Popen(
                [sys.executable, "-m", "stablecopy", "schedule", "run", name,
                 "--data-dir", str(layout.root), "--db", layout.db_url],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env={**os.environ, "STABLECOPY_WEB_USER": user},
            )  # fmt: skip

    def _schedule(self, session: Session, name: str) -> Schedule:
        try:
            return schedules.require_schedule(session, name)
        except ScheduleError as exc:
            raise HTTPException(404, str(exc)) from exc

    # --- signing in ------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page(request, "login.html", error="")
        form = await request.form()
        check_form(request, form)
        address = request.client.host if request.client else "unknown"
        if self.limiter.blocked(address):
            return self.page(request, "login.html", 429,
                             error="Too many failed sign-ins: wait 15 minutes.")  # fmt: skip
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        with Session(self.reader) as session:
            user = user_by_name(session, name) if name else None
            good = matches(user.password_hash if user else None, password)
        if not good:
            self.limiter.failed(address)
            return self.page(request, "login.html", 401, error="Wrong name or password.")
        self.limiter.succeeded(address)
        request.session.clear()  # a new session (and CSRF token) for the signed-in user
        request.session[USER_KEY] = name.strip()
        csrf_token(request)
        return RedirectResponse(request.query_params.get("next") or "/", 303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        check_form(request, form)
        request.session.clear()
        return RedirectResponse("/", 303)


def _software(crawl: Crawl | None) -> str:
    """What made the capture: the crawl's software and versions."""
    if crawl is None or not crawl.software:
        return "unknown"
    return ", ".join(f"{name} {version}" for name, version in crawl.software.items())


def _page_query(args: Any, page: int) -> str:
    return urlencode({**{k: v for k, v in args.items() if k != "page"}, "page": page})


def _now() -> datetime:
    return datetime.now(UTC)


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _date(value: str | None, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if end and len(value) <= 10:
        moment = moment.replace(hour=23, minute=59, second=59)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _lines(value: object) -> list[str]:
    return [line.strip() for line in str(value or "").splitlines() if line.strip()]


def _spec(form: Any) -> ScheduleSpec:
    every = str(form.get("every", "")).strip()
    cron = str(form.get("cron", "")).strip()
    if bool(every) == bool(cron):
        raise ScheduleError("give either an interval (every) or a cron expression")
    cadence = Cadence(every=parse_interval(every) if every else None, cron=cron or None,
                      timezone=str(form.get("timezone") or "UTC"))  # fmt: skip
    seeds = [url for url in _lines(form.get("seeds")) if url.startswith(("http://", "https://"))]
    if not seeds:
        raise ScheduleError("give at least one http(s) URL to capture")
    return ScheduleSpec(
        seeds=seeds, follow=bool(form.get("follow")), depth=_int(str(form.get("depth"))) or 1,
        allow=_lines(form.get("allow")), deny=_lines(form.get("deny")),
        every_seconds=int(cadence.every.total_seconds()) if cadence.every else None,
        cron=cadence.cron, timezone=cadence.timezone,
    )  # fmt: skip


def _describe(schedule: Schedule) -> str:
    if schedule.every_seconds:
        return f"every {format_interval(timedelta(seconds=schedule.every_seconds))}"
    return f"cron {schedule.cron} ({schedule.timezone})"


async def _error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    web: Web = request.app.state.web
    if exc.status_code == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", 303)
    if request.url.path.startswith("/static/"):
        return PlainTextResponse(exc.detail, exc.status_code)
    return web.page(request, "error.html", exc.status_code, message=exc.detail)


def fill_search_texts(engine: Engine, layout: DataLayout) -> None:
    """Search rows made by migration 0009 for older captures get their texts, read back from
    their WARC conversion records, in the background."""
    while True:
        with Session(engine) as session:
            batch = search.unfilled(session)
            if not batch:
                return
            for capture in batch:
                try:
                    search.fill(session, capture, archived_text(layout, capture) or " ")
                except TextUnavailable:
                    search.fill(session, capture, " ")
            session.commit()


def create_app(reader: Engine, writer: Engine, config: WebConfig) -> Starlette:
    web = Web(reader, writer, config)
    static = StaticFiles(directory=str(files("stablecopy.web").joinpath("static")))
    routes = [
        Route("/", web.home),
        Route("/capture/{reference}", web.capture),
        Route("/capture/{reference}/citation.{format}", web.citation),
        Route("/diff", web.diff),
        Route("/crawls", web.runs),
        Route("/crawls/{crawl_id}", web.run),
        Route("/schedules", web.schedules_page),
        Route("/schedules", web.add_schedule, methods=["POST"]),
        Route("/schedules/{name}/edit", web.edit_page),
        Route("/schedules/{name}", web.edit_schedule, methods=["POST"]),
        Route("/schedules/{name}/{action}", web.schedule_action, methods=["POST"]),
        Route("/login", web.login, methods=["GET", "POST"]),
        Route("/logout", web.logout, methods=["POST"]),
        Mount("/static", static, name="static"),
    ]
    origin = config.replay_url.rstrip("/")
    middleware = [
        Middleware(SecurityHeaders, frame_origin=origin),
        Middleware(SessionMiddleware, secret_key=config.secret, session_cookie="stablecopy",
                   same_site="lax", https_only=config.secure_cookies, max_age=14 * 24 * 3600),
    ]  # fmt: skip
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={HTTPException: _error})  # fmt: skip
    app.state.web = web
    return app
