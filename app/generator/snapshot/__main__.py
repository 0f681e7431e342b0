"""python -m app.generator.snapshot [--check]: rewrite (or check) the snapshot from Faker."""

from app.generator.snapshot.extract import main

raise SystemExit(main())
