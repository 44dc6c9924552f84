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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-plugins", is_flag=True, help="Built-in checks only (also: LBAUDIT_DISABLE_PLUGIN_AUTOLOAD=1).")
@quiet_option
def coverage(policy_path: Path, baseline: str, catalog_path: Path | None, as_json: bool, no_plugins: bool,
             quiet: bool) -> None:
    """Which baseline controls the policy's enabled rules produce evidence for, which not, and the share."""
    from auditor.engine.registry import load_registry
    from auditor.plugins import plugins_enabled
    from auditor.policy.loader import load_policy

    level = baseline.lower()
    plugins = plugins_enabled(no_plugins)
    registry = load_registry(plugins=plugins)
    # Read the catalog first: it is the cheaper input to get wrong, and both errors name their file.
    baseline_set = catalog_baseline(catalog_path, level) if catalog_path else shipped_baseline(level, registry.catalog)
    policy = load_policy(policy_path, registry)
    result = compute_coverage(policy, baseline_set, registry)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, ensure_ascii=False))
    elif not quiet:
        click.echo(result.render_text(), nl=False)
