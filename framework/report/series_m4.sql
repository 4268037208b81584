-- Downsampling for plots (M4): the time axis [$t0, $t1] is cut into $buckets equal
-- buckets and each keeps its first, last, lowest and highest point, so a line drawn
-- through the kept points looks like the line through all of them (every spike
-- survives) at a bounded cost: at most 4 * $buckets rows.
--
-- {source} is a relation with columns seq, recv_ts, v (the value plotted); the rows
-- kept are returned whole, ordered by seq.
WITH src AS ({source}),
b AS (
    SELECT seq, v,
           least($buckets - 1,
                 floor((recv_ts - $t0) * $buckets / greatest($t1 - $t0, 1)))::BIGINT AS k
    FROM src
),
keep AS (
    SELECT DISTINCT unnest([min(seq), max(seq), arg_min(seq, v), arg_max(seq, v)]) AS seq
    FROM b GROUP BY k
)
SELECT src.* FROM src SEMI JOIN keep ON src.seq = keep.seq ORDER BY src.seq
