"""The production smoke test: README "Running in production", done for real on loopback.

nginx with TLS in front of two gunicorn instances in production mode, a Celery worker
and beat on Redis, a mail relay that requires STARTTLS (tests/deploy/topology.py). A
person in Chromium goes through https://localhost: the first privacy officer's console
link, TOTP, a clinician, a patient, a message with an attachment, the pickup. One web
instance is killed on the way. Then: beat has sealed the trail, `audit_verify` passes,
the headers hold, and the backup and restore drill of deploy/ passes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import re
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import body_text
from tests.deploy.topology import ROOT, Topology, env_file_read, topology_running
from tests.messaging.factories import PDF_BYTES

pytestmark = [pytest.mark.browser, pytest.mark.deploy]

PASSWORD = "a long and unusual passphrase 42"
SUBJECT = "Your test results are ready"
LETTER = "results-letter.pdf"


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    nginx = os.environ.get("NGINX_PATH") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("nginx is not installed (CI=true: no skipping)")
        pytest.skip("nginx is not installed")
    server = os.environ.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    yield from topology_running(tmp_path_factory.mktemp("production"), server)


@pytest.fixture
def person(browser: Any, topology: Topology) -> Iterator[Any]:
    """A new browser profile per person (as on their own device)."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(base_url=topology.base_url, ignore_https_errors=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20_000)
        return page

    yield make
    for context in contexts:
        context.close()


def totp(secret: str, *, at: float | None = None) -> str:
    """RFC 6238, from the key the enrollment page shows (as a phone app reads it)."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((at or time.time()) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def accept_invitation(page: Any, link: str, greeting: str) -> None:
    """Password, then the authenticator app, then the backup codes: as a new user does."""
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("New password again").fill(PASSWORD)
    page.get_by_role("button", name="Save password").click()
    page.get_by_role("heading", name="Set up your authenticator app").wait_for()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    page.get_by_label("6-digit code from your app").fill(totp(secret))
    page.get_by_role("button", name="Confirm").click()
    page.get_by_test_id("backup-codes").wait_for()
    page.get_by_role("link", name="I have saved them").click()
    page.get_by_role("heading", name=greeting).wait_for()


def invitation_link(topology: Topology, email: str) -> str:
    (mail,) = topology.smtp.wait_for(email)
    assert mail["X-Was-TLS"] == "yes"  # STARTTLS to a verified relay, as production requires
    link = re.search(rf"{re.escape(topology.base_url)}/invitation/\S+/", body_text(mail))
    assert link, "no invitation link in the e-mail"
    return link.group(0)


def test_a_clinic_goes_live_and_a_patient_picks_up_a_message(
    topology: Topology, person: Any, tmp_path: Path
) -> None:
    # The first privacy officer: a console link, nothing else on the command line.
    bootstrap = topology.manage(
        "bootstrap_privacy_officer", "--email", "olive@clinic.test", "--name", "Olive Officer"
    )
    assert bootstrap.returncode == 0, bootstrap.stderr
    officer = person()
    accept_invitation(officer, bootstrap.stdout.strip().splitlines()[-1], "Welcome, Olive Officer")

    # ... creates a clinician, who gets an e-mailed invitation through the worker.
    officer.get_by_role("link", name="Create a staff account").click()
    officer.get_by_label("Full name").fill("Carmen Clinician")
    officer.get_by_label("Work e-mail").fill("carmen@clinic.test")
    officer.get_by_label("Role").select_option(label="Clinician")
    officer.get_by_role("button", name="Create and send invitation").click()
    officer.get_by_text("The staff account was created").wait_for()
    clinician = person()
    link = invitation_link(topology, "carmen@clinic.test")
    accept_invitation(clinician, link, "Welcome, Carmen Clinician")

    # One web instance dies (kill -9, no goodbye): nginx carries on with the other.
    topology.kill("web1")
    deadline = time.monotonic() + 10  # its workers die with it, a moment later
    while topology.backend_answers(topology.web_ports[0]) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not topology.backend_answers(topology.web_ports[0])

    clinician.get_by_role("link", name="Enroll a patient").click()
    clinician.get_by_label("Legal name").fill("Paula Patient")
    clinician.get_by_label("Date of birth").fill("1984-03-02")
    clinician.get_by_label("MRN").fill("MRN-SMOKE-1")
    clinician.get_by_label("Notification e-mail").fill("paula@mail.test")
    clinician.get_by_label("How you verified their identity").select_option(index=1)
    clinician.get_by_label("I have verified this person's identity").check()
    clinician.get_by_role("button", name="Enroll and send invitation").click()
    clinician.get_by_text("The patient was enrolled").wait_for()
    patient = person()
    accept_invitation(patient, invitation_link(topology, "paula@mail.test"), "Hello, Paula Patient")

    clinician.get_by_role("link", name="Messages", exact=True).click()
    clinician.get_by_role("link", name="New message").click()
    clinician.get_by_label("Find a patient").fill("MRN-SMOKE-1")
    clinician.get_by_role("button", name="Search").click()
    clinician.get_by_role("link", name="Paula Patient").click()
    clinician.get_by_label("Subject", exact=True).fill(SUBJECT)
    clinician.get_by_label("Kind of message").select_option(label="Clinical")
    clinician.get_by_label("Message", exact=True).fill("Everything looks normal.")
    clinician.get_by_label("Attachments").set_input_files(
        [{"name": LETTER, "mimeType": "application/pdf", "buffer": PDF_BYTES}]
    )
    clinician.get_by_role("button", name="Send securely").click()
    clinician.wait_for_url(re.compile(r"/messages/threads/[^/]+/$"))

    notices = topology.smtp.wait_for("paula@mail.test", count=2)  # invitation, then notice
    assert SUBJECT not in body_text(notices[-1])
    patient.get_by_role("link", name="Open your messages").click()
    patient.get_by_role("link", name=SUBJECT).click()
    patient.get_by_role("heading", name=SUBJECT, level=1).wait_for()
    with patient.expect_download() as download:
        patient.get_by_role("link", name=LETTER, exact=True).click()
    assert Path(download.value.path()).read_bytes() == PDF_BYTES

    # Production's cookies and headers, as the browser got them.
    cookies = {c["name"]: c for c in patient.context.cookies()}
    assert {"__Host-sessionid", "__Host-csrftoken"} <= set(cookies)
    assert all(c["secure"] and c["path"] == "/" for c in cookies.values())
    status, headers, _ = topology.get("/sign-in/")
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "nginx/" not in headers.get("Server", "") and "gunicorn" not in str(headers).lower()

    # Beat seals the trail with no command run by anyone, and the chain verifies.
    deadline = time.monotonic() + 60
    summary = ""
    while time.monotonic() < deadline:
        verify = topology.manage("audit_verify")
        assert verify.returncode == 0, verify.stderr
        summary = verify.stdout
        if re.search(r"\b0 events not yet sealed", summary):
            break
        time.sleep(3)
    assert re.search(r"intact: [1-9]\d* sealed events, [1-9]\d* checkpoints, 0 events", summary)

    # Backup (database and file store), then the restore drill on a scratch copy.
    backup = topology.run(sys.executable, "deploy/backup.py", str(tmp_path))
    assert backup.returncode == 0, backup.stderr
    folder = Path(backup.stdout.strip())
    assert {p.name for p in folder.iterdir()} == {"database.dump", "files.tar", "SHA256SUMS"}
    drill = topology.run(sys.executable, "deploy/restore_drill.py", str(folder), owner=True)
    assert drill.returncode == 0, drill.stdout + drill.stderr
    assert "audit chain intact" in drill.stdout
    assert re.search(r"Checked \d+ rows .* and [1-9]\d* files", drill.stdout)
    assert "Restore drill passed." in drill.stdout


def test_a_direct_request_cannot_claim_https(topology: Topology) -> None:
    """gunicorn and Django agree: only the proxy may say the request came over HTTPS."""
    port = topology.web_ports[1]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # 127.0.0.1 is the trusted proxy's address here, so come from another loopback one.
    connection.sock = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
    connection.request(
        "GET", "/sign-in/", headers={"Host": "localhost", "X-Forwarded-Proto": "https"}
    )
    response = connection.getresponse()
    assert response.status == 301
    assert response.getheader("Location", "").startswith("https://")


def test_readiness_and_liveness_answer_through_the_proxy(topology: Topology) -> None:
    assert topology.get("/healthz")[0] == 200
    # Not ready (no heartbeat): each probe gets the 503 as it is, and the probes never
    # make nginx mark the instances failed (pages would answer 502 for fail_timeout).
    topology.heartbeat_forget()
    assert [topology.get("/readyz")[0] for _ in range(3)] == [503, 503, 503]
    assert topology.get("/sign-in/")[0] == 200
    deadline = time.monotonic() + 60  # beat's first heartbeat comes 30 s after it starts
    while (answer := topology.get("/readyz"))[0] != 200 and time.monotonic() < deadline:
        time.sleep(1)
    status, headers, body = answer
    assert (status, body) == (200, b"ok\n")
    assert headers["Cache-Control"] == "no-store"


def test_the_application_runs_as_a_role_that_cannot_rewrite_the_trail(topology: Topology) -> None:
    """Two roles (README step 3): check --deploy is clean with the kit's environment, and
    the web's own credentials cannot empty or drop the audit table the kit migrated."""
    check = topology.manage("check", "--deploy", "--fail-level", "WARNING")
    assert check.returncode == 0, check.stdout + check.stderr
    with psycopg.connect(topology.env["DATABASE_URL"], autocommit=True) as app:
        assert app.execute("SELECT current_user").fetchone() == (topology.app_role,)
        for attack in ("TRUNCATE audit_auditevent", "DROP TABLE audit_auditevent"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(attack)


def test_the_web_server_refuses_the_owners_credentials(topology: Topology) -> None:
    owner = env_file_read(topology.owner_env_file)
    web = subprocess.run(
        [sys.executable, "-c", "import config.wsgi"],
        cwd=ROOT,
        env={**topology.env, **owner},
        capture_output=True,
        text=True,
        check=False,
    )
    assert web.returncode != 0
    assert "must not be given DATABASE_OWNER_URL" in web.stderr
