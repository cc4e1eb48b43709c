-- Run by the postgres image once, when its data directory is empty (/docker-entrypoint-initdb.d).
-- One database per service, owned by the application user (POSTGRES_USER in docker-compose.yml).
-- After changing this file, start from an empty volume: `docker compose down -v`.
CREATE DATABASE inventory OWNER fulfil;
CREATE DATABASE orders OWNER fulfil;
CREATE DATABASE deadlines OWNER fulfil;
CREATE DATABASE portal OWNER fulfil;
