"""``lbaudit coverage``: which controls of a NIST SP 800-53 Rev. 5 baseline a policy evidences."""

from __future__ import annotations

import json
from pathlib import Path

import click

from auditor.analysis.coverage import BASELINES, catalog_baseline, compute_coverage, shipped_baseline
from auditor.commands.options import quiet_option


@click.command()
@click.option("--policy", "policy_path", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Policy file (YAML).")
@click.option("--baseline", required=True, type=click.Choice(BASELINES, case_sensitive=False),
              help="SP 800-53B baseline to measure against.")
@click.option("--catalog", "catalog_path", type=click.Path(path_type=Path, dir_okay=False),
              help="OSCAL resolved-profile catalog of that baseline (NIST's *-baseline-resolved-profile_catalog.json; "
                   "one whose title or source-profile link names another baseline, or none, is refused) "
                   "for the full baseline and titles; default: lbaudit's control data, which knows only the "
                   "controls lbaudit maps.")
@click.option("--waivers", "waivers_path", type=click.Path(path_type=Path, dir_okay=False),
              help="The separate waivers file evaluate is given: a rule one of its waivers waives wholesale (no "
                   "subject) is not counted, as one of the policy's is not.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
@quiet_option
def coverage(policy_path: Path, baseline: str, catalog_path: Path | None, waivers_path: Path | None, as_json: bool,
             no_plugins: bool, quiet: bool) -> None:
    """Which baseline controls the policy's enabled rules produce evidence for, which not, and the share."""
    from auditor.engine.registry import load_registry
    from auditor.errors import PolicyError
    from auditor.plugins import plugins_enabled
    from auditor.policy.loader import inspect_policy

    level = baseline.lower()
    plugins = plugins_enabled(no_plugins)
    registry = load_registry(plugins=plugins)
    # Read the catalog first: it is the cheaper input to get wrong, and both errors name their file.
    baseline_set = catalog_baseline(catalog_path, level) if catalog_path else shipped_baseline(level, registry.catalog)
    checked = inspect_policy(policy_path, registry, waivers_path=waivers_path)
    if checked.policy is None:
        raise PolicyError(f"{policy_path}: invalid policy", checked.problems)
    # the waivers evaluate applies besides the policy's: a blanket one there leaves its rule uncounted too
    result = compute_coverage(checked.policy, baseline_set, registry,
                              extra_waivers=checked.waiver_file.waivers if checked.waiver_file else ())
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif not quiet:
        click.echo(result.render_text(), nl=False)
