"""The battery's load: real people through nginx over HTTPS, each signed in with password
and TOTP, each in its own thread with its own connection and cookies.

A script of ours rather than Locust: every request's ``X-Request-ID`` and outcome is kept
(the invariants match them against the audit trail one by one), sign-in is the portal's
own two-step form with CSRF, and nothing is monkey-patched (Locust runs on gevent). The
figures (requests/s per page, percentiles, statuses) are computed from the same records.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import random
import re
import ssl
import struct
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit


@dataclass(frozen=True)
class Record:
    """One request as the load generator saw it."""

    started: float  # time.time()
    page: str
    status: int  # 0: no answer (connection refused, reset, timed out)
    ms: float
    request_id: str
    who: str  # the person's e-mail ("" for anonymous traffic)


@dataclass
class Recorder:
    records: list[Record] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    file_names: list[str] = field(default_factory=list)
    sign_in_failures: list[str] = field(default_factory=list)  # real people refused
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, record: Record) -> None:
        with self.lock:
            self.records.append(record)


def totp_hex(key: str, at: float) -> str:
    """RFC 6238 from django-otp's hex key (what the enrollment page's QR code carries)."""
    counter = struct.pack(">Q", int(at // 30))
    digest = hmac.new(bytes.fromhex(key), counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def multipart(
    fields: dict[str, str | list[str]], files: list[tuple[str, str, str, bytes]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{one}\r\n".encode()
            )
    for name, filename, content_type, data in files:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    @property
    def location(self) -> str:
        return urlsplit(self.headers.get("location", "")).path


class Browser:
    """One person's device: a keep-alive HTTPS connection to nginx, cookies, CSRF token."""

    def __init__(
        self,
        base_url: str,
        ca: Path,
        recorder: Recorder,
        who: str = "",
        source: str = "127.0.0.1",
    ) -> None:
        parts = urlsplit(base_url)
        self.host = parts.netloc
        self.port = parts.port or 443
        self.base_url = base_url
        self.context = ssl.create_default_context(cafile=str(ca))
        self.recorder = recorder
        self.who = who
        self.source = source
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.connection: http.client.HTTPSConnection | None = None

    def _connect(self) -> http.client.HTTPSConnection:
        if self.connection is None:
            self.connection = http.client.HTTPSConnection(
                "localhost",
                self.port,
                context=self.context,
                timeout=30,
                source_address=(self.source, 0),
            )
        return self.connection

    def _cookies_take(self, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            if name.lower() != "set-cookie":
                continue
            cookie = SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = morsel.value

    def request(
        self,
        method: str,
        path: str,
        page: str,
        *,
        fields: dict[str, str | list[str]] | None = None,
        files: list[tuple[str, str, str, bytes]] | None = None,
    ) -> Answer:
        headers = {"Host": self.host, "User-Agent": "soak-battery/1"}
        body: bytes | None = None
        if method == "POST":
            fields = {"csrfmiddlewaretoken": self.csrf, **(fields or {})}
            headers["Origin"] = self.base_url
            headers["Referer"] = self.base_url + path
            if files:
                body, headers["Content-Type"] = multipart(fields, files)
            else:
                body = urlencode(fields, doseq=True).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started, clock = time.time(), time.perf_counter()
        try:
            connection = self._connect()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            answer = Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)
            self._cookies_take(response.getheaders())
            if response.getheader("connection", "").lower() == "close":
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            answer = Answer(0, {}, b"")
        self.recorder.add(
            Record(
                started=started,
                page=page,
                status=answer.status,
                ms=(time.perf_counter() - clock) * 1000,
                request_id=answer.headers.get("x-request-id", ""),
                who=self.who,
            )
        )
        if found := CSRF_FIELD.search(answer.text[:200_000]):
            self.csrf = found.group(1)
        return answer

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None


# --- the people -----------------------------------------------------------------------


@dataclass
class Person:
    email: str
    name: str
    role: str
    key: str
    id: int
    mrn: str = ""


class SignInRefused(Exception):
    pass


class Actor:
    """A signed-in person's loop; ``step`` is one visit of a few pages."""

    think: tuple[float, float] = (0.5, 1.5)

    def __init__(self, person: Person, password: str, env: LoadEnv) -> None:
        self.person = person
        self.password = password
        self.env = env
        self.browser = Browser(env.base_url, env.ca, env.recorder, who=person.email)
        self.random = random.Random(person.email)
        self.last_counter = -1
        self.signed_in_at = 0.0

    def sign_in(self) -> None:
        """Password, then the current TOTP code (a code works once: a second sign-in in
        the same 30 s waits for the next one, as a person would)."""
        b = self.browser
        b.cookies.clear()
        b.request("GET", "/sign-in/", "sign-in form")
        answer = b.request(
            "POST",
            "/sign-in/",
            "sign-in password",
            fields={"username": self.person.email, "password": self.password},
        )
        if answer.status != 302 or not answer.location.startswith("/sign-in/verify/"):
            raise SignInRefused(f"password step answered {answer.status}")
        b.request("GET", answer.location, "sign-in code form")
        while int(time.time() // 30) <= self.last_counter:
            time.sleep(1)
        self.last_counter = int(time.time() // 30)
        answer = b.request(
            "POST",
            "/sign-in/verify/",
            "sign-in code",
            fields={"code": totp_hex(self.person.key, time.time())},
        )
        if answer.status != 302:
            raise SignInRefused(f"code step answered {answer.status}")
        self.signed_in_at = time.time()

    def sign_out(self) -> None:
        self.browser.request("POST", "/sign-out/", "sign-out")

    def run(self, until: float) -> None:
        while time.time() < until and not self.env.stopping.is_set():
            try:
                if not self.signed_in_at:
                    self.sign_in()
                self.step()
                # Now and then a person signs out and back in (a new device, a new day):
                # the attackers' failed sign-ins must never lock them out.
                if time.time() - self.signed_in_at > self.env.session_seconds:
                    self.sign_out()
                    self.signed_in_at = 0.0
            except SignInRefused as error:
                with self.env.recorder.lock:
                    self.env.recorder.sign_in_failures.append(f"{self.person.role}: {error}")
                self.signed_in_at = 0.0
                time.sleep(2)
            except Exception as error:  # a page that did not parse during a fault
                self.env.errors.append(f"{type(self).__name__}: {type(error).__name__}")
                self.signed_in_at = 0.0 if "signed out" in str(error) else self.signed_in_at
                time.sleep(1)
            self.env.stopping.wait(self.random.uniform(*self.think))

    def get(self, path: str, page: str) -> Answer:
        answer = self.browser.request("GET", path, page)
        if answer.status == 302 and answer.location.startswith("/sign-in/"):
            self.signed_in_at = 0.0  # the session is gone (it must not be: counted)
            self.env.errors.append(f"{type(self).__name__}: signed out")
        return answer

    def step(self) -> None:
        raise NotImplementedError


THREAD_LINK = re.compile(r'href="(/portal/messages/[0-9a-f-]{8,}/)"')
ATTACHMENT_LINK = re.compile(r'href="(/portal/attachments/[0-9a-zA-Z-]+/)"')
STAFF_THREAD_LINK = re.compile(r'href="(/messages/threads/[0-9a-f-]{8,}/)"')
REQUEST_LINK = re.compile(r'href="(/records/[0-9a-f-]{36}/)"')


class PatientActor(Actor):
    def step(self) -> None:
        inbox = self.get("/portal/messages/", "patient inbox")
        threads = THREAD_LINK.findall(inbox.text)
        if not threads:
            self.get("/", "home")
            return
        thread = self.random.choice(threads[:5])
        page = self.get(thread, "patient thread")
        attachments = ATTACHMENT_LINK.findall(page.text)
        if attachments and self.random.random() < 0.6:
            self.get(self.random.choice(attachments), "patient download")
        if page.status == 200 and self.random.random() < 0.15:
            self.browser.request(
                "POST",
                thread + "reply/",
                "patient reply",
                fields={"send_key": str(uuid.uuid4()), "body": "Thank you, I have read it."},
            )


SUBJECTS = ["Thyroid panel", "Lipid profile", "Knee MRI", "Allergy test", "Blood count"]


class ClinicianActor(Actor):
    def step(self) -> None:
        inbox = self.get("/messages/", "staff inbox")
        threads = STAFF_THREAD_LINK.findall(inbox.text)
        if threads and self.random.random() < 0.5:
            self.get(self.random.choice(threads[:10]), "staff thread")
            return
        focus = self.env.focus
        patient = (
            focus if focus and self.random.random() < 0.5 else self.random.choice(self.env.patients)
        )
        compose = f"/messages/new/{patient.id}/"
        if self.get(compose, "compose form").status != 200:
            return
        token = uuid.uuid4().hex[:8]
        subject = f"{self.random.choice(SUBJECTS)} results {token}"
        file_name = f"{subject.split()[0].lower()}-report-{token}.pdf"
        with self.env.recorder.lock:
            self.env.recorder.subjects.append(subject)
            self.env.recorder.file_names.append(file_name)
        self.browser.request(
            "POST",
            compose,
            "compose send",
            fields={
                "send_key": str(uuid.uuid4()),
                "subject": subject,
                "category": "clinical",
                "body": "Your results are in. Everything looks as expected.",
                "send": "1",
            },
            files=[("attachments", file_name, "application/pdf", self.env.pdf)],
        )


DOCUMENTS_FORM = re.compile(r'action="(/records/[0-9a-f-]{36}/documents/)"')
BUILD_STATE = re.compile(r'"state": ?"(\w+)"')


class ClerkActor(Actor):
    """Works the queue: opens requests, and now and then adds a source document, builds
    the signed package (the worker does it; the page polls its state, as the browser's
    progress bar does) and downloads it."""

    think = (1.0, 2.0)
    # (this clerk's number, how many clerks): each works its own share of the requests, as
    # a team does; two building one package at once would make the second click a no-op
    # (nothing queued, nothing audited) that the trail could not be matched against.
    share = (0, 1)

    def __init__(self, person: Person, password: str, env: LoadEnv) -> None:
        super().__init__(person, password, env)
        # Builds this clerk started and has not yet seen end (a fault can hold one up for
        # minutes, until the sweep resumes it): no second "Build" on them meanwhile, which
        # the service would answer as a no-op with no audit event.
        self.unfinished: set[str] = set()

    def step(self) -> None:
        queue = self.get("/records/", "records queue")
        mine, clerks = self.share
        requests = [
            path
            for path in REQUEST_LINK.findall(queue.text)
            if int(path.split("/")[2].replace("-", ""), 16) % clerks == mine
        ]
        if not requests:
            return
        page = self.get(self.random.choice(requests), "records request")
        if page.status == 200 and self.random.random() < 0.3:
            self.package_make(page)

    def package_make(self, page: Answer) -> None:
        documents = DOCUMENTS_FORM.search(page.text)
        if not documents:
            return
        build = documents.group(1).replace("/documents/", "/build/")
        status = build + "status/"
        if build in self.unfinished:
            if self.build_state(status) in ("queued", "building"):
                return
            self.unfinished.discard(build)
        file_name = f"chart-extract-{uuid.uuid4().hex[:8]}.pdf"
        with self.env.recorder.lock:
            self.env.recorder.file_names.append(file_name)
        added = self.browser.request(
            "POST",
            documents.group(1),
            "records add document",
            files=[("documents", file_name, "application/pdf", self.env.pdf)],
        )
        if added.status != 302:
            return
        if self.browser.request("POST", build, "records build").status != 302:
            return
        self.unfinished.add(build)
        deadline = time.time() + 60
        while time.time() < deadline and not self.env.stopping.is_set():
            state = self.build_state(status)
            if state in ("built", "failed"):
                self.unfinished.discard(build)
            if state == "built":
                self.get(build.replace("/build/", "/package/"), "records package")
                return
            if state == "failed":
                self.env.errors.append("ClerkActor: a package build failed")
                return
            self.env.stopping.wait(1.0)

    def build_state(self, status: str) -> str:
        found = BUILD_STATE.search(self.get(status, "records build status").text)
        return found.group(1) if found else ""


class Attacker:
    """Anonymous traffic: the sign-in page, and wrong passwords for real addresses from
    other client addresses (127.0.0.2 and up: nginx passes each on as it is)."""

    def __init__(self, index: int, env: LoadEnv) -> None:
        self.env = env
        self.random = random.Random(index)
        self.browser = Browser(env.base_url, env.ca, env.recorder, source=f"127.0.0.{2 + index}")

    def run(self, until: float) -> None:
        while time.time() < until and not self.env.stopping.is_set():
            self.browser.request("GET", "/sign-in/", "sign-in form (anonymous)")
            victim = self.random.choice(self.env.victims)
            self.browser.request(
                "POST",
                "/sign-in/",
                "bad sign-in",
                fields={"username": victim, "password": "not the password"},
            )
            self.env.stopping.wait(self.random.uniform(1.0, 3.0))


@dataclass
class LoadEnv:
    base_url: str
    ca: Path
    recorder: Recorder
    patients: list[Person]
    victims: list[str]
    pdf: bytes
    session_seconds: float
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)
    focus: Person | None = None  # the patient clinicians write to now (a fault's target)


def load_run(
    env: LoadEnv,
    actors: list[Actor],
    attackers: list[Attacker],
    until: float,
    ramp_seconds: float = 10,
) -> list[threading.Thread]:
    """Start everyone (spread over ``ramp_seconds``); returns the threads to join."""
    threads: list[threading.Thread] = []
    everyone: list[Any] = [*actors, *attackers]
    for index, one in enumerate(everyone):
        run: Callable[[float], None] = one.run
        thread = threading.Thread(target=run, args=(until,), daemon=True, name=f"load-{index}")
        thread.start()
        threads.append(thread)
        env.stopping.wait(ramp_seconds / max(1, len(everyone)))
    return threads
