"""The web clients (web/overlay, web/dashboard): build them with Vite and serve them.

    from giftengine_dev.webclients import build, server
    build.ensure_built()            # npm ci + vite build when web/ sources changed
    server.serve(app, port, config) # static files + /config.json + /fn/<function>/ proxy

`giftengine dev up` runs both (docs/web-clients.md).
"""
