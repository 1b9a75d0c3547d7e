"""The configuration files a student writes in an exercise, and the course's own answers.

The course's vhost, pg_hba.conf, nginx site, memcached configuration, pool_hba.conf, standby clone
script and VCL (what `workshop catch-up` and the course's reference helpers install) start with a line that says whose
they are (MARK). A chapter whose answer file still says so was not configured by the
student: every check of that chapter fails with the hint `withheld_cause` gives (catch-up
is for moving on, not for marks), so none of its points can be earned with the course's
answer. Where the answer is a text that stays as written (02a, 05a, 07a, 08a, 09a: not 03's pg_hba.conf,
which chapter 07 replaces, nor 06a's function of a name), a check also proves that its machine
runs the very text the student's answer cell holds. 06a's CACHES, a dict, has a check of its own
(grader/caching.py: `runs-your-caches`, which also refuses the course's marked file).

Catch-up never takes away points a student earned: where a machine already runs the student's
own answer file, catch-up keeps it (workshop/deploy/config_file.py: `keeping_own`).

Example (grader/mod_wsgi.py registers its check; grader/registry.py withholds)::

    ANSWER = ANSWER_FILES[CHAPTER]
    check(CHAPTER, "runs-your-vhost", ANSWER.title, points=1, answers=(ANSWER.variable,),
          stands_on=(ANSWER.machine,))(runs_answer(ANSWER))
    withheld_cause(target, "02-mod-wsgi")
    # -> "web1 runs the course's own vhost (its first line says so: `workshop catch-up` or ..."
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from workshop.configs import COURSE_ANSWER

from .result import FAILED, NOT_RUN, CheckResult, Verdict
from .target import Target

#: The first line of every course answer file, in configs/ (a unit test holds them to it).
MARK = COURSE_ANSWER + " {exercise}"


@dataclass(frozen=True)
class AnswerFile:
    """The file an exercise's answer cell becomes on its machine."""

    exercise: str  # "02a"
    machine: str
    path: str
    what: str  # how the hints name it
    variable: str  # the answer cell's variable
    install: str  # the notebook cell that installs it, for the hint

    @property
    def mark(self) -> str:
        return MARK.format(exercise=self.exercise)

    @property
    def title(self) -> str:
        return f"{self.machine} runs the {self.what} you wrote (`{self.variable}`)"


ANSWER_FILES = {
    "02-mod-wsgi": AnswerFile("02a", "web1", "/etc/apache2/sites-available/newsroom.conf", "vhost", "vhost",
                              "apache.configure_apache(web1, vhost)"),
    # Chapter 07 replaces it (db1 admits pgpool instead), so chapter 03 has no runs-your-... check either; the
    # course's own files of later chapters keep its mark (workshop/deploy/postgres.py: `course_hba`).
    "03-postgresql": AnswerFile("03", "db1", "/etc/postgresql/15/main/pg_hba.conf", "pg_hba.conf", "hba",
                                "postgres.configure_postgres(db1, hba)"),
    # The live release's label: catch-up's and the reference helpers' say so (workshop/deploy/releases.py).
    "04-fabric": AnswerFile("04", "web1", "/srv/newsroom/current/LABEL", "release", "fabfile.py",
                            'fab(lab, "deploy", ["web1"])'),
    "05-load-balancing": AnswerFile("05a", "lb1", "/etc/nginx/sites-available/newsroom", "nginx site", "lb_config",
                                    "nginx.configure_nginx(lb1, lb_config)"),
    # A function of the cache server's name: no text to compare. Chapter 06's runs-your-caches compares the
    # web servers' CACHES with the student's dict instead.
    "06-caching": AnswerFile("06a", "cache1", "/etc/memcached.conf", "memcached configuration", "memcached_config",
                             "memcached.configure_memcached(lab.up(name), memcached_config(name))"),
    # Chapter 08 adds db2 to pgpool.conf and keeps this file (configure_pgpool without one).
    "07-pgpool": AnswerFile("07a", "pgpool1", "/etc/pgpool2/pool_hba.conf", "pool_hba.conf", "pool_hba",
                            "pgpool.configure_pgpool(lab, pgpool1, pgpool.pgpool_conf(backends, size=pool), pool_hba)"),
    # The script that first made db2 a standby; a repair by catch-up keeps it (workshop/deploy/replication.py).
    "08-replication": AnswerFile("08a", "db2", "/var/lib/postgresql/15/standby-clone.sh", "clone script", "clone",
                                 'replication.clone_standby(lab, "db2", clone)'),
    "09-varnish": AnswerFile("09a", "varnish1", "/etc/varnish/newsroom.vcl", "VCL", "vcl",
                             "varnish.configure_varnish(varnish1, vcl)"),
}


def withheld_cause(target: Target, chapter: str) -> str | None:
    """Why none of `chapter`'s checks may pass (its answer file is the course's own), or None;
    asked once per target. A machine that cannot be asked blames nothing: the checks speak."""
    answer = ANSWER_FILES.get(chapter)
    if answer is None or target.stack is None or answer.machine not in target.stack.instances:
        return None
    key = ("course-answer", chapter)
    if key not in target.foundations:
        try:
            first = target.ssh(answer.machine, f"head -n 1 {answer.path}")
            marked = first.ok and first.stdout.startswith(answer.mark)
        except Exception:
            marked = False
        target.foundations[key] = (
            f"{answer.machine} runs the course's own {answer.what} (its first line says so: `workshop catch-up` or "
            f"a reference helper installed it), which earns none of this chapter's points: catch-up is for moving "
            f"on, not for marks. Write your own `{answer.variable}` in exercise {answer.exercise} and install it "
            f"({answer.install}) to earn them") if marked else None
    return target.foundations[key]


def normalised(text: str) -> str:
    """A config as the service reads it: trailing spaces and blank lines at the end do not count."""
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def digest(text: str) -> str:
    return hashlib.sha256(normalised(text).encode()).hexdigest()[:12]


def withhold(chapter: str, target: Target, results: list[CheckResult]) -> list[CheckResult]:
    """Every result of `chapter` that was not left unchecked fails with `withheld_cause`, if any."""
    cause = withheld_cause(target, chapter)
    if cause:
        for result in results:
            if result.status != NOT_RUN:
                result.status, result.hints = FAILED, [cause] + [hint for hint in result.hints if hint != cause]
    return results


def runs_answer(answer: AnswerFile):
    """The probe of an exercise's check that `answer`'s machine runs the student's answer cell."""
    def probe(target: Target, verdict: Verdict) -> None:
        written = target.answers.get(answer.variable)
        if not isinstance(written, str) or not written.strip():
            verdict.fail(f"`{answer.variable}` is not set: write the {answer.what} in the answer cell of exercise "
                         f"{answer.exercise} as a string, run it, then install it ({answer.install})")
            return
        live = target.ssh(answer.machine, f"cat {answer.path}")
        verdict.see(answer_digest=digest(written), live_digest=digest(live.stdout) if live.ok else None)
        if not live.ok:
            verdict.fail(f"{answer.machine} has no {answer.what} at {answer.path}: install yours ({answer.install})")
        elif normalised(live.stdout) != normalised(written):
            verdict.fail(f"{answer.machine} runs another {answer.what} than your `{answer.variable}` "
                         f"({answer.path} differs from it): run the answer cell, then install it ({answer.install})")
    return probe
