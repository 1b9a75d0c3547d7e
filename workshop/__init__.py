"""Helpers that drive the workshop's machines from notebook cells and the `workshop` CLI.

Example::

    import workshop
    lab = workshop.open_lab()
    web1 = lab.up("web1")
"""

from .errors import WorkshopError
from .lab import Instance, Lab, open_lab

__all__ = ["Instance", "Lab", "WorkshopError", "open_lab"]
