#!/usr/bin/env python3
"""The spec loader and the JSON Schema agree (issue 14, item 6).

Every case is fed to both `reconcile validate -c FILE` and a real JSON
Schema validator (python3-jsonschema, draft 2020-12):
  bad/NAME.json              both refuse it
  bad/loader-only_NAME.json  the loader refuses it, the schema cannot say
                             so (specs/README.md lists these rules)
  good/NAME.json, specs/examples/*.json   both accept it
Exit 0 when every case agrees, 1 otherwise, 77 (skipped) without jsonschema.

Usage: check.py RECONCILE_BIN SOURCE_DIR
"""
import glob
import json
import os
import subprocess
import sys

try:
    import jsonschema
except ImportError:
    print("SKIP: python3-jsonschema is not installed (apt-get install python3-jsonschema)")
    sys.exit(77)


def main():
    reconcile, src = sys.argv[1], sys.argv[2]
    with open(os.path.join(src, "specs/reconcile.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    cases = os.path.join(src, "tests/spec_cases")
    files = sorted(glob.glob(os.path.join(cases, "bad/*.json")))
    files += sorted(glob.glob(os.path.join(cases, "good/*.json")))
    files += sorted(glob.glob(os.path.join(src, "specs/examples/*.json")))
    if len(files) < 20:
        print("too few cases found under %s" % cases)
        return 1
    failures = 0
    for path in files:
        name = os.path.relpath(path, src)
        base = os.path.basename(path)
        bad = "/bad/" in path
        loader_only = base.startswith("loader-only_")
        run = subprocess.run([reconcile, "validate", "-c", path],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        loader_ok = run.returncode == 0
        with open(path) as f:
            doc = json.load(f)
        errors = list(validator.iter_errors(doc))
        schema_ok = not errors
        want_loader = not bad
        want_schema = not bad or loader_only
        if loader_ok == want_loader and schema_ok == want_schema:
            print("ok   %-60s loader %s, schema %s" % (
                name, "accepts" if loader_ok else "refuses", "accepts" if schema_ok else "refuses"))
            continue
        failures += 1
        print("FAIL %s: loader %s (want %s), schema %s (want %s)" % (
            name, "accepts" if loader_ok else "refuses", "accept" if want_loader else "refuse",
            "accepts" if schema_ok else "refuses", "accept" if want_schema else "refuse"))
        if run.stderr.strip():
            print("     loader: %s" % run.stderr.strip().splitlines()[0])
        for e in errors[:2]:
            print("     schema: %s: %s" % ("/".join(str(p) for p in e.absolute_path), e.message[:200]))
    print("%d cases, %d disagreements" % (len(files), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
