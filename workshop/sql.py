"""SQL for PostgreSQL over SSH, as deploys and checks both send it: the statements
travel on psql's stdin, never in the command line (where the shell would read
them, `ps` would show them and an error message would quote them), and values
enter them only as quoted literals.

Example::

    remote.run(superuser_psql("newsroom"), stdin=f"SELECT 1 FROM articles_marker WHERE value = {literal(value)}")
"""

from __future__ import annotations

import re

#: Where PostgreSQL logs on every database server (Debian's cluster 15/main): deploys and checks quote it.
PG_LOG = "/var/log/postgresql/postgresql-15-main.log"
#: Database names the command line accepts: PostgreSQL's unquoted identifiers, nothing for a shell to read.
DATABASE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def superuser_psql(database: str = "postgres") -> str:
    """The command that runs the SQL on its stdin in `database` as the postgres superuser
    (peer authentication over the local socket): rows as `a|b` lines, stopping at the first
    error (exit 3), whose message is the server's alone (terse: no echo of the statement)."""
    if not DATABASE_NAME.fullmatch(database):
        raise ValueError(f"{database!r} is not a plain database name (lower-case letters, digits, _)")
    return (f"cd / && runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -At -F '|' "
            f"-d {database}")


def literal(value: str) -> str:
    """`value` as a SQL string literal, read the same whatever standard_conforming_strings says
    (as libpq's PQescapeLiteral writes them: quotes doubled, E'' with doubled backslashes)."""
    if "\0" in value:
        raise ValueError("a SQL string cannot hold a NUL character")
    quoted = "'" + value.replace("'", "''").replace("\\", "\\\\") + "'"
    return "E" + quoted if "\\" in value else quoted
