"""Summarises a pytest JUnit XML report of hvac's integration tests run against warden.

Prints every test that did not pass (with the first line of its failure), the regressions and
fixes against the known-failures list, and the closing line
`hvac results: passed=N failed=N skipped=N` (deliberately not in the `N passed, N failed` form
that CI reads as the test runner's own closing line: the cargo suites run after it).

known-failures.txt holds one test id per line (`file::Class::test`), optionally followed by
`  # reason`; blank lines and lines starting with `#` are ignored.

Exit status by --mode: default 0; strict 1 when anything failed or errored; regressions 1 when a
test failed that is not known to fail, or a known failure passed.
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def test_id(case):
    # classname is "tests.integration_tests.api.x.test_y.TestY"; name is "test_z_0_param".
    parts = case.get("classname", "").split(".")
    module, cls = parts[:-1], parts[-1:]
    path = "/".join(module) + ".py"
    return "::".join([path, *cls, case.get("name", "")])


def first_line(text):
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line[:300]
    return ""


def load_known(path):
    known = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                tid, _, reason = line.partition("#")
                known[tid.strip()] = reason.strip()
    except FileNotFoundError:
        pass
    return known


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--junit", required=True)
    ap.add_argument("--known", required=True)
    ap.add_argument("--mode", choices=["default", "strict", "regressions"], default="default")
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()

    root = ET.parse(args.junit).getroot()
    results = {}  # id -> (outcome, message)
    for case in root.iter("testcase"):
        tid = test_id(case)
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
                message = first_line(child.get("message")) or first_line(child.text)
                break
            if child.tag == "skipped":
                outcome = "skipped"
                message = first_line(child.get("message"))
        # A teardown error after a pass/failure shows as a second entry with the same id.
        if tid in results and results[tid][0] in ("failed", "error"):
            continue
        results[tid] = (outcome, message)

    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    for outcome, _ in results.values():
        counts[outcome] += 1

    known = load_known(args.known)
    not_passing = sorted(t for t, (o, _) in results.items() if o in ("failed", "error"))
    if not_passing:
        print("\nhvac: tests that did not pass:")
        for tid in not_passing:
            outcome, message = results[tid]
            print(f"  {outcome.upper():6} {tid}\n           {message}")
    skipped = sorted(t for t, (o, _) in results.items() if o == "skipped")
    if skipped:
        print("\nhvac: skipped:")
        for tid in skipped:
            print(f"  SKIP   {tid}  ({results[tid][1]})")

    regressions = [t for t in not_passing if t not in known]
    fixed = sorted(t for t in known if results.get(t, ("absent",))[0] == "passed")
    if regressions:
        print("\nhvac: failing but not in known-failures.txt (regressions or new tests):")
        for tid in regressions:
            print(f"  {tid}")
    if fixed:
        print("\nhvac: in known-failures.txt but now passing (remove them):")
        for tid in fixed:
            print(f"  {tid}")

    if args.update:
        with open(args.known, "w") as f:
            f.write(
                "# hvac 2.4.0 integration tests that do not pass against warden, with the reason;\n"
                "# regenerate with scripts/hvac/run.sh --update (reasons are kept). See docs/compatibility.md.\n"
            )
            for tid in not_passing:
                reason = known.get(tid, "")
                f.write(f"{tid}  # {reason}\n" if reason else f"{tid}\n")
        print(f"\nhvac: wrote {len(not_passing)} entries to {args.known}")

    failed = counts["failed"] + counts["error"]
    print(f"\nhvac: {counts['error']} of the failures are errors (setup/teardown)")
    print(f"hvac results: passed={counts['passed']} failed={failed} skipped={counts['skipped']}")
    if args.mode == "strict" and failed:
        return 1
    if args.mode == "regressions" and (regressions or fixed):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
