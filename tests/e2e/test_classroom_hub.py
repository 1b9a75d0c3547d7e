"""A shared classroom server, end to end: `workshop class hub` gives two students a Unix
account each; both log in to JupyterHub with their own password and get a JupyterLab running
as their own account, showing the student's nbgrader panels only; neither can read the
other's files or the instructor's class folder; each works on their own stack with their
own copy of its key, and a machine only the instructor may start says so. A student does
chapter 01's exercise in a real browser, from login to Submit, and the instructor's tooling
grades it at full marks. Teardown removes the accounts, the group and the runtime it made,
and the stacks."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import (ElementClickInterceptedException, ElementNotInteractableException,
                                        NoSuchElementException, StaleElementReferenceException, TimeoutException,
                                        WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from grader.graded_cells import graded_cells
from tests.conftest import ROOT
from tests.e2e.conftest import unique_stack_name
from workshop.classroom import accounts
from workshop.classroom.hub import broker_running, hub_command, set_up, state_folder, tear_down
from workshop.classroom.layout import Classroom
from workshop.classroom.provision import down, up
from workshop.progress import Progress
from workshop.waiting import no_error, wait_until

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(os.geteuid() != 0, reason="a classroom server's set-up creates Unix accounts: root only")]
ASSIGNMENT = "01-getting-started"
#: Debian's chromium and chromium-driver (scripts/setup.sh): given by path, Selenium Manager downloads nothing.
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def _free_port_triple() -> int:
    """A port whose next two are free too (the hub's own API and the proxy's)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port < 65500 and all(_free(port + offset) for offset in (1, 2)):
            return port
    raise RuntimeError("no three consecutive free ports")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture(scope="module")
def hub(workshop_home, workshop_image, tmp_path_factory):
    """Two students with web1 each, their accounts, and the class's JupyterHub serving."""
    # Every account may enter this folder: what keeps a student out of the class folder and the
    # runtime's insides is their own mode, as on a real server, not pytest's private tmp folder.
    folder = Path(tempfile.mkdtemp(prefix="workshop-hub-", dir="/tmp"))
    folder.chmod(0o755)
    roster = folder / "roster.csv"
    roster.write_text("id,name\nalice,Alice Martin\nbob,Bob Chen\n")
    classroom = Classroom.open(roster, name=unique_stack_name("hub"))
    runtime = folder / "runtime"
    port = _free_port_triple()
    process, broker = None, None
    try:
        rows = up(classroom, ["web1"], progress=Progress("hub class up", quiet=True))
        assert [row["result"] for row in rows] == ["up", "up"], rows
        rows = set_up(classroom, runtime, port=port)
        assert [row["result"] for row in rows] == ["created", "created"], rows
        broker = broker_running(classroom)
        socket_path = broker.__enter__()
        log_path = tmp_path_factory.mktemp("hub-log") / "jupyterhub.log"  # kept after the run, for a failure
        log = log_path.open("w")
        process = subprocess.Popen(hub_command(classroom), cwd=state_folder(classroom), stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{base}/hub/health", timeout=5).raise_for_status(), 60, 1,
                   done=no_error, retry_on=(requests.RequestException,))
        yield {"classroom": classroom, "base": base, "runtime": runtime, "log": log_path,
               "broker": socket_path}
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        if broker is not None:
            broker.__exit__(None, None, None)
        try:
            tear_down(classroom)
        finally:  # the stacks and the folder go even when removing an account failed
            down(classroom, progress=Progress("hub class down", quiet=True))
            shutil.rmtree(folder, ignore_errors=True)
        for student in classroom.students:
            assert not accounts.exists(classroom.stack_name(student))


def _passwords(classroom: Classroom) -> dict[str, str]:
    lines = (state_folder(classroom) / "accounts.csv").read_text().splitlines()[1:]
    return {line.split(",")[0]: line.split(",")[2] for line in lines}


def log_in(base: str, account: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/hub/login", timeout=10)
    session.post(f"{base}/hub/login", data={"username": account, "password": password,
                                            "_xsrf": session.cookies.get("_xsrf", "")}, timeout=30)
    return session


def wait_for_lab(session: requests.Session, base: str, account: str) -> None:
    """The student's JupyterLab serves its page (JupyterHub spawns it at login; the first page
    also completes the OAuth handshake that lets the session use the server's API)."""
    started = time.monotonic()

    def answers() -> None:
        response = session.get(f"{base}/user/{account}/lab", timeout=30)
        print(f"[{time.monotonic() - started:5.1f}s] {account}: HTTP {response.status_code} at {response.url}")
        if response.status_code != 200 or f"/user/{account}/lab" not in response.url:
            raise requests.HTTPError(f"HTTP {response.status_code} at {response.url}")
    wait_until(answers, 120, 1, done=no_error, retry_on=(requests.RequestException,))


def as_account(account: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", account, "--", *command], capture_output=True, text=True, timeout=120,
                          cwd=accounts.home(account))  # where a student's terminal starts


def test_each_student_logs_in_to_a_jupyterlab_of_their_own_account(hub):
    classroom, base = hub["classroom"], hub["base"]
    passwords = _passwords(classroom)
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    sessions = {}
    for account in (alice, bob):
        sessions[account] = log_in(base, account, passwords[account])
        wait_for_lab(sessions[account], base, account)
    for account in (alice, bob):
        process = subprocess.run(["pgrep", "-u", account, "-f", "jupyterhub-singleuser"], capture_output=True, text=True)
        assert process.returncode == 0, f"no JupyterLab runs as {account}:\n{hub['log'].read_text()[-3000:]}"
        environ = Path(f"/proc/{process.stdout.split()[0]}/environ").read_bytes().split(b"\0")
        assert f"WORKSHOP_STACK={account}".encode() in environ
        listing = sessions[account].get(f"{base}/user/{account}/api/contents/workshop", timeout=10).json()
        assert {"CONNECT.txt", "stacks"} <= {entry["name"] for entry in listing["content"]}
    # One student's login does not open the other's JupyterLab, and a wrong password opens nothing.
    assert sessions[alice].get(f"{base}/user/{bob}/api/contents", timeout=10, allow_redirects=False).status_code != 200
    stranger = log_in(base, alice, "not-" + passwords[alice])
    assert stranger.get(f"{base}/user/{alice}/api/contents", timeout=10, allow_redirects=False).status_code != 200


def test_a_students_jupyterlab_shows_the_student_panels_of_nbgrader_only(hub):
    classroom, base = hub["classroom"], hub["base"]
    alice = classroom.stack_name(classroom.students[0])
    session = log_in(base, alice, _passwords(classroom)[alice])
    wait_for_lab(session, base, alice)
    page = session.get(f"{base}/user/{alice}/lab", timeout=30).text
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page, re.S).group(1))
    disabled = config["disabledExtensions"]
    assert {"@jupyter/nbgrader:create-assignment", "@jupyter/nbgrader:formgrader"} <= set(disabled)
    assert "@jupyter/nbgrader:assignment-list" not in disabled
    assert session.get(f"{base}/user/{alice}/formgrader", timeout=10).status_code == 404
    listed = session.get(f"{base}/user/{alice}/assignments", params={"course_id": "django-deployment-workshop"}, timeout=30)
    assert listed.status_code == 200, listed.text  # the student panels stay: Assignments answers


def test_students_cannot_read_each_other_or_the_instructors_records(hub):
    classroom = hub["classroom"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    bobs_key = accounts.home(bob) / "workshop/stacks" / bob / "id_ed25519"
    for path in (bobs_key, accounts.home(bob), classroom.folder, state_folder(classroom) / "accounts.csv"):
        result = as_account(alice, "cat" if path.is_file() else "ls", str(path))
        assert result.returncode != 0 and "Permission denied" in result.stderr, (path, result)


def test_a_student_works_on_their_own_stack_and_asks_the_broker_for_machines(hub):
    classroom, runtime = hub["classroom"], hub["runtime"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    home = accounts.home(alice) / "workshop"
    env = ["env", f"WORKSHOP_HOME={home}", f"WORKSHOP_STACK={alice}", "WORKSHOP_CLASS_ACCOUNT=1"]
    workshop = str(runtime / "venv/bin/workshop")
    status = as_account(alice, *env, workshop, "status")
    assert status.returncode == 0 and re.search(r"web1\s+\S+\s+running", status.stdout), status
    ssh = as_account(alice, "ssh", "-F", str(home / "stacks" / alice / "ssh_config"), "web1", "hostname")
    assert ssh.returncode == 0, ssh.stderr
    # Without the broker, what only root's engine can do says whose it is...
    refused = as_account(alice, *env, workshop, "up", "db1")
    assert refused.returncode != 0 and "ask your instructor" in refused.stdout + refused.stderr, refused
    # ... and with it, the student starts a machine of their own stack, recorded on both sides.
    started = as_account(alice, *env, f"WORKSHOP_CLASS_BROKER={hub['broker']}", workshop, "up", "db1")
    assert started.returncode == 0, started.stdout + started.stderr
    assert "db1" in classroom.stack(classroom.students[0]).instances
    assert "db1" not in classroom.stack(classroom.students[1]).instances
    ssh = as_account(alice, "ssh", "-F", str(home / "stacks" / alice / "ssh_config"), "db1", "hostname")
    assert ssh.returncode == 0, ssh.stderr
    # The engine itself stays out of reach: root's containers and their storage are root's.
    storage = as_account(alice, "ls", "/var/lib/containers/storage")
    assert storage.returncode != 0 and "Permission denied" in storage.stderr, storage


def instructor(hub, verb: str, *args: str) -> subprocess.CompletedProcess:
    """`workshop class VERB ROSTER ARGS`, as the instructor runs it on the class's exchange."""
    classroom = hub["classroom"]
    return subprocess.run([str(Path(os.sys.executable)), "-m", "workshop.cli", "class", verb,
                           str(classroom.folder.parent / "roster.csv"), *args, "--name", classroom.name,
                           "--exchange", str(hub["runtime"] / "exchange")], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def released(hub):
    """Chapter 01 in the class's exchange, once (nbgrader refuses to publish it twice)."""
    done = instructor(hub, "release", ASSIGNMENT)
    assert done.returncode == 0, done.stdout + done.stderr
    return ASSIGNMENT


class Browser:
    """A headless chromium under Selenium, as a student's browser. Every wait is bounded, and a
    step that fails saves a screenshot and the page source into `folder`, named in the failure."""

    def __init__(self, driver: webdriver.Chrome, folder: Path, hub_log: Path):
        self.driver, self.folder, self.hub_log, self.failures = driver, folder, hub_log, 0

    def evidence(self, what: str) -> str:
        """`what`, with where the screenshot and the page source of this moment are."""
        self.failures += 1
        shot, page = self.folder / f"failure-{self.failures}.png", self.folder / f"failure-{self.failures}.html"
        try:
            self.driver.save_screenshot(str(shot))
            page.write_text(self.driver.page_source)
        except WebDriverException as exc:  # the browser itself is gone: say so rather than hide the failure
            return f"{what}\n  (no screenshot: {exc.msg})\n  JupyterHub's log: {self.hub_log}"
        return (f"{what}\n  at {self.driver.current_url}\n  screenshot: {shot}\n  page source: {page}\n"
                f"  JupyterHub's log: {self.hub_log}")

    def wait(self, what: str, condition, timeout: float):
        """`condition(driver)`'s first truthy value within `timeout` seconds, else a failure naming `what`."""
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.5, ignored_exceptions=(
                NoSuchElementException, StaleElementReferenceException, ElementClickInterceptedException,
                ElementNotInteractableException)).until(condition)
        except TimeoutException:
            raise AssertionError(self.evidence(f"{what}: not within {timeout:g} s")) from None
        except WebDriverException as exc:
            raise AssertionError(self.evidence(f"{what}: {exc.msg}")) from exc

    def element(self, what: str, xpath: str, timeout: float = 30):
        """The displayed element at `xpath`."""
        return self.wait(what, lambda driver: next(
            (found for found in driver.find_elements(By.XPATH, xpath) if found.is_displayed()), None), timeout)

    def click(self, what: str, xpath: str, timeout: float = 30) -> None:
        """Click the element at `xpath` once it is there and clickable (an overlay still fading
        out intercepts a click: it is tried again until `timeout`)."""
        def clicked(driver) -> bool:
            element = driver.find_element(By.XPATH, xpath)
            if not element.is_displayed() or element.get_attribute("disabled") is not None:
                return False
            element.click()
            return True
        self.wait(what, clicked, timeout)

    def menu(self, top: str, command: str) -> None:
        """Menu bar `top` > the item that runs JupyterLab's `command`, as a student clicks it."""
        self.click(f"the {top} menu", f"//li[{_contains_class('lm-MenuBar-item')}]"
                                      f"[.//div[{_contains_class('lm-MenuBar-itemLabel')}][normalize-space()='{top}']]")
        self.click(f"{top} > {command}", f"//ul[{_contains_class('lm-Menu-content')}]"
                                         f"/li[{_contains_class('lm-Menu-item')}][@data-command='{command}']")


def _contains_class(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def assignment_row(section: str, assignment: str) -> str:
    """The row of `assignment` in one list of nbgrader's Assignments panel (`released`, `fetched`,
    `submitted`: nbgrader 0.9.6's ids are SECTION_assignments_list)."""
    return (f"//div[@id='{section}_assignments_list']/div[{_contains_class('list_item')}]"
            f"[.//span[{_contains_class('item_name')}][normalize-space()='{assignment}']]")


def run_finished(notebook: str):
    """A wait condition: every code cell's prompt in the `notebook` panel, once none is left
    waiting ([*]: Run All Cells queues them all at once; a cell that raises stops the rest)."""
    prompts = f"{notebook}//div[{_contains_class('jp-CodeCell')}]//div[{_contains_class('jp-InputPrompt')}]"

    def finished(driver) -> list[str] | None:
        shown = [prompt.get_attribute("textContent").strip() for prompt in driver.find_elements(By.XPATH, prompts)]
        return shown if shown and not any("*" in text for text in shown) else None
    return finished


def reference_answers(notebook: Path) -> list[str]:
    """The source of each answer cell of the reference solution in `notebook`, as a student types
    it: nbgrader's BEGIN/END SOLUTION markers dropped, the rest of the cell kept."""
    cells = json.loads(notebook.read_text())["cells"]
    return ["\n".join(line for line in "".join(cell["source"]).splitlines()
                      if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
            for cell in cells if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution")]


@pytest.fixture
def browser(hub, tmp_path):
    """A fresh headless chromium, quit however the test ends."""
    assert CHROMIUM.is_file() and CHROMEDRIVER.is_file(), \
        "chromium and chromium-driver are missing: apt-get install -y chromium chromium-driver (scripts/setup.sh does)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1400,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), log_output=str(tmp_path / "chromedriver.log")),
                              options=options)
    try:
        driver.set_page_load_timeout(60)
        driver.set_script_timeout(30)
        yield Browser(driver, tmp_path, hub["log"])
    finally:
        driver.quit()


def test_a_student_does_chapter_01_in_jupyterlab_and_the_instructor_grades_it_full_marks(hub, released, browser):
    """A student's real path through the browser, which no API call stands in for: log in to the
    hub, fetch the exercise from nbgrader's Assignments tab, open it, type the answers, Run > Run
    All Cells (web1 comes through the machine broker), Validate, Submit; then the instructor's
    `class collect` and `class grade` give full marks."""
    classroom, base = hub["classroom"], hub["base"]
    student = classroom.students[0]
    account = classroom.stack_name(student)
    (solution,) = sorted((ROOT / "solutions" / ASSIGNMENT).glob("*.ipynb"))
    answers = reference_answers(solution)
    full_marks = sum(cell.points for cell in graded_cells(solution))
    assert answers and full_marks > 0, solution

    driver = browser.driver
    driver.get(f"{base}/hub/login")
    browser.element("the login form", "//input[@id='username_input']").send_keys(account)
    browser.element("the password field", "//input[@id='password_input']").send_keys(_passwords(classroom)[account])
    browser.click("Sign in", "//input[@id='login_submit']")
    # JupyterHub spawns the student's JupyterLab (or finds it running); its menu bar has nbgrader's menu.
    browser.element("the student's JupyterLab",
                    f"//div[{_contains_class('lm-MenuBar-itemLabel')}][normalize-space()='Nbgrader']", timeout=180)
    assert f"/user/{account}/lab" in driver.current_url, browser.evidence("a JupyterLab at another address")

    browser.menu("Nbgrader", "nbgrader:open-assignment-list")
    browser.click("Fetch, in the released assignments", f"{assignment_row('released', ASSIGNMENT)}"
                  f"//span[{_contains_class('item_status')}]/button[normalize-space()='Fetch']", timeout=60)
    fetched = assignment_row("fetched", ASSIGNMENT)
    browser.click("the fetched assignment's notebooks", f"{fetched}//a[{_contains_class('assignment-notebooks-link')}]",
                  timeout=60)
    browser.click(f"the notebook {solution.stem}", f"{fetched}//div[{_contains_class('nested_list_item')}]"
                  f"//a[normalize-space()='{solution.stem}']")

    notebook = f"//div[{_contains_class('jp-NotebookPanel')}][not({_contains_class('lm-mod-hidden')})]"
    unanswered = (f"{notebook}//div[{_contains_class('jp-CodeCell')}]//div[{_contains_class('cm-content')}]"
                  "[contains(., 'raise NotImplementedError()')]")
    for number, answer in enumerate(answers, 1):
        editor = browser.element(f"answer cell {number} of {len(answers)}", unanswered, timeout=60)
        editor.click()
        ActionChains(driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).send_keys(answer).perform()
    assert not driver.find_elements(By.XPATH, unanswered), browser.evidence("an answer cell is still unanswered")

    browser.menu("Run", "runmenu:run-all")
    done = browser.wait("Run All Cells to finish", run_finished(notebook), timeout=300)
    assert all(re.fullmatch(r"\[\d+\]:", prompt) for prompt in done), \
        browser.evidence(f"not every cell ran (a cell raised?): prompts {done}")

    browser.click("Validate, in the notebook's toolbar", f"{notebook}//*[{_contains_class('validate-button')}]")
    result = browser.element("nbgrader's validation results", "//div[@id='validation-message']", timeout=300)
    assert "validation-success" in result.get_attribute("class").split(), \
        browser.evidence(f"Validate did not pass: {result.text}")
    browser.click("OK, under the validation results",  # JupyterLab 4's dialogs are <dialog> elements
                  f"//dialog[{_contains_class('jp-Dialog')}]//button[{_contains_class('jp-mod-accept')}]")
    saved = json.loads((accounts.home(account) / ASSIGNMENT / solution.name).read_text())  # Validate saves first
    typed = ["".join(cell["source"]) for cell in saved["cells"]
             if cell["cell_type"] == "code" and cell["metadata"].get("nbgrader", {}).get("solution")]
    assert typed == answers, browser.evidence(f"the notebook saved is not what was typed: {typed}")

    browser.menu("Nbgrader", "nbgrader:open-assignment-list")
    browser.click("Submit, in the downloaded assignments",
                  f"{fetched}//span[{_contains_class('item_status')}]/button[normalize-space()='Submit']")
    browser.element("the submission, in the submitted assignments", assignment_row("submitted", ASSIGNMENT), timeout=60)

    collected = instructor(hub, "collect", ASSIGNMENT)
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert re.search(rf"^{student.id}\s+{ASSIGNMENT}\s+yes\s", collected.stdout, re.M), collected.stdout
    graded = instructor(hub, "grade", ASSIGNMENT, "--student", student.id)
    assert graded.returncode == 0, graded.stdout[-3000:] + graded.stderr[-3000:]
    with (classroom.course_root / "grades.csv").open(newline="") as handle:
        (row,) = [row for row in csv.DictReader(handle)
                  if (row["student_id"], row["assignment"]) == (student.id, ASSIGNMENT)]
    # Full marks, and nothing flagged: the descriptor beside her notebook is her own copy of the stack.
    if (row["status"], float(row["score"] or 0), float(row["max_score"] or 0), row["note"]) != (
            "graded", full_marks, full_marks, ""):
        feedback = classroom.course_root / "feedback" / student.id / ASSIGNMENT
        if feedback.is_dir():  # the class folder goes at teardown: keep a copy with the test's files
            feedback = shutil.copytree(feedback, browser.folder / "feedback")
        pytest.fail(f"{student.id} {ASSIGNMENT}: {row}, not {full_marks:g}/{full_marks:g} unflagged\n"
                    f"{graded.stdout[-3000:]}\nfeedback: {feedback}")


def test_a_submission_in_another_students_name_is_refused_at_collect(hub, released):
    classroom, runtime = hub["classroom"], hub["runtime"]
    alice, bob = (classroom.stack_name(student) for student in classroom.students)
    exchange = runtime / "exchange"
    nbgrader = str(runtime / "venv/bin/nbgrader")
    for account, student_id, claimed in ((alice, "alice", "alice"), (bob, "bob", "alice")):
        home = accounts.home(account)
        # --replace: alice may have fetched it already, in her browser (the test above).
        steps = [[nbgrader, "fetch_assignment", "01-getting-started", "--replace"],
                 ["touch", f"01-getting-started/{account}.txt"],  # who made the folder that gets graded
                 [nbgrader, "submit", "01-getting-started", f"--student={claimed}"]]
        for step in steps:
            done = subprocess.run(["runuser", "-u", account, "--", "env", f"HOME={home}",
                                   f"WORKSHOP_STUDENT_ID={student_id}", *step], cwd=home, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, (account, step, done.stdout, done.stderr)
    collected = instructor(hub, "collect", "01-getting-started")
    assert collected.returncode == 0, collected.stderr
    rows = {line.split()[0]: line for line in collected.stdout.splitlines()[2:] if line.strip()}
    assert re.search(r"alice\s+01-getting-started\s+yes\s+refused alice\+01-getting-started\+", rows["alice"])
    assert "not by alice's account" in rows["alice"]
    submitted = classroom.course_root / "submitted/alice/01-getting-started"
    assert (submitted / f"{alice}.txt").is_file() and not (submitted / f"{bob}.txt").exists()
    assert (exchange / "django-deployment-workshop/refused").is_dir()
