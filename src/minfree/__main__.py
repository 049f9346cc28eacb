from minfree.cli import main

raise SystemExit(main())
