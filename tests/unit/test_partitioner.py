"""The services choose a record's partition themselves (shared/messaging/producer.py) and must choose as
Kafka's default partitioner does, or a key's records would be split across partitions by sender."""

from __future__ import annotations

import pytest
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given
from hypothesis import strategies as st

from shared.messaging.producer import murmur2, partition_of

pytestmark = pytest.mark.unit


@given(st.binary(max_size=200))
def test_murmur2_is_the_java_clients_hash_as_aiokafka_computes_it(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


@given(st.binary(min_size=1, max_size=80), st.integers(min_value=1, max_value=64))
def test_a_key_goes_where_the_default_partitioner_sends_it(key: bytes, count: int) -> None:
    partitions = list(range(count))
    assert partition_of(key, tuple(partitions)) == DefaultPartitioner()(key, partitions, partitions)


def test_the_java_clients_own_values() -> None:
    # The hashes Kafka's UtilsTest pins for the Java client's murmur2 (signed ints there), so that both
    # Python versions are held to the reference, not only to each other.
    assert murmur2(b"21") == (-973932308) & 0xFFFFFFFF
    assert murmur2(b"foobar") == (-790332482) & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-long-string") == (-985981536) & 0xFFFFFFFF
    assert murmur2(b"a-little-bit-longer-string") == (-1486304829) & 0xFFFFFFFF
    assert murmur2(b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == (-58897971) & 0xFFFFFFFF
