"""Moodle web-service functions (tool_muprog_*, core_group_*, core_webservice_get_site_info).

Shared here: Moodle's exceptions with their exact texts and capability checks against the token's
capability set (a token stands for its user; `None` capabilities means a site administrator).
"""

from __future__ import annotations

from nexsis_mock.handlers import Ctx, MoodleError
from nexsis_openapi.moodle import INVALID_PARAMETER, INVALID_RECORD

#: Capability -> the name Moodle prints in `nopermissions` messages.
CAPABILITY_NAMES: dict[str, str] = {
    "tool/muprog:view": "View programs management",
    "tool/muprog:allocate": "Allocate users to programs",
    "tool/muprog:deallocate": "De-allocate users from programs",
    "tool/muprog:edit": "Add and update programs",
    "tool/muprog:admin": "Advanced programs administration",
    "moodle/cohort:view": "View site-wide cohorts",
    "moodle/course:managegroups": "Manage groups",
    "moodle/course:view": "View courses without participation",
}


def missing_record() -> MoodleError:
    return MoodleError(**INVALID_RECORD)


def invalid_parameter() -> MoodleError:
    return MoodleError(**INVALID_PARAMETER)


def has_capability(ctx: Ctx, capability: str) -> bool:
    token = ctx.ws
    if token is None:
        return False
    user = ctx.state.users.get(token.userid)
    if user is not None and user.siteadmin:
        return True
    return token.capabilities is None or capability in token.capabilities


def require_capability(ctx: Ctx, capability: str) -> None:
    if not has_capability(ctx, capability):
        name = CAPABILITY_NAMES.get(capability, capability)
        raise MoodleError(
            "core\\exception\\required_capability_exception",
            "nopermissions",
            f"Sorry, but you do not currently have permissions to do that ({name}).",
        )
