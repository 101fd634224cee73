"""importSubscribers: many rows in one call, one result per row, in input order."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import strawberry

from substore import services
from substore.errors import ErrorCode, SubstoreError, UserError
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.inputs import ImportOptions, InvalidFieldPolicy, SubscriberInput
from substore.metrics import IMPORT_ROWS
from substore.services.idempotency import IdempotencyKeyError, save_subscribers_once

MAX_IMPORT_ROWS = 1000


@strawberry.type
class ImportRowResult:
    index: int
    status: t.ImportRowStatus
    e164_number: str | None
    user_errors: list[t.UserError]
    warnings: list[t.UserError]
    subscriber_id: strawberry.Private[int | None]

    @strawberry.field(description="The stored subscriber (loaded only when asked for).")
    async def subscriber(self, info: Info) -> t.Subscriber | None:
        if self.subscriber_id is None:
            return None
        return await info.context.subscriber_loader.load(self.subscriber_id)


@strawberry.type
class ImportSubscribersPayload:
    created_count: int
    updated_count: int
    merged_count: int
    failed_count: int
    skipped_count: int
    kept_opted_out_count: int = strawberry.field(
        description="Rows that asked for SUBSCRIBED on a number that opted out: their other "
        "fields were saved, and they stay UNSUBSCRIBED (each has an OPTED_OUT warning)."
    )
    user_errors: list[t.UserError]
    rows: strawberry.Private[list[services.RowResult]]

    @strawberry.field(
        description="One result per input row, in input order; `status` keeps only rows "
        "with those statuses, and `withWarnings` adds the rows that carry a warning (an "
        "import script asks for FAILED with warnings and reads the counts)."
    )
    def results(
        self,
        status: list[t.ImportRowStatus] | None = None,
        with_warnings: bool = False,
    ) -> list[ImportRowResult]:
        wanted = set(status) if status else None
        return [
            _row(r)
            for r in self.rows
            if wanted is None or r.status in wanted or (with_warnings and r.warnings)
        ]


def _row(result: services.RowResult) -> ImportRowResult:
    return ImportRowResult(
        index=result.index,
        status=result.status,
        e164_number=result.e164_number,
        user_errors=t.user_errors(result.user_errors),
        warnings=t.user_errors(result.warnings),
        subscriber_id=result.subscriber_id,
    )


def _payload(
    results: list[services.RowResult], errors: list[UserError]
) -> ImportSubscribersPayload:
    def count(status: services.RowStatus) -> int:
        return sum(r.status is status for r in results)

    return ImportSubscribersPayload(
        created_count=count(services.RowStatus.CREATED),
        updated_count=count(services.RowStatus.UPDATED),
        merged_count=count(services.RowStatus.MERGED),
        failed_count=count(services.RowStatus.FAILED),
        skipped_count=count(services.RowStatus.SKIPPED),
        kept_opted_out_count=sum(any(w.reason == "OPTED_OUT" for w in r.warnings) for r in results),
        user_errors=t.user_errors(errors),
        rows=results,
    )


KEY_DESCRIPTION = (
    "Makes the call safe to repeat: a call with a key used in the last 24 hours answers "
    "with that call's results and writes nothing (the same rows and options), or is "
    "refused with CONFLICTING_PARAMETERS (others). Ignored on a dry run."
)


async def import_subscribers(
    info: Info,
    input: list[SubscriberInput],
    options: ImportOptions | None = None,
    idempotency_key: Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)] = None,
) -> ImportSubscribersPayload:
    ctx = info.context
    rows = ctx.import_rows
    if rows is None:  # not read before execution (graphql/rows.py): convert them here
        rows = [row.to_service() for row in input]
    if len(rows) > MAX_IMPORT_ROWS:
        error = UserError(
            ErrorCode.PARAMETER_TOO_LONG,
            f"{len(rows)} rows is more than {MAX_IMPORT_ROWS} a call: split the batch.",
            ("input",),
        )
        return _payload([], [error])
    options = options or ImportOptions()
    normalize = services.NormalizeOptions(
        options.default_region,
        options.strict_country_code,
        drop_invalid_fields=options.invalid_fields is InvalidFieldPolicy.DROP_FIELD,
    )
    common = {
        "all_or_nothing": options.all_or_nothing,
        "run_cpu": ctx.run_cpu,
        "actor": ctx.principal.actor,
    }
    replayed = False
    try:
        if idempotency_key is not None and not options.dry_run:
            results, replayed = await ctx.db(
                save_subscribers_once, ctx.account, idempotency_key, rows, normalize, **common
            )
        else:
            results = await ctx.db(
                services.save_subscribers,
                ctx.account,
                rows,
                normalize,
                dry_run=options.dry_run,
                **common,
            )
    except IdempotencyKeyError as error:
        return _payload([], [error.user_error])
    except SubstoreError as error:  # a bad defaultRegion option fails the whole batch
        return _payload([], [error.user_error.under("options")])
    if not options.dry_run and not replayed:  # one increment a status: each is a write
        for status, count in Counter(str(r.status) for r in results).items():
            IMPORT_ROWS.labels(status).inc(count)
    return _payload(results, [])
