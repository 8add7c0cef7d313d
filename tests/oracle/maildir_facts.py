#!/usr/bin/env python3
"""Independent oracle: facts about a Maildir / Maildir++ tree, as JSON.

Usage: maildir_facts.py ROOT

This script is an INDEPENDENT ORACLE for mailfsck's Maildir checks.  It was
written from the public format descriptions only (D. J. Bernstein's Maildir
spec, Courier's Maildir++ notes, Dovecot's Maildir documentation, the
courierimapuiddb / dovecot-uidlist formats), not from mailfsck's C++ code,
so that the checker can be compared against facts established another way.
Python 3.11, standard library only.  The tree is only read: nothing is
opened for writing, and symlinks are never followed (os.lstat and
os.scandir with follow_symlinks=False; the root itself must not be a
symlink).

What it establishes:

* Folders: every directory with at least one of cur/ new/ tmp/ (as real
  directories), found recursively from ROOT (at most 32 levels deep), both
  Maildir++ ``.Name`` subfolders and nested plain directories (notmuch/mu
  "fs" layouts).  Extension: a directory with none of cur/new/tmp but with
  a Maildir control file (a ``maildirfolder`` file, or a regular
  ``dovecot-uidlist`` / ``courierimapuiddb``) is also listed as a folder,
  with cur/new/tmp all false (trees copied through git lose their empty
  cur/new/tmp; filter on cur|new|tmp to get the strict definition).
  ``dot_folder`` is true for a ``.Name`` directory whose parent is a
  folder; for those, ``maildirfolder`` says whether the Maildir++ marker
  file exists (null for the others).
  Subdirectories of non-folders are searched too; cur/new/tmp themselves
  are not searched for folders (directories inside them go to other_dirs).
* In cur/ new/ tmp/: names starting with '.' are "dotfiles" (servers ignore
  them).  Other regular files in cur/ and new/ are messages; regular files
  in tmp/ are tmp_files (path, size, mtime).
* Message file names: ``<unique>[,S=<n>][,W=<n>]<sep>2,<flags>`` where the
  info separator is ':' (standard; the first ':' starts the info, since a
  unique name cannot hold ':'), else the last '!2,' or ';2,' (tools on
  file systems without ':'), else the last ',2,' followed only by letters
  (Mailpile).  ``base`` is everything before the separator (including any
  ,S= ,W= fields).  ``info`` is everything after it.  If the info starts
  with "2,", ``flags`` is the rest up to the first ',' (Dovecot: anything
  after a ',' in the flags field is non-standard fields, kept in
  ``info_extra``); otherwise flags is null (e.g. experimental "1," info).
  With no info: separator/info/flags/unknown_flags/info_extra are null,
  duplicate_flags is false and sorted_flags is true.
  ``unknown_flags`` = distinct flag characters that are neither one of
  P R S T D F nor a lowercase keyword letter a-z, in order of appearance.
  ``sorted_flags`` = flags are in non-decreasing ASCII order.
  ``S`` / ``W`` = the numbers in ``,S=<n>`` / ``,W=<n>`` fields of the base
  (first of each).  ``size`` = file size (lstat).  ``W_actual`` = size +
  number of LF bytes not directly preceded by CR.  ``size_mismatch`` /
  ``vsize_mismatch`` are true only if the field is present and differs.
* ``looks_like_message``: the first line starts with a header field name of
  printable ASCII (0x21-0x7E, no ':'), immediately followed by ':'.
  ``has_nul``: the file contains a NUL byte.
* zero_length: message files (cur/new) of size 0.
* duplicate_bases: groups of message files of one folder (cur and new
  together) that share a base name.
* uidlists: ``dovecot-uidlist`` (version 1 "1 <uidvalidity> <nextuid>" /
  "<uid> <filename>"; version 2 like 1 but with a flags field after the uid;
  version 3 "3 V<uidvalidity> N<nextuid> G<guid> ..." keys in any order,
  entries "<uid> [<key><value> ...] :<filename>") and ``courierimapuiddb``
  ("1 <uidvalidity> <nextuid>", then "<uid> <filename>") in a folder's
  directory.  Entry names and file names are compared by base name (the
  entry name's info, if any, is stripped by the same rule as above).
  Reported: version, uidvalidity, next_uid, guid, entries, highest_uid,
  missing_files (entry names with no message file of that base in the
  folder's cur/ or new/), files_without_entry (message paths whose base is
  in no entry), next_uid_not_above_highest (next_uid <= highest uid; null
  when there are no entries), duplicate_uids, uids_increasing, bad_lines
  (1-based line numbers that could not be parsed).
* symlinks (with their target, not followed), special files (fifo, socket,
  block/char device), other_dirs (directories inside cur/new/tmp),
  other_files (regular files that are none of the above, e.g. dovecot.index*,
  courierimapsubscribed, messages lying loose in a folder directory, files
  in non-folder directories).  Control files that are accounted for
  (maildirfolder, the uid lists of a folder) are not in other_files.

Paths are relative to ROOT, "" for ROOT itself, '/'-separated.  Names are
handled as bytes; in the JSON they are decoded as UTF-8 with surrogateescape
and written with ASCII escapes, so undecodable bytes appear as \\udcXX.
All lists are sorted by the byte value of their path.
"""
import json
import os
import re
import stat
import sys

MAX_DEPTH = 32
SUBDIRS = (b"cur", b"new", b"tmp")
UIDLIST_NAMES = (b"dovecot-uidlist", b"courierimapuiddb")
STD_FLAGS = b"PRSTDF"
HEADER_NAME_RE = re.compile(rb"[\x21-\x39\x3b-\x7e]+:")
LETTERS_RE = re.compile(rb"[A-Za-z]*")
FIELD_RE = re.compile(rb"([A-Za-z])=(.*)", re.S)


def dec(b):
    return b.decode("utf-8", "surrogateescape")


def join(rel, name):
    return name if not rel else rel + b"/" + name


def parse_name(name):
    """Split a message file name into base / separator / info / flags."""
    sep = None
    p = name.find(b":")
    if p >= 0:
        sep = b":"
    else:
        p = max(name.rfind(b"!2,"), name.rfind(b";2,"))
        if p >= 0:
            sep = name[p:p + 1]
        else:
            p = name.rfind(b",2,")
            if p >= 0 and LETTERS_RE.fullmatch(name, p + 3):
                sep = b","
    r = {"base": name, "separator": None, "info": None, "flags": None,
         "info_extra": None}
    if sep is None:
        return r
    r["base"] = name[:p]
    r["separator"] = sep
    info = name[p + 1:]
    r["info"] = info
    if info.startswith(b"2,"):
        field = info[2:]
        c = field.find(b",")
        if c >= 0:
            r["flags"] = field[:c]
            r["info_extra"] = field[c + 1:]
        else:
            r["flags"] = field
    return r


def base_fields(base):
    """,S=<n> and ,W=<n> from a base name (first occurrence of each)."""
    s = w = None
    for part in base.split(b",")[1:]:
        m = FIELD_RE.fullmatch(part)
        if not m or not m.group(2).isdigit():
            continue
        if m.group(1) == b"S" and s is None:
            s = int(m.group(2))
        elif m.group(1) == b"W" and w is None:
            w = int(m.group(2))
    return s, w


def scan_content(path):
    """(lf_without_cr, has_nul, looks_like_message) from the file's bytes."""
    lf_bare = 0
    has_nul = False
    first = b""
    first_done = False
    prev = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if not chunk:
                break
            if not first_done:
                i = chunk.find(b"\n")
                if i >= 0:
                    first += chunk[:i]
                    first_done = True
                else:
                    first += chunk
                    if len(first) > 4096:
                        first_done = True
            lf_bare += chunk.count(b"\n") - chunk.count(b"\r\n")
            if chunk[:1] == b"\n" and prev == b"\r":
                lf_bare -= 1
            if b"\0" in chunk:
                has_nul = True
            prev = chunk[-1:]
    looks = bool(HEADER_NAME_RE.match(first))
    return lf_bare, has_nul, looks


def flag_facts(flags):
    if flags is None:
        return None, False, True
    unknown = bytearray()
    for ch in flags:
        if ch in STD_FLAGS or 0x61 <= ch <= 0x7A:
            continue
        if ch not in unknown:
            unknown.append(ch)
    dup = len(set(flags)) != len(flags)
    srt = list(flags) == sorted(flags)
    return bytes(unknown), dup, srt


class Scanner:
    def __init__(self, root):
        self.root = root
        self.folders = []
        self.messages = []
        self.tmp_files = []
        self.dotfiles = []
        self.symlinks = []
        self.special = []
        self.other_files = []
        self.other_dirs = []
        self.depth_limit = []
        self.errors = []
        self.uidlists = []
        self.dup_groups = []

    def abs(self, rel):
        return self.root if not rel else self.root + b"/" + rel

    def error(self, rel, exc):
        self.errors.append({"path": rel, "error": "%s: %s" % (
            type(exc).__name__, exc.strerror or exc)})

    def listdir(self, rel):
        try:
            with os.scandir(self.abs(rel)) as it:
                out = []
                for e in it:
                    try:
                        st = e.stat(follow_symlinks=False)
                    except OSError as exc:
                        self.error(join(rel, e.name), exc)
                        continue
                    out.append((e.name, st))
                return sorted(out)
        except OSError as exc:
            self.error(rel, exc)
            return []

    def odd_entry(self, rel, st):
        """Symlinks and special files; True if the entry was one."""
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            try:
                target = os.readlink(self.abs(rel))
            except OSError:
                target = None
            self.symlinks.append({"path": rel, "target": target})
            return True
        if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
            return False
        kind = ("fifo" if stat.S_ISFIFO(mode) else
                "socket" if stat.S_ISSOCK(mode) else
                "block_device" if stat.S_ISBLK(mode) else
                "char_device" if stat.S_ISCHR(mode) else "unknown")
        self.special.append({"path": rel, "type": kind})
        return True

    def walk(self, rel, depth, parent_is_folder):
        entries = self.listdir(rel)
        names = {n: st for n, st in entries}
        has = {s: s in names and stat.S_ISDIR(names[s].st_mode)
               for s in SUBDIRS}
        name = rel.rsplit(b"/", 1)[-1]
        dot = bool(rel) and parent_is_folder and name.startswith(b".")
        mdf = b"maildirfolder" in names and not stat.S_ISDIR(
            names[b"maildirfolder"].st_mode)
        control = mdf or any(
            u in names and stat.S_ISREG(names[u].st_mode)
            for u in UIDLIST_NAMES)
        is_folder = any(has.values()) or control
        folder_msgs = []
        uidlist_files = []
        counts = {}
        for n, st in entries:
            path = join(rel, n)
            if self.odd_entry(path, st):
                continue
            if stat.S_ISDIR(st.st_mode):
                if is_folder and n in SUBDIRS:
                    counts[n] = self.scan_subdir(rel, n, folder_msgs)
                elif depth + 1 > MAX_DEPTH:
                    self.depth_limit.append(path)
                else:
                    self.walk(path, depth + 1, is_folder)
                continue
            if is_folder and n == b"maildirfolder":
                continue
            if is_folder and n in UIDLIST_NAMES:
                uidlist_files.append(n)
                continue
            self.other_files.append(path)
        if not is_folder:
            return
        self.folders.append({
            "path": rel,
            "cur": has[b"cur"], "new": has[b"new"], "tmp": has[b"tmp"],
            "dot_folder": dot,
            "maildirfolder": mdf if dot else None,
            "n_cur": counts.get(b"cur", 0), "n_new": counts.get(b"new", 0),
            "n_tmp": counts.get(b"tmp", 0),
        })
        groups = {}
        for m in folder_msgs:
            groups.setdefault(m["_base"], []).append(m["path"])
        for paths in groups.values():
            if len(paths) > 1:
                self.dup_groups.append(sorted(paths))
        for n in uidlist_files:
            self.uidlists.append(self.uidlist(rel, n, folder_msgs))

    def scan_subdir(self, folder, sub, folder_msgs):
        rel = join(folder, sub)
        count = 0
        for n, st in self.listdir(rel):
            path = join(rel, n)
            if self.odd_entry(path, st):
                continue
            if stat.S_ISDIR(st.st_mode):
                self.other_dirs.append(path)
                continue
            if n.startswith(b"."):
                self.dotfiles.append(path)
                continue
            count += 1
            if sub == b"tmp":
                self.tmp_files.append({"path": path, "folder": folder,
                                       "size": st.st_size,
                                       "mtime": st.st_mtime})
                continue
            m = self.message(folder, sub, n, path, st)
            if m is not None:
                folder_msgs.append(m)
                self.messages.append(m)
        return count

    def message(self, folder, sub, n, path, st):
        try:
            lf_bare, has_nul, looks = scan_content(self.abs(path))
        except OSError as exc:
            self.error(path, exc)
            return None
        pn = parse_name(n)
        s, w = base_fields(pn["base"])
        unknown, dup, srt = flag_facts(pn["flags"])
        w_actual = st.st_size + lf_bare
        return {
            "path": path, "folder": folder, "subdir": sub,
            "size": st.st_size, "base": pn["base"], "_base": pn["base"],
            "separator": pn["separator"], "info": pn["info"],
            "flags": pn["flags"], "info_extra": pn["info_extra"],
            "unknown_flags": unknown, "duplicate_flags": dup,
            "sorted_flags": srt, "S": s, "W": w, "W_actual": w_actual,
            "size_mismatch": s is not None and s != st.st_size,
            "vsize_mismatch": w is not None and w != w_actual,
            "looks_like_message": looks, "has_nul": has_nul,
        }

    def uidlist(self, folder, n, folder_msgs):
        path = join(folder, n)
        r = {"path": path, "folder": folder, "kind": dec(n),
             "version": None, "uidvalidity": None, "next_uid": None,
             "guid": None, "entries": 0, "highest_uid": None,
             "missing_files": [], "files_without_entry": [],
             "next_uid_not_above_highest": None, "duplicate_uids": [],
             "uids_increasing": True, "bad_lines": [],
             "header_ok": False}
        try:
            with open(self.abs(path), "rb") as f:
                data = f.read()
        except OSError as exc:
            self.error(path, exc)
            return r
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
        if not lines:
            return r
        head = lines[0].split()
        version = head[0] if head else b""
        r["version"] = int(version) if version.isdigit() else dec(version)
        v3 = n == b"dovecot-uidlist" and version == b"3"
        v2 = n == b"dovecot-uidlist" and version == b"2"
        if v3:
            ok = True
            for tok in head[1:]:
                key, val = tok[:1], tok[1:]
                if key == b"V":
                    ok = ok and val.isdigit()
                    r["uidvalidity"] = int(val) if val.isdigit() else None
                elif key == b"N":
                    ok = ok and val.isdigit()
                    r["next_uid"] = int(val) if val.isdigit() else None
                elif key == b"G":
                    r["guid"] = dec(val)
            r["header_ok"] = ok and r["uidvalidity"] is not None \
                and r["next_uid"] is not None
        else:
            if len(head) == 3 and head[1].isdigit() and head[2].isdigit():
                r["uidvalidity"] = int(head[1])
                r["next_uid"] = int(head[2])
                r["header_ok"] = version == b"1" or v2
        entry_names = []
        uids = []
        for lineno, ln in enumerate(lines[1:], start=2):
            if not ln:
                r["bad_lines"].append(lineno)
                continue
            uid, fname = None, None
            if v3:
                parts = ln.split(b" ", 1)
                if len(parts) == 2 and parts[0].isdigit():
                    rest = parts[1]
                    # skip " <key><value>" fields until the one starting ':'
                    pos = 0
                    while True:
                        if rest[pos:pos + 1] == b":":
                            fname = rest[pos + 1:]
                            break
                        sp = rest.find(b" ", pos)
                        if sp < 0:
                            break
                        pos = sp + 1
                    uid = int(parts[0])
            else:
                nsplit = 2 if v2 else 1
                parts = ln.split(b" ", nsplit)
                if len(parts) == nsplit + 1 and parts[0].isdigit():
                    uid, fname = int(parts[0]), parts[-1]
            if uid is None or not fname:
                r["bad_lines"].append(lineno)
                continue
            uids.append(uid)
            entry_names.append(fname)
        r["entries"] = len(uids)
        if uids:
            r["highest_uid"] = max(uids)
            r["uids_increasing"] = all(a < b for a, b in zip(uids, uids[1:]))
            seen, dups = set(), set()
            for u in uids:
                (dups if u in seen else seen).add(u)
            r["duplicate_uids"] = sorted(dups)
            if r["next_uid"] is not None:
                r["next_uid_not_above_highest"] = \
                    r["next_uid"] <= r["highest_uid"]
        file_bases = {m["_base"] for m in folder_msgs}
        entry_bases = {parse_name(e)["base"] for e in entry_names}
        r["missing_files"] = sorted(
            {e for e in entry_names if parse_name(e)["base"] not in file_bases})
        r["files_without_entry"] = sorted(
            m["path"] for m in folder_msgs if m["_base"] not in entry_bases)
        r["missing_count"] = len(r["missing_files"])
        r["files_without_entry_count"] = len(r["files_without_entry"])
        return r


def to_json(x):
    if isinstance(x, bytes):
        return dec(x)
    if isinstance(x, dict):
        return {k: to_json(v) for k, v in x.items() if not k.startswith("_")}
    if isinstance(x, (list, tuple)):
        return [to_json(v) for v in x]
    return x


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: maildir_facts.py ROOT\n")
        return 2
    root = os.fsencode(argv[1])
    if len(root) > 1:
        root = root.rstrip(b"/")
    try:
        st = os.lstat(root)
    except OSError as exc:
        sys.stderr.write("cannot lstat root: %s\n" % exc)
        return 2
    if not stat.S_ISDIR(st.st_mode):
        sys.stderr.write("root is not a directory (symlinks are not "
                         "followed)\n")
        return 2
    sc = Scanner(root)
    sc.walk(b"", 0, False)

    def by_path(lst):
        return sorted(lst, key=lambda d: d["path"])

    zero = sorted(m["path"] for m in sc.messages if m["size"] == 0)
    out = {
        "root": dec(root),
        "folders": by_path(sc.folders),
        "messages": by_path(sc.messages),
        "tmp_files": by_path(sc.tmp_files),
        "zero_length": zero,
        "dotfiles": sorted(sc.dotfiles),
        "symlinks": by_path(sc.symlinks),
        "special": by_path(sc.special),
        "duplicate_bases": sorted(sc.dup_groups),
        "uidlists": by_path(sc.uidlists),
        "other_files": sorted(sc.other_files),
        "other_dirs": sorted(sc.other_dirs),
        "depth_limit": sorted(sc.depth_limit),
        "errors": by_path(sc.errors),
    }
    json.dump(to_json(out), sys.stdout, ensure_ascii=True, indent=1,
              sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
