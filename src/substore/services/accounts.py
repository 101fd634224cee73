"""Use cases of accounts: create, read, count, change the home region and quiet hours."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from substore import phone, repository
from substore.consent.quiet_hours import parse_hhmm
from substore.errors import PhoneNumberError, ValidationError
from substore.repository import Record


async def get_account(conn: AsyncConnection, account_id: int) -> Record | None:
    return await repository.get_account(conn, account_id)


async def list_accounts(conn: AsyncConnection) -> list[Record]:
    return await repository.list_accounts(conn)


async def count_accounts(conn: AsyncConnection) -> int:
    return await repository.count_accounts(conn)


async def create_account(conn: AsyncConnection, name: str, default_region: str) -> Record:
    if not name.strip():
        raise ValidationError("name must not be blank.", field=("name",))
    region = phone.check_region(default_region)
    return await repository.create_account(conn, name.strip(), region)


@dataclass(frozen=True, slots=True)
class AccountChanges:
    """What updateAccount asks to change (None: leave as it is)."""

    default_region: str | None = None
    quiet_hours_start: str | None = None  # local "HH:MM"
    quiet_hours_end: str | None = None


async def update_account(conn: AsyncConnection, account: Record, changes: AccountChanges) -> Record:
    values: dict[str, Any] = {}
    if changes.default_region is not None:
        try:
            values["default_region"] = phone.check_region(changes.default_region)
        except PhoneNumberError as error:
            raise ValidationError(
                error.args[0], field=("input", "defaultRegion"), code=error.code
            ) from None
    for name, field in (
        ("quiet_hours_start", "quietHoursStart"),
        ("quiet_hours_end", "quietHoursEnd"),
    ):
        text = getattr(changes, name)
        if text is not None:
            try:
                values[name] = parse_hhmm(text)
            except ValueError as error:
                raise ValidationError(f"{field}: {error}.", field=("input", field)) from None
    if not values:
        return account
    updated = await repository.update_account(conn, account.id, values)
    assert updated is not None  # the caller's own account always exists
    return updated
