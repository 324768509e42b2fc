"""core_webservice_get_site_info: who the token is and which functions its service offers."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, ws_function
from nexsis_openapi.moodle import function_info, functions, site_versions

_ADVANCED = [
    "usecomments",
    "usetags",
    "enablenotes",
    "messaging",
    "enableblogs",
    "enablecompletion",
    "enablebadges",
    "messagingallusers",
    "enablecustomreports",
    "enableglobalsearch",
    "mnet_dispatcher_mode",
    "enablecompetencies",
]
_ADVANCED_OFF = {"messagingallusers", "enableglobalsearch", "mnet_dispatcher_mode"}


def service_functions(ctx: Ctx) -> list[str]:
    from nexsis_mock.handlers import WS

    order = ctx.state.site.get("service_functions") or list(WS)
    allowed = ctx.ws.functions if ctx.ws else None
    return [f for f in order if f in WS and (allowed is None or f in allowed)]


@ws_function("core_webservice_get_site_info")
def get_site_info(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    site = state.site
    token = ctx.ws
    assert token is not None
    user = state.users[token.userid]
    url = ctx.base_url or site.get("url", "http://localhost")  # the URL the client reached
    theme = site.get("theme", "boost")
    rev = site.get("themerev", 1)
    release, version = site_versions()
    versions = {n: function_info(n).version for n in functions()}
    admin = bool(user.siteadmin)
    return {
        "sitename": site.get("name", "Moodle"),
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "fullname": f"{user.firstname} {user.lastname}",
        "lang": "en",
        "userid": user.id,
        "siteurl": url,
        "userpictureurl": f"{url}/theme/image.php/{theme}/core/{rev}/u/f1",
        "functions": [
            {"name": f, "version": versions.get(f, version)} for f in service_functions(ctx)
        ],
        "downloadfiles": 0,
        "uploadfiles": 0,
        "release": release,
        "version": version,
        "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": 0 if n in _ADVANCED_OFF else 1} for n in _ADVANCED],
        "usercanmanageownfiles": True,
        "userquota": 0 if admin else 104857600,
        "usermaxuploadfilesize": -1 if admin else 67108864,
        "userhomepage": 1,
        "userprivateaccesskey": token.privatekey,
        "siteid": 1,
        "sitecalendartype": "gregorian",
        "usercalendartype": "gregorian",
        "userissiteadmin": admin,
        "theme": theme,
        "limitconcurrentlogins": 0,
        "policyagreed": 0,
    }
