"""Two grading workers share one gradebook: a write waits out another worker's open read, as
long as an autograde's notebook runs, instead of failing with "database is locked" after
SQLite's default 5 s (a class run once lost a submission to it)."""

import threading
import time

from nbgrader.api import Gradebook
from sqlalchemy import text

from workshop.course import GRADEBOOK_WAIT_S, Course

HELD_S = 6  # longer than SQLite's default wait


def test_a_gradebook_write_waits_for_the_lock_another_worker_holds(tmp_path):
    course = Course(tmp_path / "course")
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
        gradebook.update_or_create_student("alice")
    reading = threading.Event()

    def hold_a_lock():
        with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
            gradebook.db.execute(text("BEGIN IMMEDIATE"))  # what a worker's write holds
            reading.set()
            time.sleep(HELD_S)
            gradebook.db.commit()

    holder = threading.Thread(target=hold_a_lock)
    holder.start()
    reading.wait(10)
    started = time.monotonic()
    with Gradebook(course.db_url, course.config.CourseDirectory.course_id) as gradebook:
        gradebook.update_or_create_student("alice", first_name="Alice")
    holder.join()
    assert time.monotonic() - started >= HELD_S - 1 and HELD_S < GRADEBOOK_WAIT_S
