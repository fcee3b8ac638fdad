"""Window queries on a column of per-node values (`nodelist.column`) without a pass over the
window: `Ranks` keeps the column's indexes grouped by value, each group sorted, and the distinct
values sorted, and is told of every entry the column refreshes. A cycle whose feasible nodes are
one run of the tracking NodeList (`Feasible.run`: the `count` nodes from `start` on, round the
end) then asks which indexes in that run hold the highest values (Profile.select_host's ties),
what the highest value there is (SelectorSpread's `high`), or whether any entry there is in a
group (a failing filter verdict), with a few bisections per distinct value instead of slicing,
scanning and compressing ~420 entries per cycle.
"""
from __future__ import annotations

from bisect import bisect_left, insort


class Ranks:
    """The indexes 0..len(values)-1 of a column grouped by `group(value)` (the value itself when
    `group` is None). Values must be hashable and ordered when grouped by themselves (no NaN)."""

    __slots__ = ("groups", "order", "group")

    def __init__(self, values: list, group=None):
        self.group = group
        groups: dict = {}
        for i, g in enumerate(values if group is None else map(group, values)):
            members = groups.get(g)
            if members is None:
                groups[g] = [i]
            else:
                members.append(i)
        self.groups = groups
        self.order = sorted(groups)         # the distinct groups, ascending

    def move(self, i: int, old, new) -> None:
        """Entry i of the column changes from `old` to `new`."""
        if self.group is not None:
            old, new = self.group(old), self.group(new)
        if old == new:
            return
        members = self.groups[old]
        del members[bisect_left(members, i)]
        if not members:
            del self.groups[old]
            del self.order[bisect_left(self.order, old)]
        members = self.groups.get(new)
        if members is None:
            self.groups[new] = [i]
            insort(self.order, new)
        else:
            insort(members, i)

    @staticmethod
    def _within(members: list[int], start: int, end: int, n: int) -> list[int]:
        """The members in the run [start, end) of 0..n-1 (end may pass n: round to 0), in run order."""
        if end <= n:
            return members[bisect_left(members, start):bisect_left(members, end)]
        return members[bisect_left(members, start):] + members[:bisect_left(members, end - n)]

    @staticmethod
    def _hits(members: list[int], start: int, end: int, n: int) -> bool:
        """Whether a member lies in the run [start, end) of 0..n-1 (end may pass n)."""
        if end <= n:
            j = bisect_left(members, start)
            return j < len(members) and members[j] < end
        return members[-1] >= start or members[0] < end - n

    def holds(self, g, start: int, count: int, n: int) -> bool:
        """Whether an index of group g lies in the run of `count` indexes from `start` (round n)."""
        members = self.groups.get(g)
        return bool(members) and self._hits(members, start, start + count, n)

    def top(self, start: int, count: int, n: int, tolerance: float = 0.0) -> list[int]:
        """The indexes in the run of `count` from `start` (round n) whose value is at least the
        run's highest minus `tolerance` (computed as `max(values in run) - tolerance`), in run
        order: what compress(run, map(ge, values in run, repeat(best))) gives."""
        end = start + count
        order, groups, within = self.order, self.groups, self._within
        best, found, k = None, [], len(order) - 1
        while k >= 0:
            v = order[k]
            k -= 1
            members = within(groups[v], start, end, n)
            if members:
                best = v - tolerance
                found.append(members)
                break
        while k >= 0 and order[k] >= best:
            members = within(groups[order[k]], start, end, n)
            if members:
                found.append(members)
            k -= 1
        if len(found) == 1:
            return found[0]
        return sorted((i for members in found for i in members), key=lambda i: (i - start) % n)

    def highest(self, start: int, count: int, n: int):
        """The highest value in the run of `count` from `start` (round n)."""
        end = start + count
        for v in reversed(self.order):
            if self._hits(self.groups[v], start, end, n):
                return v
        raise ValueError("empty run")
