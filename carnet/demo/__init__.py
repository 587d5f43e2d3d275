"""Demo data (`carnet demo`, `python -m carnet.demo`) and bulk seeding for benchmarks
(`carnet seed`). `bulk.py` is the one documented bypass of the services: it writes rows
with Core inserts (COPY on PostgreSQL) and chains their audit rows itself."""
