"""The read-only status page (`campaignctl dashboard`): a WSGI application served by
waitress, its HTML rendered on the server (jinja2 templates, charts drawn as plain SVG, no
script), over a state opened read-only.

    app.py         routing, the token wall, the state opened read-only
    auth.py        the token: header or login cookie, compared in constant time
    pages.py       what each page reads and renders
    model.py       the counts made into funnels, rates and series (pure)
    svg.py         the one chart function
    waits.py       what waits now, by reason (the planner over the due enrollments)
    background.py  the slow panels, computed beside the requests
    sources.py     the forecast and the replies, adapted to what the page draws
"""
