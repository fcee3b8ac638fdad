"""Answer one DNS question from the cluster's Records (pure; the server turns it into packets).

Only the cluster domain (and reverse names of the cluster's own addresses) is served. Inside
it, a name without records gets NXDOMAIN, or an empty NOERROR (NODATA) when it exists with
other types or as a parent (so resolvers walking the search path move on correctly).
Negative answers carry the zone's SOA in the authority section.

This server never forwards (the lab has no way out). Names outside the zone come in two kinds:
- names meant for the cluster but typed short, which a resolver sends as they are: a single
  label (`web.`, the last try of a search), or a name whose last label is a namespace of the
  cluster or `svc`/`pod` (`kubernetes.default`, which busybox's nslookup asks without the
  search path, `web.team.svc`). CoreDNS forwards these and the Internet's root answers
  NXDOMAIN: so does this server, non-authoritatively, with the root's SOA as a resolver
  passes it on (`nslookup kubernetes.default` prints "can't find kubernetes.default: NXDOMAIN"
  as on any cluster);
- every other name (`example.com`, reverse names of other addresses) gets REFUSED: the lab
  does not pretend to know the rest of the world.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import Records


@dataclass
class Answer:
    rcode: str = "NOERROR"                      # NOERROR, NXDOMAIN, REFUSED
    authoritative: bool = True                  # False: an answer for a name outside the zone
    answers: list[tuple] = field(default_factory=list)
    authority: list[tuple] = field(default_factory=list)
    additional: list[tuple] = field(default_factory=list)


CLUSTER_LABELS = ("svc", "pod")


def soa(domain: str, serial: int = 1, owner: str | None = None) -> tuple:
    """The zone's SOA (owner ``owner``, default the domain itself; "" is the root)."""
    return ("SOA", domain if owner is None else owner,
            (f"ns.dns.{domain}", f"hostmaster.{domain}", serial, 7200, 1800, 86400, 5))


class Zone:
    def __init__(self, records: Records, serial: int = 1):
        self.records = records
        self.domain = records.domain
        self.serial = serial

    def in_zone(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain) or name in self.records.by_name

    def meant_for_the_cluster(self, name: str) -> bool:
        """Whether a name outside the zone is a cluster name typed short (see the docstring)."""
        top = name.rsplit(".", 1)[-1]
        return bool(name) and ("." not in name or top in CLUSTER_LABELS or top in self.records.namespaces)

    def lookup(self, qname: str, qtype: str) -> Answer:
        name = qname.strip(".").lower()
        if not self.in_zone(name):
            if self.meant_for_the_cluster(name):
                return Answer("NXDOMAIN", authority=[soa(self.domain, self.serial, owner="")], authoritative=False)
            return Answer("REFUSED", authoritative=False)
        if name == self.domain:
            if qtype in ("SOA", "ANY"):
                return Answer(answers=[soa(self.domain, self.serial)])
            return Answer(authority=[soa(self.domain, self.serial)])
        recs = self.records.by_name.get(name, [])
        if not recs:
            rcode = "NOERROR" if self.records.exists(name) else "NXDOMAIN"
            return Answer(rcode, authority=[soa(self.domain, self.serial)])
        cname = [r for r in recs if r[0] == "CNAME"]
        if cname and qtype != "CNAME":
            return Answer(answers=cname)
        match = [r for r in recs if qtype == "ANY" or r[0] == qtype]
        if not match:
            return Answer(authority=[soa(self.domain, self.serial)])
        extra = []
        for r in match:
            if r[0] == "SRV":
                extra += [a for a in self.records.by_name.get(r[2][3], []) if a[0] == "A"]
        return Answer(answers=match, additional=extra)
