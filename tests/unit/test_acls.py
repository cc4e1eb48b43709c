"""Kafka grants are derived from the topic registry: each principal gets its own topics and groups, nothing more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.contracts.topics import ALL_TOPICS, ANSWERS, CLIENTS, PROCESSES, SERVICES, consumer_group, topics_read_by
from shared.messaging.acls import PRINCIPALS, Grant, grants, grants_of, kafka_acls_commands, main, markdown

pytestmark = pytest.mark.unit

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def names(principal: str, operation: str, resource: str = "topic", prefix: str = "") -> set[str]:
    return {g.name for g in grants_of(principal, prefix) if (g.operation, g.resource) == (operation, resource)}


def test_the_storefront_may_place_orders_and_read_their_answers_and_the_state_topics_only() -> None:
    assert names("storefront", "Write") == {"orders.commands"}
    assert names("storefront", "Read") == {"orders.events", "inventory.listings", "orders.state"}


def test_each_service_writes_only_its_own_events_its_state_and_dead_letters() -> None:
    assert names("inventory", "Write") == {"inventory.events", "inventory.listings", "deadletters"}
    assert names("orders", "Write") == {"orders.events", "orders.state", "deadletters"}
    assert names("deadlines", "Write") == {"deadlines.events", "deadletters"}


def test_only_the_registrys_writers_write_a_topic_and_no_client_writes_where_a_service_does() -> None:
    for topic in ALL_TOPICS:
        writers = {g.principal for g in grants() if g.operation == "Write" and g.name == topic.name}
        assert writers == set(topic.writers)
        if writers & set(SERVICES):
            assert not writers & set(CLIENTS), topic.name


def test_a_service_reads_exactly_the_topics_it_subscribes_to() -> None:
    for service in SERVICES:
        assert names(service, "Read") == {t.name for t in topics_read_by(service)}


def test_every_consumer_group_a_service_uses_is_granted_and_no_other_principals() -> None:
    for service in SERVICES:
        [group] = [g for g in grants_of(service) if g.resource == "group"]
        assert group == Grant(service, "Read", "group", f"{service}.", prefixed=True)
        others = [g for g in grants() if g.resource == "group" and g.principal != service]
        for topic in topics_read_by(service):
            assert consumer_group(service, topic).startswith(group.name)
            assert not any(consumer_group(service, topic).startswith(g.name) for g in others)


def test_whoever_may_send_a_command_may_read_its_answer() -> None:
    for answers in ANSWERS:
        [command_topic] = [t for t in ALL_TOPICS if answers.command in t.messages]
        for sender in command_topic.writers:
            assert answers.topic.name in names(sender, "Read"), (sender, answers.command.__name__)


def test_grants_are_only_read_and_write_on_topics_and_groups_no_create_and_no_cluster_rights() -> None:
    assert {(g.operation, g.resource) for g in grants()} == {("Write", "topic"), ("Read", "topic"), ("DescribeConfigs", "topic"), ("Read", "group")}
    assert {g.principal for g in grants()} == set(PRINCIPALS) == set(PROCESSES) | set(CLIENTS)


def test_a_service_may_read_the_configuration_of_the_topics_it_reads_to_check_their_retention() -> None:
    for service in SERVICES:
        assert names(service, "DescribeConfigs") == names(service, "Read")
    for client in CLIENTS:
        assert names(client, "DescribeConfigs") == set()


def test_a_topic_prefix_prefixes_every_topic_and_group() -> None:
    assert all(g.name.startswith("prod.") for g in grants("prod."))
    assert names("storefront", "Read", "group", prefix="prod.") == {"prod.storefront."}


def test_the_kafka_acls_commands_say_the_same_as_the_grants() -> None:
    lines = kafka_acls_commands()
    assert len(lines) == len(grants())
    assert "$K --add --allow-principal User:storefront --operation Write --topic orders.commands" in lines
    assert "$K --add --allow-principal User:orders --operation Read --group orders. --resource-pattern-type prefixed" in lines


def test_the_operations_guide_shows_the_grants_the_registry_gives() -> None:
    text = OPERATIONS.read_text()
    found = re.search(r"<!-- acls: begin.*?-->\n(.*?)<!-- acls: end -->", text, re.S)
    assert found, "docs/operations.md lost its acls block"
    assert found.group(1) == markdown(), "paste the output of `python -m shared.messaging.acls` into docs/operations.md"


def test_the_command_line_refuses_bad_input_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(["--prefix", "no spaces"])
    assert "--prefix may contain only" in str(refused.value.code) and "\n" not in str(refused.value.code)
    with pytest.raises(SystemExit) as refused:
        main(["--frobnicate"])
    assert str(refused.value.code).startswith("acls: unrecognized arguments: --frobnicate")
    assert main(["--commands"]) == 0
    assert capsys.readouterr().out.count("$K --add") == len(grants())
