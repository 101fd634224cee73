"""Use cases, one module per concept. No GraphQL or HTTP here.

Each function takes the caller's connection (the caller owns the transaction) and the
caller's account; expected problems come back as `UserError` data, not exceptions.
"""

from substore.preparation import (
    NormalizeOptions,
    RowResult,
    RowStatus,
    SubscriberInput,
    as_utc,
    prepare,
    warm_up,
)
from substore.repository import PROFILE_COLUMNS, Record, SubscriberFilter
from substore.search import parse_search
from substore.services.accounts import (
    AccountChanges,
    count_accounts,
    create_account,
    get_account,
    list_accounts,
    update_account,
)
from substore.services.consent import (
    InboundResult,
    can_message,
    consent_events,
    record_inbound_message,
)
from substore.services.events import (
    MAX_EVENTS,
    EventPage,
    page_events,
)
from substore.services.pages import (
    DEFAULT_PAGE,
    MAX_PAGE,
    Page,
    count_subscribers,
    page_subscribers,
)
from substore.services.subscribers import (
    DEFAULT_OPTIONS,
    ByE164,
    CpuRunner,
    SaveResult,
    by_api,
    delete_subscriber,
    delete_subscribers,
    find_subscriber,
    get_subscriber,
    get_subscribers,
    not_found,
    save_subscriber,
    save_subscribers,
    update_subscriber,
)

__all__ = [
    "DEFAULT_OPTIONS",
    "DEFAULT_PAGE",
    "MAX_EVENTS",
    "MAX_PAGE",
    "PROFILE_COLUMNS",
    "AccountChanges",
    "ByE164",
    "CpuRunner",
    "EventPage",
    "InboundResult",
    "NormalizeOptions",
    "Page",
    "Record",
    "RowResult",
    "RowStatus",
    "SaveResult",
    "SubscriberFilter",
    "SubscriberInput",
    "as_utc",
    "by_api",
    "can_message",
    "consent_events",
    "count_accounts",
    "count_subscribers",
    "create_account",
    "delete_subscriber",
    "delete_subscribers",
    "find_subscriber",
    "get_account",
    "get_subscriber",
    "get_subscribers",
    "list_accounts",
    "not_found",
    "page_events",
    "page_subscribers",
    "parse_search",
    "prepare",
    "record_inbound_message",
    "save_subscriber",
    "save_subscribers",
    "update_account",
    "update_subscriber",
    "warm_up",
]
