"""The course's own answers earn nothing: a chapter whose answer file is the course's (its first
line says so) fails every check with the catch-up hint, and each exercise's machine must run the
very text the student's answer cell holds."""

import pytest

from grader.course_answers import ANSWER_FILES, normalised
from grader.registry import checks_for, run_checks
from grader.result import FAILED, NOT_RUN, PASSED
from workshop.deploy import apache, memcached, nginx, pgpool, postgres, releases, replication, varnish
from workshop.lab import Lab
from workshop.stack import Stack

from .kit import FakeTarget, assert_hint, run

RUNS_ANSWER = {"02-mod-wsgi": "runs-your-vhost", "05-load-balancing": "runs-your-lb-config",
               "07-pgpool": "runs-your-pool-hba",
               "08-replication": "runs-your-clone", "09-varnish": "runs-your-vcl"}
WRITTEN = "<VirtualHost *:80>\n    ServerName newsroom\n</VirtualHost>\n"


def course_answers(tmp_path, monkeypatch) -> dict[str, str]:
    """What catch-up installs for each exercise (the reference helpers), on a planned local stack."""
    monkeypatch.setenv("WORKSHOP_HOME", str(tmp_path / "home"))
    stack = Stack("s", "local", "root", str(tmp_path / "id"), {"subnet": "10.213.5.0/24"}, {})
    stack.folder.mkdir(parents=True, exist_ok=True)
    lab = Lab(stack, None, tmp_path)
    return {"02-mod-wsgi": apache.reference_vhost(), "05-load-balancing": nginx.reference_lb_config(lab),
            "03-postgresql": postgres.reference_hba(lab, marks=(postgres.ANSWER_TO_03,)),
            "04-fabric": releases.ANSWER_TO_04 + "\n",  # the LABEL of the course's release
            "08-replication": replication.clone_script(lab, "db2", "db1"),
            "06-caching": memcached.reference_memcached_config(lab, "cache1"), "07-pgpool": pgpool.reference_pool_hba(lab),
            "09-varnish": varnish.reference_vcl(lab)}


def test_every_exercise_whose_answer_is_a_text_has_its_check():
    # 03's pg_hba.conf is replaced in chapter 07; 04's answer is a fabfile beside the notebook; 06a's, a function
    assert set(RUNS_ANSWER) == set(ANSWER_FILES) - {"03-postgresql", "04-fabric", "06-caching"}
    for chapter, check_id in RUNS_ANSWER.items():
        [item] = checks_for(chapter, (check_id,))
        assert item.answers == (ANSWER_FILES[chapter].variable,)


def test_the_course_answers_say_whose_they_are_on_their_first_line(tmp_path, monkeypatch):
    for chapter, text in course_answers(tmp_path, monkeypatch).items():
        assert text.splitlines()[0].startswith(ANSWER_FILES[chapter].mark), chapter


def test_the_course_cache_settings_say_whose_they_are_too(tmp_path, monkeypatch):
    """06a's second answer, checked by runs-your-caches (its first line, like the memcached configuration's)."""
    course_answers(tmp_path, monkeypatch)
    stack = Stack("s", "local", "root", str(tmp_path / "id"), {"subnet": "10.213.5.0/24"}, {})
    text = memcached.reference_cache_settings(Lab(stack, None, tmp_path))
    assert text.splitlines()[0].startswith(ANSWER_FILES["06-caching"].mark)


@pytest.mark.parametrize("chapter", sorted(ANSWER_FILES))
def test_a_stack_running_the_course_answer_earns_nothing_in_that_chapter(target, chapter):
    answer = ANSWER_FILES[chapter]
    target.on_ssh(answer.machine, f"head -n 1 {answer.path}", answer.mark + ", which earns no points\n")
    results = run_checks(chapter, target, answers={name: "x" for item in checks_for(chapter) for name in item.answers})
    assert {result.status for result in results} == {FAILED}
    for result in results:
        assert result.hints[0].startswith(f"{answer.machine} runs the course's own {answer.what} (its first line "
                                          "says so: `workshop catch-up` or a reference helper installed it)")
        assert f"Write your own `{answer.variable}` in exercise {answer.exercise}" in result.hints[0]


def test_a_stack_running_its_own_answer_keeps_each_checks_own_verdict(target):
    answer = ANSWER_FILES["02-mod-wsgi"]
    target.on_ssh("web1", "head -n 1", "# the newsroom's vhost, mine\n")
    target.on_ssh("web1", "systemctl is-active -q apache2", "active\n")
    results = run_checks("02-mod-wsgi", target, answers={answer.variable: WRITTEN})
    assert not any("course's own" in hint for result in results for hint in result.hints)


def test_a_machine_that_cannot_be_asked_withholds_nothing(target):
    """Nothing scripted: its probe raises, and the checks speak for themselves."""
    target.on_ssh("web1", "systemctl is-active -q apache2", "active\n")
    results = run_checks("02-mod-wsgi", target, ("debug-off",))
    assert not any("course's own" in hint for result in results for hint in result.hints)


def test_a_check_left_unchecked_by_its_foundation_stays_so(target):
    target.on_ssh("web1", "head -n 1", ANSWER_FILES["02-mod-wsgi"].mark + "\n")
    target.on_ssh("web1", "systemctl is-active -q apache2", "missing\n")
    [result] = run_checks("02-mod-wsgi", target, ("debug-off",))
    assert result.status == NOT_RUN


@pytest.mark.parametrize("chapter", sorted(RUNS_ANSWER))
def test_the_machine_runs_the_answer_cell(target, chapter):
    answer = ANSWER_FILES[chapter]
    target.on_ssh(answer.machine, f"cat {answer.path}", WRITTEN + "\n\n")
    assert run(target, chapter, RUNS_ANSWER[chapter], **{answer.variable: WRITTEN.rstrip()}).status == PASSED


@pytest.mark.parametrize("chapter", sorted(RUNS_ANSWER))
def test_a_machine_running_another_text_than_the_answer_cell_is_caught(target, chapter):
    answer = ANSWER_FILES[chapter]
    target.on_ssh(answer.machine, f"cat {answer.path}", WRITTEN)
    assert_hint(run(target, chapter, RUNS_ANSWER[chapter], **{answer.variable: WRITTEN.replace("newsroom", "wiki")}),
                f"{answer.machine} runs another {answer.what} than your `{answer.variable}` ({answer.path} differs")


@pytest.mark.parametrize("written", [None, "", 42])
def test_an_answer_cell_left_unset_is_named(target, written):
    assert_hint(run(target, "09-varnish", "runs-your-vcl", vcl=written),
                "`vcl` is not set: write the VCL in the answer cell of exercise 09a as a string")


def test_an_answer_never_installed_is_named(target):
    target.on_ssh("lb1", "cat /etc/nginx/sites-available/newsroom", "", exit_code=1)
    assert_hint(run(target, "05-load-balancing", "runs-your-lb-config", lb_config=WRITTEN),
                "lb1 has no nginx site at /etc/nginx/sites-available/newsroom: install yours "
                "(nginx.configure_nginx(lb1, lb_config))")


def test_a_stack_without_the_answers_machine_withholds_nothing():
    target = FakeTarget(instances=("web1",))
    results = run_checks("09-varnish", target, ("grace-configured",))
    assert not any("course's own" in hint for result in results for hint in result.hints)


def test_trailing_spaces_and_final_blank_lines_do_not_count():
    assert normalised("a  \nb\n\n\n") == normalised("a\nb")
    assert normalised("a\n\nb") != normalised("a\nb")
