#!/usr/bin/python3
"""Prints what Python's email package reads in an .eml file (used by the
notify tests as an independent parser): decoded Subject, From, To, the
number of defects found, then the MIME tree."""

import sys
from email import policy
from email.parser import BytesParser


def walk(part, depth, out):
    line = "  " * depth + part.get_content_type()
    if part.get_content_maintype() != "multipart":
        line += " " + str(part.get_content_charset())
        if part.get_content_disposition() == "attachment":
            line += " attachment " + str(part.get_filename())
        if part.get_param("method"):
            line += " method=" + part.get_param("method")
    out.append(line)
    if part.is_multipart():
        for child in part.iter_parts():
            walk(child, depth + 1, out)


def main():
    with open(sys.argv[1], "rb") as f:
        msg = BytesParser(policy=policy.default).parse(f)
    defects = len(msg.defects) + sum(len(p.defects) for p in msg.walk())
    out = [f"subject: {msg['subject']}", f"from: {msg['from']}", f"to: {msg['to']}",
           f"defects: {defects}"]
    walk(msg, 0, out)
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
