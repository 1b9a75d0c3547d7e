"""nbgrader configuration of the course (read by `nbgrader ...` run at the repo root,
and by workshop.release / the tests through traitlets' PyFileConfigLoader)."""

import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "django-deployment-workshop"
# Sources are the solution notebooks; `nbgrader generate_assignment` releases
# the student versions into exercises/ (committed, kept in sync by a test).
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
# Exchange for the student extensions (assignment list) on a single machine.
c.Exchange.root = os.path.join(here, ".nbgrader-exchange")

# nbgrader's default of 30 s per cell is too short for cells that start
# machines or probe them. Each check carries its own bounded timeouts (5 s
# SSH connect, 20 s per command, 60 s per check), so this is only a backstop.
c.Execute.timeout = 300
# Short tracebacks: the hint of a failing check is what a student should read.
c.Execute.extra_arguments = ["--InteractiveShell.xmode=Minimal"]
# Stop each notebook's kernel at once when it is done: a graceful stop waits ~1.3 s per
# notebook for atexit hooks that have nothing to save (13 notebooks in a whole course).
c.Execute.shutdown_kernel = "immediate"

# Hidden tests would otherwise leak into the feedback HTML (nbgrader#917).
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
