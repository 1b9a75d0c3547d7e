"""Instructor tooling for a class: one stack per student from a roster, class-wide
autograding against the live stacks, a live progress view, and teardown.

The CLI verbs (`workshop class up|status|release|collect|grade|live|down ROSTER`)
are thin shells over these modules, which notebooks can call too.
"""
