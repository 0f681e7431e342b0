"""The dashboard at /_emulator/ui: server-rendered pages and forms over the control plane.

Routes are in api/paths.py (the one table); ENDPOINTS maps their names to the functions here.
Templates and static files ship inside the package (and so in the wheel): nothing is loaded
from another host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linkup_emulator.api.docs import Assets
from linkup_emulator.api.ui import forms, pages, tail
from linkup_emulator.api.ui.render import STATIC

ASSETS = Assets(directory=STATIC)

ENDPOINTS: dict[str, Callable[..., Any]] = {
    "ui_tenants": pages.tenants_page,
    "ui_tenant": pages.tenant_page,
    "ui_account": pages.account_page,
    "ui_journal": pages.journal_page,
    "ui_journal_stream": tail.journal_stream,
    "ui_clock": pages.clock_page,
    "ui_login_page": pages.login_page,
    "ui_login": forms.login,
    "ui_logout": forms.logout,
    "ui_create_tenant": forms.create_tenant,
    "ui_set_credits": forms.set_credits,
    "ui_set_rate_limit": forms.set_rate_limit,
    "ui_reset_tenant": forms.reset_tenant,
    "ui_add_fault": forms.add_fault,
    "ui_move_tenant_clock": forms.move_tenant_clock,
    "ui_delete_fault": forms.delete_fault,
    "ui_set_status": forms.set_status,
    "ui_arrive": forms.arrive,
    "ui_respond": forms.respond,
    "ui_reset_all": forms.reset_all,
    "ui_move_clock": forms.move_clock,
}
