"""python -m linkup_emulator.generator.snapshot [--check]: rewrite (or check) the snapshot."""

from linkup_emulator.generator.snapshot.extract import main

raise SystemExit(main())
