-- docker-compose only: the schema registry's own database (natively Apicurio keeps an H2 file).
SELECT 'CREATE DATABASE apicurio_registry OWNER medstream'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'apicurio_registry') \gexec
