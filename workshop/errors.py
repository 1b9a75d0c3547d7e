"""Errors a student or instructor can act on: each message says what to do."""


class WorkshopError(RuntimeError):
    """A problem with a fix the user can apply; the message names the fix."""


class EngineError(WorkshopError):
    """The container engine is missing or cannot run workshop machines."""


class ImageBuildError(WorkshopError):
    """The workshop image could not be built."""


class UnknownNameError(WorkshopError, ValueError):
    """A chapter or machine the course does not have; the message lists the ones it has.
    (Also a ValueError, which callers caught before this class existed.)"""


class StackError(WorkshopError):
    """The stack is missing, half up, or not in the state an action needs."""


class DescriptorError(StackError):
    """A stack descriptor breaks a rule (workshop/descriptor.py): nothing may act on it."""


class RemoteError(WorkshopError):
    """An instance could not be reached over SSH, or a command on it failed."""


class ConfigError(WorkshopError):
    """A config file the server's own checker rejected; the message is its diagnosis."""
