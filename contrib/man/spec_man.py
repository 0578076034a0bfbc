#!/usr/bin/env python3
"""spec_man.py: reconcile-spec(5), the spec file's man page, from the JSON Schema.

    spec_man.py SCHEMA TEMPLATE EXAMPLE VERSION OUT [NAME=VALUE...]

The reference (every key: its type, default, range, enum, what it means, what
it requires) is rendered from SCHEMA (specs/reconcile.schema.json) alone, so
that the page cannot drift from the schema; TEMPLATE (reconcile-spec.5.in) is
the hand-written rest, with @KEYS@ (the reference), @EXAMPLE@ (the spec file
EXAMPLE, verbatim), @VERSION@ and each @NAME@ given (the install paths)
replaced. The walk knows no key by name: a
key, an object or a $ref added to the schema appears with no change here.
Standard library only (the build runs it; no dependency).
"""
import json
import os
import re
import sys


def roff(text):
    """Plain text made safe for roff: backslashes, and a control character
    ('.' or "'") at the start of a line."""
    text = str(text).replace("\\", "\\e")
    out = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        out.append(line)
    return "\n".join(out)


def value(v):
    """A JSON value as the spec file writes it."""
    return json.dumps(v, ensure_ascii=False)


def key(k):
    """A key in bold, never hyphenated (a reader searches for it whole)."""
    return "\\fB\\%%%s\\fR" % roff(k)


def sentence(text):
    """A description as a sentence: a capital first, a full stop last."""
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."


class Schema:
    def __init__(self, root):
        self.root = root

    def resolve(self, node):
        """Follow local $refs ("#/$defs/x"); the node with its siblings merged."""
        seen = 0
        while isinstance(node, dict) and "$ref" in node and seen < 32:
            ref = node["$ref"]
            if not ref.startswith("#"):
                raise SystemExit("spec_man.py: only local $ref are supported: %s" % ref)
            target = self.root
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                target = target[int(part)] if isinstance(target, list) else target[part]
            merged = dict(target)
            merged.update({k: v for k, v in node.items() if k != "$ref"})
            node = merged
            seen += 1
        return node


def alternatives(s, node):
    """The node itself, or each branch of its oneOf/anyOf."""
    node = s.resolve(node)
    for key in ("oneOf", "anyOf"):
        if key in node and all("required" not in b for b in node[key]):
            return [s.resolve(b) for b in node[key]]
    return [node]


def range_text(n):
    lo, hi = n.get("minimum"), n.get("maximum")
    xlo, xhi = n.get("exclusiveMinimum"), n.get("exclusiveMaximum")
    parts = []
    if xlo is not None:
        parts.append("over %s" % value(xlo))
    if lo is not None and hi is not None:
        parts.append("%s to %s" % (value(lo), value(hi)))
    else:
        if lo is not None:
            parts.append("at least %s" % value(lo))
        if hi is not None:
            parts.append("at most %s" % value(hi))
    if xhi is not None:
        parts.append("under %s" % value(xhi))
    if n.get("minLength"):
        parts.append("at least %d character%s" % (n["minLength"], "" if n["minLength"] == 1 else "s"))
    if n.get("maxLength") is not None:
        parts.append("at most %d characters" % n["maxLength"])
    if n.get("minItems"):
        parts.append("at least %d item%s" % (n["minItems"], "" if n["minItems"] == 1 else "s"))
    return parts


def type_text(s, node):
    """What a value may be: "integer, 1 to 1000" or "one of "a", "b"", each
    alternative of a oneOf in turn."""
    out = []
    for alt in alternatives(s, node):
        if "const" in alt:
            out.append("exactly %s" % value(alt["const"]))
            continue
        if "enum" in alt:
            out.append("one of " + ", ".join(value(v) for v in alt["enum"]))
            continue
        t = alt.get("type")
        if isinstance(t, list):
            t = " or ".join(t)
        t = t or "any"
        if t == "array" and "items" in alt:
            items = type_text(s, alt["items"])
            t = "array of %s" % ("objects" if items == "object" else items)
        parts = [t] + range_text(alt)
        pat = alt.get("pattern")
        if pat and len(pat) <= 48:
            parts.append("matching %s" % pat)
        cond = alt.get("anyOf")
        if cond and all("const" in c or "minimum" in c for c in cond):
            parts.append(" or ".join(value(c["const"]) if "const" in c else
                                     "at least %s" % value(c["minimum"]) for c in cond))
        out.append(", ".join(parts))
    return "; or ".join(out)


def required_groups(s, node):
    """Sentences for the object's oneOf/not-anyOf of "required" lists: the
    credential forms (exactly one of) and the pairs that exclude each other."""
    out = []
    for sub in [node] + [s.resolve(a) for a in node.get("allOf", [])]:
        one = sub.get("oneOf")
        if one and all(set(b) == {"required"} for b in one):
            keys = [k for b in one for k in b["required"]]
            out.append("Exactly one of %s is required." % ", ".join(key(k) for k in keys))
        no = sub.get("not", {}).get("anyOf")
        if no and all(set(b) == {"required"} for b in no):
            keys = []
            for b in no:
                keys += [k for k in b["required"] if k not in keys]
            out.append("At most one of %s may be given." % ", ".join(key(k) for k in keys))
    return out


def conditions(s, node):
    """Sentences for if/then branches: "When vendor is "x": ..."."""
    out = []
    for sub in [s.resolve(a) for a in node.get("allOf", [])]:
        cond, then = sub.get("if"), sub.get("then")
        if not cond or not then:
            continue
        when = []
        for k, v in cond.get("properties", {}).items():
            if "const" in v:
                when.append("%s is %s" % (key(k), roff(value(v["const"]))))
        says = []
        if then.get("required"):
            says.append("%s required" % ", ".join(key(k) for k in then["required"]))
        absent = [k for b in then.get("not", {}).get("anyOf", []) for k in b.get("required", [])]
        if absent:
            says.append("%s must be absent" % ", ".join(key(k) for k in absent))
        for k, v in then.get("properties", {}).items():
            names = v.get("propertyNames", {}).get("enum")
            if names:
                says.append("%s may hold only %s" % (key(k), ", ".join(key(n) for n in names)))
        if when and says:
            out.append("When %s: %s." % (" and ".join(when), "; ".join(says)))
    return out


def is_object(s, node):
    node = s.resolve(node)
    return "properties" in node or (isinstance(node.get("additionalProperties"), dict)
                                    and node.get("type") == "object")


def render_object(s, path, node, lines):
    """One .SS section for the object at path, then one per object inside it."""
    node = s.resolve(node)
    lines.append('.SS "%s"' % roff(path))
    if node.get("description") and path != "top level":
        lines.append(roff(sentence(node["description"])))
    for text in required_groups(s, node) + conditions(s, node):
        lines.append(".PP")
        lines.append(text)
    if node.get("additionalProperties") is False:
        lines.append(".PP")
        lines.append("Any other key is an error.")
    required = node.get("required", [])
    nested = []
    for name, sub in node.get("properties", {}).items():
        sub = s.resolve(sub)
        lines.append(".TP")
        lines.append(key(name) + (" (required)" if name in required else ""))
        child, step = sub, name
        if sub.get("type") == "array" and "items" in sub and is_object(s, sub["items"]):
            child, step = s.resolve(sub["items"]), name + "[]"
        if is_object(s, child):
            # an object: its section says what it holds
            where = step if path == "top level" else "%s.%s" % (path, step)
            lines.append(roff(describe(s, sub)[:-1]) + ": see %s below." % key(where))
            nested.append((where, child))
        else:
            lines.append(roff(describe(s, sub)))
        if sub.get("description"):
            lines.append(".br")
            lines.append(roff(sentence(sub["description"])))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        names = node.get("propertyNames", {}).get("enum")
        lines.append(".PP")
        lines.append("Each key%s maps to %s." % (
            " (%s)" % ", ".join(key(n) for n in names) if names else "",
            roff(type_text(s, extra))))
    for where, child in nested:
        render_object(s, where, child, lines)


def describe(s, sub):
    """The type line of a key: type, range, default."""
    text = type_text(s, sub)
    if "properties" in sub or sub.get("type") == "object":
        text = "object"
    if "default" in sub:
        text += "; default %s" % value(sub["default"])
    return sentence(text)


def main(argv):
    if len(argv) < 6 or not all("=" in a for a in argv[6:]):
        sys.stderr.write(__doc__)
        return 2
    schema_path, template_path, example_path, version, out_path = argv[1:6]
    with open(schema_path, encoding="utf-8") as f:
        root = json.load(f)
    with open(template_path, encoding="utf-8") as f:
        template = f.read()
    with open(example_path, encoding="utf-8") as f:
        example = f.read().rstrip("\n")
    s = Schema(root)
    lines = []
    render_object(s, "top level", root, lines)
    page = (template.replace("@VERSION@", roff(version))
            .replace("@EXAMPLE@", roff(example))
            .replace("@DESCRIPTION@", roff(root.get("description", "")))
            .replace("@KEYS@", "\n".join(lines)))
    for arg in argv[6:]:
        name, val = arg.split("=", 1)
        page = page.replace("@%s@" % name, roff(val))
    left = re.search(r"@[A-Z]+@", page)
    if left:
        raise SystemExit("spec_man.py: %s: no value given for %s" % (template_path, left.group(0)))
    with open(out_path + ".tmp", "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(out_path + ".tmp", out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
