"""The class roster: a CSV with a header row, one student per line.

    id,name,public_key,address
    alice,Alice Martin,ssh-ed25519 AAAA... alice@laptop,192.0.2.10
    bob,Bob Chen,,

`id` and `name` are required; `public_key` (the student's own SSH key, added
to their machines) and `address` (the workstation they connect from, shown in
their connection details) are optional. Every bad row is reported at once,
with its line number, so the instructor fixes the file in one go.

Example::

    [s.id for s in parse_roster(Path("roster.csv"))]
    # -> ['alice', 'bob']
"""

from __future__ import annotations

import base64
import binascii
import csv
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import WorkshopError

#: Accepted header names for each column (first is canonical).
COLUMNS = {
    "id": ("id", "student_id", "student"),
    "name": ("name", "full_name"),
    "public_key": ("public_key", "ssh_key", "key"),
    "address": ("address", "ip"),
}
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")
KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
             "sk-ssh-ed25519@openssh.com")


class RosterError(WorkshopError):
    """The roster cannot be used; the message lists every problem with its line."""


@dataclass(frozen=True)
class Student:
    id: str
    name: str
    public_key: str = ""
    address: str = ""

    @property
    def slug(self) -> str:
        """The id as it appears in stack and container names (no underscores)."""
        return self.id.replace("_", "-")


def parse_roster(path: Path) -> list[Student]:
    """The students of the roster at `path`, in file order; RosterError listing every bad row."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RosterError(f"Cannot read the roster {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise RosterError(f"The roster {path} is not UTF-8 text: save it as CSV (UTF-8) with a header row "
                          "`id,name,public_key,address`") from None
    return parse_roster_text(text, str(path))


def parse_roster_text(text: str, source: str = "roster") -> list[Student]:
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise RosterError(f"{source} is empty: add a header row `id,name,public_key,address` and one row per student")
    header_number, header_line = lines[0]
    header = [cell.strip().lower() for cell in next(csv.reader([header_line]))]
    fields = _columns(header, source, header_number)
    students, problems, seen_ids, seen_slugs = [], [], {}, {}
    for number, line in lines[1:]:
        cells = next(csv.reader([line]))
        if len(cells) > len(header):
            problems.append(f"line {number}: {len(cells)} values for {len(header)} columns "
                            "(quote a value that contains a comma)")
            continue
        row = {field: (cells[index].strip() if index < len(cells) else "") for field, index in fields.items()}
        row_problems = _row_problems(row)
        student_id = row.get("id", "")
        if student_id in seen_ids:
            row_problems.append(f"student id {student_id!r} already used on line {seen_ids[student_id]}")
        elif student_id.replace("_", "-") in seen_slugs:
            row_problems.append(f"student id {student_id!r} makes the same stack name as "
                                f"{seen_slugs[student_id.replace('_', '-')]!r}: change one of them")
        problems.extend(f"line {number}: {problem}" for problem in row_problems)
        if student_id:
            seen_ids.setdefault(student_id, number)
            seen_slugs.setdefault(student_id.replace("_", "-"), student_id)
        if not row_problems:
            students.append(Student(**row))
    if problems:
        raise RosterError(f"{source} has {len(problems)} problem(s):\n  " + "\n  ".join(problems))
    if not students:
        raise RosterError(f"{source} lists no students under its header")
    return students


def _columns(header: list[str], source: str, line: int) -> dict[str, int]:
    """Which header cell holds each known field; unknown or missing required columns are errors."""
    fields, unknown = {}, []
    for index, cell in enumerate(header):
        field = next((name for name, aliases in COLUMNS.items() if cell in aliases), None)
        if field is None or field in fields:
            unknown.append(cell or f"(empty column {index + 1})")
        else:
            fields[field] = index
    missing = [name for name in ("id", "name") if name not in fields]
    if missing or unknown:
        said = []
        if missing:
            said.append(f"no {' or '.join(missing)} column")
        if unknown:
            said.append(f"unknown or repeated column(s) {', '.join(unknown)}")
        raise RosterError(f"{source} line {line}: the header has {' and '.join(said)}; "
                          f"expected `id,name,public_key,address` (the last two optional)")
    return fields


def _row_problems(row: dict[str, str]) -> list[str]:
    problems = []
    student_id = row.get("id", "")
    if not student_id:
        problems.append("no student id")
    elif not _ID.match(student_id):
        problems.append(f"student id {student_id!r} is not usable: 1-20 lowercase letters, digits, '-' or '_', "
                        "starting with a letter or digit (it names the student's folder and machines)")
    if not row.get("name"):
        problems.append(f"student {student_id or '?'} has no name")
    if row.get("public_key"):
        problem = _key_problem(row["public_key"])
        if problem:
            problems.append(problem)
    if row.get("address"):
        try:
            ipaddress.ip_address(row["address"])
        except ValueError:
            problems.append(f"address {row['address']!r} is not an IP address (e.g. 192.0.2.10)")
    return problems


def _key_problem(key: str) -> str | None:
    """Why `key` is not an OpenSSH public key line, or None."""
    parts = key.split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        return (f"public key {key[:30]!r}... is not an OpenSSH public key line: paste the whole "
                "`ssh-ed25519 AAAA... comment` line of the student's .pub file")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        return f"public key of type {parts[0]} has a damaged base64 body: paste the .pub line again"
    if not blob.startswith(len(parts[0]).to_bytes(4, "big") + parts[0].encode()):
        return f"public key says {parts[0]} but its body is another key type: paste the .pub line again"
    return None
