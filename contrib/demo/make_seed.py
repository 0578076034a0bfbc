#!/usr/bin/env python3
"""Generate contrib/demo/seed.json, the demo's simulator seed (deterministic).

Four sites: two OpenTech facilities of 25 units each, a PTI site and an
OpenApp site:
  lisbon  (facility 101, property number LIS-001): OpenTech already holds some
          tenants from the old add-on. It shows: in-sync units (no call), a
          hand-made drift (a unit set Delinquent by hand in OpenTech while the
          tenant is paid up), a missed move-out (Rented in OpenTech, vacant in
          the PMS), a mapping error (field names no OpenTech unit), a staff
          overlock flag, and rentals without a code (generated).
  porto   (facility 102, property number POR-002): a fresh facility, every
          unit Vacant in OpenTech: move-ins and overdue overlocks.
  faro    (PTI StorLogix): a customer with three units (one PTI user, one
          code), an overdue customer (suspended), credentials in the site's
          custom fields.
  braga   (OpenApp): two rentals, each gets an invite on its door + lobby.
Run: python3 contrib/demo/make_seed.py > contrib/demo/seed.json
"""
import json

def oid(kind, n):
    return "%s%020x" % ({"site": "5e17", "unit": "a0a0", "rental": "7e47", "user": "c057"}[kind], n)

FIRST = ["Ana", "Bruno", "Carla", "Diogo", "Eva", "Filipe", "Gil", "Helena", "Ines", "Joao",
         "Katia", "Luis", "Marta", "Nuno", "Olga", "Pedro", "Quirino", "Rita", "Sofia", "Tiago"]
LAST = ["Ruiz", "Silva", "Costa", "Santos", "Pereira", "Ferreira", "Oliveira", "Rodrigues",
        "Martins", "Sousa"]

sg = {"api_key": "demo-storeganise-key", "sites": [], "units": [], "unitRentals": [], "users": [], "jobs": []}
ot = {"clients": [{"client_id": "demo-integrator", "client_secret": "demo-integrator-secret"}],
      "accounts": [{"api_key": "demo-opentech-key", "api_secret": "demo-opentech-secret", "facilities": [101, 102]}],
      "token_ttl": 3600, "hide_codes": False,
      "facilities": [{"id": 101, "name": "Lisbon", "propertyNumber": "LIS-001"},
                     {"id": 102, "name": "Porto", "propertyNumber": "POR-002"}],
      "units": [], "visitors": []}

user_n = 0
def new_user():
    global user_n
    user_n += 1
    u = {"id": oid("user", user_n), "firstName": FIRST[user_n % len(FIRST)],
         "lastName": LAST[user_n % len(LAST)],
         "email": "customer%d@example.com" % user_n, "phone": "+351 900 000 %03d" % user_n,
         "overdue": None, "customFields": {}}
    sg["users"].append(u)
    return u

rental_n = 0
def rent(site, unit, user, code=None, overdue=False, flag=None):
    global rental_n
    rental_n += 1
    cf = {}
    if code:
        cf["opentech_accessCode"] = code
    if flag is not None:
        cf["opentech_overlocked"] = flag
    r = {"id": oid("rental", rental_n), "unitId": unit["id"], "siteId": site["id"], "ownerId": user["id"],
         "state": "occupied", "startDate": "2026-0%d-01" % (1 + rental_n % 9), "price": 90 + rental_n,
         "overdue": "2026-11-0%dT00:00:00.000Z" % (1 + rental_n % 9) if overdue else None,
         "customFields": cf}
    unit["state"] = "occupied"
    sg["unitRentals"].append(r)
    if overdue:
        user["overdue"] = r["overdue"]
    return r

vid = 9000
def visitor(fac, unit_id, user, code, enabled=True):
    global vid
    vid += 1
    ot["visitors"].append({"id": vid, "facilityId": fac, "unitId": unit_id, "isTenant": True,
                           "firstName": user["firstName"], "lastName": user["lastName"],
                           "email": user["email"], "mobilePhoneNumber": user["phone"], "code": code,
                           "accessProfileId": 1, "timeGroupId": 0, "isEnabled": enabled})

unit_n = 0
ot_unit_id = 5000
for s, (code, title, fac, prefix) in enumerate([("lis", "Lisbon", 101, "A-1"), ("por", "Porto", 102, "B-2")]):
    site = {"id": oid("site", s + 1), "code": code, "title": {"en": title}, "customFields": {}}
    sg["sites"].append(site)
    units = []
    for i in range(1, 26):
        unit_n += 1
        name = "%s%02d" % (prefix, i)
        u = {"id": oid("unit", unit_n), "siteId": site["id"], "name": name, "state": "available",
             "customFields": {"opentech_unitId": name}}
        sg["units"].append(u)
        units.append(u)
        ot_unit_id += 1
        ot["units"].append({"id": ot_unit_id, "facilityId": fac, "unitNumber": name, "status": "Vacant"})
        u["_ot"] = ot_unit_id
    otu = {u["name"]: o for u, o in zip(units, [x for x in ot["units"] if x["facilityId"] == fac])}
    if code == "lis":
        # 1-5: rented and already in sync in OpenTech
        for i in range(5):
            usr = new_user()
            c = "5%05d" % (7319 * (i + 3) % 100000)
            rent(site, units[i], usr, code=c, flag=False)
            visitor(fac, units[i]["_ot"], usr, c)
            otu[units[i]["name"]]["status"] = "Rented"
        # 6: hand-made drift: paid up in the PMS, set Delinquent by hand in OpenTech
        usr = new_user()
        rent(site, units[5], usr, code="640271", flag=False)
        visitor(fac, units[5]["_ot"], usr, "640271")
        otu[units[5]["name"]]["status"] = "Delinquent"
        # 7: missed move-out: Rented in OpenTech, no rental in the PMS
        gone = new_user()
        visitor(fac, units[6]["_ot"], gone, "771204")
        otu[units[6]["name"]]["status"] = "Rented"
        # 8-11: new move-ins without a code (generated), one with a code set by staff
        for i in range(7, 11):
            rent(site, units[i], new_user(), code="318852" if i == 10 else None)
        # 12: overdue
        rent(site, units[11], new_user(), overdue=True)
        # 13: overlock flag set by staff without overdue
        rent(site, units[12], new_user(), code="905513", flag=True)
        # 14: mapping error: the field names no OpenTech unit
        units[13]["customFields"]["opentech_unitId"] = units[13]["name"] + "X"
        rent(site, units[13], new_user())
        # 15: rented but unmapped (R1)
        del units[14]["customFields"]["opentech_unitId"]
        rent(site, units[14], new_user())
    else:
        for i in range(0, 14):
            rent(site, units[i], new_user(), overdue=(i in (3, 9)))
    for u in units:
        del u["_ot"]

# faro: PTI StorLogix (site credentials in the site's custom fields, as in
# the PTI add-on); customer 40 rents three units (one user, one code).
faro = {"id": oid("site", 3), "code": "far", "title": {"en": "Faro"},
        "customFields": {"pti_siteKey": "FARO-KEY", "pti_siteCode": "FARO", "pti_username": "operator",
                         "pti_password": "faro-pass"}}
sg["sites"].append(faro)
pti = {"clients": [{"client_id": "demo-pti-partner", "api_key": "demo-pti-partner-key"}],
       "sites": [{"id": 1, "site_key": "FARO-KEY", "site_code": "FARO", "username": "operator",
                  "password": "faro-pass"}], "token_ttl": 3600, "units": [], "users": [], "cards": []}
funits = []
for i in range(1, 11):
    unit_n += 1
    name = "C-%02d" % i
    u = {"id": oid("unit", unit_n), "siteId": faro["id"], "name": name, "state": "available",
         "customFields": {"pti_unitName": name}}
    sg["units"].append(u)
    funits.append(u)
    pti["units"].append({"site": 1, "name": name, "status": "vacant", "user": None})
multi = new_user()
for i in range(3):
    rent(faro, funits[i], multi)
rent(faro, funits[3], new_user(), overdue=True)
rent(faro, funits[4], new_user())

# braga: OpenApp (invites on the unit's door plus the lobby)
braga = {"id": oid("site", 4), "code": "bra", "title": {"en": "Braga"}, "customFields": {}}
sg["sites"].append(braga)
portals = [{"id": "01PORTALLOBBY0000000000000", "name": "Lobby"}]
bunits = []
for i in range(1, 6):
    unit_n += 1
    pid = "01PORTALD%017d" % i
    portals.append({"id": pid, "name": "Door D-%02d" % i})
    u = {"id": oid("unit", unit_n), "siteId": braga["id"], "name": "D-%02d" % i, "state": "available",
         "customFields": {"openapp_portalIds": pid}}
    sg["units"].append(u)
    bunits.append(u)
rent(braga, bunits[0], new_user())
rent(braga, bunits[1], new_user())
openapp = {"api_key": "demo-openapp-key", "org_id": "01DEMOORG00000000000000000",
           "integrations": [{"id": "01DEMOINTEGRATION000000000", "portals": portals}], "invites": []}

print(json.dumps({"storeganise": sg, "opentech": ot, "pti": pti, "openapp": openapp}, indent=1))
