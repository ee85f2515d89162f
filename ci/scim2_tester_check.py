"""Run the third-party scim2-tester suite against a running server.

Usage: python ci/scim2_tester_check.py BASE_URL TOKEN

Counts SUCCESS/COMPLIANT/ACCEPTABLE as passed and SKIPPED as skipped; anything else is
a failure, except the few checks listed in NOT_APPLICABLE with the reason they cannot
apply. Fails (exit 1) on any failed discovery or User check, and when fewer resource checks
ran than MIN_CHECKS (scim2-tester silently runs only its discovery checks when it cannot
understand our discovery documents). Failed checks of other resource types are listed;
they fail the run only when their type is named in --strict-types.
"""

import argparse
import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import check_server
from scim2_tester.utils import Status

PASSED = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}
# Fewer checks than this means scim2-tester did not understand our discovery documents.
MIN_CHECKS = {"User": 80, "Group": 15}

LICENSE_EXTENSION = "urn:scim-license:schemas:extension:license:2.0:User"
# Checks that cannot apply to this server, matched exactly by (resource type, check,
# attribute path), each with the reason; every other failure fails the run.
NOT_APPLICABLE = {
    (rtype, check, LICENSE_EXTENSION): (
        "the license extension holds only the readOnly `licenses` the server computes, so "
        "a PATCH of the extension as a whole has nothing a client can set; scim2-tester "
        "expects an empty extension object back, and we do not return empty extensions"
    )
    for rtype, check in [("User", "check_add_attribute"), ("User", "check_replace_attribute")]
}
# Resource types that are read-only by design: every scim2-tester check of a type starts by
# creating a resource, which they answer with 405.
READ_ONLY_TYPES = {
    "License": "the tenant's license pools, read-only over SCIM (set with `license set`)",
    "Entitlement": "the license pools as entitlements for IdP discovery, read-only",
    "Role": "the role values the tenant maps to pools, for IdP discovery, read-only",
}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--strict-types", default="User")
    args = parser.parse_args()
    strict = {t for t in args.strict_types.split(",") if t}

    http = httpx2.Client(
        base_url=args.base_url,
        headers={"Authorization": f"Bearer {args.token}"},
        timeout=30,
    )
    client = SyncSCIMClient(http)
    results = check_server(client)

    passed = skipped = 0
    not_applicable = []
    failed_strict, failed_other = [], []
    per_type: dict[str, int] = {}
    for r in results:
        rtype = r.resource_type or "discovery"
        per_type[rtype] = per_type.get(rtype, 0) + 1
        key = (rtype, r.title, (r.data or {}).get("urn") if isinstance(r.data, dict) else None)
        if r.status in PASSED:
            passed += 1
        elif key in NOT_APPLICABLE:
            not_applicable.append((key, NOT_APPLICABLE[key]))
        elif rtype in READ_ONLY_TYPES and "is not allowed" in (r.reason or ""):
            not_applicable.append((key, READ_ONLY_TYPES[rtype]))
        elif r.status == Status.SKIPPED:
            skipped += 1
        elif rtype == "discovery" or rtype in strict:
            failed_strict.append(r)
        else:
            failed_other.append(r)
        print(f"{r.status.name:<10} {rtype:<10} {r.title}" + (f" -- {r.reason}" if r.reason and r.status not in PASSED else ""))

    print()
    print("checks per resource type:", ", ".join(f"{k}={v}" for k, v in sorted(per_type.items())))
    for r in failed_other:
        print(f"NOT YET REQUIRED: {r.resource_type}: {r.title}: {r.reason}")
    for (rtype, check, urn), reason in not_applicable:
        print(f"NOT APPLICABLE: {rtype} {check} {urn}: {reason}")
    failed = len(failed_strict) + len(failed_other)
    print(f"scim2-tester: {passed} passed, {failed} failed, {skipped} skipped, "
          f"{len(not_applicable)} not applicable")

    for rtype, minimum in MIN_CHECKS.items():
        if per_type.get(rtype, 0) < minimum:
            print(f"FAIL: only {per_type.get(rtype, 0)} {rtype} checks ran (expected at least "
                  f"{minimum}); discovery was probably not understood")
            return 1
    if failed_strict:
        print(f"FAIL: {len(failed_strict)} discovery/{'/'.join(sorted(strict))} checks failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
