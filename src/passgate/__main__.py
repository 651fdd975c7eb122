from passgate.cli import main

raise SystemExit(main())
