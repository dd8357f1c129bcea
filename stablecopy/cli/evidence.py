"""`stablecopy keys`, `log`, `evidence` and `check-evidence`: the archive's signing keys, its capture
log (tree heads, proofs, witnesses), and evidence packages checked with no trust in the archive."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stablecopy.cli.console import err, shown
from stablecopy.cli.group import cli
from stablecopy.cli.options import (
    catalog,
    keys_dir_option,
    location_options,
    parse_settings,
    settings_option,
)
from stablecopy.layout import DataLayout

if TYPE_CHECKING:
    from scrapy.settings import Settings

    from stablecopy.evidence.keys import KeyFiles


def _settings(data_dir: Path, db_url: str | None, overrides: tuple[str, ...] = ()) -> Settings:
    from stablecopy.crawl.runner import project_settings

    layout = DataLayout.create(data_dir, db_url)
    return project_settings({
        **parse_settings(overrides), "STABLECOPY_DATA_DIR": str(layout.root),
        "STABLECOPY_DB_URL": layout.db_url,
    })  # fmt: skip


def _keys(data_dir: Path, db_url: str | None, keys_dir: Path | None) -> KeyFiles:
    from stablecopy.evidence.keys import KeyFiles

    return KeyFiles.configured(keys_dir, DataLayout.create(data_dir, db_url).root)


@cli.group()
def keys() -> None:
    """The archive's signing keys: Ed25519 for the capture log, ECDSA P-256 for WACZ packages."""


@keys.command("init")
@keys_dir_option
@location_options
def keys_init(keys_dir: Path | None, data_dir: Path, db_url: str | None) -> None:
    """Make the archive's keys (private key files mode 0600; an existing key is never replaced)."""
    from stablecopy.evidence.keys import KeyFileError, key_id

    files = _keys(data_dir, db_url, keys_dir)
    try:
        written = files.create()
        log_id = key_id(files.log_key().public_key())
    except (OSError, KeyFileError) as exc:
        raise click.ClickException(f"cannot make the keys in {files.folder}: {exc}") from exc
    for path in written:
        click.echo(f"wrote {path}")
    if not written:
        click.echo(f"the keys in {files.folder} exist already; nothing replaced")
    click.echo(f"log key id: {log_id}")
    click.echo("publish the public key (`stablecopy keys export`) where readers can find it")


@keys.command("export")
@click.option("--wacz", "package", is_flag=True, help="The WACZ signing key instead of the log's.")
@keys_dir_option
@location_options
def keys_export(package: bool, keys_dir: Path | None, data_dir: Path, db_url: str | None) -> None:
    """Print a public key (PEM), to publish: readers check tree heads and packages with it."""
    from stablecopy.evidence.keys import KeyFileError, public_pem

    files = _keys(data_dir, db_url, keys_dir)
    try:
        key = files.package_key() if package else files.log_key()
    except KeyFileError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(public_pem(key.public_key()), nl=False)


@cli.group("log")
def log_group() -> None:
    """The capture log: an append-only Merkle tree (RFC 9162) of every capture, clean text and
    closed WARC file, with signed and time-stamped tree heads."""


@log_group.command("status")
@location_options
def log_status(data_dir: Path, db_url: str | None) -> None:
    """The log's size and its latest signed tree head."""
    from stablecopy.catalog import caplog

    with catalog(data_dir, db_url) as session:
        size = caplog.size(session)
        latest = caplog.latest_head(session)
        click.echo(f"entries:     {size}")
        if latest is None:
            click.echo("tree head:   none signed yet (`stablecopy log sign`)")
            return
        head = caplog.tree_head(latest)
        click.echo(f"tree head:   {head.size} entries, {head.time:%Y-%m-%dT%H:%M:%SZ}, "
                   f"root {head.root.hex()}")  # fmt: skip
        click.echo(f"time-stamps: {len(latest.tokens)}")
        if size > head.size:
            click.echo(f"unsigned:    {size - head.size} entries since (`stablecopy log sign`)")


@log_group.command("sign")
@settings_option
@location_options
def log_sign(overrides: tuple[str, ...], data_dir: Path, db_url: str | None) -> None:
    """Sign the log's tree head now, have it time-stamped (STABLECOPY_TSA_URLS) and publish it."""
    from stablecopy.catalog.session import CatalogError
    from stablecopy.cli.options import existing_catalog
    from stablecopy.crawl.notary import Notary
    from stablecopy.evidence.keys import KeyFileError
    from stablecopy.evidence.timestamp import TimestampError

    settings = _settings(data_dir, db_url, overrides)
    engine = existing_catalog(data_dir, db_url, writer=True)
    try:
        done = Notary(engine, DataLayout.create(data_dir, db_url), settings).notarise()
    except (KeyFileError, TimestampError, CatalogError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    head = done.head
    click.echo(f"signed tree head: {head.size} entries, {head.time:%Y-%m-%dT%H:%M:%SZ}, "
               f"root {head.root.hex()}")  # fmt: skip
    for token in done.tokens:
        click.echo(f"time-stamped by {token.tsa_url} at {token.gen_time:%Y-%m-%dT%H:%M:%SZ}")
    if not settings.getlist("STABLECOPY_TSA_URLS"):
        click.echo("not time-stamped: no STABLECOPY_TSA_URLS set")
    for failure in done.failures:
        err.print(shown(f"Warning: {failure}"), markup=False, highlight=False)
    if done.failures and settings.getlist("STABLECOPY_TSA_URLS") and not done.tokens:
        raise click.ClickException("no time-stamping authority answered")


@log_group.command("head")
@location_options
def log_head(data_dir: Path, db_url: str | None) -> None:
    """Print the latest signed tree head as JSON (what witnesses keep)."""
    from stablecopy.catalog import caplog

    with catalog(data_dir, db_url) as session:
        latest = caplog.latest_head(session)
        if latest is None:
            raise click.ClickException("no tree head is signed yet (`stablecopy log sign`)")
        click.echo(json.dumps(caplog.tree_head(latest).as_json(), indent=2))


@log_group.command("proof")
@click.option("--from", "old", type=int, required=True, help="The earlier tree size.")
@click.option("--to", "new", type=int, help="The later tree size [default: the latest head's].")
@location_options
def log_proof(old: int, new: int | None, data_dir: Path, db_url: str | None) -> None:
    """Print a consistency proof between two tree sizes (JSON)."""
    from stablecopy.catalog import caplog

    with catalog(data_dir, db_url) as session:
        if new is None:
            latest = caplog.latest_head(session)
            new = latest.tree_size if latest else caplog.size(session)
        try:
            path = caplog.consistency(session, old, new)
        except caplog.LogError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(json.dumps({"from": old, "to": new, "path": [p.hex() for p in path]}, indent=2))


@log_group.command("catch-up")
@location_options
def log_catch_up(data_dir: Path, db_url: str | None) -> None:
    """Log the captures, texts and files catalogued before the log existed (oldest first)."""
    from sqlalchemy.orm import Session

    from stablecopy.catalog import caplog
    from stablecopy.cli.options import existing_catalog

    engine = existing_catalog(data_dir, db_url, writer=True)
    try:
        with Session(engine) as session:  # commits a batch at a time
            added = caplog.catch_up(session)
            click.echo(f"appended {added} entries; the log holds {caplog.size(session)}")
    finally:
        engine.dispose()


@log_group.command("verify")
@location_options
def log_verify(data_dir: Path, db_url: str | None) -> None:
    """Check the whole log: no gaps, every entry's hash, every entry as the catalogue's row says
    today, every signed head's root recomputed from the entries. Exit 1 on any finding."""
    from stablecopy.catalog.logaudit import audit

    with catalog(data_dir, db_url) as session:
        report = audit(session)
    for problem in report.problems:
        click.echo(f"FAILED  {problem}")
    if report.problems:
        raise click.ClickException(
            f"the capture log does not hold: {len(report.problems)} finding(s)"
        )
    click.echo(f"ok      {report.entries} entries, {report.heads_checked} signed tree heads "
               "recomputed from them, every entry as the catalogue says")  # fmt: skip


@log_group.command("witness")
@click.argument("url")
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The file where this witness keeps the last head it checked (JSON).")  # fmt: skip
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The archive's published log key (PEM) [default: trust it on first use].")  # fmt: skip
def log_witness(url: str, state: Path, key_file: Path | None) -> None:
    """Check that the log served at URL (a `stablecopy serve` address) only grew since the head
    kept in --state, then keep its new head. Fails when history was rewritten."""
    from stablecopy.evidence import merkle
    from stablecopy.evidence.check import public_key_from_text
    from stablecopy.evidence.treehead import TreeHead, TreeHeadError

    base = url.rstrip("/")
    current = _get_json(f"{base}/log/tree-head")
    try:
        head = TreeHead.from_json(current)
        key_text = key_file.read_text("ascii") if key_file else _get_text(f"{base}/log/key")
        head.verify(public_key_from_text(key_text))
    except (TreeHeadError, ValueError) as exc:
        raise click.ClickException(f"the tree head served is not valid: {exc}") from exc
    if state.exists():
        kept = TreeHead.from_json(json.loads(state.read_text("utf-8")))
        if kept.size > head.size:
            raise click.ClickException(
                f"the log shrank: it served a head of {head.size} entries after one of {kept.size}"
            )
        proof = _get_json(f"{base}/log/proof?from={kept.size}&to={head.size}")
        try:
            merkle.verify_consistency(kept.size, head.size, kept.root, head.root,
                                      [bytes.fromhex(p) for p in proof["path"]])  # fmt: skip
        except (merkle.ProofError, KeyError, ValueError) as exc:
            raise click.ClickException(f"history was rewritten: {exc}") from exc
        click.echo(f"consistent: the log grew from {kept.size} to {head.size} entries")
    else:
        click.echo(f"first head kept: {head.size} entries")
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(head.as_json(), indent=2), encoding="utf-8")


def _get_text(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return str(answer.read(1 << 20).decode("utf-8"))
    except urllib.error.HTTPError as exc:
        raise click.ClickException(f"{url} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise click.ClickException(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None


def _get_json(url: str) -> Any:
    try:
        return json.loads(_get_text(url))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{url} did not answer JSON: {exc}") from None


@cli.command()
@click.argument("reference", metavar="ID")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="The package to write [default: ID.zip].")  # fmt: skip
@keys_dir_option
@settings_option
@location_options
def evidence(
    reference: str,
    output: Path | None,
    keys_dir: Path | None,
    overrides: tuple[str, ...],
    data_dir: Path,
    db_url: str | None,
) -> None:
    """Write the evidence package of capture ID (number or citation id): its records, log
    proofs, signed tree head, time-stamps and key, checkable offline by anyone."""
    from stablecopy.catalog import queries
    from stablecopy.crawl.notary import tsa_roots
    from stablecopy.evidence.keys import KeyFileError, public_pem
    from stablecopy.evidence.timestamp import TimestampError, pem
    from stablecopy.provenance.evidence import EvidenceError, gather, write

    files = _keys(data_dir, db_url, keys_dir)
    settings = _settings(data_dir, db_url, overrides)
    try:
        key_pem = public_pem(files.log_key().public_key())
        roots = pem(tsa_roots(settings))
    except (KeyFileError, TimestampError) as exc:
        raise click.ClickException(str(exc)) from exc
    layout = DataLayout.create(data_dir, db_url)
    with catalog(data_dir, db_url) as session:
        capture = queries.find_capture(session, reference)
        if capture is None:
            raise click.ClickException(f"there is no capture {reference}")
        try:
            gathered = gather(session, layout, capture, key_pem, roots)
        except EvidenceError as exc:
            raise click.ClickException(str(exc)) from exc
        target = output or Path(f"{capture.short_id or capture.id}.zip")
        try:
            write(gathered, target)
        except OSError as exc:
            raise click.ClickException(f"cannot write {target}: {exc.strerror or exc}") from exc
    head = gathered.evidence.head
    click.echo(f"wrote {target}: capture {capture.short_id}, tree head of {head.size} entries "
               f"({head.time:%Y-%m-%dT%H:%M:%SZ}), {len(gathered.evidence.stamps)} time-stamp(s)")  # fmt: skip


@cli.command("check-evidence")
@click.argument("package", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key", "key_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The archive's published log key (PEM, or a warcinfo's base64): the package "
              "must be signed by it.")  # fmt: skip
@click.option("--tsa-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The time-stamping authority's root certificate(s), PEM.")  # fmt: skip
@click.option("--witness-head", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A tree head a witness kept (JSON, or a JSON-lines file: its last line): the "
              "package's log must extend it.")  # fmt: skip
def check_evidence(
    package: Path, key_file: Path | None, tsa_ca: Path | None, witness_head: Path | None
) -> None:
    """Check an evidence package (or a signed WACZ) offline, with no catalogue and no network;
    exit 1 if anything fails."""
    from stablecopy.evidence.check import (
        Checker,
        PackageError,
        head_from_file,
        public_key_from_text,
    )
    from stablecopy.evidence.keys import KeyFileError
    from stablecopy.evidence.timestamp import TimestampError
    from stablecopy.evidence.treehead import TreeHeadError

    if package.suffix.lower() == ".wacz":
        _check_wacz(package, tsa_ca)
        return
    try:
        key = public_key_from_text(key_file.read_text("ascii")) if key_file else None
        witness = head_from_file(witness_head) if witness_head else None
        roots = tsa_ca.read_bytes() if tsa_ca else b""
        report = Checker(package, key, roots, witness).run()
    except (PackageError, KeyFileError, TreeHeadError, TimestampError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in report.passed:
        click.echo(f"ok      {line}")
    for line in report.notes:
        click.echo(f"note    {line}")
    for line in report.failed:
        click.echo(f"FAILED  {line}")
    if not report.ok:
        raise click.ClickException(f"{package} does not prove its capture ({len(report.failed)} "
                                   "check(s) failed)")  # fmt: skip
    click.echo(f"{package}: every check passed")


def _check_wacz(package: Path, tsa_ca: Path | None) -> None:
    from stablecopy.evidence import timestamp, waczsign

    try:
        roots = timestamp.load_certificates(tsa_ca.read_bytes()) if tsa_ca else None
        signature = waczsign.verify(package, roots)
    except (waczsign.WaczSignatureError, timestamp.TimestampError) as exc:
        raise click.ClickException(f"{package}: {exc}") from exc
    click.echo(f"ok      datapackage.json is signed (ECDSA P-256, key SHA-256 "
               f"{signature.public_key_id}), created {signature.created}")  # fmt: skip
    if signature.stamped_at:
        click.echo(f"ok      the signature was time-stamped (RFC 3161) at {signature.stamped_at}")
    click.echo("note    compare the key with the archive's (`stablecopy keys export --wacz`); "
               "the files' hashes are checked by `wacz validate`")  # fmt: skip
    click.echo(f"{package}: every check passed")
