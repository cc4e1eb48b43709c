"""A batch's writes as one statement (shared/storage/writes.py): how they are put together."""

from __future__ import annotations

from shared.storage.writes import Write, combined


def test_each_write_becomes_a_cte_with_its_parameters_renumbered_after_the_ones_before() -> None:
    sql, args = combined([
        Write("insert into a (x, y) select * from unnest($1::int[], $2::text[])", ([1], ["one"])),
        Write("update b set z = $2 where k = any($1::text[])", (["k"], 5)),
        Write("insert into c (v) values ($1)", ("c",)),
    ])

    assert "w0 as (insert into a (x, y) select * from unnest($1::int[], $2::text[]))" in sql
    assert "w1 as (update b set z = $4 where k = any($3::text[]))" in sql
    assert "w2 as (insert into c (v) values ($5))" in sql
    assert args == [[1], ["one"], ["k"], 5, "c"]


def test_only_the_writes_that_expect_rows_are_counted_in_order() -> None:
    sql, _ = combined([
        Write("insert into a values ($1) returning 1", (1,), expect_rows=1),
        Write("insert into b values ($1)", (2,)),
        Write("select pg_notify($1, '')", ("channel",), expect_rows=1),
    ])

    assert sql.endswith("select array[(select count(*) from w0), (select count(*) from w2)]::bigint[]")


def test_parameters_past_nine_are_renumbered_whole() -> None:
    sql, _ = combined([Write("select $1", (0,)), Write(f"insert into t values ({', '.join(f'${i}' for i in range(1, 12))})", tuple(range(11)))])

    assert "values ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)" in sql


def test_a_shape_seen_before_gives_the_same_statement_with_the_new_arguments() -> None:
    first = combined([Write("insert into a values ($1)", (1,)), Write("update b set z = $1", (2,), expect_rows=1)])
    again = combined([Write("insert into a values ($1)", (3,)), Write("update b set z = $1", (4,), expect_rows=1)])

    assert again[0] == first[0]
    assert (first[1], again[1]) == ([1, 2], [3, 4])
