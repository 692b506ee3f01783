from openslots.cli import main

raise SystemExit(main())
