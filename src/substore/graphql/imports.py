"""importSubscribers: many rows in one call, one result per row, in input order."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

import strawberry

from substore import services
from substore.errors import ErrorCode, SubstoreError, UserError
from substore.graphql import typed
from substore.graphql import types as t
from substore.graphql.context import Info
from substore.graphql.inputs import ImportOptions, InvalidFieldPolicy, SubscriberInput
from substore.metrics import IMPORT_ROWS
from substore.services.idempotency import IdempotencyKeyError, save_subscribers_once

MAX_IMPORT_ROWS = 1000


@strawberry.type(description="What importSubscribers did with one input row.")
class ImportRowResult:
    index: int = strawberry.field(description="The row's position in the input, from 0.")
    status: t.ImportRowStatus = strawberry.field(description="What happened to the row.")
    e164_number: str | None = strawberry.field(
        description="The row's number in E.164 (its key); null for a row refused while it "
        "was read (an invalid number or field)."
    )
    user_errors: list[t.UserError] = strawberry.field(
        description='Why the row failed, each at a path under ["input", index].'
    )
    warnings: list[t.UserError] = strawberry.field(
        description="What is worth checking in a stored row (an opt-out kept, an inferred "
        "country code, a dropped field)."
    )
    subscriber_id: strawberry.Private[int | None]

    @typed.field(description="The stored subscriber (loaded only when asked for).")
    async def subscriber(self, info: Info) -> t.Subscriber | None:
        if self.subscriber_id is None:
            return None
        return await info.context.subscriber_loader.load(self.subscriber_id)


@strawberry.type(description="What importSubscribers did: counts by status, one result a row.")
class ImportSubscribersPayload:
    created_count: int = strawberry.field(description="Rows that stored a new subscriber.")
    updated_count: int = strawberry.field(
        description="Rows that updated the subscriber already stored with their number."
    )
    merged_count: int = strawberry.field(
        description="Rows merged into an earlier row of this call with the same number."
    )
    failed_count: int = strawberry.field(description="Rows refused; nothing of them stored.")
    skipped_count: int = strawberry.field(
        description="Rows not stored because another row failed under allOrNothing."
    )
    kept_opted_out_count: int = strawberry.field(
        description="Rows that asked for SUBSCRIBED on a number that opted out: their other "
        "fields were saved, and they stay UNSUBSCRIBED (each has an OPTED_OUT warning)."
    )
    user_errors: list[t.UserError] = strawberry.field(
        description="Why the call as a whole was refused (more than 1000 rows, a bad "
        "defaultRegion option); then nothing was stored and there are no results."
    )
    rows: strawberry.Private[list[services.RowResult]]

    @typed.field(
        description="One result per input row, in input order; `status` keeps only rows "
        "with those statuses, and `withWarnings` adds the rows that carry a warning (an "
        "import script asks for FAILED with warnings and reads the counts)."
    )
    def results(
        self,
        status: Annotated[
            list[t.ImportRowStatus] | None,
            strawberry.argument(
                description="Only the rows with one of these statuses (null: every row)."
            ),
        ] = None,
        with_warnings: Annotated[
            bool,
            strawberry.argument(
                description="True adds the rows that carry a warning, whatever their status."
            ),
        ] = False,
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
    counts = Counter(r.status for r in results)  # one pass, not one a status
    return ImportSubscribersPayload(
        created_count=counts[services.RowStatus.CREATED],
        updated_count=counts[services.RowStatus.UPDATED],
        merged_count=counts[services.RowStatus.MERGED],
        failed_count=counts[services.RowStatus.FAILED],
        skipped_count=counts[services.RowStatus.SKIPPED],
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
    input: Annotated[
        list[SubscriberInput],
        strawberry.argument(
            description=f"The rows, at most {MAX_IMPORT_ROWS}; rows with the same number "
            "are merged in input order."
        ),
    ],
    options: Annotated[
        ImportOptions | None,
        strawberry.argument(
            description="How to read and store the rows (null: every option's default)."
        ),
    ] = None,
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
