"""Answer one DNS question from the cluster's Records (pure; the server turns it into packets).

Only the cluster domain (and reverse names of the cluster's own addresses) is served; this
server never forwards: a name outside it gets REFUSED. Inside it, a name without records
gets NXDOMAIN, or an empty NOERROR (NODATA) when it exists with other types or as a parent
(so resolvers walking the search path move on correctly). Negative answers carry the
zone's SOA in the authority section.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .records import Records


@dataclass
class Answer:
    rcode: str = "NOERROR"                      # NOERROR, NXDOMAIN, REFUSED
    answers: list[tuple] = field(default_factory=list)
    authority: list[tuple] = field(default_factory=list)
    additional: list[tuple] = field(default_factory=list)


def soa(domain: str, serial: int = 1) -> tuple:
    return ("SOA", domain, (f"ns.dns.{domain}", f"hostmaster.{domain}", serial, 7200, 1800, 86400, 5))


class Zone:
    def __init__(self, records: Records, serial: int = 1):
        self.records = records
        self.domain = records.domain
        self.serial = serial

    def in_zone(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain) or name in self.records.by_name

    def lookup(self, qname: str, qtype: str) -> Answer:
        name = qname.strip(".").lower()
        if not self.in_zone(name):
            return Answer("REFUSED")
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
