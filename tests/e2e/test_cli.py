import psycopg
import pytest

from arqium.cli.main import main
from arqium.domain.memory.application import MemoryDraft
from tests.conftest import SETUP
from tests.workers.test_rebuild import REFUSING_POISON_IN_NEW_TABLES


@pytest.fixture
def cli_env(monkeypatch, settings):
    monkeypatch.setenv("ARQIUM_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARQIUM_NATS_URL", settings.nats_url)
    monkeypatch.setenv("ARQIUM_JWT_SECRET", settings.jwt_secret.get_secret_value())


def test_projections_status_shows_each_workers_position_and_lag(cli_env, system, capsys):
    system.memory.upsert("u1", MemoryDraft(key="k", content="v"), cause=SETUP)
    assert main(["projections", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    memory_items = next(line.split() for line in lines if line.startswith("memory_items"))
    assert memory_items == ["memory_items", "memory", "no", "0", "1", "1", "stopped"]


def test_projections_rebuild_replays_and_reports_the_position(cli_env, system, capsys, clock):
    system.memory.upsert("u1", MemoryDraft(key="k", content="v"), cause=SETUP)
    assert main(["projections", "rebuild", "memory_items", "--no-progress"]) == 0
    assert "rebuilt up to position 1" in capsys.readouterr().out
    assert [row["key"] for row in system.views["memory_items"].recent("u1", 5, clock())] == ["k"]


def test_a_rebuild_needs_only_the_database(cli_env, system, capsys, monkeypatch,
                                           tmp_path):
    """No NATS is asked for, nor a running `arqium up`: a rebuild reads and writes only
    PostgreSQL."""
    monkeypatch.delenv("ARQIUM_NATS_URL")
    system.memory.upsert("u1", MemoryDraft(key="k", content="v"), cause=SETUP)
    assert main(["projections", "rebuild", "memory_items", "--no-progress",
                 "--data-dir", str(tmp_path)]) == 0
    assert "rebuilt up to position 1" in capsys.readouterr().out


def test_a_rebuild_that_cannot_apply_an_event_says_which_and_how_to_go_on(
        cli_env, system, settings):
    for key in ("before", "poison", "after"):
        system.memory.upsert("u1", MemoryDraft(key=key, content="v"), cause=SETUP)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute(REFUSING_POISON_IN_NEW_TABLES)
    with pytest.raises(SystemExit, match=r"memory_items cannot apply the memory event at "
                                         r"position 2 \(IntegrityError: .*no_poison.*\); "
                                         r"the live read model is unchanged.*arqium "
                                         r"projections skip memory_items --position 2 "):
        main(["projections", "rebuild", "memory_items", "--no-progress"])


def test_rebuilding_an_unknown_projection_names_the_known_ones(cli_env):
    with pytest.raises(SystemExit, match="known projections: memory_items"):
        main(["projections", "rebuild", "nonsense"])


def test_worker_commands_refuse_to_start_without_services_saying_how_to_get_them(
        monkeypatch, tmp_path):
    monkeypatch.delenv("ARQIUM_DATABASE_URL", raising=False)
    monkeypatch.delenv("ARQIUM_NATS_URL", raising=False)
    with pytest.raises(SystemExit, match=f"no running `arqium up` under {tmp_path}: start "
                                         "one, pass --data-dir, or set ARQIUM_DATABASE_URL "
                                         "and ARQIUM_NATS_URL"):
        main(["worker", "all", "--data-dir", str(tmp_path)])


def test_a_worker_command_naming_an_unknown_worker_names_the_known_ones(cli_env):
    with pytest.raises(SystemExit, match="unknown worker.*nope.*known workers: "
                                         "memory_items"):
        main(["worker", "memory_items", "nope"])


def test_a_worker_command_leaving_out_every_worker_it_names_says_so(cli_env):
    with pytest.raises(SystemExit, match="no worker left to run"):
        main(["worker", "contexts", "--except", "contexts"])


def test_create_admin_registers_an_admin_who_can_log_in(cli_env, system):
    assert main(["users", "create-admin", "--email", "root@example.com",
                 "--password", "admin password"]) == 0
    user = system.identity.authenticate("root@example.com", "admin password")
    assert user.roles == ["user", "admin"]


def test_grant_role_makes_an_existing_user_an_auditor(cli_env, system):
    system.identity.register("ada@example.com", "Ada", "correct horse", cause=SETUP)
    assert main(["users", "grant-role", "--email", "ada@example.com", "--role", "auditor"]) == 0
    assert system.identity.authenticate("ada@example.com", "correct horse").roles == [
        "user", "auditor"]


@pytest.mark.parametrize("argv, said", [
    (["users", "grant-role", "--email", "nobody@example.com", "--role", "auditor"],
     "arqium users: no user has the e-mail address 'nobody@example.com': register the "
     "user first"),
    (["users", "create-admin", "--email", "root@example.com", "--password", "short"],
     "arqium users: password must have at least 8 characters"),
])
def test_a_refused_user_command_says_why_in_one_line(cli_env, system, argv, said):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert str(exited.value) == said
