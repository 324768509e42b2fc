"""The Moodle functions a site has beyond the mock's, and the default order of a token's service.

The functions the mock implements are the spec's (``nexsis_openapi.moodle.functions()``); these
lists are what the recorded site answered about others (tests/data/moodle-ws-observed.jsonl), which
no spec describes.
"""

from __future__ import annotations

__all__ = ["KNOWN_MOODLE_FUNCTIONS", "SERVICE_FUNCTIONS"]

#: Moodle functions that exist on a real site but are not in the mock's service: calling them
#: answers `accessexception` (as the recorded site did), any other unknown name `invalidrecordunknown`.
KNOWN_MOODLE_FUNCTIONS = frozenset(
    {
        "core_user_get_users_by_field",
        "core_user_get_users",
        "core_user_create_users",
        "core_user_update_users",
        "core_user_delete_users",
        "core_course_get_courses",
        "core_course_get_courses_by_field",
        "core_course_create_courses",
        "core_course_update_courses",
        "core_course_delete_courses",
        "core_course_get_categories",
        "core_enrol_get_enrolled_users",
        "core_enrol_get_users_courses",
        "enrol_manual_enrol_users",
        "enrol_manual_unenrol_users",
        "core_group_get_groups",
        "core_group_get_course_groups",
        "core_group_get_group_members",
        "core_group_update_groups",
        "core_group_get_course_user_groups",
        "core_cohort_get_cohorts",
        "core_cohort_create_cohorts",
        "core_cohort_add_cohort_members",
        "core_cohort_delete_cohort_members",
        "core_cohort_search_cohorts",
        "core_completion_get_course_completion_status",
        "core_completion_get_activities_completion_status",
        "gradereport_user_get_grade_items",
        "gradereport_overview_get_course_grades",
        "core_grades_get_grades",
        "core_webservice_get_site_info",
        "core_message_send_instant_messages",
        "core_role_assign_roles",
        "core_role_unassign_roles",
        "tool_mobile_get_config",
        "core_calendar_get_calendar_events",
    }
)

#: Default order of the functions a token's service offers: the recorded site's order (not the spec's);
#: the set is the spec's operations (tests/mock_domain/test_service_functions.py checks both).
SERVICE_FUNCTIONS = (
    "core_webservice_get_site_info",
    "tool_muprog_get_programs",
    "tool_muprog_get_program_allocations",
    "tool_muprog_source_manual_allocate_users",
    "tool_muprog_delete_program_allocations",
    "tool_muprog_update_program_allocation",
    "tool_muprog_archive_program_allocation",
    "tool_muprog_restore_program_allocation",
    "tool_muprog_source_cohort_get_cohorts",
    "tool_muprog_source_cohort_add_cohort",
    "tool_muprog_source_cohort_delete_cohort",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_group_create_groups",
    "core_group_delete_groups",
)
