-- complaint_categories: the top complaint categories per source, platform and region in the month to date
-- of the run date (12315 投诉类别; CFPB Issue). Parameters: $run_date, $pipeline_version, $schema_version.
WITH per_entity AS (
    SELECT source, month, coalesce(platform, '') AS platform, coalesce(region_code, '') AS region_code,
           unnest(categories, recursive := true)
    FROM work.ind__complaints__rate_posterior
    WHERE categories IS NOT NULL
),
cells AS (
    SELECT source, month, platform, region_code, category, sum(complaints) AS complaints
    FROM per_entity
    GROUP BY ALL
),
ranked AS (
    SELECT *,
           complaints / sum(complaints) OVER (PARTITION BY source, platform, region_code) AS share,
           row_number() OVER (PARTITION BY source, platform, region_code ORDER BY complaints DESC, category) AS category_rank
    FROM cells
)
SELECT
    $run_date::DATE                AS dt,
    month, source,
    nullif(platform, '')           AS platform,
    nullif(region_code, '')        AS region_code,
    category,
    complaints::BIGINT             AS complaints,
    round(share, 6)                AS share,
    category_rank::INTEGER         AS category_rank,
    $pipeline_version::VARCHAR     AS pipeline_version,
    $schema_version::INTEGER       AS schema_version
FROM ranked
WHERE category_rank <= 10
ORDER BY source, platform, region_code, category_rank
