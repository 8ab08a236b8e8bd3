"""The community Python SDK (PyPI `pocketbase`) against one server.

Run by ecosystem_python.test.mjs against Cairn and PocketBase 0.40.6 on the
same schema (ecosystem_fixtures.mjs). It drives sign-in, records, realtime
(collection and single-record subscriptions), the mail flows (whose mail goes
through the server's sendmail fallback to the fake sendmail's outbox) and
settings, and prints one JSON object of what it observed; the Node test
compares the two servers' objects and checks each value.

Usage: sdk_flows.py URL SUPERUSER_EMAIL SUPERUSER_PASSWORD OUTBOX_DIR
"""

import email
import email.policy
import json
import os
import re
import sys
import threading
import time

from pocketbase import PocketBase
from pocketbase.client import ClientResponseError

URL, SU_EMAIL, SU_PASSWORD, OUTBOX = sys.argv[1:5]
PW = "python-pass-123"
NEW_PW = "python-pass-456"
out = {}


def wait_for(cond, seconds=15.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def error_of(fn):
    try:
        fn()
    except ClientResponseError as e:
        return {"status": e.status, "message": (e.data or {}).get("message")}
    return None


def mails_to(addr):
    """Parsed messages from the fake sendmail's outbox addressed to `addr`."""
    found = []
    for name in sorted(os.listdir(OUTBOX)):
        if not name.endswith(".eml"):
            continue
        with open(os.path.join(OUTBOX, name), encoding="utf-8") as f:
            args, _, raw = f.read().partition("\n")
        msg = email.message_from_string(raw, policy=email.policy.default)
        if addr in str(msg["To"]):
            html = msg.get_body(preferencelist=("html",))
            found.append({"args": args, "subject": str(msg["Subject"]), "html": html.get_content()})
    return found


def token_in(mail, action):
    m = re.search(action + r"/([A-Za-z0-9_\-.]+)", mail["html"])
    return m.group(1) if m else None


su = PocketBase(URL)
auth = su.collection("_superusers").auth_with_password(SU_EMAIL, SU_PASSWORD)
out["superuser_signin"] = bool(auth.token) and auth.record.email == SU_EMAIL
out["bad_password"] = error_of(lambda: PocketBase(URL).collection("_superusers").auth_with_password(SU_EMAIL, "nope-nope"))

# Settings: read, change, read back.
settings = su.settings.get_all()
out["settings_keys"] = sorted(k for k in settings if k in ("meta", "smtp", "batch", "logs", "rateLimits"))
su.settings.update({"meta": {"appName": "PySDK", "appURL": "http://app.test", "senderAddress": "noreply@app.test"}})
out["settings_app_name"] = su.settings.get_all()["meta"]["appName"]
out["smtp_enabled"] = su.settings.get_all()["smtp"]["enabled"]

# Sign-up and sign-in of an auth record.
author = su.collection("authors").create(
    {"email": "py@example.com", "password": PW, "passwordConfirm": PW, "name": "Py", "level": "senior"}
)
user = PocketBase(URL)
res = user.collection("authors").auth_with_password("py@example.com", PW)
out["user_signin"] = res.record.id == author.id and user.auth_store.model.id == author.id
refreshed = user.collection("authors").auth_refresh()
out["auth_refresh"] = bool(refreshed.token) and refreshed.record.id == author.id

# Records: create, view, list with filter/sort/expand, update, delete.
p1 = user.collection("posts").create(
    {"title": "first", "views": 3, "tags": ["a", "b"], "meta": {"k": 1}, "author": author.id, "status": "live"}
)
p2 = user.collection("posts").create({"title": "second", "views": 7})
got = user.collection("posts").get_one(p1.id, {"expand": "author"})
out["record_view"] = {
    "title": got.title,
    "views": got.views,
    "tags": got.tags,
    "meta": got.meta,
    "expand_author": got.expand["author"].name,
}
page = user.collection("posts").get_list(1, 10, {"filter": "views > 1", "sort": "-views"})
out["record_list"] = {"total": page.total_items, "titles": [r.title for r in page.items]}
out["record_update"] = user.collection("posts").update(p2.id, {"views+": 5}).views
out["view_collection"] = sorted(r.title for r in su.collection("post_stats").get_full_list())
out["missing_record"] = error_of(lambda: user.collection("posts").get_one("zzzzzzzzzzzzzzz"))
out["invalid_create"] = error_of(lambda: user.collection("posts").create({"views": 1}))

# Realtime: a collection subscription and a single-record one, each on its
# own client (guest), fed by writes from the superuser.
all_events, one_events = [], []
lock = threading.Lock()
watch_all, watch_one = PocketBase(URL), PocketBase(URL)
watch_all.collection("posts").subscribe(lambda e: (lock.acquire(), all_events.append((e.action, e.record.id)), lock.release()))
watch_one.collection("posts").subscribe_one(p1.id, lambda e: (lock.acquire(), one_events.append((e.action, e.record.id)), lock.release()))


def connected(pb):
    """Waits for the client's PB_CONNECT. The SDK starts its SSE thread
    before it adds its PB_CONNECT listener (services/realtime_service.py,
    `_connect`), so a server that answers first (a loaded machine, the GIL
    handed to the SSE thread) has its PB_CONNECT dropped and the client
    never connects; against either server. Reconnecting, as an app would,
    tries the race again."""
    for _ in range(5):
        if wait_for(lambda: pb.realtime.client_id, seconds=8.0):
            return True
        pb.realtime._connect()
    return False


out["realtime_connected"] = connected(watch_all) and connected(watch_one)
time.sleep(0.5)  # the SDK posts its subscriptions from its SSE thread


def probe_write():
    su.collection("posts").update(p2.id, {"title": "probe"})
    return wait_for(lambda: any(i == p2.id for _, i in all_events), 1.0)


wait_for(probe_write, 15.0)  # subscriptions are in place once a probe arrives
with lock:
    all_events.clear()
    one_events.clear()
su.collection("posts").update(p2.id, {"title": "second again"})
su.collection("posts").update(p1.id, {"title": "first again"})
su.collection("posts").delete(p2.id)
wait_for(lambda: len(all_events) >= 3 and len(one_events) >= 1)
time.sleep(0.3)
with lock:
    out["realtime_collection"] = [[a, "p1" if i == p1.id else "p2"] for a, i in all_events]
    out["realtime_record"] = [[a, "p1" if i == p1.id else "p2"] for a, i in one_events]
watch_all.realtime.unsubscribe()
watch_one.realtime.unsubscribe()

# Mail flows: with SMTP disabled every mail goes to `sendmail -i -t`.
user.collection("authors").request_verification("py@example.com")
wait_for(lambda: len(mails_to("py@example.com")) >= 1)
verify = mails_to("py@example.com")[-1]
out["verification_mail"] = {"args": verify["args"], "subject": verify["subject"]}
token = token_in(verify, "confirm-verification")
out["verification_confirmed"] = token is not None and PocketBase(URL).collection("authors").confirm_verification(token)
out["verified"] = su.collection("authors").get_one(author.id).verified

user.collection("authors").request_password_reset("py@example.com")
wait_for(lambda: len(mails_to("py@example.com")) >= 2)
reset = mails_to("py@example.com")[-1]
out["reset_mail"] = {"args": reset["args"], "subject": reset["subject"]}
token = token_in(reset, "confirm-password-reset")
out["reset_confirmed"] = token is not None and PocketBase(URL).collection("authors").confirm_password_reset(token, NEW_PW, NEW_PW)
out["signin_new_password"] = PocketBase(URL).collection("authors").auth_with_password("py@example.com", NEW_PW).record.id == author.id
out["unknown_email_reset"] = PocketBase(URL).collection("authors").request_password_reset("nobody@example.com")

user = PocketBase(URL)
user.collection("authors").auth_with_password("py@example.com", NEW_PW)
user.collection("authors").request_email_change("py-new@example.com")
wait_for(lambda: len(mails_to("py-new@example.com")) >= 1)
change = mails_to("py-new@example.com")[-1]
out["email_change_mail"] = {"args": change["args"], "subject": change["subject"]}
token = token_in(change, "confirm-email-change")
out["email_changed"] = token is not None and PocketBase(URL).collection("authors").confirm_email_change(token, NEW_PW)
out["new_email_signin"] = PocketBase(URL).collection("authors").auth_with_password("py-new@example.com", NEW_PW).record.id == author.id

print(json.dumps(out, sort_keys=True))
