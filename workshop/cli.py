"""`workshop`: the lab from a terminal. Each verb is a thin shell over a
function notebooks call too.

    workshop up [NAME ...]      start instances (default web1); resumes a half-up stack
    workshop status             instances, their state and endpoints
    workshop ssh NAME [CMD]     log into an instance (or run one command)
    workshop check [CHAPTER]    probe the stack and print the graded checks
    workshop catch-up N         bring the stack to the end of chapter N (reference deploys)
    workshop image              build the workshop image now (cached)
    workshop doctor             is this machine ready for class? prints what to fix
    workshop reap               delete expired EC2 stacks (instructors, nightly)
    workshop down               delete the stack and everything it created
    workshop export [--zip]     a take-home copy: configs, fabfile, load tests, architecture README
    workshop class VERB ROSTER  instructor: a stack per student, grading, live view (see `workshop class -h`)
"""

from __future__ import annotations

import argparse
import os
import sys

from . import topology
from .chapters import CHAPTERS, chapter_ids, find_chapter
from .classroom.cli import add_class_parser
from .errors import StackError, WorkshopError
from .lab import Lab, open_lab
from .providers import get_provider
from .stack import Stack, default_stack_name, load_named, workshop_home


CHAPTER_ARGUMENT = f"chapter number or id, e.g. 3 or 03-postgresql ({CHAPTERS[0].number}..{CHAPTERS[-1].number})"


def _existing_lab(name: str, orphans: bool = False) -> Lab:
    """The named stack, without creating one (status, ssh, check, down must not).

    With `orphans`, a stack whose descriptor is gone but whose resources
    remain (an interrupted `up`, a deleted home folder) is found by its label.
    """
    stack = load_named(name)
    if stack is None and orphans:
        provider = get_provider()
        orphan = Stack(name=name, provider=provider.name, ssh_user=provider.ssh_user, ssh_key="")
        if provider.leftovers(orphan):
            return Lab(orphan, provider, folder=orphan.folder)
    if stack is None:
        raise StackError(_no_such_stack(name))
    return Lab(stack, get_provider(stack.provider), folder=stack.folder)


def _no_such_stack(name: str) -> str:
    """Says the stack is missing, which stacks this machine has (a typo in --stack or
    WORKSHOP_STACK shows at once) and the command that starts this one."""
    others = sorted(path.parent.name for path in (workshop_home() / "stacks").glob("*/stack.json"))
    here = f" (stacks here: {', '.join(others)})" if others else ""
    start = "workshop up" if name == default_stack_name() else f"workshop --stack {name} up"
    return f"There is no stack {name!r} on this machine{here}; start one with `{start}`"


def cmd_up(args) -> int:
    for name in args.names:
        topology.spec(name)  # before open_lab: a typo must not create a stack
    lab = open_lab(args.stack, folder=os.getcwd())
    lab.up(*args.names)
    _print_status(lab)
    return 0


def cmd_status(args) -> int:
    _print_status(_existing_lab(args.stack))
    return 0


def _print_status(lab: Lab) -> None:
    rows = lab.status()
    print(f"stack {lab.stack.name} ({lab.stack.provider})")
    if not rows:
        print("  no instances yet: `workshop up web1` starts the first")
        return
    for row in rows:
        print(f"  {row['name']:<9} {row['role']:<8} {row['state']:<8} {row['private_ip']:<15} {row['public']}")
    broken = [row["name"] for row in rows if row["state"] != "running"]
    if broken:
        print(f"\nThe stack is half up ({', '.join(broken)} not running): `workshop up` "
              "resumes it, `workshop down` tears it all down.")


def cmd_ssh(args) -> int:
    topology.spec(args.name)
    lab = _existing_lab(args.stack)
    if args.name not in lab.stack.instances:
        raise StackError(f"Stack {lab.stack.name!r} has no {args.name} yet: `workshop up {args.name}` starts it")
    command = lab.ssh_command(args.name).split()
    try:
        os.execvp(command[0], command + args.command)
    except FileNotFoundError:
        raise WorkshopError("There is no `ssh` command here: install the OpenSSH client") from None
    return 0  # not reached


def cmd_check(args) -> int:
    import grader

    chapters = [find_chapter(args.chapter).id] if args.chapter else chapter_ids()
    target = grader.Target.for_stack(args.stack)
    if target.stack is None:  # one line, not a report of every check failed
        raise StackError(_no_such_stack(args.stack))
    failed = False
    try:
        for chapter in chapters:
            results = grader.run_checks(chapter, target)
            print(grader.format_report(f"Chapter {chapter}", results, evidence=args.verbose))
            failed |= any(result.status == "failed" for result in results)
    finally:
        target.close()
    return 1 if failed else 0


def cmd_catch_up(args) -> int:
    from .catchup import catch_up

    find_chapter(args.chapter)  # before open_lab: a typo must not create a stack
    lab = open_lab(args.stack, folder=os.getcwd())
    catch_up(lab, args.chapter)
    _print_status(lab)
    return 0


def cmd_image(args) -> int:
    from .engine import find_engine
    from .image import ensure_image

    print(ensure_image(find_engine()))
    return 0


def cmd_doctor(args) -> int:
    from .doctor import diagnose, exit_code, report
    from .providers import provider_name

    provider = args.provider or provider_name()
    findings = diagnose(provider)
    print(report(findings, provider))
    return exit_code(findings)


def cmd_reap(args) -> int:
    from .aws.session import connect
    from .aws.settings import Settings
    from .aws.teardown import reap
    from .progress import Progress

    cloud = connect(args.region or Settings.from_env().region)
    results = reap(cloud, Progress(f"reap {cloud.region}"), dry_run=args.dry_run, class_name=args.class_name)
    for stack, resources in results.items():
        print(f"  {stack}: {'would delete' if args.dry_run else 'deleted'} {len(resources)} resource(s)")
    print(f"{len(results)} expired stack(s) in {cloud.region}" + (" (dry run: nothing deleted)" if args.dry_run else ""))
    return 0


def cmd_down(args) -> int:
    lab = _existing_lab(args.stack, orphans=True)
    if not args.yes and sys.stdin.isatty():
        answer = input(f"Delete stack {lab.stack.name!r}, its machines, network and key? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    for item in lab.down():
        print(f"  removed {item}")
    return 0


def cmd_export(args) -> int:
    from .export import export_stack

    print(export_stack(_existing_lab(args.stack), args.out, as_zip=args.zip))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="workshop", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="The stack is $WORKSHOP_STACK (default 'lab'); the provider is "
                                            "$WORKSHOP_PROVIDER (default 'local').")
    parser.add_argument("--stack", default=default_stack_name(), help="stack name (default: %(default)s)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    up = verbs.add_parser("up", help="start instances, resuming a half-up or stopped stack")
    up.add_argument("names", nargs="*", default=[],
                    help="instance names, e.g. web1 db1 (default: every one the stack has, or web1 on a new stack)")
    up.set_defaults(run=cmd_up)

    verbs.add_parser("status", help="show instances, states and endpoints").set_defaults(run=cmd_status)

    ssh = verbs.add_parser("ssh", help="log into an instance, or run one command on it")
    ssh.add_argument("name", help=f"machine name: {', '.join(topology.PLAN)}")
    command = ssh.add_argument("command", nargs=argparse.REMAINDER, help="command to run (default: a login shell)")
    command.required = False  # argparse's usage error would list it as missing, though none is needed
    ssh.set_defaults(run=cmd_ssh)

    check = verbs.add_parser("check", help="probe the stack and report the graded checks")
    check.add_argument("chapter", nargs="?", help=f"{CHAPTER_ARGUMENT} (default: all)")
    check.add_argument("-v", "--verbose", action="store_true", help="show what each check saw")
    check.set_defaults(run=cmd_check)

    catch = verbs.add_parser("catch-up", help="bring the stack to the end state of a chapter")
    catch.add_argument("chapter", help=CHAPTER_ARGUMENT)
    catch.set_defaults(run=cmd_catch_up)

    verbs.add_parser("image", help="build the workshop image now (cached by its definition)").set_defaults(run=cmd_image)

    doctor = verbs.add_parser("doctor", help="check this machine is ready for class (exit 1 when something must be fixed)")
    doctor.add_argument("--provider", choices=["local", "ec2"], help="check for this provider (default: $WORKSHOP_PROVIDER)")
    doctor.set_defaults(run=cmd_doctor)

    reap = verbs.add_parser("reap", help="delete every EC2 stack whose expiry tag has passed, then verify")
    reap.add_argument("--dry-run", action="store_true", help="only list the expired stacks")
    reap.add_argument("--class", dest="class_name", help="only stacks of this class tag")
    reap.add_argument("--region", help="region to reap (default: WORKSHOP_AWS_REGION or the profile's)")
    reap.set_defaults(run=cmd_reap)

    down = verbs.add_parser("down", help="delete the stack: machines, network, key, descriptors")
    down.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")
    down.set_defaults(run=cmd_down)

    export = verbs.add_parser("export", help="write a take-home folder (or zip) of the stack you built")
    export.add_argument("--out", help="folder to write (default: ./STACK-takehome)")
    export.add_argument("--zip", action="store_true", help="also pack it as OUT.zip")
    export.set_defaults(run=cmd_export)

    add_class_parser(verbs)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except WorkshopError as exc:
        print(f"workshop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nworkshop: interrupted; `workshop status` shows what is up, `workshop up` resumes, "
              "`workshop down` removes it", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
