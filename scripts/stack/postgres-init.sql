-- The databases medstream expects, for the native stack (scripts/stack.sh, run by psql as the
-- cluster's superuser) and for docker-compose (mounted into /docker-entrypoint-initdb.d, where the
-- image has already created the medstream role from POSTGRES_USER). Idempotent, so stack.sh can
-- run it on every `up`: \gexec executes the CREATE only when the SELECT returns a row.

SELECT 'CREATE ROLE medstream LOGIN SUPERUSER PASSWORD ''medstream'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'medstream') \gexec

-- The clinical source system the connectors read from (CLINICAL_DATABASE_URL).
SELECT 'CREATE DATABASE clinical OWNER medstream'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'clinical') \gexec

-- Where the sink functions write (DATABASE_URL).
SELECT 'CREATE DATABASE medstream_sink OWNER medstream'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'medstream_sink') \gexec
