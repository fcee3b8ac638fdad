"""What a module needs to know about a path, computed where the path is.

``file_info`` runs in-process for the local connection and, as source text,
inside the SSH command helper on remote hosts (so it must stay stdlib-only
and self-contained).  It answers with the same dict the file modules use:
type, mode, owner, group, uid, gid, size, mtime, link target and, when asked,
the sha256 of a regular file -- without starting any process.
"""
import grp
import hashlib
import json
import os
import pwd
import stat as _stat
import time

# A JSON file remembering checksums by path and (device, inode, size, mtime, ctime), so a
# no-change run does not hash big files (wheels, binaries, images) again. Set in the SSH
# helper (a file in the remote user's ~/.cache); None (in-process): always hash. A file
# whose ctime is less than 2 s old is not remembered: its timestamps may not show a
# change made in the same clock tick.
SUM_CACHE = None
SUM_CACHE_ENTRIES = 20000
_sums = None


def _load_sums():
    global _sums
    if _sums is None:
        try:
            with open(SUM_CACHE) as f:
                _sums = json.load(f)
        except (OSError, ValueError):
            _sums = {}
    return _sums


def _save_sums():
    while len(_sums) > SUM_CACHE_ENTRIES:
        del _sums[next(iter(_sums))]
    try:
        os.makedirs(os.path.dirname(SUM_CACHE), exist_ok=True)
        tmp = "%s.%d" % (SUM_CACHE, os.getpid())
        with open(tmp, "w") as f:
            json.dump(_sums, f)
        os.replace(tmp, SUM_CACHE)
    except OSError:
        pass


def sha256_of(path, st):
    """The sha256 of the regular file `path` whose os.stat() is `st` (None if unreadable)."""
    key = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
    sums = _load_sums() if SUM_CACHE else None
    if sums is not None and sums.get(path, [None])[0] == key:
        return sums[path][1]
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except OSError:
        return None
    if sums is not None and time.time() - st.st_ctime > 2:
        sums.pop(path, None)
        sums[path] = [key, h.hexdigest()]
        _save_sums()
    return h.hexdigest()


def file_info(path, follow=False, checksum=False):
    try:
        st = os.stat(path) if follow else os.lstat(path)
    except OSError:
        return None
    m = st.st_mode
    kind = ("directory" if _stat.S_ISDIR(m) else "link" if _stat.S_ISLNK(m) else "file" if _stat.S_ISREG(m)
            else "socket" if _stat.S_ISSOCK(m) else "fifo" if _stat.S_ISFIFO(m) else "other")
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    out = {"type": kind, "mode": _stat.S_IMODE(m), "owner": owner, "group": group, "uid": st.st_uid,
           "gid": st.st_gid, "size": st.st_size, "mtime": int(st.st_mtime), "target": None}
    if kind == "link":
        out["target"] = os.readlink(path)
    if checksum and kind == "file":
        out["sha256"] = sha256_of(path, st)
    return out


def tree_info(base):
    """{relative path: [type letter (f d l ...), mode, owner, group, sha256 of a file]} of
    everything under the directory `base` ({} when it is missing), as `find -printf
    '%y|%m|%u|%g'` plus `sha256sum` would give it."""
    out = {}
    for d, dirs, files in os.walk(base):
        for name in dirs + files:
            p = os.path.join(d, name)
            info = file_info(p, False, True)
            if info is not None:
                letter = {"file": "f", "directory": "d", "link": "l", "socket": "s", "fifo": "p"}.get(info["type"], "?")
                out[os.path.relpath(p, base)] = [letter, info["mode"], info["owner"], info["group"],
                                                 info.get("sha256")]
    return out
