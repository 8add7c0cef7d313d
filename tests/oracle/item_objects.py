#!/usr/bin/python3
"""Parses every .vcf and .ics file under a directory with Debian's vobject
(vCard) and icalendar (iCalendar) packages and prints what they read, as
JSON: {"errors": [...], "items": [...]}. Run with /usr/bin/python3, where
python3-vobject and python3-icalendar install."""
import datetime
import json
import os
import sys

import icalendar
import vobject
from dateutil import rrule


def utc(dt):
    """A DATE-TIME as YYYYMMDDTHHMMSSZ, whatever form the file wrote it in."""
    if hasattr(dt, "utcoffset") and dt.utcoffset() is not None:
        dt = dt.astimezone(datetime.timezone.utc)
    return dt.strftime("%Y%m%dT%H%M%SZ") if hasattr(dt, "hour") else dt.strftime("%Y%m%d")


def occurrences(event, count=6):
    """The series' first starts, as dateutil expands its RRULE."""
    if "RRULE" not in event or "DTSTART" not in event:
        return []
    start = event["DTSTART"].dt
    text = event["RRULE"].to_ical().decode()
    if start.tzinfo is None:  # a floating start: expand with UNTIL floating too
        text = text.replace("Z", "")
    out = []
    for when in rrule.rrulestr(text, dtstart=start):
        out.append(utc(when))
        if len(out) == count:
            break
    return out


def card(path, data):
    items = []
    for c in vobject.readComponents(data):
        emails = sorted(e.value.strip().lower() for e in c.contents.get("email", []) if e.value.strip())
        fn = c.fn.value if hasattr(c, "fn") else ""
        items.append({"path": path, "kind": "vcf", "fn": fn, "emails": emails})
    return items


def calendar(path, data):
    items = []
    cal = icalendar.Calendar.from_ical(data)
    method = str(cal.get("METHOD", ""))
    for e in cal.walk("VEVENT"):
        items.append({
            "path": path, "kind": "ics", "method": method,
            "summary": str(e.get("SUMMARY", "")),
            "dtstart": utc(e["DTSTART"].dt) if "DTSTART" in e else "",
            "dtend": utc(e["DTEND"].dt) if "DTEND" in e else "",
            "occurrences": occurrences(e),
        })
    return items


def main():
    root = sys.argv[1]
    out = {"errors": [], "items": []}
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            try:
                if f.endswith(".vcf"):
                    with open(path, encoding="utf-8") as h:
                        out["items"] += card(rel, h.read())
                elif f.endswith(".ics"):
                    with open(path, "rb") as h:
                        out["items"] += calendar(rel, h.read())
            except Exception as e:  # any failure to parse is what we report
                out["errors"].append(rel + ": " + repr(e))
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


main()
