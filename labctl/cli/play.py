"""Run a playbook against the lab's inventory, as ansible-playbook would.

Besides running (`labctl play [-i INV] PLAYBOOK`), the ansible-playbook
inspection options are here: `--syntax-check` (load and check everything, run
nothing), `--list-hosts`, `--list-tasks`, plus `--start-at-task NAME` and
`-v`/`-vv` for more output. The real work is in :mod:`labctl.engine`.

The lab's own playbooks (site.yml, smoke.yml in the checkout) get the variables
`labctl up` gives them (wheelhouse, images, installer, SSH key), so
`labctl play site.yml` re-deploys a lab that is up; -e overrides them.
"""
import sys
from pathlib import Path

from ..errors import ConfigError
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("playbook")
    p.add_argument("-e", "--extra-vars", action="append", default=[],
                   help="key=value, YAML/JSON or @file (repeatable)")
    p.add_argument("-l", "--limit", help="further limit the hosts (an Ansible host pattern)")
    p.add_argument("-t", "--tags", action="append", default=[], help="only tasks with these tags")
    p.add_argument("--skip-tags", action="append", default=[], help="skip tasks with these tags")
    p.add_argument("-C", "--check", action="store_true", help="report what would change, change nothing")
    p.add_argument("-D", "--diff", action="store_true", help="show file differences")
    p.add_argument("-f", "--forks", type=int, default=10, help="hosts worked on in parallel")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more output (-vv, -vvv)")
    p.add_argument("--start-at-task", metavar="NAME", help="start at the first task with this name")
    p.add_argument("--json", action="store_true", help="JSON-lines event stream on stdout")
    p.add_argument("--syntax-check", action="store_true", help="check the playbook, run nothing")
    p.add_argument("--list-hosts", action="store_true", help="list each play's hosts, run nothing")
    p.add_argument("--list-tasks", action="store_true", help="list each play's tasks, run nothing")


def parse_extra_vars(items: list[str]) -> dict:
    """-e values merged left to right (the engine's parser; ConfigError on bad input)."""
    from ..engine import PlaybookError
    from ..engine import parse_extra_vars as engine_parse
    try:
        return engine_parse(items)
    except PlaybookError as exc:
        raise ConfigError(str(exc))


def _is_lab_playbook(path: str) -> bool:
    """True for the lab's own playbooks (site.yml, smoke.yml: next to labctl in the checkout)."""
    from .. import artifacts
    return Path(path).resolve().parent == artifacts.project_root().resolve()


def _split(values: list[str]) -> list[str] | None:
    """`-t a,b -t c` -> ['a', 'b', 'c'] (None when not given)."""
    out = [t.strip() for v in values for t in v.split(",") if t.strip()]
    return out or None


def _play_header(i: int, play) -> str:
    """`  play #1 (all): Name\tTAGS: [...]`, as ansible-playbook prints it."""
    pattern = ",".join(play.hosts) if isinstance(play.hosts, list) else str(play.hosts)
    return f"\n  play #{i} ({pattern}): {play.name}\tTAGS: [{', '.join(map(str, play.tags))}]"


def _list_hosts(args, lab, extra) -> None:
    from ..engine import list_hosts, load_playbook
    plays = load_playbook(args.playbook)
    print(f"\nplaybook: {args.playbook}")
    listed = list_hosts(args.playbook, lab.inventory, limit=args.limit, extra_vars=extra)
    for i, (play, (_, hosts)) in enumerate(zip(plays, listed), 1):
        print(_play_header(i, play))
        print(f"    pattern: {[play.hosts] if isinstance(play.hosts, str) else list(play.hosts)}")
        print(f"    hosts ({len(hosts)}):")
        for h in hosts:
            print(f"      {h}")


def _list_tasks(args) -> None:
    from ..engine import list_tasks, load_playbook
    plays = load_playbook(args.playbook)
    print(f"\nplaybook: {args.playbook}")
    listed = list_tasks(args.playbook, tags=_split(args.tags), skip_tags=_split(args.skip_tags))
    for i, (play, (_, tasks)) in enumerate(zip(plays, listed), 1):
        print(_play_header(i, play))
        print("    tasks:")
        for task, tags in tasks:
            print(f"      {task}\tTAGS: [{', '.join(tags)}]")


def run(args) -> int:
    from ..engine import HumanCallback, JsonLinesCallback, PlaybookError, load_playbook, run_playbook
    try:
        if args.syntax_check:
            load_playbook(args.playbook)
            print(f"\nplaybook: {args.playbook}")
            return 0
        if args.list_tasks:
            _list_tasks(args)
            return 0
        lab = Lab(args.inventory)
        extra = parse_extra_vars(args.extra_vars)
        if _is_lab_playbook(args.playbook):     # site.yml, smoke.yml: what `labctl up` gives them
            extra = {**lab.playbook_vars(), **extra}
        else:
            extra = {"lab_state_dir": str(lab.state_dir), **extra}
            key = lab.state_dir / "ssh" / "id_ed25519"
            if key.exists():
                extra.setdefault("ansible_ssh_private_key_file", str(key))
        if args.list_hosts:
            _list_hosts(args, lab, extra)
            return 0
        if args.json:
            callback = JsonLinesCallback(sys.stdout)
        else:
            callback = HumanCallback(file=sys.stdout, verbosity=args.verbose)
        result = run_playbook(args.playbook, lab.inventory, extra_vars=extra, limit=args.limit,
                              tags=_split(args.tags), skip_tags=_split(args.skip_tags),
                              check=args.check, diff=args.diff, forks=args.forks,
                              callback=callback, start_at_task=args.start_at_task)
    except PlaybookError as exc:
        raise ConfigError(str(exc))
    return result.exit_code
