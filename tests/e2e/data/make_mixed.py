#!/usr/bin/env python3
"""make_mixed.py: the fault campaigns' facility (tests/e2e/e2e_faults.c):
three sites, one per vendor, 200 units in all, every vendor empty (a first
sync): 100 OpenTech units, 50 PTI units, 50 OpenApp units; about 60 % rented,
one rental in ten overdue, half of the OpenTech codes to be generated, PTI
customers renting one to three units.

    python3 tests/e2e/data/make_mixed.py > tests/e2e/data/mixed200.json
"""
import json
import random

r = random.Random(200)
sg = {"api_key": "demo-storeganise-key", "jobs": [],
      "sites": [{"id": s, "code": s, "customFields": {}} for s in ("ot", "pt", "oa")],
      "units": [], "unitRentals": [], "users": []}
sg["sites"][1]["customFields"] = {"pti_siteKey": "SK-1", "pti_siteCode": "SC-1",
                                  "pti_username": "operator", "pti_password": "op-pass"}
ot = {"clients": [{"client_id": "demo-integrator", "client_secret": "demo-integrator-secret"}],
      "accounts": [{"api_key": "demo-opentech-key", "api_secret": "demo-opentech-secret",
                    "facilities": [101]}],
      "token_ttl": 3600, "hide_codes": False,
      "facilities": [{"id": 101, "name": "Mixed", "propertyNumber": "MX"}],
      "units": [], "visitors": []}
pti = {"clients": [{"client_id": "demo-pti-partner", "api_key": "demo-pti-partner-key"}],
       "sites": [{"id": 1, "site_key": "SK-1", "site_code": "SC-1", "username": "operator",
                  "password": "op-pass"}],
       "token_ttl": 3600, "units": [], "users": [], "cards": []}
oa = {"api_key": "demo-openapp-key", "org_id": "01ORG0000000000000000000AA",
      "integrations": [{"id": "01INT0000000000000000000BB", "portals": [
          {"id": "P-LOBBY", "name": "Lobby"}]}], "invites": []}

codes = r.sample(range(100000, 999999), 400)
users = 0


def user(cf=None):
    global users
    users += 1
    u = {"id": "c%03d" % users, "firstName": "F%d" % users, "lastName": "L%d" % users,
         "email": "c%d@example.com" % users, "phone": "+351 9%07d" % users, "overdue": None,
         "customFields": cf or {}}
    sg["users"].append(u)
    return u["id"]


def rental(unit, site, owner, cf=None):
    n = len(sg["unitRentals"]) + 1
    sg["unitRentals"].append({"id": "r%03d" % n, "unitId": unit, "siteId": site, "ownerId": owner,
                              "state": "occupied", "startDate": "2026-01-01",
                              "overdue": "2026-11-01T00:00:00.000Z" if n % 10 == 0 else None,
                              "customFields": cf or {}})


for i in range(1, 101):
    name = "O%03d" % i
    sg["units"].append({"id": "uo%d" % i, "siteId": "ot", "name": name, "state": "available",
                        "customFields": {"opentech_unitId": name}})
    ot["units"].append({"id": 5000 + i, "facilityId": 101, "unitNumber": name, "status": "Vacant"})
    if r.random() < 0.6:
        cf = {"opentech_accessCode": str(codes.pop())} if r.random() < 0.5 else {}
        rental("uo%d" % i, "ot", user(), cf)
pti_customers = []
for i in range(1, 51):
    name = "P%02d" % i
    sg["units"].append({"id": "up%d" % i, "siteId": "pt", "name": name, "state": "available",
                        "customFields": {"pti_unitName": name}})
    pti["units"].append({"site": 1, "name": name, "status": "vacant", "user": None})
    if r.random() < 0.6:
        if pti_customers and r.random() < 0.3:
            owner = r.choice(pti_customers)
        else:
            owner = user({"pti_accessCode": str(codes.pop())} if r.random() < 0.5 else {})
            pti_customers.append(owner)
        rental("up%d" % i, "pt", owner)
for i in range(1, 51):
    name = "A%02d" % i
    oa["integrations"][0]["portals"].append({"id": "P-" + name, "name": name})
    sg["units"].append({"id": "ua%d" % i, "siteId": "oa", "name": name, "state": "available",
                        "customFields": {"openapp_portalIds": "P-" + name}})
    if r.random() < 0.6:
        rental("ua%d" % i, "oa", user())
for rt in sg["unitRentals"]:
    for u in sg["units"]:
        if u["id"] == rt["unitId"]:
            u["state"] = "occupied"
print(json.dumps({"storeganise": sg, "opentech": ot, "pti": pti, "openapp": oa}, indent=1))
