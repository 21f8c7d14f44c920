"""``GET /Frames/Login.aspx``: the sign-in page clients probe at start-up.

A multi-company site shows the company selector (``ctl00$phUser$cmbCompany``) with each
tenant; a single-company site has no selector but carries the tenant's name in the hidden
``txtSingleCompany`` field, which is how clients learn the tenant to sign in to.
"""

from __future__ import annotations

import html

from aiohttp import web

from acumatica_datasource.sandbox.responses import html_page
from acumatica_datasource.sandbox.state import World


def login_page(request: web.Request, world: World) -> web.Response:
    """The sign-in form of the site (GET or HEAD only)."""
    if request.method not in ("GET", "HEAD"):
        return web.Response(status=405, text="Method Not Allowed")
    tenants = world.config.tenants
    if len(tenants) == 1:
        company = (
            '<input type="hidden" name="ctl00$phUser$txtSingleCompany" id="txtSingleCompany" '
            f'value="{html.escape(tenants[0].name)}">'
        )
    else:
        options = "".join(
            f'<option value="{html.escape(tenant.name)}">{html.escape(tenant.name)}</option>'
            for tenant in tenants
        )
        company = (
            '<label for="cmbCompany">Tenant</label>\n'
            f'<select name="ctl00$phUser$cmbCompany" id="cmbCompany">{options}</select>'
        )
    action = f"{world.config.instance_path}/Frames/Login.aspx"
    form = (
        f'<form method="post" action="{html.escape(action)}" id="form1">\n'
        f"{company}\n"
        '<label for="txtUser">Username</label>\n'
        '<input type="text" name="ctl00$phUser$txtUser" id="txtUser">\n'
        '<label for="txtPass">Password</label>\n'
        '<input type="password" name="ctl00$phUser$txtPass" id="txtPass">\n'
        '<input type="submit" name="ctl00$phUser$btnLogin" id="btnLogin" value="Sign In">\n'
        "</form>"
    )
    return html_page("Acumatica", f"<h1>Sign In</h1>\n{form}")
