"""Alembic: the shipped migrations build the schema the code describes, from an empty database and
from a store made by the first schema version (the committed ``revision-0001.db``), on both backends;
a new store, created at once at the head revision (create_all and the stamp), is that same schema.

Alembic is imported in the tests that use it (half a second), not when the module is collected."""

from __future__ import annotations

import json
import shutil
from typing import Any

import sqlalchemy as sa

from auditor.history import open_store
from auditor.history.schema import HEAD_REVISION, metadata
from auditor.history.store import MIGRATIONS, HistoryStore, make_engine
from tests.cli import run_cli
from tests.history.fixture_store import FIXTURE
from tests.history.scans import record_scan

TABLES_0001 = ("hosts", "policies", "evidence", "runs", "findings", "family_counts", "pruned_runs")


def _compare_metadata(conn: sa.Connection) -> list[Any]:
    """Alembic's autogenerate differences between the database on ``conn`` and the declared schema."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    return compare_metadata(MigrationContext.configure(conn), metadata)


def _schema(engine: sa.Engine) -> dict[str, Any]:
    """Every table's columns, primary key, indexes, unique constraints and foreign keys, as the
    database reports them (names included)."""
    inspector = sa.inspect(engine)
    return {table: {"columns": [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                    "primary key": inspector.get_pk_constraint(table),
                    "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                                      for i in inspector.get_indexes(table)),
                    "unique": sorted((u["name"] or "", tuple(u["column_names"]))
                                     for u in inspector.get_unique_constraints(table)),
                    "foreign keys": sorted((tuple(f["constrained_columns"]), f["referred_table"],
                                            tuple(f["referred_columns"])) for f in inspector.get_foreign_keys(table))}
            for table in sorted(inspector.get_table_names())}


def test_head_revision_is_the_newest_migration():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def test_a_new_store_is_created_with_exactly_the_declared_schema_at_head(store_url):
    from alembic.runtime.migration import MigrationContext

    with open_store(store_url) as store:
        assert store.revision() == HEAD_REVISION
        with store.engine.connect() as conn:
            differences = _compare_metadata(conn)
            # Alembic itself reads the stamp, so a later migration starts from the head revision
            assert MigrationContext.configure(conn).get_current_revision() == HEAD_REVISION
    assert differences == []
    # opening again finds it at head and changes nothing; the migrations to head are a no-op
    with open_store(store_url) as store:
        assert store.revision() == HEAD_REVISION
        before = _schema(store.engine)
        store.upgrade()
        assert store.revision() == HEAD_REVISION and _schema(store.engine) == before


def test_upgrade_from_empty_builds_the_schema_a_new_store_is_created_with(tmp_path, store_url):
    """The migrations, run one after the other from an empty database, and create_all with the
    stamp build the same tables, columns, keys and indexes (names included)."""
    engine, shown = make_engine(store_url)
    migrated = HistoryStore(engine, shown)
    assert migrated.revision() is None
    migrated.upgrade()
    assert migrated.revision() == HEAD_REVISION
    with engine.connect() as conn:
        assert _compare_metadata(conn) == []
    migrated_schema = _schema(engine)
    engine.dispose()
    created_url = str(tmp_path / "created.db") if "://" not in store_url else None
    if created_url is None:  # PostgreSQL: the same database, emptied, then created at once
        engine, _ = make_engine(store_url)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        created_url = store_url
    with open_store(created_url) as created:
        assert created.revision() == HEAD_REVISION
        assert _schema(created.engine) == migrated_schema


def _fixture_into(store_url: str) -> None:
    """The revision-0001 store at ``store_url``: the file itself for SQLite; for PostgreSQL the same
    rows loaded into a database migrated to 0001."""
    source = sa.create_engine(f"sqlite:///{FIXTURE}")
    engine, shown = make_engine(store_url)
    HistoryStore(engine, shown).upgrade("0001")
    with source.connect() as old, engine.begin() as new:
        for table_name in TABLES_0001:
            table = sa.Table(table_name, sa.MetaData(), autoload_with=old)
            rows = [dict(row._mapping) for row in old.execute(sa.select(table))]
            if rows:
                new.execute(sa.Table(table_name, sa.MetaData(), autoload_with=new).insert(), rows)
        if engine.dialect.name == "postgresql":
            for table_name in ("hosts", "runs"):
                new.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                                    f"(SELECT max(id) FROM {table_name}))"))
    source.dispose()
    engine.dispose()


def test_upgrade_from_the_first_schema_keeps_every_run(tmp_path, store_url):
    if "://" in store_url:
        _fixture_into(store_url)
    else:
        (tmp_path / "state").mkdir(exist_ok=True)
        shutil.copyfile(FIXTURE, store_url)
    engine, shown = make_engine(store_url)
    assert HistoryStore(engine, shown).revision() == "0001"
    engine.dispose()

    listed = run_cli("history", "list", "--json", "--store", store_url)  # opening migrates
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [(r["id"], r["verdict"], r["day"], r["trigger"]) for r in runs] == [
        (2, "non_compliant", "2026-11-02", "timer"), (1, "incomplete", "2026-11-01", "timer")]
    with open_store(store_url) as store:
        assert store.revision() == HEAD_REVISION
        with store.engine.connect() as conn:
            assert _compare_metadata(conn) == []
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
    assert run_cli("history", "diff", "--store", store_url).returncode == 1
    # revision 0003 filled the day, host and policy of every per-family count from its run
    with open_store(store_url) as store, store.engine.connect() as conn:
        rows, wrong = conn.execute(sa.text(
            "SELECT count(*), sum(CASE WHEN f.day = r.day AND f.host_id = r.host_id AND f.policy_id = r.policy_id "
            "THEN 0 ELSE 1 END) FROM family_counts f JOIN runs r ON r.id = f.run_id")).one()
    assert rows > 0 and wrong == 0
    trend = json.loads(run_cli("history", "trend", "--since", "2026-11-01", "--until", "2026-11-02", "--json",
                               "--store", store_url).stdout)
    assert [d["day"] for d in trend["by_day"]] == ["2026-11-01", "2026-11-02"]
    assert sum(row["fail"] for row in trend["by_family"] if row["family"] == "SC") == 1
    # the new revision's table works on the migrated store, and a new run joins the old chain
    record_scan(tmp_path, store_url, "after-upgrade", wildcard_redis=False,
                extra=("--format", "oscal", "--out-dir", str(tmp_path / "oscal")))
    newest = json.loads(run_cli("history", "show", "3", "--json", "--store", store_url).stdout)
    assert newest["attested"] is True and newest["prev_evidence_sha256"] == runs[0]["evidence_sha256"]
    assert run_cli("history", "verify", "--store", store_url).returncode == 0
