#!/usr/bin/env python3
"""Timed run of `ccs-operator plan` on 2,000 PortalUsers over 20 contracts.

    cargo dev dev-cluster --listen 127.0.0.1:6443 --kubeconfig /tmp/kc &
    python3 tests/bench/plan_2000_users.py http://127.0.0.1:6443 target/release/ccs-operator   # needs PyYAML
    time target/release/ccs-operator plan --kubeconfig /tmp/kc -f manifests.yaml > /dev/null

Seeds the dev-cluster with 20 observed CloudContracts and 2,000 observed PortalUsers (100 per
contract), and writes the manifests a pull request would change: 10% of the users get invoices
Manager, 5% lose requests, 20 new users; everything else unchanged."""
import json, sys, subprocess, urllib.request, yaml, concurrent.futures as cf

base = sys.argv[1]
crds = list(yaml.safe_load_all(subprocess.check_output([sys.argv[2], "crds"])))

def req(method, path, body, ctype="application/json"):
    r = urllib.request.Request(base + path, data=json.dumps(body).encode(), method=method, headers={"Content-Type": ctype})
    with urllib.request.urlopen(r) as resp:
        return json.load(resp)

for c in crds:
    req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", c)
import time; time.sleep(1)
G = "/apis/customerspace.io/v1alpha1/namespaces/default"
NOW = "2026-11-30T10:00:00Z"
contracts, users = [], []
for i in range(20):
    cid = f"OCB{100000 + i}"
    contracts.append({"apiVersion": "customerspace.io/v1alpha1", "kind": "CloudContract", "metadata": {"name": f"c{i}"},
                      "spec": {"contractId": cid, "offer": "FlexibleEngine", "credentialsSecretRef": {"name": f"c{i}-creds"}}})
for n in range(2000):
    i = n % 20
    users.append({"apiVersion": "customerspace.io/v1alpha1", "kind": "PortalUser", "metadata": {"name": f"u{n}"},
                  "spec": {"email": f"user{n}@acme.example", "access": [{"contract": f"c{i}", "profiles": {"dashboard": "Visitor", "invoices": "Visitor", "requests": "Manager"}}]}})

def create(obj, plural, status):
    req("POST", f"{G}/{plural}", obj)
    req("PATCH", f"{G}/{plural}/{obj['metadata']['name']}/status", {"status": status}, "application/merge-patch+json")

with cf.ThreadPoolExecutor(8) as ex:
    list(ex.map(lambda c: create(c, "cloudcontracts", {"observedGeneration": 1, "referent": "boss@acme.example", "lastSyncTime": NOW,
        "consumption": {"amount": "1234.56", "currency": "EUR", "periodStart": "2026-11-01", "dataAsOf": NOW}}), contracts))
    list(ex.map(lambda u: create(u, "portalusers", {"observedGeneration": 1, "state": "Active", "accountId": "a-" + u["metadata"]["name"],
        "login": u["metadata"]["name"] + ".login", "adopted": False, "invitationSentAt": NOW,
        "grants": [{"contract": u["spec"]["access"][0]["contract"], "contractId": f"OCB{100000 + int(u['metadata']['name'][1:]) % 20}",
                    "profiles": {"dashboard": "Visitor", "invoices": "Visitor", "requests": "Manager"}}]}), users))

for n, u in enumerate(users):
    if n % 10 == 0:
        u["spec"]["access"][0]["profiles"]["invoices"] = "Manager"
    elif n % 20 == 1:
        del u["spec"]["access"][0]["profiles"]["requests"]
for n in range(2000, 2020):
    users.append({"apiVersion": "customerspace.io/v1alpha1", "kind": "PortalUser", "metadata": {"name": f"u{n}"},
                  "spec": {"email": f"user{n}@acme.example", "access": [{"contract": f"c{n % 20}", "profiles": {"dashboard": "Visitor"}}]}})
with open("manifests.yaml", "w") as f:
    for o in contracts + users:
        f.write("---\n" + json.dumps(o) + "\n")
print("seeded", len(contracts), "contracts and 2000 users; manifests:", len(contracts) + len(users))
