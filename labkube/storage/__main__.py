"""`python -m labkube.storage ls DB [PREFIX]` / `get DB KEY` / `rev DB`: read a store directly."""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys

from . import reader


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="labkube.storage", description="read the apiserver's SQLite store")
    sub = ap.add_subparsers(dest="cmd", required=True)
    ls = sub.add_parser("ls", help="keys under a prefix, with their revisions")
    ls.add_argument("db")
    ls.add_argument("prefix", nargs="?", default="/registry/")
    g = sub.add_parser("get", help="one object as JSON")
    g.add_argument("db")
    g.add_argument("key")
    r = sub.add_parser("rev", help="the store's revision")
    r.add_argument("db")
    args = ap.parse_args(argv)
    try:
        if args.cmd == "ls":
            for key, rev in reader.keys(args.db, args.prefix):
                print(f"{key}\t{rev}")
        elif args.cmd == "get":
            hit = reader.get(args.db, args.key)
            if hit is None:
                print(f"labkube.storage: {args.key}: not found", file=sys.stderr)
                return 1
            print(json.dumps(hit[0], indent=2))
        else:
            print(reader.revision(args.db))
    except sqlite3.Error as e:
        print(f"labkube.storage: {args.db}: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
