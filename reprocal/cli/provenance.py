"""``reprocal run``, ``diff``, ``audit`` and ``bundle``: provenance, audit and paper bundles."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from reprocal.cli._common import (
    catalog_option,
    ccf_path_option,
    cli,
    echo_json,
    info,
    json_option,
    key_option,
    option_ccf_dirs,
    public_keys,
    sign_option,
    signer_of,
    warn,
)
from reprocal.cli._progress import Bar
from reprocal.core._calid import CalibrationId
from reprocal.core._constituent import DEFAULT_CATEGORY, Constituent
from reprocal.core._dates import resolve
from reprocal.errors import CheckFailed, IncompleteStateError, InputError

# --- run ------------------------------------------------------------------------------------


@cli.command("run", context_settings={"ignore_unknown_options": True,
                                      "allow_interspersed_args": False})
@click.option("--manifest", "manifest_path", type=click.Path(dir_okay=False), default=None,
              help="The manifest whose calibration the command uses (recorded, stamped).")
@click.option("--image", default=None, metavar="IMAGE.tar|NAME",
              help="Run inside this calibration image (through the Docker daemon).")
@click.option("--record", "record_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write the record (default: <first output>.prov.json, else "
                   "reprocal-run-<time>.json).")
@click.option("--output", "outputs", multiple=True, type=click.Path(dir_okay=False),
              help="An output file (repeatable), in addition to files created or modified in "
                   "the working directory.")
@click.option("--no-stamp", is_flag=True, help="Do not stamp FITS outputs.")
@sign_option
@json_option
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run_cmd(manifest_path, image, record_path, outputs, no_stamp, sign_key, as_json, command):  # type: ignore[no-untyped-def]
    """Run COMMAND (after `--`), stamp its FITS outputs and write a provenance record.

    Exits with the command's own exit status.
    """
    from reprocal.provenance._run import run

    command = list(command)
    if command and command[0] == "--":
        command = command[1:]
    signer = signer_of(sign_key)
    executor_kwargs: dict[str, Any] = {}
    if image is not None:
        from reprocal.provenance._runimage import image_context

        executor_kwargs = image_context(image, manifest_path=manifest_path,
                                        base_url=os.environ.get("DOCKER_HOST"))
    result = run(command, manifest_path=manifest_path, outputs=outputs, record=record_path,
                 stamp=not no_stamp, signer=signer, **executor_kwargs)
    rec = result.record
    if as_json:
        echo_json({"exit_status": result.exit_status, "record": str(result.record_path),
                   "calibration_id": rec.calibration_id, "image_digest": rec.image_digest,
                   "outputs": [str(o) for o in result.outputs],
                   "stamped": [str(o) for o in result.stamped],
                   "not_stamped": [{"path": str(p), "why": w} for p, w in result.not_stamped]})
    else:
        click.echo(f"reprocal: {len(result.outputs)} output(s), {len(result.stamped)} stamped; "
                   f"record {result.record_path} (exit status {result.exit_status})", err=True)
        for p, why in result.not_stamped:
            warn(f"{p} not stamped: {why}")
    raise click.exceptions.Exit(result.exit_status)


# --- the catalogue as audit and diff use it -------------------------------------------------


def _catalogue(ccf_path: str | None, catalog_path: str | None, imports: tuple[str, ...]
               ) -> tuple[list[Constituent], dict[str, Any] | None]:
    """Known constituents, and the local copies (``None`` when no repository is given)."""
    from reprocal.audit._judge import LocalCopy
    from reprocal.repo._catalog import Catalog

    with Catalog.open(catalog_path) as cat:
        for path in imports:
            cat.import_calindex(path)
        if ccf_path is None and not os.environ.get("SAS_CCFPATH"):
            return cat.expected(), None
        dirs = option_ccf_dirs(ccf_path)
        with Bar("indexing") as progress:
            cat.refresh(dirs, progress=progress)
        local = {lf.filename: LocalCopy(lf.path, lf.constituent) for lf in cat.present(dirs)}
        return cat.known(dirs), local


def catalogue_options(f):  # type: ignore[no-untyped-def]
    f = click.option("--import-index", "imports", multiple=True, type=click.Path(dir_okay=False),
                     help="Import a master index or CALINDEX table into the catalogue first "
                          "(repeatable).")(f)
    return catalog_option(ccf_path_option(f))


# --- diff -----------------------------------------------------------------------------------


def _state(spec: str, known_fn):  # type: ignore[no-untyped-def]
    from reprocal.audit._diff import State
    from reprocal.audit._product import parse_dates_spec, read_product
    from reprocal.core._select import Selector

    dates = parse_dates_spec(spec)
    if dates is not None:
        obs, an_text = dates
        an = resolve(an_text, field="an")
        known = known_fn()
        if not known:
            raise InputError(f"{spec}: the catalogue knows no constituents to select from",
                             hint="give --ccf-path, or --import-index a master index")
        chosen = Selector(known).select(obs, an).chosen
        return State(spec, chosen, obs, an)
    path, _, obs_label = spec.partition("#")
    products = read_product(path, obs=obs_label or None)
    if len(products) > 1:
        raise InputError(f"{path} holds {len(products)} observations; name one as "
                         f"{path}#<obs> ({', '.join(p.state.label.split('#')[-1] for p in products)})")
    return products[0].state


@cli.command("diff")
@click.argument("a")
@click.argument("b")
@catalogue_options
@json_option
def diff_cmd(a, b, ccf_path, catalog_path, imports, as_json):  # type: ignore[no-untyped-def]
    """Compare two calibration states: CIFs, products, manifests (M.json[#OBS]) or dates
    (obs=DATE,an=DATE|now, selected over the catalogue)."""
    from reprocal.audit._diff import diff_states, render

    cache: list[list[Constituent]] = []

    def known() -> list[Constituent]:
        if not cache:
            cache.append(_catalogue(ccf_path, catalog_path, imports)[0])
        return cache[0]

    d = diff_states(_state(a, known), _state(b, known))
    if as_json:
        echo_json(d.to_json())
    else:
        for line in render(d):
            info(line)


# --- audit ----------------------------------------------------------------------------------


@cli.command("audit")
@click.argument("products", nargs=-1)
@catalogue_options
@click.option("--today", default="now", show_default=True, metavar="DATE|now",
              help="The analysis date of 'today's calibration' to compare with.")
@click.option("--pin", "pin_out", is_flag=True,
              help="Write the manifest reproducing the product's calibration state (-o).")
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False),
              help="Manifest to write with --pin.")
@click.option("--uses", default=None, metavar="NAME",
              help="Reverse impact: list products, manifests and records under the given "
                   "directories that used NAME (EPN_CTI_0045.CCF, or EPN_CTI for any issue).")
@key_option
@json_option
def audit_cmd(products, ccf_path, catalog_path, imports, today, pin_out, output, uses, key_paths,  # type: ignore[no-untyped-def]
              as_json):
    """Which calibration produced PRODUCT..., judged against the catalogue and explained.

    PRODUCT: an event list, spectrum, CIF, PPS CALIND product, stamped file, record or manifest.
    Exit status 1 when a product disagrees with the selection rule or a constituent is missing.
    """
    if uses is not None:
        return _uses(uses, products or (".",), as_json)
    if not products:
        raise InputError("give at least one PRODUCT (or --uses NAME [DIR...])")
    if pin_out and not output:
        raise InputError("--pin needs -o MANIFEST")
    from reprocal.audit._judge import audit_state, render
    from reprocal.audit._product import read_product
    from reprocal.fs._hashing import sha256_file

    keys = public_keys(key_paths)
    known, local = _catalogue(ccf_path, catalog_path, imports)
    by_name = {c.filename: c for c in known}
    when = resolve(today, field="--today")
    if local is None:
        warn("no --ccf-path or SAS_CCFPATH: local availability is not checked")
    reports, docs, read = [], [], []
    for path in products:
        for prod in read_product(path, lookup=by_name.get, keys=keys):
            read.append(prod)
            rep = audit_state(prod.state, known, category=prod.category, local=local,
                              pinned=prod.pinned, hash_file=sha256_file, today=when)
            reports.append(rep)
            doc = rep.to_json()
            doc.update(kind=prod.kind, calibration_id=prod.calibration_id,
                       calibration_id_version=(CalibrationId.parse(prod.calibration_id).version
                                               if prod.calibration_id else None),
                       upgraded_from=prod.upgraded_from,
                       image_digest=prod.image_digest, record=prod.record_path,
                       record_signed_by=list(prod.record.signed_by) if prod.record else [],
                       image_record=({"path": prod.image_record.path,
                                      "digests": list(prod.image_record.digests),
                                      "calibration_id": prod.image_record.calibration_id,
                                      "manifest": prod.image_record.manifest}
                                     if prod.image_record else None),
                       unresolved=list(prod.unresolved), notes=list(prod.notes))
            docs.append(doc)
            if not as_json:
                _print_product(prod, rep, render)
    if pin_out:
        if len(read) != 1:
            raise InputError(f"--pin needs exactly one product (got {len(read)} states)")
        _pin(read[0], local, output)
    if as_json:
        echo_json(docs[0] if len(docs) == 1 else docs)
    if any(not r.ok for r in reports):
        raise click.exceptions.Exit(1)


def _print_product(prod, rep, render) -> None:  # type: ignore[no-untyped-def]
    lines = render(rep)
    info(f"{lines[0]} [{prod.kind}]")
    if prod.calibration_id:
        info(f"  calibration id {CalibrationId.parse(prod.calibration_id).describe()}")
    content = prod.content_id()
    if content is not None and prod.calibration_id and content.level == CalibrationId.parse(
            prod.calibration_id).level and str(content) != prod.calibration_id:
        info(f"  note: its content hashes to {content}, not to the id it carries: the product's "
             "calibration rows or the pinned bytes differ from what was stamped")
    if prod.upgraded_from:
        info(f"  upgraded from the version-1 id {prod.upgraded_from}")
    if prod.image_digest:
        info(f"  image {prod.image_digest}")
    if prod.image_record is not None:
        b = prod.image_record
        info(f"  image built by record {b.path} from manifest {b.manifest} ({b.calibration_id})")
    if prod.record_path:
        signed = prod.record.signed_by if prod.record else ()
        info(f"  record {prod.record_path}" + (f" (signature verified: key {signed[0][:16]}...)"
                                               if signed else ""))
    for note in prod.notes:
        info(f"  note: {note}")
    if prod.unresolved:
        info(f"  {len(prod.unresolved)} constituent(s) named by the record are unknown to the "
             f"catalogue: {', '.join(prod.unresolved[:5])}")
    for line in lines[1:]:
        info(line)


def _pin(prod, local, output) -> None:  # type: ignore[no-untyped-def]
    """Write the manifest of a product's state: pinned digests, else hashed local copies."""
    from reprocal._version import __version__
    from reprocal.fs._hashing import sha256_file
    from reprocal.state._manifest import Generator, build, save_manifest

    s = prod.state
    if s.obs_date is None or s.analysis_date is None:
        raise InputError(f"{prod.path}: no OBSVDATE/ANALDATE, so no state to pin")
    hashes, missing = {}, []
    for c in s.constituents:
        copy = (local or {}).get(c.filename)
        if c.filename in prod.pinned:
            size = c.fsize if c.fsize is not None else (copy.path.stat().st_size if copy else None)
            if size is not None:
                hashes[c.filename] = (size, prod.pinned[c.filename])
                continue
        if copy is not None:
            hashes[c.filename] = (copy.path.stat().st_size, sha256_file(copy.path))
        else:
            missing.append(c.filename)
    if missing:
        raise IncompleteStateError(
            f"cannot pin {prod.path}: {len(missing)} constituent(s) are neither pinned nor "
            f"present locally: {', '.join(missing[:5])}" + (" ..." if len(missing) > 5 else ""),
            gaps=tuple(missing), hint="fetch them into --ccf-path first")
    m = build([(prod.label, s.obs_date, s.analysis_date, prod.category or DEFAULT_CATEGORY,
                s.constituents)], hashes,
              generator=Generator("reprocal", __version__, f"audit --pin: from {prod.kind} "
                                  f"{Path(prod.path).name}"))
    save_manifest(m, output)
    obs_id = m.observation_ids[0]
    same = ("the id the product carries" if prod.calibration_id == str(obs_id) else
            f"the product carries {prod.calibration_id}" if prod.calibration_id else "")
    info(f"Wrote {output}: observation id {obs_id}" + (f" ({same})" if same else ""))
    info(f"  state id {m.calibration_id}")


def _uses(name: str, roots: tuple[str, ...], as_json: bool) -> None:
    from reprocal.audit._impact import find_uses, parse_target

    target = parse_target(name)
    with Bar("scanning") as progress:
        report = find_uses(target, roots, progress=progress)
    if as_json:
        echo_json(report.to_json())
    else:
        info(f"{len(report.uses)} use(s) of {target} in {report.scanned} candidate file(s):")
        for u in report.uses:
            info(f"  {u.path}: {u.kind} uses {u.constituent} ({u.detail})")
        for path, problem in report.problems:
            warn(f"{path}: {problem}")


# --- bundle ---------------------------------------------------------------------------------


class _DefaultGroup(click.Group):
    """``bundle MANIFEST ...`` means ``bundle create MANIFEST ...``; ``bundle verify`` stays."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@cli.group("bundle", cls=_DefaultGroup)
def bundle() -> None:
    """Paper bundles: `bundle MANIFEST -o DIR` writes one, `bundle verify DIR|TAR` checks one."""


@bundle.command("create")
@click.argument("manifest_path", metavar="MANIFEST", type=click.Path(dir_okay=False))
@click.option("--image", default=None, type=click.Path(dir_okay=False),
              help="Include this calibration image tar.")
@click.option("--records", default=None, type=click.Path(file_okay=False),
              help="Include the provenance records found in this directory.")
@click.option("--date", default=None, metavar="YYYY-MM-DD",
              help="Publication date (datePublished, tar timestamps); default: the latest "
                   "analysis date of the manifest, so the tar is the same on every machine.")
@click.option("--license", "license_id", default=None, metavar="SPDX",
              help="Licence of the bundle, an SPDX id (e.g. CC-BY-4.0); required.")
@click.option("--author", "authors", multiple=True, metavar="'NAME [<EMAIL>] [ORCID]'",
              help="An author (repeatable); default: git's user.name and user.email.")
@click.option("--affiliation", default=None, metavar="'NAME <URL>'",
              help="The authors' organisation (default: the publisher).")
@click.option("--publisher", default=None, metavar="'NAME <URL>'",
              help="The organisation publishing the bundle (default: the affiliation); one of "
                   "the two is required.")
@click.option("--name", default=None, help="Title of the bundle.")
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False),
              help="Directory to write (its tarball is written beside it, <DIR>.tar).")
@json_option
def bundle_create(manifest_path, image, records, date, license_id, authors, affiliation,  # type: ignore[no-untyped-def]
                  publisher, name, output, as_json):
    """Write a paper bundle for MANIFEST."""
    from reprocal.bundle._credits import resolve_credits
    from reprocal.bundle._write import make_bundle
    from reprocal.core._dates import CalDate

    credits = resolve_credits(license=license_id, authors=authors, affiliation=affiliation,
                              publisher=publisher)
    b = make_bundle(manifest_path, output, credits=credits, image=image, records=records,
                    date=CalDate.parse(date, field="--date") if date else None, name=name)
    if as_json:
        echo_json({"directory": str(b.directory), "tarball": str(b.tarball),
                   "calibration_id": b.calibration_id, "files": list(b.files)})
    else:
        info(f"Wrote {b.directory}/ ({len(b.files)} files) and {b.tarball}")
        info(f"calibration id {b.calibration_id}")


@bundle.command("verify")
@click.argument("path", metavar="DIR|TAR")
@key_option
@json_option
def bundle_verify(path, key_paths, as_json):  # type: ignore[no-untyped-def]
    """Check a bundle received from someone else; exit 1 naming each problem."""
    from reprocal.bundle._verify import verify_bundle

    check = verify_bundle(path, keys=public_keys(key_paths))
    if as_json:
        echo_json(check.to_json())
        if not check.ok:
            raise click.exceptions.Exit(1)
        return
    if check.ok:
        info(f"{path}: all {check.files} files match SHA256SUMS; crate, manifest, records and "
             f"CIFs valid; calibration id {check.calibration_id}")
    if check.v1_id and check.intact:
        info(f"  published under {CalibrationId.parse(check.v1_id).describe()}; the same "
             f"state's version-2 id is {check.calibration_id}")
    if check.ok:
        return
    for problem in check.problems:
        info(f"  {problem}")
    if check.intact:
        raise CheckFailed(
            f"{len(check.problems)} problem(s) found (listed above): every file is as it was "
            "written, but its RO-Crate metadata is not valid RO-Crate 1.1", path=path,
            hint="the data can be used; to publish it, bundle its manifest again with this "
            "reprocal" + (" (it was written by reprocal 0.1)" if check.v1_id else ""))
    raise CheckFailed(f"{len(check.problems)} problem(s) found (listed above): the bundle is not "
                      "as it was written", path=path,
                      hint="ask the sender for a fresh copy; do not use this one")
