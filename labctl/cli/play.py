"""Run a playbook against the lab's inventory, as ansible-playbook would."""
import sys

from ..errors import ConfigError
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("playbook")
    p.add_argument("-e", "--extra-vars", action="append", default=[], help="key=value or YAML/JSON")
    p.add_argument("-l", "--limit")
    p.add_argument("-t", "--tags")
    p.add_argument("--skip-tags")
    p.add_argument("-C", "--check", action="store_true")
    p.add_argument("-D", "--diff", action="store_true")
    p.add_argument("-f", "--forks", type=int, default=10)
    p.add_argument("--json", action="store_true", help="JSON-lines event stream on stdout")


def parse_extra_vars(items: list[str]) -> dict:
    import yaml
    out: dict = {}
    for item in items:
        if item.startswith("@"):
            out.update(yaml.safe_load(open(item[1:])) or {})
        elif item.lstrip().startswith("{"):
            out.update(yaml.safe_load(item))
        else:
            for pair in item.split():
                if "=" not in pair:
                    raise ConfigError(f"-e {item!r}: expected key=value, YAML or @file")
                k, v = pair.split("=", 1)
                out[k] = v
    return out


def run(args) -> int:
    from ..engine import PlaybookError, run_playbook
    lab = Lab(args.inventory)
    extra = {"lab_state_dir": str(lab.state_dir), **parse_extra_vars(args.extra_vars)}
    key = lab.state_dir / "ssh" / "id_ed25519"
    if key.exists():
        extra.setdefault("ansible_ssh_private_key_file", str(key))
    split = lambda s: [t.strip() for t in s.split(",")] if s else None
    from ..engine import HumanCallback
    callback = HumanCallback(file=sys.stdout)
    if args.json:
        from ..engine import JsonLinesCallback as JsonCallback
        callback = JsonCallback(sys.stdout)
    try:
        result = run_playbook(args.playbook, lab.inventory, extra_vars=extra, limit=args.limit,
                              tags=split(args.tags), skip_tags=split(args.skip_tags), check=args.check,
                              diff=args.diff, forks=args.forks, callback=callback)
    except PlaybookError as exc:
        raise ConfigError(str(exc))
    return result.exit_code
