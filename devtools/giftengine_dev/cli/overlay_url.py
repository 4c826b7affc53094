"""`giftengine overlay-url CREATOR_ID [--json] [--state-dir DIR]`: the creator's permanent
overlay URL on the local cloud, in the form the dashboard's URL builder gives
(docs/web-clients.md, "Overlay"): `<overlay>?creator=<creator id>`, no stream id."""

from __future__ import annotations

import json
import re
import sys
from urllib.parse import urlencode

# The backend's id rule (domain/events.py ID_PATTERN): a Firestore document id.
_ID = re.compile(r"^(?!\.\.?$)(?!__.*__$)[^/]{1,256}$")


# The URL the dashboard's "Your overlay" card gives with its boxes as they start
# (web/dashboard/main.js `renderOverlayUrl`): the same widgets, theme and size.
DASHBOARD_DEFAULTS = {
    "widgets": "alerts,top,goal,combo,round,hype,throne",
    "theme": "dark",
    "width": 1920,
    "height": 1080,
}


def overlay_url(base: str, creator_id: str) -> str:
    return f"{base}?{urlencode({'creator': creator_id, **DASHBOARD_DEFAULTS})}"


def run(args) -> int:
    from giftengine_dev.devcloud import stack

    if not _ID.match(args.creator_id):
        print(
            f"giftengine overlay-url: {args.creator_id!r} is not a valid creator id",
            file=sys.stderr,
        )
        return 2
    st = stack.status(args.state_dir)
    url = overlay_url(st["endpoints"]["overlay"], args.creator_id)
    if args.json:
        print(json.dumps({"url": url, "running": bool(st.get("running"))}))
    else:
        print(url)
        if not st.get("running"):
            print("(the local cloud is not running: giftengine dev up)", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser("overlay-url", help="a creator's permanent overlay URL (local cloud)")
    p.add_argument("creator_id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--state-dir", default=None, help="the stack's state dir (default: dev up's)")
    p.set_defaults(func=run)
