"""What a module needs to know about a path, computed where the path is.

``file_info`` runs in-process for the local connection and, as source text,
inside the SSH command helper on remote hosts (so it must stay stdlib-only
and self-contained).  It answers with the same dict the file modules use:
type, mode, owner, group, uid, gid, size, mtime, link target and, when asked,
the sha256 of a regular file -- without starting any process.
"""
import grp
import hashlib
import os
import pwd
import stat as _stat


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
        h = hashlib.sha256()
        try:
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            out["sha256"] = h.hexdigest()
        except OSError:
            out["sha256"] = None
    return out
