"""The supervisors' board: live web pages per town, department and district, on the worker's server.

    session.py  signed session cookies, CSRF tokens, sign-out (pure)
    picture.py  counts, lists, heat table and GeoJSON from the feeds' views, per scope (pure)
    html.py     the pages, server-rendered, Chinese first and English on request
    web.py      `register(app, ...)`: the routes, on both runtimes' aiohttp application
    static/     the stylesheet and the one small script, vendored: nothing loads from elsewhere
"""

from engine.board.web import register

__all__ = ["register"]
