#!/usr/bin/env python3
"""man_spec.py PAGE SCHEMA: reconcile-spec(5) as built is a clean man page
that documents every key of the schema (ctest man/spec).

- groff -man -ww renders it with no warning, and so does man --warnings;
- lexgrog (mandb's parser) reads its NAME section (when installed);
- every key of SCHEMA (properties of every object, $refs followed, and the
  names a propertyNames enum allows) has its own tagged paragraph in the
  page (one per object that holds it) and appears, whole, in the text.
Exits 1 naming each problem, 77 (skip) without groff.
"""
import json
import os
import re
import shutil
import subprocess
import sys


def resolve(root, node):
    while isinstance(node, dict) and "$ref" in node:
        target = root
        for part in node["$ref"][1:].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            target = target[int(part)] if isinstance(target, list) else target[part]
        node = dict(target, **{k: v for k, v in node.items() if k != "$ref"})
    return node


def walk(root, node, props, names, seen):
    """Every object's properties (into props, one entry per object and key)
    and every propertyNames enum value (into names)."""
    node = resolve(root, node)
    if isinstance(node, list):
        for n in node:
            walk(root, n, props, names, seen)
        return
    if not isinstance(node, dict) or id(node) in seen:
        return
    seen.add(id(node))
    for k in node.get("properties", {}):
        props.append(k)
    for k in node.get("propertyNames", {}).get("enum", []):
        names.add(k)
    for k, v in node.items():
        if k == "properties":
            for sub in v.values():
                walk(root, sub, props, names, seen)
        elif k in ("$defs", "definitions", "if", "then", "else", "not"):
            continue  # reached through their $refs; conditions hold no key of their own
        elif isinstance(v, (dict, list)):
            walk(root, v, props, names, seen)


def run(argv, env=None):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def main(page, schema_path):
    if not shutil.which("groff"):
        print("SKIP: no groff")
        return 77
    problems = []
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    with open(page, encoding="utf-8") as f:
        source = f.read()

    rc, text, err = run(["groff", "-man", "-Tutf8", "-ww", "-rHY=0", "-P-cbou", page])
    if rc or err.strip():
        problems.append("groff -man -ww: exit %d, warnings:\n%s" % (rc, err))
    if shutil.which("man"):
        env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
        rc, out, err = run(["man", "--warnings", "-l", page], env)
        if rc or err.strip() or not out.strip():
            problems.append("man --warnings -l: exit %d, stderr:\n%s" % (rc, err))
    if shutil.which("lexgrog"):
        rc, out, err = run(["lexgrog", page])
        if rc or "reconcile-spec - " not in out:
            problems.append("lexgrog cannot read the NAME section: %s%s" % (out, err))

    props, names = [], set()
    walk(schema, schema, props, names, set())
    tags = re.findall(r"^\.TP\n\\fB\\%([^\\\n]+)\\fR", source, re.M)
    for k in sorted(set(props)):
        want, have = props.count(k), tags.count(k)
        if have < want:
            problems.append("key %s: %d tagged paragraph(s), the schema has it in %d object(s)"
                            % (k, have, want))
    for k in sorted(set(props) | names):
        if not re.search(r"(?<![\w.-])%s(?![\w-])" % re.escape(k), text):
            problems.append("key %s does not appear in the rendered page" % k)
    if not props:
        problems.append("no key found in %s" % schema_path)
    for p in problems:
        print("man_spec: %s" % p)
    if not problems:
        print("man_spec: %s: clean; %d keys (%d distinct) documented" % (page, len(props), len(set(props))))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
