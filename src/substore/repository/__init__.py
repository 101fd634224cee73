"""SQL, one module per table family. Every subscriber query filters by account.

Functions take the caller's `AsyncConnection`, so a use case decides the transaction.
"""

from substore.repository.accounts import (
    count_accounts,
    create_account,
    create_api_key,
    find_api_key,
    get_account,
    list_accounts,
    list_api_keys,
    revoke_api_key,
    update_account,
)
from substore.repository.consent import Provenance, page_events
from substore.repository.documents import (
    add_documents,
    get_document,
    list_documents,
    remove_document,
)
from substore.repository.events import events_after, last_sequence
from substore.repository.pages import (
    Cursor,
    SubscriberFilter,
    count_subscribers,
    page_and_behind,
    page_subscribers,
    select_page,
)
from substore.repository.subscribers import (
    KEY_COLUMNS,
    PROFILE_COLUMNS,
    Record,
    SubscriberWrite,
    Upserted,
    delete_subscribers,
    get_subscriber,
    get_subscriber_by_e164,
    get_subscribers,
    get_subscribers_by_e164,
)
from substore.repository.writes import (
    Columns,
    as_columns,
    update_subscriber,
    upsert_columns,
    upsert_subscriber,
    upsert_subscribers,
)

__all__ = [
    "KEY_COLUMNS",
    "PROFILE_COLUMNS",
    "Columns",
    "Cursor",
    "Provenance",
    "Record",
    "SubscriberFilter",
    "SubscriberWrite",
    "Upserted",
    "add_documents",
    "as_columns",
    "count_accounts",
    "count_subscribers",
    "create_account",
    "create_api_key",
    "delete_subscribers",
    "events_after",
    "find_api_key",
    "get_account",
    "get_document",
    "get_subscriber",
    "get_subscriber_by_e164",
    "get_subscribers",
    "get_subscribers_by_e164",
    "last_sequence",
    "list_accounts",
    "list_api_keys",
    "list_documents",
    "page_and_behind",
    "page_events",
    "page_subscribers",
    "remove_document",
    "revoke_api_key",
    "select_page",
    "update_account",
    "update_subscriber",
    "upsert_columns",
    "upsert_subscriber",
    "upsert_subscribers",
]
