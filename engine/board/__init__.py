"""The supervisors' board: live web pages per town, department and district, on the worker's server.

    session.py  signed session cookies, CSRF tokens, sign-out (pure)
    signouts.py sign-outs on a topic, so that every worker refuses a signed-out cookie
    picture.py  counts, lists, heat table and GeoJSON from the feeds' views, per scope (pure)
    html.py     the pages, server-rendered, Chinese first and English on request
    web.py      `register(app, ...)`: the routes, on the worker's aiohttp application
    static/     the stylesheet and the one small script, vendored: nothing loads from elsewhere
"""

from engine.board.signouts import KafkaSignOuts, signouts_topic
from engine.board.web import register

__all__ = ["KafkaSignOuts", "register", "signouts_topic"]
