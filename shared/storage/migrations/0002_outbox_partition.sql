-- Most events go to the partition their key hashes to; a few (watermarks, R15) name their partition.
alter table outbox add column partition int;
