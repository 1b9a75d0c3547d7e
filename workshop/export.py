"""`workshop export`: a take-home copy of the stack a student built, for review at home
after the class machines are gone.

    STACK-takehome/
        README.md                        the architecture: machines, roles, addresses, services, flow
        stack.png                        the stack drawn: tiers, request path, each machine's checks
        configs/MACHINE/etc/...          every config file the course wrote on each machine
        fabfile.py                       the course's fabfile (and yours, if one is beside your notebooks)
        loadtests/*.json, loadtests.png  every recorded load test, plotted
        drills/*.json                    failure drills (crash a web server, ...)

Config files are read over SSH, read-only: under the usual config folders,
the files changed since the machine first booted (its SSH host key was
made then), so package defaults nobody touched stay out. Secrets (passwords,
keys) are redacted; pgpool's password files are left out. The picture is the one
`lab.diagram()` draws, its checks polled read-only at export time.

Example::

    export_stack(lab, "alice-takehome", as_zip=True)
    # -> PosixPath('alice-takehome.zip')
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from . import configs, grading, loadtest
from .errors import RemoteError, WorkshopError
from .lab import Lab
from .providers import MISSING
from .records import CrashDrill, FailoverDrill, LoadTest, RecordFolders
from .remote import Remote
from .stack import Stack

#: The file that marks a folder as an export, so the next export may replace it.
MARKER = ".workshop-takehome"
DIAGRAM = "stack.png"
CONFIG_GLOBS = [
    "/etc/apache2/sites-available/*", "/etc/apache2/conf-available/*", "/etc/apache2/envvars", "/etc/apache2/ports.conf",
    "/etc/nginx/nginx.conf", "/etc/nginx/sites-available/*", "/etc/nginx/conf.d/*",
    "/etc/postgresql/*/main/*.conf", "/etc/postgresql/*/main/conf.d/*",
    "/etc/pgpool2/*", "/etc/varnish/*", "/etc/default/varnish", "/etc/memcached.conf", "/etc/default/memcached",
    "/etc/systemd/system/*.service", "/etc/systemd/system/*.d/*.conf",
    "/etc/newsroom/*", "/etc/seaweedfs/*", "/etc/ssh/sshd_config.d/*",
]
#: Files that are nothing but credentials.
SECRET_FILES = {"pool_passwd", "pcp.conf", ".pgpoolkey", "pool_passwd.key"}
#: NAME = value lines whose name ends in password, secret, token, key or key_id (not password_encryption).
_SECRET_ASSIGNMENT = re.compile(r"^(\s*(?:export\s+)?[A-Za-z0-9_]*(?:PASSWORD|PASSWD|SECRET|TOKEN|KEY|KEY_ID)\s*=\s*)(.+)$",
                                re.MULTILINE | re.IGNORECASE)
_SECRET_URL = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
SERVICES = ["apache2", "nginx", "postgresql", "pgpool2", "varnish", "memcached", "seaweedfs"]
#: The request path through the course's topology, front to back (docs/design.md §4).
FLOW = ["varnish", "lb", "web", "pgpool", "db"]
#: Reads the candidate files on the machine in one round trip; prints JSON {path: text}.
_READER = r"""
import glob, json, os
since = os.path.getmtime("/etc/ssh/ssh_host_ed25519_key.pub")
found = {}
for pattern in PATTERNS:
    for path in sorted(glob.glob(pattern)):
        if os.path.isfile(path) and os.path.getmtime(path) > since and os.path.getsize(path) < 262144:
            try:
                found[path] = open(path, encoding="utf-8").read()
            except (OSError, UnicodeDecodeError):
                pass
print(json.dumps(found))
"""


def redact(path: str, text: str) -> str:
    """The file with credential values replaced by <redacted>."""
    text = _SECRET_ASSIGNMENT.sub(lambda m: m.group(1) + "<redacted>", text)
    return _SECRET_URL.sub(r"\1<redacted>@", text)


def pull_configs(stack: Stack, name: str) -> dict[str, str]:
    """The changed config files of machine `name`, {path: text}, read-only over SSH."""
    program = f"PATTERNS = {json.dumps(CONFIG_GLOBS)}\n{_READER}"
    remote = Remote.to(stack, name)
    try:
        result = remote.run(f"python3 - <<'WORKSHOP_EXPORT'\n{program}\nWORKSHOP_EXPORT", timeout=60, check=True)
        active = remote.run("systemctl list-units --type=service --state=active --no-legend --plain",
                            timeout=30).stdout.split("\n")
    finally:
        remote.close()
    files = {path: redact(path, text) for path, text in json.loads(result.stdout).items()
             if Path(path).name not in SECRET_FILES}
    units = [line.split()[0].removesuffix(".service") for line in active if line.strip()]
    files["#services"] = " ".join(unit for unit in units if unit.split("@")[0] in SERVICES)
    return files


@grading.changes("export the stack")
def export_stack(lab: Lab, out: str | Path | None = None, as_zip: bool = False) -> Path | None:
    """Write the take-home folder (and OUT.zip with `as_zip`); return what was written."""
    stack = lab.require_stack()
    out = Path(out or f"{stack.name}-takehome").resolve()
    fresh_folder(out)
    states = lab.provider.states(stack)
    machines = []
    for name, record in stack.instances.items():
        machine = {"record": record, "state": states.get(name, MISSING), "files": [], "services": "", "problem": ""}
        try:
            files = pull_configs(stack, name)
        except RemoteError as exc:
            machine["problem"] = str(exc)
        else:
            machine["services"] = files.pop("#services")
            for path, text in files.items():
                local = out / "configs" / name / path.lstrip("/")
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_text(text)
                machine["files"].append(path)
        machines.append(machine)
    shutil.copy(configs.path("fabric/fabfile.py"), out / "fabfile.py")
    if (lab.folder / "fabfile.py").is_file():
        shutil.copy(lab.folder / "fabfile.py", out / "fabfile-yours.py")
    kept = [record for kind in (LoadTest, CrashDrill, FailoverDrill)
            for record in RecordFolders.of(lab).load_all(kind).values()]
    for record in kept:
        RecordFolders(None, out).save(record)  # out/loadtests/, out/drills/
    results = {record.stage: record.to_dict() for record in kept if isinstance(record, LoadTest)}
    _plot_loadtests(out, results)
    drills = sorted(record.file_name(record.key) for record in kept if not isinstance(record, LoadTest))
    lab.diagram().save(out / DIAGRAM)
    (out / "README.md").write_text(architecture_readme(stack, machines, results, drills,
                                                      (out / "fabfile-yours.py").is_file()))
    if as_zip:
        return Path(shutil.make_archive(str(out), "zip", root_dir=out.parent, base_dir=out.name))
    return out


def fresh_folder(out: Path) -> None:
    """Make `out` an empty take-home folder. A folder is replaced only when it is empty or an
    earlier export (it holds MARKER): `--out ~` must never delete a student's own files."""
    try:
        if out.exists():
            if not out.is_dir() or not ((out / MARKER).is_file() or not any(out.iterdir())):
                raise WorkshopError(f"{out} already exists and is not an earlier take-home folder: "
                                    "export to a new folder (--out)")
            shutil.rmtree(out)
        (out / "configs").mkdir(parents=True)
        (out / MARKER).write_text("Written by `workshop export`; the next export to this folder replaces it.\n")
    except OSError as exc:
        raise WorkshopError(f"Cannot write the take-home folder {out} ({exc.strerror}): "
                            "export to a folder you can write (--out)") from None


def _plot_loadtests(out: Path, results: dict[str, dict]) -> None:
    if not results:
        return
    import matplotlib

    matplotlib.use("Agg")  # no display needed: this only writes a PNG
    import matplotlib.pyplot as plt

    figure = loadtest.plot(results)
    figure.savefig(out / "loadtests.png", dpi=110)
    plt.close(figure)


def architecture_readme(stack: Stack, machines: list[dict], results: dict[str, dict], drills: list[str],
                        own_fabfile: bool) -> str:
    """The README of the take-home folder: what was built, how requests flow, what each file is."""
    roles: dict[str, list[str]] = {}
    for machine in machines:
        roles.setdefault(machine["record"].role, []).append(machine["record"].name)
    flow = " -> ".join(", ".join(roles[role]) for role in FLOW if role in roles)
    aside = [f"{', '.join(names)} ({role})" for role, names in roles.items() if role not in FLOW]
    lines = [
        f"# The stack you built: {stack.name}",
        "",
        f"Exported {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from provider `{stack.provider}`, "
        f"{len(machines)} machine(s).",
        "",
        "## Architecture",
        "",
        f"A request goes: browser -> {flow or '(no web tier yet)'}.",
        "",
        f"![the machines by tier, the request path, each machine coloured by its checks at export time]({DIAGRAM})",
        "",
    ]
    if aside:
        lines.append(f"Beside that path: {'; '.join(aside)}.")
    lines += ["", "| machine | role | private address | public endpoint | state | services running |",
              "|---|---|---|---|---|---|"]
    for machine in machines:
        record = machine["record"]
        public = ", ".join(f"{port} -> {record.public_host}:{host}" for port, host in record.ports.items())
        lines.append(f"| {record.name} | {record.role} | {record.private_ip} | {public} | {machine['state']} | "
                     f"{machine['services'] or '-'} |")
    lines += ["", "## Config files", "",
              "Read from the machines at export time: the files the course (or you) changed since each machine "
              "first booted. Passwords and keys are shown as `<redacted>`.", ""]
    for machine in machines:
        name = machine["record"].name
        if machine["problem"]:
            lines.append(f"- {name}: not read ({machine['problem']})")
        for path in machine["files"]:
            lines.append(f"- [{name}:{path}](configs/{name}{path})")
    lines += ["", "## Deploying", "", "- [fabfile.py](fabfile.py): the course's fabfile (atomic releases, rollback)."]
    if own_fabfile:
        lines.append("- [fabfile-yours.py](fabfile-yours.py): the fabfile beside your notebooks.")
    lines += ["", "## Load tests", ""]
    if results:
        lines += ["![throughput and latency per stage](loadtests.png)", "",
                  "| stage | requests/s | p50 ms | p95 ms | error rate |", "|---|---|---|---|---|"]
        lines += [f"| {stage} | {r['throughput_rps']:.0f} | {r['latency_ms']['p50']:.1f} | "
                  f"{r['latency_ms']['p95']:.1f} | {r['error_rate']:.2%} |" for stage, r in results.items()]
    else:
        lines.append("No load test was recorded.")
    if drills:
        lines += ["", "## Failure drills", ""] + [f"- [drills/{name}](drills/{name})" for name in drills]
    lines += ["", "## Rebuilding it at home", "",
              "In local mode (`make lab`, no cloud account): `workshop catch-up N` brings a fresh stack to the end "
              "of chapter N with the course's reference deploys; compare its files with the ones here.", ""]
    return "\n".join(lines)
