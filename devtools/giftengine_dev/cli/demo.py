"""`giftengine demo [--keep]`: the local cloud, the bundled session, a live terminal display.

The overlay and dashboard URLs and the demo creator's sign-in are printed before the replay
(open the overlay to watch it there too); with `--keep` (`make demo KEEP=1`) the local cloud,
overlay and dashboard stay up after it until `giftengine dev down`."""

from __future__ import annotations

import os

# The demo creator's dashboard sign-in (Auth emulator only).
DEMO_EMAIL = "demo-creator@example.com"
DEMO_PASSWORD = "demo-password"


def ensure_demo_user(status: dict, uid: str) -> None:
    """The demo creator as an email/password user of the local Auth emulator."""
    from firebase_admin import auth

    from giftengine_dev.devcloud.tokens import admin_app

    os.environ.update(status["env"])
    app = admin_app(status["project_id"])
    try:
        auth.get_user(uid, app=app)
        auth.update_user(uid, email=DEMO_EMAIL, password=DEMO_PASSWORD, app=app)
    except auth.UserNotFoundError:
        auth.create_user(
            uid=uid, email=DEMO_EMAIL, password=DEMO_PASSWORD, display_name="Demo Creator", app=app
        )


def print_web(status: dict, uid: str) -> None:
    from giftengine_dev.cli.overlay_url import overlay_url

    eps = status["endpoints"]
    if "overlay" not in eps:
        print("overlay and dashboard: not served (web/ could not be built)")
        return
    url = overlay_url(eps["overlay"], uid)
    print(f"overlay   {url}   (OBS browser source: follows the demo creator's stream)")
    print(f"dashboard {eps['dashboard']}   sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}", flush=True)


def run(args) -> int:
    from giftengine_dev.demo.run import CREATOR, run_demo
    from giftengine_dev.devcloud import stack

    status = stack.status()
    started = False
    if not status["running"]:
        print("starting the local cloud (giftengine dev up) ...", flush=True)
        status = stack.up()
        started = True
    try:
        ensure_demo_user(status, CREATOR)
        print_web(status, CREATOR)
        result = run_demo(status, rate=args.rate)
    finally:
        if started and not args.keep:
            print("stopping the local cloud (giftengine dev down) ...", flush=True)
            stack.down()
    if args.keep or not started:
        print_web(status, CREATOR)
        print("the local cloud keeps running: stop it with `giftengine dev down`")
    return 0 if result["exact"] else 1


def register(sub) -> None:
    p = sub.add_parser("demo", help="replay the bundled session with a live display")
    p.add_argument("--rate", type=float, default=40.0, help="events per second")
    p.add_argument(
        "--keep",
        action="store_true",
        help="leave the local cloud, overlay and dashboard running after (until dev down)",
    )
    p.set_defaults(func=run)
