"""Verify many data sources in parallel, within the per-site session limits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from acumatica_datasource.spec import DataSource
from acumatica_datasource.verify.report import Report
from acumatica_datasource.verify.verifier import SecretSource, Verifier, VerifyOptions

MAX_WORKERS = 8


def verify_data_source(
    source: DataSource,
    *,
    callback_url: str | None,
    secrets: SecretSource,
    options: VerifyOptions | None = None,
) -> Report:
    """Verify one data source and return its report (failed checks do not raise)."""
    verifier = Verifier(
        source, callback_url=callback_url, secrets=secrets, options=options or VerifyOptions()
    )
    return verifier.run()


def verify_all(
    targets: Sequence[tuple[DataSource, str | None]],
    *,
    secrets: SecretSource,
    options: VerifyOptions | None = None,
    on_report: Callable[[Report], None] | None = None,
    max_workers: int = MAX_WORKERS,
) -> list[Report]:
    """Verify ``(data source, callback URL)`` pairs in parallel; reports in input order.

    Sessions queue on the per-site limits of ``options`` instead of exceeding the license.
    """
    options = options or VerifyOptions()

    def one(target: tuple[DataSource, str | None]) -> Report:
        report = verify_data_source(
            target[0], callback_url=target[1], secrets=secrets, options=options
        )
        if on_report is not None:
            on_report(report)
        return report

    if len(targets) <= 1:
        return [one(target) for target in targets]
    pool = ThreadPoolExecutor(max_workers=min(max_workers, len(targets)))
    try:
        futures = [pool.submit(one, target) for target in targets]
        return [future.result() for future in futures]
    except BaseException:
        # interrupted (Ctrl-C) or failed: start nothing new; the verifications under way
        # finish, which closes their sessions
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)
